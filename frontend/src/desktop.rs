//! What only the desktop app offers the UI: native file dialogs for candidate uploads and CSV
//! exports, desktop notifications, and the choice between standalone and team mode.
//!
//! Each function is a thin call into a command of the desktop shell (`src-tauri`), which does
//! the work on the Rust side with the same cookie jar as `api_request`. In a browser
//! [`is_desktop`] is false: callers keep their web behaviour (`<input type=file>`, a download
//! link) and [`start`] does nothing.

use crate::form::FormState;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use switchyard_api::{ApiError, Candidate};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn tauri_invoke(command: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

/// True inside the desktop app's window (Tauri injects `window.__TAURI__`).
pub fn is_desktop() -> bool {
    web_sys::window().map(|window| js_sys::Reflect::has(&window, &JsValue::from_str("__TAURI__")).unwrap_or(false)).unwrap_or(false)
}

/// Where the desktop app's API requests go. The shell keeps it in its config directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesktopMode {
    /// `standalone` (embedded store, engine and local agent) or `team` (a `switchyard serve`).
    pub mode: String,
    /// The team server's address, e.g. `https://switchyard.example.com`; only in team mode.
    #[serde(default)]
    pub server_url: Option<String>,
    /// Answered in standalone mode: whether a local host agent runs (releases need one) and,
    /// if not, why and what to do. Ignored when sent.
    #[serde(default, skip_serializing)]
    pub local_agent: Option<String>,
}

fn not_desktop() -> ApiError {
    ApiError::new("only the desktop app can do this", "use the web page's own controls in a browser")
}

/// Runs a desktop command. Its failures come back as an `ApiError` the shell built.
async fn call<T: for<'de> Deserialize<'de>>(command: &str, args: JsValue) -> Result<T, ApiError> {
    if !is_desktop() {
        return Err(not_desktop());
    }
    match tauri_invoke(command, args).await {
        Ok(value) => serde_wasm_bindgen::from_value(value)
            .map_err(|e| ApiError::new("unexpected reply from the desktop app", format!("{command}: {e}"))),
        Err(error) => Err(serde_wasm_bindgen::from_value::<ApiError>(error.clone()).unwrap_or_else(|_| {
            let text = error.as_string().unwrap_or_else(|| format!("{error:?}"));
            ApiError::new(format!("the desktop app could not {command}"), text)
        })),
    }
}

