//! Steps the desktop tests share: wait for text in the window, sign in through the set-up or
//! login page, call a desktop command as the UI does, and take a checked screenshot.

use fantoccini::Locator;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use switchyard_e2e::desktop::DesktopApp;

pub const PASSWORD: &str = "correct horse battery";

pub async fn body_text(app: &DesktopApp) -> String {
    match app.client.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits (bounded) until the window shows `needle`, and returns all its text.
pub async fn wait_for_text(app: &DesktopApp, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let text = body_text(app).await;
        if text.contains(needle) {
            return text;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let source = app.client.source().await.unwrap_or_default();
            panic!("the desktop window never showed {needle:?}; it shows:\n{text}\nits HTML:\n{source}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn fill(app: &DesktopApp, css: &str, value: &str) {
    let input = app.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css} in the window: {e}"));
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
}

/// Clicks the element `css` selects.
pub async fn click(app: &DesktopApp, css: &str) {
    let element = app.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css} in the window: {e}"));
    element.click().await.unwrap();
}

/// A fresh store asks for its first administrator: create one, which also signs in.
pub async fn set_up_administrator(app: &DesktopApp, username: &str) {
    wait_for_text(app, "Welcome to Switchyard").await;
    fill(app, "#setup-form input[name=username]", username).await;
    fill(app, "#setup-form input[name=display_name]", "Desk Admin").await;
    fill(app, "#setup-form input[name=password]", PASSWORD).await;
    fill(app, "#setup-form input[name=repeat]", PASSWORD).await;
    click(app, "#setup-form button[type=submit]").await;
    wait_for_text(app, "Log out").await;
}

/// Signs in through the login page.
pub async fn log_in(app: &DesktopApp, username: &str, password: &str) {
    wait_for_text(app, "Log in to Switchyard").await;
    fill(app, "#login-form input[name=username]", username).await;
    fill(app, "#login-form input[name=password]", password).await;
    click(app, "#login-form button[type=submit]").await;
    wait_for_text(app, "Log out").await;
}

/// Runs a desktop command from the page, as `frontend/src/desktop.rs` does: `Ok` with its
/// answer, `Err` with the error it was refused with.
pub async fn invoke(app: &DesktopApp, command: &str, args: Value) -> Result<Value, Value> {
    let script = r#"
        const [command, args, done] = arguments;
        window.__TAURI__.core.invoke(command, args).then(
            (answer) => done({ ok: answer === undefined ? null : answer }),
            (error) => done({ err: error }));
    "#;
    let outcome = app.client.execute_async(script, vec![Value::from(command), args]).await.unwrap();
    match outcome.get("ok") {
        Some(answer) => Ok(answer.clone()),
        None => Err(outcome.get("err").cloned().unwrap_or(outcome)),
    }
}

/// Runs SQL against a store file with the `sqlite3` tool (beside a running app: it waits for
/// the app's write lock) and returns what it printed.
pub fn sql(database: &Path, statements: &str) -> String {
    let output = std::process::Command::new("sqlite3")
        .args(["-cmd", ".timeout 10000"])
        .arg(database)
        .arg(statements)
        .output()
        .expect("sqlite3 is installed by cargo xtask test");
    assert!(output.status.success(), "sqlite3 refused {statements}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Takes a screenshot of the window into `path` and checks it is a real picture: a PNG of the
/// window's size with more than a handful of colours (a blank or black window has one or two).
pub async fn screenshot(app: &DesktopApp, path: &Path) {
    let png = app.client.screenshot().await.expect("WebKitWebDriver takes screenshots");
    std::fs::write(path, &png).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot is not a PNG");
    // A blank window of this size compresses to a few kilobytes; a page of text, tables and
    // charts to tens of kilobytes.
    assert!(png.len() > 30_000, "the screenshot is only {} bytes: a blank window?", png.len());
    // IHDR holds the size right after the signature: width and height, big-endian.
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!(width >= 640 && height >= 400, "the screenshot is {width}x{height}, smaller than the window");
    // ImageMagick's count of distinct colours, when it is installed (not by xtask yet).
    let identify = std::process::Command::new("identify").args(["-format", "%k"]).arg(path).output();
    if let Some(output) = identify.ok().filter(|o| o.status.success()) {
        let colours: u64 = String::from_utf8_lossy(&output.stdout).trim().parse().unwrap_or(0);
        assert!(colours > 32, "the screenshot has only {colours} colours: the page did not render");
    }
}
