//! The start page says what runs where and what to do next, in a real browser on the demo the
//! server puts live (1.0.0, with a saved release to 1.1.0): production at 1.0.0 before the
//! release, the rehearsal's clone at 1.1.0 with the customer's test address as a link that
//! answers with the candidate, production at 1.1.0 after the release and at 1.0.0 again after
//! a rollback, each role offered its own next action. Each role's start page is kept as a
//! screenshot (`SWITCHYARD_SCREENSHOTS=DIR` copies them there for a person to look at).

use crate::people::{allows, log_in, staffed, status, wait_for_element, wait_for_release, Api, ADMIN, PASSWORD};
use fantoccini::Locator;
use serde_json::json;
use std::time::Duration;
use switchyard_e2e::browser::Browser;
use switchyard_e2e::free_port;
use switchyard_e2e::server::Server;

/// How long a release step on the local agent may take before the test gives up.
const STEP: Duration = Duration::from_secs(120);

const PRODUCTION_VERSION: &str = "#dashboard .site-row td[data-environment='production'] .version-number";

/// What a link answers at `/version`, asked through the public listener by its host name (the
/// test machine's resolver does not know `shop.acme.example`).
async fn version_at_link(link: &str) -> String {
    let rest = link.strip_prefix("http://").unwrap_or_else(|| panic!("{link} is not an http link"));
    let (authority, _) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "80"));
    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
    let reply = client.get(format!("http://127.0.0.1:{port}/version")).header("host", host).send().await.unwrap();
    reply.text().await.unwrap_or_default()
}

