//! The desktop shell: a Tauri window showing the same Leptos UI as the browser.
//!
//! Standalone mode embeds the store in-process. The UI's API client talks to it through one
//! command, [`api_request`], which dispatches into the very same axum routes `switchyard serve`
//! exposes, without a socket. So the desktop app has no business rules and no routing of its own.

use axum::body::Body;
use axum::http::{header, Method, Request};
use http_body_util::BodyExt;
use serde::Serialize;
use std::path::PathBuf;
use switchyard_service::Service;
use switchyard_store::Store;
use tower::ServiceExt;

/// The in-process API the window's requests are dispatched to.
struct Backend {
    api: axum::Router,
}

/// What the UI's transport expects back: the status and body an HTTP server would have sent.
#[derive(Serialize)]
struct ApiReply {
    status: u16,
    body: String,
}

#[tauri::command]
async fn api_request(
    backend: tauri::State<'_, Backend>,
    method: String,
    path: String,
    body: Option<String>,
) -> Result<ApiReply, String> {
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| format!("{method:?} is not an HTTP method"))?;
    let request = Request::builder()
        .method(method)
        .uri(&path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .map_err(|e| format!("cannot build a request for {path}: {e}"))?;
    let Ok(response) = backend.api.clone().oneshot(request).await;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("cannot read the reply to {path}: {e}"))?
        .to_bytes();
    Ok(ApiReply { status, body: String::from_utf8_lossy(&bytes).into_owned() })
}

/// `SWITCHYARD_DATA` when set, else the same XDG data directory `switchyard serve` uses, so
/// both see one store.
fn data_dir() -> Result<PathBuf, String> {
    match std::env::var_os("SWITCHYARD_DATA") {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => switchyard_store::default_data_dir()
            .ok_or_else(|| "cannot find a home directory; set SWITCHYARD_DATA to a writable directory".to_owned()),
    }
}

async fn open_backend() -> Result<Backend, String> {
    let dir = data_dir()?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
    let store = Store::open(&dir.join("switchyard.db")).await.map_err(|e| e.to_string())?;
    let service = Service::new(store);
    service.seed_demo_if_empty().await.map_err(|e| format!("cannot seed the demo: {e}"))?;
    Ok(Backend { api: switchyard_server::api_router(service) })
}

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SWITCHYARD_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let backend = match tauri::async_runtime::block_on(open_backend()) {
        Ok(backend) => backend,
        Err(message) => {
            eprintln!("Switchyard cannot start: {message}");
            std::process::exit(1);
        }
    };
    let result = tauri::Builder::default()
        .manage(backend)
        .invoke_handler(tauri::generate_handler![api_request])
        .run(tauri::generate_context!());
    if let Err(error) = result {
        eprintln!("Switchyard's window failed: {error}");
        std::process::exit(1);
    }
}
