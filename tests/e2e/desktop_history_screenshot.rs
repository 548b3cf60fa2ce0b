//! A manager's view of past releases in the desktop app: releases that end are notified, the
//! history page with its figures and charts renders in the window from the embedded store, and
//! a screenshot of it under Xvfb is a real picture, not a blank window.

use crate::desktop_steps::{screenshot, set_up_administrator, sql, wait_for_text};
use fantoccini::Locator;
use std::path::Path;
use std::time::Duration;
use switchyard_e2e::desktop::DesktopApp;

/// Finished releases of the demo site over three weeks, relative to now so they fall in the
/// history page's range: completed, failed (rolled back before completing) and rolled back
/// after completing. Each belongs to the demo site by its id, under its key.
const PAST_RELEASES: &str = "
    INSERT INTO releases (uid, site, run, workflow, document_toml, document_version, candidate_sha256,
        submitted_by, placement, config, state, outcome, ended_as, downtime_ms, failed_requests, created_at,
        finished_at, completed_at, site_id)
    SELECT 'history-' || n, 'acme-shop', 'production', workflow, '', 1, 'ab', 'sam', '{}', '{}', '\"done\"',
        outcome, ended_as, downtime_ms, 0,
        strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ago),
        strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ago, '+' || minutes || ' minutes'),
        CASE WHEN completed THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ago, '+' || minutes || ' minutes') END,
        (SELECT id FROM sites WHERE key = 'acme-shop')
    FROM (
        SELECT 1 AS n, 'blue-green' AS workflow, 'completed' AS outcome, 'completed' AS ended_as, 0 AS downtime_ms, '-15 days' AS ago, 6 AS minutes, 1 AS completed
        UNION ALL SELECT 2, 'migration', 'completed', 'completed', 42000, '-15 days', 12, 1
        UNION ALL SELECT 3, 'migration', 'rolled-back', 'failed', 90000, '-8 days', 20, 0
        UNION ALL SELECT 4, 'rollout', 'completed', 'completed', 0, '-8 days', 9, 1
        UNION ALL SELECT 5, 'no-migration', 'rolled-back', 'rolled-back', 5000, '-1 days', 4, 1
        UNION ALL SELECT 6, 'minor-patch', 'completed', 'completed', 0, '-1 days', 3, 1
    );
";

#[tokio::test(flavor = "multi_thread")]
async fn the_history_page_with_its_charts_renders_in_the_desktop_window() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("store");
    let app = DesktopApp::start(&data, scratch.path()).await;
    set_up_administrator(&app, "desk").await;
    // Once the notification watcher has looked for this session, releases that end are news.
    let log = scratch.path().join("tauri-driver.log");
    wait_for_log(&log, "notifications: first look taken").await;

    // Releases ending beside the running app, as the engine would record them.
    sql(&data.join("switchyard.db"), PAST_RELEASES);

    // The page's own address in the window (tauri://localhost/…), reloaded: the shell's
    // cookie jar keeps the session across it.
    let mut url = app.client.current_url().await.unwrap();
    url.set_path("/history");
    url.set_query(None);
    app.client.goto(url.as_str()).await.unwrap();
    wait_for_text(&app, "Releases per week").await;
    // The table loads separately from the charts: wait for its rows too.
    let text = wait_for_text(&app, "Acme Outfitters").await;
    for expected in [
        "Release history",
        "Mean duration per week",
        "Downtime per week",
        "Completed",
        "Rolled back",
        "Production failure rate",
        "Releases per week",
        "migration",
    ] {
        assert!(text.contains(expected), "the history page lacks {expected:?}:\n{text}");
    }
    let total = app.client.find(Locator::Css("#figure-total .figure-value")).await.unwrap().text().await.unwrap();
    assert_eq!(total, "6", "{text}");
    for chart in ["#chart-releases svg", "#chart-duration svg", "#chart-downtime svg"] {
        app.client.find(Locator::Css(chart)).await.unwrap_or_else(|e| panic!("no {chart}: {e}\n{text}"));
    }

    // Bring the charts into view; a WebKit screenshot can lag the DOM by a frame.
    app.client.execute("document.getElementById('history-charts').scrollIntoView()", vec![]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let png = scratch.path().join("history.png");
    screenshot(&app, &png).await;
    if let Some(dir) = std::env::var_os("SWITCHYARD_SCREENSHOTS") {
        // For a person to look at: `SWITCHYARD_SCREENSHOTS=/tmp/shots cargo xtask test`.
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::copy(&png, std::path::Path::new(&dir).join("desktop-history.png"));
    }
    // Each release that ended was notified (without a notification service, only logged).
    wait_for_log(&log, "notification: Release completed: Acme Shop").await;
    wait_for_log(&log, "notification: Release rolled back: Acme Shop").await;
    app.close().await;
}

/// Waits (bounded) until the desktop app's output, which tauri-driver passes on, holds `needle`.
async fn wait_for_log(log: &Path, needle: &str) {
    let start = std::time::Instant::now();
    loop {
        let output = std::fs::read_to_string(log).unwrap_or_default();
        if output.contains(needle) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the desktop app never logged {needle:?}; it logged:\n{output}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
