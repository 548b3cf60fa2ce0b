//! Switchyard's web UI: a Leptos single-page app that talks to the API through [`api`], over
//! HTTP in a browser or through Tauri's `invoke` inside the desktop app.

mod api;
mod app;
mod desktop;
mod form;
mod format;
mod pages;
mod session;
mod upload;

fn main() {
    console_error_panic_hook::set_once();
    desktop::start();
    leptos::mount::mount_to_body(app::App);
}
