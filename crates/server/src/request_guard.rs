//! Requests from pages: every state-changing request must be JSON (uploads: a tarball), and one
//! a browser sends on behalf of a page must come from Switchyard's own origin.
//!
//! A page on another origin can make a browser send a form or a `text/plain` POST with the
//! session cookie (SameSite does not help for another port of the same host); it cannot send
//! `application/json` or any PUT/DELETE without a CORS preflight, which Switchyard never grants.
//! The Origin check refuses the rest. Requests that authenticate with a bearer token (the CLI)
//! carry no ambient credential, so they skip the Origin check; requests without Origin or
//! Sec-Fetch-Site come from programs, not pages, and pass.

use crate::session::has_session_cookie;
use crate::{AppError, HttpConfig};
use axum::extract::Request;
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN, TRANSFER_ENCODING};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Content types an upload may declare: what the CLI, the UI and the desktop app send.
const UPLOAD_TYPES: [&str; 3] = ["application/gzip", "application/x-gzip", "application/octet-stream"];

pub(crate) async fn guard(request: Request, next: Next) -> Response {
    let changes_state = matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    if changes_state {
        let config = request.extensions().get::<Arc<HttpConfig>>().cloned().unwrap_or_default();
        let checked =
            content_type(request.method(), request.uri().path(), request.headers()).and_then(|()| same_origin(request.headers(), &config));
        if let Err(refusal) = checked {
            return refusal.into_response();
        }
    }
    next.run(request).await
}

fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(TRANSFER_ENCODING)
        || headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).is_some_and(|length| length.trim() != "0")
}

fn is_upload(method: &Method, path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches(switchyard_api::API_PREFIX).trim_matches('/').split('/').collect();
    *method == Method::POST && matches!(segments.as_slice(), ["sites", _, "candidates"])
}

fn content_type(method: &Method, path: &str, headers: &HeaderMap) -> Result<(), AppError> {
    let media = media_type(headers);
    if is_upload(method, path) {
        if media.as_deref().is_some_and(|m| UPLOAD_TYPES.contains(&m)) {
            return Ok(());
        }
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported content type",
            "upload the tarball as the raw body with Content-Type: application/gzip (or application/octet-stream)",
        ));
    }
    // A DELETE without a body cannot be sent by a page without a preflight; one with a body is
    // held to the JSON rule like the others.
    if *method == Method::DELETE && media.is_none() && !has_body(headers) {
        return Ok(());
    }
    if media.as_deref() == Some("application/json") {
        return Ok(());
    }
    Err(AppError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported content type",
        "send the body as JSON with Content-Type: application/json (send {} when there is nothing to say); \
         requests that change something are never accepted as forms or plain text",
    ))
}

fn bearer_only(headers: &HeaderMap) -> bool {
    let bearer = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("Bearer "));
    bearer && !has_session_cookie(headers)
}

fn same_origin(headers: &HeaderMap, config: &HttpConfig) -> Result<(), AppError> {
    if bearer_only(headers) {
        return Ok(());
    }
    let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = origin.to_str().unwrap_or("").trim().trim_end_matches('/');
        if config.allows_origin(origin, host) {
            return Ok(());
        }
        let shown: String = origin.chars().take(200).collect();
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "cross-origin request refused",
            format!(
                "this request came from a page at {shown:?}, not from Switchyard's own pages at {host:?}; \
                 use Switchyard's own address, or, if Switchyard is served under another address, start it with --public-origin <that origin>"
            ),
        ));
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None | Some("same-origin" | "none") => Ok(()),
        Some(site) => Err(AppError::new(
            StatusCode::FORBIDDEN,
            "cross-origin request refused",
            format!("the browser says this request came from a {site} page, not from Switchyard's own pages; use Switchyard's own address"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_candidate_upload_is_a_raw_upload() {
        assert!(is_upload(&Method::POST, "/api/v1/sites/3/candidates"));
        assert!(is_upload(&Method::POST, "/sites/3/candidates"));
        assert!(!is_upload(&Method::GET, "/sites/3/candidates"));
        assert!(!is_upload(&Method::POST, "/sites/3/candidates/x"));
        assert!(!is_upload(&Method::POST, "/releases"));
    }
}
