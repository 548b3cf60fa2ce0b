//! The site-down page: a site's own HTML or the embedded default, answered with 503 and Retry-After.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;

use crate::api;

/// The default page (`assets/site-down.html` at the repository root, beside the UI's other
/// assets); a site overrides it with `SiteDownPage::html`.
pub const DEFAULT_PAGE: &str = include_str!("../../../assets/site-down.html");

/// A site's page, prepared once per route change so serving it costs no formatting.
#[derive(Debug, Clone)]
pub(crate) struct PreparedPage {
    body: Bytes,
    retry_after: HeaderValue,
}

impl PreparedPage {
    pub(crate) fn new(page: &api::SiteDownPage) -> PreparedPage {
        let body = match &page.html {
            Some(html) => Bytes::from(html.clone()),
            None => Bytes::from_static(DEFAULT_PAGE.as_bytes()),
        };
        PreparedPage { body, retry_after: HeaderValue::from(page.retry_after_secs) }
    }

    /// 503 with Retry-After while the site is down on purpose (maintenance, hold timed out);
    /// 502 or 504 without it when the environment's backend failed, since nobody knows when it returns.
    pub(crate) fn response(&self, status: StatusCode) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(self.body.clone()));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        // A cached site-down page would outlive the maintenance it announces.
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(RETRY_AFTER, self.retry_after.clone());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_page_is_self_contained_html() {
        assert!(DEFAULT_PAGE.starts_with("<!doctype html>"));
        for external in ["http://", "https://", "src=", "@import", "url("] {
            assert!(!DEFAULT_PAGE.contains(external), "the page must not load anything: found {external}");
        }
    }

    #[test]
    fn maintenance_response_carries_retry_after() {
        let page = PreparedPage::new(&api::SiteDownPage { html: Some("<p>patching</p>".into()), retry_after_secs: 120 });
        let response = page.response(StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[RETRY_AFTER], "120");
        assert_eq!(response.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(page.response(StatusCode::BAD_GATEWAY).headers().get(RETRY_AFTER).is_none());
    }
}
