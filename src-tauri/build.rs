//! Builds the desktop app: embeds the web UI from frontend/dist and the Tauri config.
fn main() {
    tauri_build::build()
}
