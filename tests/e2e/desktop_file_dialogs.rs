//! Files through the desktop app's native dialogs: a release candidate uploaded from disk shows
//! its sha256 in the window, and the release history is saved as a CSV file. WebDriver cannot
//! reach a native dialog, so the debug build's test variables answer them with fixed paths;
//! everything after the dialog (the IPC channel, streaming, the API, the UI) is the real path.

use crate::desktop_steps::{click, set_up_administrator, wait_for_text};
use fantoccini::Locator;
use std::path::Path;
use std::time::{Duration, Instant};
use switchyard_e2e::desktop::DesktopApp;

/// Waits (bounded) until `file` exists and is complete enough to read its first line.
async fn wait_for_file(file: &Path) -> String {
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(file) {
            if text.contains('\n') {
                return text;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{} was never written", file.display());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_desktop_app_uploads_a_candidate_and_saves_the_history_through_native_dialogs() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("store");
    let tarball = scratch.path().join("shop-3.0.0.tar.gz");
    // A real release tarball: uploads are read through as gzip + tar.
    let (built, _) = switchyard_e2e::release::sample_release(scratch.path(), "3.0.0", 1);
    std::fs::rename(&built, &tarball).unwrap();
    let export = scratch.path().join("saved").join("history.csv");
    std::fs::create_dir_all(export.parent().unwrap()).unwrap();
    let env = [("SWITCHYARD_DESKTOP_PICK_FILE", tarball.as_path()), ("SWITCHYARD_DESKTOP_SAVE_FILE", export.as_path())];
    let app = DesktopApp::start_with_env(&data, scratch.path(), &env).await;
    set_up_administrator(&app, "desk").await;

    wait_for_text(&app, "Acme Shop").await;
    app.client.find(Locator::LinkText("Acme Shop")).await.unwrap().click().await.unwrap();
    wait_for_text(&app, "Choose a file and upload").await;
    click(&app, "#upload-native").await;
    let text = wait_for_text(&app, "Uploaded shop-3.0.0.tar.gz").await;
    let shown = app.client.find(Locator::Css("#uploaded-sha256")).await.unwrap().text().await.unwrap();
    let sha256sum = std::process::Command::new("sha256sum").arg(&tarball).output().expect("coreutils' sha256sum");
    let expected = String::from_utf8_lossy(&sha256sum.stdout).split_whitespace().next().unwrap_or_default().to_owned();
    assert_eq!(shown, expected, "{text}");

    let mut url = app.client.current_url().await.unwrap();
    url.set_path("/history");
    url.set_query(None);
    app.client.goto(url.as_str()).await.unwrap();
    wait_for_text(&app, "Release history").await;
    click(&app, "#export-csv").await;
    let csv = wait_for_file(&export).await;
    assert!(csv.starts_with("id,"), "the saved export does not start with its header:\n{csv}");
    app.close().await;
}