fn args(pairs: &[(&str, &JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (key, value) in pairs {
        let _ = js_sys::Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}

/// Reads a number field of a progress message.
fn number(message: &JsValue, key: &str) -> u64 {
    js_sys::Reflect::get(message, &JsValue::from_str(key)).ok().and_then(|v| v.as_f64()).unwrap_or(0.0) as u64
}

/// Opens the native file picker and uploads the chosen release candidate to the site
/// (`POST /api/v1/sites/{id}/candidates`, streamed by the shell, in standalone or team mode).
/// `on_progress(sent, total)` follows the upload. `Ok(None)` when the person cancelled.
pub async fn upload_candidate_native(site_id: i64, on_progress: impl Fn(u64, u64) + 'static) -> Result<Option<Candidate>, ApiError> {
    if !is_desktop() {
        return Err(not_desktop());
    }
    // A Tauri IPC channel: the shell sends `{sent, total}` through it while it streams.
    let window = web_sys::window().ok_or_else(not_desktop)?;
    let key = |name: &str| JsValue::from_str(name);
    let channel_class = js_sys::Reflect::get(&window, &key("__TAURI__"))
        .and_then(|tauri| js_sys::Reflect::get(&tauri, &key("core")))
        .and_then(|core| js_sys::Reflect::get(&core, &key("Channel")))
        .map_err(|_| not_desktop())?;
    let channel = js_sys::Reflect::construct::<fn() -> JsValue>(channel_class.unchecked_ref(), &js_sys::Array::new())
        .map_err(|e| ApiError::new("the desktop app cannot report upload progress", format!("{e:?}")))?;
    let on_message = Closure::<dyn Fn(JsValue)>::new(move |message: JsValue| {
        on_progress(number(&message, "sent"), number(&message, "total"));
    });
    let _ = js_sys::Reflect::set(&channel, &key("onmessage"), on_message.as_ref());
    let result = call("upload_candidate", args(&[("siteId", &JsValue::from_f64(site_id as f64)), ("onProgress", &channel)])).await;
    // The channel stays alive until the command answered; after that no message can come.
    drop(on_message);
    result
}

/// Opens the native save dialog and writes the release history export
/// (`GET /api/v1/releases/export.csv?{query}`) there. Cancelling is not an error.
pub async fn save_csv_native(query: String) -> Result<(), ApiError> {
    let _saved: Option<String> = call("save_csv", args(&[("query", &JsValue::from_str(&query))])).await?;
    Ok(())
}

/// In the desktop app, starts watching for what deserves a desktop notification: a production
/// release waiting for the signed-in person's approval, a release that completed or rolled
/// back. The shell polls; it notifies only about changes since its previous look. Calling it
/// again is harmless. In a browser it does nothing.
pub fn start() {
    if !is_desktop() {
        return;
    }
    // Not Leptos's spawner: `start` may run before the app is mounted and its executor exists.
    wasm_bindgen_futures::spawn_local(async {
        if let Err(error) = call::<()>("watch_notifications", JsValue::UNDEFINED).await {
            leptos::logging::warn!("desktop notifications are off: {error}");
        }
    });
}

/// Where the desktop app's requests go now.
pub async fn desktop_mode() -> Result<DesktopMode, ApiError> {
    call("desktop_mode", JsValue::UNDEFINED).await
}

/// Switches between standalone and team mode. The shell checks a team server answers before
/// it switches, and forgets the previous mode's session: reload the page afterwards so the UI
/// asks who is signed in again.
pub async fn set_desktop_mode(mode: DesktopMode) -> Result<DesktopMode, ApiError> {
    let value = serde_wasm_bindgen::to_value(&mode).map_err(|e| ApiError::new("cannot send the mode", e.to_string()))?;
    call("set_desktop_mode", args(&[("mode", &value)])).await
}

fn reload_page() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}

/// A small settings panel for the desktop app: standalone or team mode and the team server's
/// address. Renders nothing in a browser.
#[component]
pub fn DesktopSettings() -> impl IntoView {
    let desktop = is_desktop();
    let team = RwSignal::new(false);
    let server_url = RwSignal::new(String::new());
    let local_agent = RwSignal::new(None::<String>);
    let form = FormState::new();
    if desktop {
        leptos::task::spawn_local(async move {
            match desktop_mode().await {
                Ok(mode) => {
                    team.set(mode.mode == "team");
                    server_url.set(mode.server_url.unwrap_or_default());
                    local_agent.set(mode.local_agent);
                }
                Err(error) => form.error.set(Some(error)),
            }
        });
    }
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mode = if team.get_untracked() {
            DesktopMode { mode: "team".into(), server_url: Some(server_url.get_untracked().trim().to_owned()), local_agent: None }
        } else {
            DesktopMode { mode: "standalone".into(), server_url: None, local_agent: None }
        };
        form.submit(Ok(()), set_desktop_mode(mode), |_| reload_page());
    };
    desktop.then(|| {
        view! {
            <form class="form" id="desktop-settings" on:submit=submit>
                <h2>"Desktop app"</h2>
                <crate::form::FormBanner form=form />
                <label class="radio">
                    <input type="radio" name="desktop-mode" value="standalone"
                        prop:checked=move || !team.get() on:change=move |_| team.set(false) />
                    " Standalone: the store, release engine and a host agent run inside this app"
                </label>
                {move || local_agent.get().filter(|_| !team.get()).map(|line| view! { <p class="muted" id="desktop-local-agent">{line}</p> })}
                <label class="radio">
                    <input type="radio" name="desktop-mode" value="team"
                        prop:checked=move || team.get() on:change=move |_| team.set(true) />
                    " Team: connect to a Switchyard server and sign in there"
                </label>
                <label class="field">
                    <span>"Server URL"</span>
                    <input type="url" name="server_url" placeholder="https://switchyard.example.com"
                        prop:disabled=move || !team.get()
                        prop:value=move || server_url.get()
                        on:input=move |ev| server_url.set(event_target_value(&ev)) />
                </label>
                <div class="actions">
                    <button type="submit" class="button primary" prop:disabled=move || form.busy.get()>"Save and reconnect"</button>
                </div>
            </form>
        }
    })
}
