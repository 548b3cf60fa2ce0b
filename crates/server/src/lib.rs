//! Switchyard's HTTP face: the JSON API under `/api/v1` and the built web UI.
//!
//! Handlers are thin: extract, call one [`Service`] method, map the result. [`api_router`] has no
//! socket of its own, so the desktop app dispatches the same routes in-process.

mod candidate_routes;
mod error;
mod extract;
mod record_routes;
mod release_routes;
mod routes;
mod session;

pub use error::AppError;

use axum::Router;
use std::path::Path;
use switchyard_service::Service;
use tower_http::services::{ServeDir, ServeFile};

/// The JSON API alone, nested under [`switchyard_api::API_PREFIX`].
pub fn api_router(service: Service) -> Router {
    Router::new().nest(
        switchyard_api::API_PREFIX,
        routes::routes()
            .merge(session::routes())
            .merge(release_routes::routes())
            .merge(record_routes::routes())
            .merge(candidate_routes::routes())
            .with_state(service),
    )
}

/// The API plus the web UI from `ui_dir` (trunk's `dist/`). Any path that is neither an API
/// route nor a file gets `index.html`, so the UI's own routes survive a reload.
pub fn app(service: Service, ui_dir: &Path) -> Router {
    let index = ServeFile::new(ui_dir.join("index.html"));
    api_router(service).fallback_service(ServeDir::new(ui_dir).fallback(index))
}