/// Opens the start page afresh and waits until production shows `version`.
async fn dashboard_shows(browser: &Browser, server: &Server, version: &str) {
    browser.client.goto(&format!("{}/", server.url)).await.unwrap();
    let start = std::time::Instant::now();
    loop {
        let shown = match browser.client.find(Locator::Css(PRODUCTION_VERSION)).await {
            Ok(cell) => cell.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if shown == version {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "production shows {shown:?}, not {version}:\n{}", browser.page_text().await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Keeps a screenshot of the page as `name.png`, copied to `SWITCHYARD_SCREENSHOTS` when set.
async fn keep_screenshot(browser: &Browser, name: &str) {
    let png = browser.screenshot(name).await;
    let bytes = std::fs::read(&png).unwrap_or_default();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 20_000, "the screenshot of {name} is not a picture of a page");
    if let Some(dir) = std::env::var_os("SWITCHYARD_SCREENSHOTS") {
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::copy(&png, std::path::Path::new(&dir).join(format!("{name}.png")));
    }
}

/// The next action the dashboard offers the logged-in person for the demo site.
async fn next_action(browser: &Browser) -> String {
    let cell = browser.find("#dashboard .site-row .next-action").await;
    cell.attr("data-action").await.unwrap().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_the_live_version_before_and_after_a_release_and_a_rollback_and_links_the_test_address() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let server = Server::start_with(&dir.path().join("data"), &["--public-listen", &listen]);
    let admin = staffed(&server).await;
    let browser = Browser::start().await;

    // Live at 1.0.0 from the demo's go-live; the public address is served and linked.
    log_in(&browser, &server, "alice", PASSWORD).await;
    dashboard_shows(&browser, &server, "1.0.0").await;
    let public = browser.find("#dashboard .address[data-address='shop.acme.example']").await;
    assert_eq!(public.attr("data-health").await.unwrap().as_deref(), Some("serving"));
    let public_link = format!("http://shop.acme.example:{port}/");
    let href = browser.find("#dashboard .address[data-address='shop.acme.example'] a").await.attr("href").await.unwrap();
    assert_eq!(href.as_deref(), Some(public_link.as_str()));
    assert!(version_at_link(&public_link).await.contains("1.0.0"));
    browser.find("#dashboard .address[data-address='bob.shop.acme.example'][data-health='serving']").await;
    assert_eq!(next_action(&browser).await, "rehearse", "the customer rehearses the saved release next");

    // Alice rehearses the demo's document (with a short watch for the production run).
    let alice = Api::log_in(&server, "alice", PASSWORD).await;
    let documents = alice.get("/sites/1/patch-documents").await;
    let newest = documents.as_array().unwrap().iter().max_by_key(|d| d["version"].as_i64()).expect("the demo's document").clone();
    let toml = newest["toml"].as_str().unwrap().replace("duration_secs = 300", "duration_secs = 2");
    let version = alice.post("/sites/1/patch-documents", json!({"toml": toml})).await["version"].as_i64().unwrap();
    let rehearsal = alice.post("/releases", json!({"site_id": 1, "document_version": version, "run": "rehearsal"})).await;
    let rehearsal = rehearsal["id"].as_i64().unwrap_or_else(|| panic!("no rehearsal: {rehearsal}"));
    wait_for_release(&alice, rehearsal, "ready for alice's confirmation", STEP, |d| allows(d, "confirm")).await;

    // The candidate runs 1.1.0 beside production; the customer's next action is to test it.
    dashboard_shows(&browser, &server, "1.0.0").await;
    let candidate = browser.find("#dashboard .site-row td[data-environment='candidate'] .version-number").await;
    assert_eq!(candidate.text().await.unwrap(), "1.1.0");
    assert_eq!(next_action(&browser).await, "test");
    keep_screenshot(&browser, "dashboard-customer").await;
    // The action leads to the rehearsal's page, whose test address is a link to the candidate.
    browser.find("#dashboard .next-action a.button").await.click().await.unwrap();
    let test_link = browser.find("#test-link").await.attr("href").await.unwrap().expect("the test link has an address");
    assert_eq!(test_link, format!("http://candidate.shop.acme.example:{port}/"));
    assert!(version_at_link(&test_link).await.contains("1.1.0"), "the test address does not answer with the candidate");
    assert!(version_at_link(&public_link).await.contains("1.0.0"), "the rehearsal touched production");
    keep_screenshot(&browser, "rehearsal-customer").await;

    // Each staff role's start page while the customer tests: support waits for the customer.
    for (username, password, name) in
        [("sam", PASSWORD, "dashboard-support"), ("maria", PASSWORD, "dashboard-manager"), (ADMIN.0, ADMIN.1, "dashboard-administrator")]
    {
        browser.find("#logout").await.click().await.unwrap();
        log_in(&browser, &server, username, password).await;
        dashboard_shows(&browser, &server, "1.0.0").await;
        assert_eq!(next_action(&browser).await, "nothing", "{username} is offered to act on the customer's test");
        keep_screenshot(&browser, name).await;
    }

    // Tested and ready, run in production and approved: production runs 1.1.0.
    alice.post(&format!("/releases/{rehearsal}/confirm"), json!({"comment": "checked the shop"})).await;
    wait_for_release(&alice, rehearsal, "completed", STEP, |d| status(d) == "completed").await;
    let sam = Api::log_in(&server, "sam", PASSWORD).await;
    let production = sam.post("/releases", json!({"site_id": 1, "document_version": version, "run": "production"})).await;
    let production = production["id"].as_i64().unwrap_or_else(|| panic!("no production run: {production}"));
    wait_for_release(&admin, production, "waiting for approval", STEP, |d| allows(d, "approve")).await;
    // The administrator (support too, not the submitter) is asked to approve it.
    dashboard_shows(&browser, &server, "1.0.0").await;
    assert_eq!(next_action(&browser).await, "approve");
    // The approver's page carries the rehearsal it rests on and who marked it tested.
    browser.find("#dashboard .next-action a.button").await.click().await.unwrap();
    let rested_on = browser.find("#rehearsal-link").await.attr("href").await.unwrap();
    assert_eq!(rested_on, Some(format!("/releases/{rehearsal}")));
    let confirmed = browser.find("#rehearsal-confirmed").await.text().await.unwrap();
    assert!(confirmed.contains("Marked tested by alice"), "{confirmed}");
    browser.find("#decide-approve").await;
    keep_screenshot(&browser, "release-approver").await;
    admin.post(&format!("/releases/{production}/approve"), json!({"comment": "fine"})).await;
    wait_for_release(&admin, production, "completed", STEP, |d| status(d) == "completed").await;
    dashboard_shows(&browser, &server, "1.1.0").await;
    assert!(version_at_link(&public_link).await.contains("1.1.0"));
    let source = browser.find("#dashboard .site-row td[data-environment='production'] a").await.text().await.unwrap();
    assert_eq!(source, format!("release #{production}"));
    // The site's page opens with the same facts.
    browser.client.goto(&format!("{}/sites/1", server.url)).await.unwrap();
    let on_site_page = browser.find("#site-status [data-environment='production'] .version-number").await;
    assert_eq!(on_site_page.text().await.unwrap(), "1.1.0");
    keep_screenshot(&browser, "site-administrator").await;

    // Rolled back: production runs 1.0.0 again, and the last release says by whom and why.
    admin.post(&format!("/releases/{production}/rollback"), json!({"comment": "checkout is slow"})).await;
    wait_for_release(&admin, production, "rolled back", STEP, |d| status(d) == "rolled-back").await;
    dashboard_shows(&browser, &server, "1.0.0").await;
    assert!(version_at_link(&public_link).await.contains("1.0.0"));
    wait_for_element(&browser, "#dashboard .site-row [data-status='rolled-back']", STEP).await;
    let words = browser.find("#dashboard .site-row .last-words").await.text().await.unwrap();
    assert_eq!(words, format!("rolled back by {}: checkout is slow", ADMIN.0));
    browser.close().await;
}
