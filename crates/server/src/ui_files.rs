//! The built web UI as the server sends it: each file compressed ahead of time by the build
//! (`x.wasm.br`, `x.wasm.gz` beside `x.wasm`, see `xtask/src/bundle.rs`) is sent compressed to
//! a browser that accepts it; files named by a hash of their content (trunk's `name-<16 hex>`)
//! are cached for good, while `index.html`, which names them, is asked for afresh each time.
//! Any path that is no file gets `index.html`, so the UI's own routes survive a reload.

use std::path::Path;

use axum::extract::Request;
use axum::http::header::{HeaderValue, CACHE_CONTROL};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

const FOREVER: &str = "public, max-age=31536000, immutable";
const ASK_AGAIN: &str = "no-cache";

pub fn router(ui_dir: &Path) -> Router {
    let index = ServeFile::new(ui_dir.join("index.html")).precompressed_br().precompressed_gzip();
    let files = ServeDir::new(ui_dir).precompressed_br().precompressed_gzip().fallback(index);
    Router::new().fallback_service(files).layer(axum::middleware::from_fn(cache_policy))
}

async fn cache_policy(request: Request, next: Next) -> Response {
    let forever = named_by_content(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() {
        let policy = if forever { FOREVER } else { ASK_AGAIN };
        response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// Whether the file's name carries a hash of its content: `styles-1566384b0a1f7c66.css`,
/// `app-7f1a266a536c223a_bg.wasm`.
fn named_by_content(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let stem = name.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::named_by_content;

    #[test]
    fn only_files_named_by_their_content_are_cached_for_good() {
        assert!(named_by_content("/styles-1566384b0a1f7c66.css"));
        assert!(named_by_content("/switchyard-frontend-7f1a266a536c223a_bg.wasm"));
        assert!(named_by_content("/switchyard-frontend-7f1a266a536c223a.js"));
        assert!(!named_by_content("/index.html"));
        assert!(!named_by_content("/sites/12"));
        assert!(!named_by_content("/releases/front-end-build"));
        assert!(!named_by_content("/notes-1566384b0a1f7c6z.css"));
    }
}
