//! The desktop shell: a Tauri window showing the same Leptos UI as the browser.
//!
//! The UI's API client talks to the shell through one command, [`api_request`]. In standalone
//! mode (the default) it dispatches into the very same axum routes `switchyard serve` exposes,
//! in-process over an embedded store with its own local agent; in team mode it forwards to a
//! team's `switchyard serve`. Either way the shell keeps the session cookie, so the login and
//! set-up pages work unchanged, and the desktop app has no business rules or routes of its own.
//! Beyond that it offers native file dialogs (`files.rs`) and notifications (`notify.rs`).

mod backend;
mod files;
mod jar;
mod mode;
mod notify;
mod standalone;

pub use backend::{Desktop, OutBody, Outgoing, Reply};
pub use files::{save_history_csv, upload_file, UploadProgress};
pub use mode::DesktopMode;
pub use notify::{poll, Note, Watch};

use axum::http::Method;
use serde::Serialize;
use switchyard_api::ApiError;
use tauri::Manager;

/// What the UI's transport expects back: the status and body an HTTP server would have sent.
#[derive(Serialize)]
struct ApiReply {
    status: u16,
    body: String,
}

#[tauri::command]
async fn api_request(desktop: tauri::State<'_, Desktop>, method: String, path: String, body: Option<String>) -> Result<ApiReply, String> {
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| format!("{method:?} is not an HTTP method"))?;
    let body = body.map(OutBody::Json).unwrap_or(OutBody::Empty);
    match desktop.send(Outgoing::new(method, path, body)).await {
        Ok(reply) => Ok(ApiReply { status: reply.status, body: reply.text() }),
        // Shown by the UI like any refusal: what failed and what to do (a team server down).
        Err(error) => Ok(ApiReply { status: 502, body: serde_json::to_string(&error).expect("errors serialise") }),
    }
}

/// The mode as the settings panel shows it, with a line on standalone mode's local agent.
#[derive(Serialize)]
struct ModeView {
    #[serde(flatten)]
    mode: DesktopMode,
    /// Whether releases can run on this computer and, if not, why.
    #[serde(skip_serializing_if = "Option::is_none")]
    local_agent: Option<String>,
}

#[tauri::command]
async fn desktop_mode(desktop: tauri::State<'_, Desktop>) -> Result<ModeView, ApiError> {
    let mode = desktop.mode().await;
    let local_agent = if mode.team_url().is_none() { desktop.standalone_summary() } else { None };
    Ok(ModeView { mode, local_agent })
}

#[tauri::command]
async fn set_desktop_mode(desktop: tauri::State<'_, Desktop>, mode: DesktopMode) -> Result<ModeView, ApiError> {
    let mode = desktop.set_mode(mode).await?;
    let local_agent = if mode.team_url().is_none() { desktop.standalone_summary() } else { None };
    tracing::info!("desktop mode is now {mode:?}");
    Ok(ModeView { mode, local_agent })
}

fn config_file(app: &tauri::App) -> Result<std::path::PathBuf, String> {
    let dir = app.path().app_config_dir().map_err(|e| format!("cannot find a config directory: {e}"))?;
    Ok(dir.join(mode::CONFIG_FILE))
}

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SWITCHYARD_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .setup(|app| {
            let file = config_file(app)?;
            let desktop = tauri::async_runtime::block_on(Desktop::open(file))?;
            app.manage(desktop);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            api_request,
            desktop_mode,
            set_desktop_mode,
            files::upload_candidate,
            files::save_csv,
            notify::watch_notifications,
        ])
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(error) => {
            eprintln!("Switchyard cannot start: {error}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            // Stop the local agent's sites and close the store before the process ends.
            if let Some(desktop) = handle.try_state::<Desktop>() {
                tauri::async_runtime::block_on(desktop.shut_down());
            }
        }
    });
}
