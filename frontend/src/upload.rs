//! Uploading a release candidate from the browser with `XMLHttpRequest`, because `fetch` cannot
//! report upload progress. The file goes as the raw body, named by the `X-Filename` header.

use crate::api::{self, ApiResult, RawResponse};
use switchyard_api::{ApiError, Candidate, API_PREFIX};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{File, ProgressEvent, XmlHttpRequest};

/// Uploads `file` as a candidate for `site_id`, calling `on_progress(sent, total)` as bytes go out.
pub async fn upload_candidate(site_id: i64, file: File, on_progress: impl Fn(u64, u64) + 'static) -> ApiResult<Candidate> {
    let failed = |what: &str, e: JsValue| ApiError::new(format!("cannot upload {}", file.name()), format!("{what}: {e:?}"));
    let xhr = XmlHttpRequest::new().map_err(|e| failed("the browser refused to start a request", e))?;
    xhr.open("POST", &format!("{API_PREFIX}/sites/{site_id}/candidates")).map_err(|e| failed("cannot open the request", e))?;
    xhr.set_request_header("Content-Type", "application/octet-stream").map_err(|e| failed("bad header", e))?;
    xhr.set_request_header("Accept", "application/json").map_err(|e| failed("bad header", e))?;
    xhr.set_request_header("X-Filename", &header_safe(&file.name())).map_err(|e| failed("bad file name", e))?;

    let total = file.size() as u64;
    let progress = Closure::<dyn Fn(ProgressEvent)>::new(move |event: ProgressEvent| {
        let total = if event.length_computable() { event.total() as u64 } else { total };
        on_progress(event.loaded() as u64, total);
    });
    let upload = xhr.upload().map_err(|e| failed("no upload channel", e))?;
    upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));

    // `loadend` fires exactly once, after success, failure, abort or time-out alike.
    let finished = js_sys::Promise::new(&mut |resolve, _reject| {
        let done = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        xhr.set_onloadend(Some(done.unchecked_ref()));
    });
    xhr.send_with_opt_blob(Some(&file)).map_err(|e| failed("the browser could not send the file", e))?;
    let _ = wasm_bindgen_futures::JsFuture::from(finished).await;
    upload.set_onprogress(None);
    drop(progress);

    let status = xhr.status().unwrap_or(0);
    if status == 0 {
        return Err(ApiError::new(
            format!("the upload of {} was interrupted", file.name()),
            "the connection to the Switchyard server was lost; check that it is running and try again",
        ));
    }
    let body = xhr.response_text().ok().flatten().unwrap_or_default();
    api::decode(RawResponse { status, body })
}

/// Header values must be plain ASCII; anything else in a file name becomes `_`.
fn header_safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' }).collect()
}
