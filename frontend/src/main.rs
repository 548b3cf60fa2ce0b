//! Switchyard's web UI: a Leptos single-page app that talks to the API through [`api`], over
//! HTTP in a browser or through Tauri's `invoke` inside the desktop app.

mod api;
mod app;
mod form;
mod pages;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
