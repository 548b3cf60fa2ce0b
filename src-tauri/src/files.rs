//! Native file dialogs: a release candidate picked from disk and streamed to the site's
//! candidates (with progress), and the release history saved as CSV where the person chooses.

use crate::backend::{Desktop, OutBody, Outgoing};
use axum::http::Method;
use bytes::Bytes;
use futures_util::StreamExt;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use switchyard_api::{ApiError, Candidate, API_PREFIX};

/// How far an upload is, as the window's progress bar wants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UploadProgress {
    pub sent: u64,
    pub total: u64,
}

/// Enough progress reports for a smooth bar without flooding the IPC: about one per percent.
fn report_step(total: u64) -> u64 {
    (total / 100).max(256 * 1024)
}

/// `X-Filename` carries the file's name; header values must be visible ASCII.
fn header_safe_name(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "candidate".into());
    name.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' }).collect()
}

/// Streams `file` to `POST /sites/{site_id}/candidates` in whichever mode the app is in,
/// calling `on_progress` as bytes leave. Used by the dialog command and by tests.
pub async fn upload_file(
    desktop: &Desktop,
    site_id: i64,
    file: &Path,
    on_progress: impl Fn(UploadProgress) + Send + Sync + 'static,
) -> Result<Candidate, ApiError> {
    let cannot_read = |e: std::io::Error| ApiError::new(format!("cannot read {}", file.display()), e.to_string());
    let opened = tokio::fs::File::open(file).await.map_err(cannot_read)?;
    let total = opened.metadata().await.map_err(cannot_read)?.len();
    let on_progress = Arc::new(on_progress);
    on_progress(UploadProgress { sent: 0, total });
    let step = report_step(total);
    let mut sent = 0u64;
    let mut reported = 0u64;
    let report = on_progress.clone();
    let stream = tokio_util::io::ReaderStream::with_capacity(opened, 256 * 1024).map(move |chunk: std::io::Result<Bytes>| {
        if let Ok(bytes) = &chunk {
            sent += bytes.len() as u64;
            if sent - reported >= step || sent == total {
                reported = sent;
                report(UploadProgress { sent, total });
            }
        }
        chunk
    });
    let mut outgoing = Outgoing::new(
        Method::POST,
        format!("{API_PREFIX}/sites/{site_id}/candidates"),
        OutBody::Stream { stream: stream.boxed(), length: total },
    );
    outgoing.headers.push(("x-filename", header_safe_name(file)));
    let reply = desktop.send(outgoing).await?;
    reply.json()
}

/// Fetches the history export for `query` (the history page's filters) and writes it to `file`.
pub async fn save_history_csv(desktop: &Desktop, query: &str, file: &Path) -> Result<(), ApiError> {
    let query = query.trim_start_matches('?');
    let path =
        if query.is_empty() { format!("{API_PREFIX}/releases/export.csv") } else { format!("{API_PREFIX}/releases/export.csv?{query}") };
    let reply = desktop.send(Outgoing::new(Method::GET, path, OutBody::Empty)).await?;
    if !(200..300).contains(&reply.status) {
        return Err(reply.error());
    }
    // Written beside the target and renamed, so a failure never leaves half a file.
    let temporary = file.with_extension("csv.part");
    let failed = |e: std::io::Error| ApiError::new(format!("cannot write {}", file.display()), e.to_string());
    tokio::fs::write(&temporary, &reply.body).await.map_err(failed)?;
    tokio::fs::rename(&temporary, file).await.map_err(failed)
}

/// Debug builds only: end-to-end tests answer the file dialogs through these variables, since
/// WebDriver cannot reach a native dialog. Release builds always ask the person.
fn answer_for_tests(variable: &str) -> Option<PathBuf> {
    if cfg!(debug_assertions) {
        std::env::var_os(variable).map(PathBuf::from)
    } else {
        None
    }
}

/// Runs a blocking native dialog off the async workers (GTK dialogs wait for the person).
async fn ask(dialog: impl FnOnce() -> Option<tauri_plugin_dialog::FilePath> + Send + 'static) -> Result<Option<PathBuf>, ApiError> {
    let chosen = tokio::task::spawn_blocking(dialog).await.map_err(|e| ApiError::new("the file dialog failed", e.to_string()))?;
    chosen
        .map(|path| path.into_path().map_err(|e| ApiError::new("the chosen file is not on this computer's disk", e.to_string())))
        .transpose()
}

/// Opens the file picker and uploads the chosen candidate; `None` when the person cancelled.
#[tauri::command]
pub async fn upload_candidate(
    app: tauri::AppHandle,
    desktop: tauri::State<'_, Desktop>,
    site_id: i64,
    on_progress: tauri::ipc::Channel<UploadProgress>,
) -> Result<Option<Candidate>, ApiError> {
    use tauri_plugin_dialog::DialogExt;
    let picker =
        app.dialog().file().set_title("Upload a release candidate").add_filter("Release archives", &["tar.gz", "tgz", "gz", "tar"]);
    let chosen = match answer_for_tests("SWITCHYARD_DESKTOP_PICK_FILE") {
        Some(file) => Some(file),
        None => ask(move || picker.blocking_pick_file()).await?,
    };
    let Some(file) = chosen else { return Ok(None) };
    let candidate = upload_file(&desktop, site_id, &file, move |progress| {
        // The window may have gone; the upload goes on regardless.
        let _ = on_progress.send(progress);
    })
    .await?;
    Ok(Some(candidate))
}

/// Opens the save dialog and writes the history export there; the chosen path, or `None`.
#[tauri::command]
pub async fn save_csv(app: tauri::AppHandle, desktop: tauri::State<'_, Desktop>, query: String) -> Result<Option<String>, ApiError> {
    use tauri_plugin_dialog::DialogExt;
    let dialog =
        app.dialog().file().set_title("Save the release history").set_file_name("switchyard-releases.csv").add_filter("CSV", &["csv"]);
    let chosen = match answer_for_tests("SWITCHYARD_DESKTOP_SAVE_FILE") {
        Some(file) => Some(file),
        None => ask(move || dialog.blocking_save_file()).await?,
    };
    let Some(file) = chosen else { return Ok(None) };
    save_history_csv(&desktop, &query, &file).await?;
    Ok(Some(file.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_become_header_values() {
        assert_eq!(header_safe_name(Path::new("/tmp/shop 2.1.tar.gz")), "shop 2.1.tar.gz");
        assert_eq!(header_safe_name(Path::new("/tmp/café.tgz")), "caf_.tgz");
    }

    #[test]
    fn progress_is_reported_about_once_a_percent_but_not_for_every_small_chunk() {
        assert_eq!(report_step(1000), 256 * 1024);
        assert_eq!(report_step(1 << 30), (1 << 30) / 100);
    }
}
