//! Switchyard's HTTP face: the JSON API under `/api/v1` and the built web UI.
//!
//! Handlers are thin: extract, call one [`Service`] method, map the result. [`api_router`] has no
//! socket of its own, so the desktop app dispatches the same routes in-process.

mod candidate_routes;
mod database_routes;
mod error;
mod extract;
mod record_routes;
mod release_routes;
mod request_guard;
mod routes;
mod session;
mod ui_files;

pub use error::AppError;

use axum::{Extension, Router};
use ipnet::IpNet;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use switchyard_service::Service;

/// How the server is reached, which decides cookie flags, client addresses and the origins
/// whose pages may send state-changing requests. The default suits `serve` on loopback.
#[derive(Debug, Clone, Default)]
pub struct HttpConfig {
    /// Mark the session cookie `Secure`: Switchyard is reached over HTTPS (through a proxy).
    pub secure_cookies: bool,
    /// Proxies whose `X-Forwarded-For` names the client; from anyone else it is ignored.
    pub trusted_proxies: Vec<IpNet>,
    /// Origins (`https://switchyard.example.com`) Switchyard's pages are served from besides
    /// the address in each request's Host header, e.g. behind a proxy that rewrites Host.
    pub public_origins: Vec<String>,
}

impl HttpConfig {
    pub fn trusts(&self, address: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&address))
    }

    /// Whether a page at `origin` is one of Switchyard's own: the same host and port as the
    /// request's Host header, or a configured public origin.
    pub(crate) fn allows_origin(&self, origin: &str, host: &str) -> bool {
        if self.public_origins.iter().any(|allowed| allowed.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
            return true;
        }
        let authority = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
        !host.is_empty() && authority.is_some_and(|authority| authority.eq_ignore_ascii_case(host))
    }
}

/// The JSON API alone, nested under [`switchyard_api::API_PREFIX`], with the default
/// [`HttpConfig`] (the desktop app's in-process dispatch, tests).
pub fn api_router(service: Service) -> Router {
    api_router_with(service, HttpConfig::default())
}

pub fn api_router_with(service: Service, config: HttpConfig) -> Router {
    let api = routes::routes()
        .merge(session::routes())
        .merge(release_routes::routes())
        .merge(record_routes::routes())
        .merge(candidate_routes::routes())
        .merge(database_routes::routes())
        .with_state(service)
        .layer(axum::middleware::from_fn(request_guard::guard))
        .layer(Extension(Arc::new(config)));
    Router::new().nest(switchyard_api::API_PREFIX, api)
}

/// The API plus the web UI from `ui_dir` (trunk's `dist/`). Any path that is neither an API
/// route nor a file gets `index.html`, so the UI's own routes survive a reload.
pub fn app(service: Service, ui_dir: &Path) -> Router {
    app_with(service, ui_dir, HttpConfig::default())
}

pub fn app_with(service: Service, ui_dir: &Path, config: HttpConfig) -> Router {
    api_router_with(service, config).fallback_service(ui_files::router(ui_dir))
}
