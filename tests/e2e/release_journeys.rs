//! A release through each role's eyes, on the demo site that `serve` puts live on its local
//! agent: the customer uploads a candidate, rehearses and marks it ready (and cannot approve);
//! support approves from the queue reading the diff, runs production, watches it and rolls it
//! back after confirming; a manager filters the history and reads a release's cost.

use crate::people::{allows, log_in, present, staffed, status, wait_for_element, wait_for_release, Api, ADMIN, PASSWORD};
use fantoccini::Locator;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use switchyard_e2e::browser::Browser;
use switchyard_e2e::release::sample_release;
use switchyard_e2e::server::Server;

/// How long a release step on the local agent may take before the test gives up.
const STEP: Duration = Duration::from_secs(120);

/// The demo site's id and a patch-document version to release: the demo's document to 1.1.0,
/// saved again with a short watch so a production run completes in seconds, not minutes.
async fn demo_site(api: &Api) -> (i64, i64) {
    let sites = api.get("/sites").await;
    let site = sites.as_array().unwrap().iter().find(|s| s["name"] == "Acme Shop").expect("the demo site").clone();
    let id = site["id"].as_i64().unwrap();
    let documents = api.get(&format!("/sites/{id}/patch-documents")).await;
    let newest = documents.as_array().unwrap().iter().max_by_key(|d| d["version"].as_i64()).expect("the demo's patch document").clone();
    let toml = newest["toml"].as_str().unwrap();
    assert!(toml.contains("duration_secs = 300"), "the demo document changed its watch:\n{toml}");
    let quick =
        api.post(&format!("/sites/{id}/patch-documents"), json!({"toml": toml.replace("duration_secs = 300", "duration_secs = 2")})).await;
    (id, quick["version"].as_i64().unwrap())
}

/// Alice rehearses the demo's document and marks it ready, all through the API.
async fn rehearsed(server: &Server) -> (i64, i64, i64) {
    let alice = Api::log_in(server, "alice", PASSWORD).await;
    let (site_id, version) = demo_site(&alice).await;
    let rehearsal = alice.post("/releases", json!({"site_id": site_id, "document_version": version, "run": "rehearsal"})).await;
    let id = rehearsal["id"].as_i64().unwrap();
    wait_for_release(&alice, id, "ready for alice's confirmation", STEP, |d| allows(d, "confirm")).await;
    alice.post(&format!("/releases/{id}/confirm"), json!({"comment": "checked the shop"})).await;
    wait_for_release(&alice, id, "completed", STEP, |d| status(d) == "completed").await;
    (site_id, version, id)
}

/// Waits until the release page shows `status` in its header.
async fn page_status(browser: &Browser, status: &str) {
    wait_for_element(browser, &format!(".release-status [data-status='{status}']"), STEP).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_uploads_a_candidate_rehearses_it_and_marks_it_ready_but_cannot_approve() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    staffed(&server).await;
    let (tarball, sha) = sample_release(dir.path(), "1.2.0", 1);
    let browser = Browser::start().await;
    log_in(&browser, &server, "alice", PASSWORD).await;

    browser.client.find(Locator::LinkText("Acme Shop")).await.unwrap().click().await.unwrap();
    browser.find("#candidates").await;
    // Something that is not a release tarball is refused with a message saying what to send.
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "not a tarball").unwrap();
    browser.find("#upload-form input[type=file]").await.send_keys(&notes.display().to_string()).await.unwrap();
    browser.find("#upload-form button[type=submit]").await.click().await.unwrap();
    let refused = browser.find("#upload-error").await.text().await.unwrap();
    assert!(refused.len() > 20, "the refusal does not say much: {refused}");

    browser.find("#upload-form input[type=file]").await.send_keys(&tarball.display().to_string()).await.unwrap();
    browser.find("#upload-form button[type=submit]").await.click().await.unwrap();
    assert_eq!(browser.find("#uploaded-sha256").await.text().await.unwrap(), sha);
    browser.find(&format!("#candidate-list tr.candidate[data-sha256='{sha}']")).await;

    // Rehearse the demo's patch document (the newest version is chosen) and follow it live.
    browser.find("#start-rehearsal-button").await.click().await.unwrap();
    browser.find("#release-page").await;
    let release_path = browser.path().await;
    let release_id: i64 = release_path.trim_start_matches("/releases/").parse().unwrap();
    browser.find("#stages .stage").await;
    let before = browser.find("#elapsed").await.text().await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let after = browser.find("#elapsed").await.text().await.unwrap();
    assert_ne!(before, after, "the elapsed time does not tick");

    let ready = wait_for_element(&browser, "#decide-confirm", STEP).await;
    assert_eq!(ready.text().await.unwrap(), "Tested, ready");
    assert!(present(&browser, "#timeline .timeline-entry").await);
    assert!(!present(&browser, "#decide-approve").await, "a customer is offered to approve");

    // Approving through the API with alice's own session is refused, and says why.
    let alice = Api::log_in(&server, "alice", PASSWORD).await;
    let (refused, error) = alice.send(Method::POST, &format!("/releases/{release_id}/approve"), Some(json!({"comment": "me"}))).await;
    assert_eq!(refused, StatusCode::FORBIDDEN, "{error}");
    assert!(error["detail"].as_str().unwrap_or_default().contains("approve"), "{error}");

    browser.find("#release-actions textarea[name=comment]").await.send_keys("Checked the shop at the candidate address").await.unwrap();
    ready.click().await.unwrap();
    page_status(&browser, "completed").await;
    let confirmed = browser.find("#decisions tr.decision[data-decision='confirmed']").await.text().await.unwrap();
    assert!(confirmed.contains("alice") && confirmed.contains("Checked the shop"), "{confirmed}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn support_approves_from_the_queue_runs_production_and_rolls_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    staffed(&server).await;
    let (_, _, rehearsal) = rehearsed(&server).await;
    let browser = Browser::start().await;

    // Sam starts the production run of the passed rehearsal; he may not approve his own.
    log_in(&browser, &server, "sam", PASSWORD).await;
    browser.client.goto(&format!("{}/releases/{rehearsal}", server.url)).await.unwrap();
    browser.find("#run-production").await.click().await.unwrap();
    page_status(&browser, "waiting").await;
    let production: i64 = browser.path().await.trim_start_matches("/releases/").parse().unwrap();
    assert_ne!(production, rehearsal);
    assert!(!present(&browser, "#decide-approve").await, "sam is offered to approve his own release");
    browser.find("#logout").await.click().await.unwrap();

    // Ada finds it in the queue and reads what changed before approving.
    log_in(&browser, &server, ADMIN.0, ADMIN.1).await;
    browser.client.find(Locator::Css("#nav [data-nav='/approvals']")).await.unwrap().click().await.unwrap();
    let row = browser.find(&format!("#approvals tr.approval[data-release-id='{production}']")).await;
    let text = row.text().await.unwrap();
    assert!(text.contains("Acme Shop") && text.contains("Acme Outfitters") && text.contains("sam"), "{text}");
    row.find(Locator::Css(".review-link")).await.unwrap().click().await.unwrap();
    browser.find("#document-diff .diff-line").await;
    browser.find("#release-actions textarea[name=comment]").await.send_keys("Diff reviewed").await.unwrap();
    browser.find("#decide-approve").await.click().await.unwrap();

    // It runs live, stage after stage, to completion; then it can still be rolled back.
    wait_for_element(&browser, "#stages .stage[data-status='done']", STEP).await;
    page_status(&browser, "completed").await;
    assert_eq!(browser.find("#outcome").await.text().await.unwrap(), "completed");
    browser.find("#rollback-button").await.click().await.unwrap();
    browser.find("#rollback-dialog").await;
    let confirm = browser.find("#rollback-confirm").await;
    assert!(confirm.attr("disabled").await.unwrap().is_some(), "rollback is possible without confirming");
    browser.find("#rollback-dialog textarea[name=reason]").await.send_keys("The customer reports broken checkout").await.unwrap();
    browser.find("#rollback-dialog input[name=confirm-site]").await.send_keys("Acme Shop").await.unwrap();
    confirm.click().await.unwrap();
    page_status(&browser, "rolled-back").await;
    let decision = browser.find("#decisions tr.decision[data-decision='rollback requested']").await.text().await.unwrap();
    assert!(decision.contains("broken checkout"), "{decision}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manager_filters_the_history_and_reads_what_a_release_cost() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let admin = staffed(&server).await;
    let (site_id, version, _) = rehearsed(&server).await;
    let sam = Api::log_in(&server, "sam", PASSWORD).await;
    let production = sam.post("/releases", json!({"site_id": site_id, "document_version": version, "run": "production"})).await;
    let production = production["id"].as_i64().unwrap();
    wait_for_release(&admin, production, "waiting for approval", STEP, |d| allows(d, "approve")).await;
    admin.post(&format!("/releases/{production}/approve"), json!({"comment": "fine"})).await;
    wait_for_release(&admin, production, "completed", STEP, |d| status(d) == "completed").await;
    admin.post(&format!("/releases/{production}/rollback"), json!({"comment": "practice"})).await;
    let rolled_back: Value = wait_for_release(&admin, production, "rolled back", STEP, |d| status(d) == "rolled-back").await;
    // Support turns down a second production run: rejected, not failed and not rolled back.
    let second = sam.post("/releases", json!({"site_id": site_id, "document_version": version, "run": "production"})).await;
    let second = second["id"].as_i64().unwrap();
    wait_for_release(&admin, second, "waiting for approval", STEP, |d| allows(d, "approve")).await;
    admin.post(&format!("/releases/{second}/reject"), json!({"comment": "not during the sale"})).await;
    let rejected = wait_for_release(&admin, second, "rejected", STEP, |d| d["summary"]["outcome"] == "rejected").await;
    assert_eq!(status(&rejected), "rolled-back", "{rejected}");

    let browser = Browser::start().await;
    log_in(&browser, &server, "maria", PASSWORD).await;
    // A manager starts at the dashboard; the history is one link away.
    browser.find("#dashboard-page").await;
    browser.client.find(Locator::Css("#nav [data-nav='/history']")).await.unwrap().click().await.unwrap();
    browser.find("#history-page").await;
    assert_eq!(browser.find("#figure-total .figure-value").await.text().await.unwrap(), "3");
    // Every figure is the number of rows the table lists for that outcome.
    let mut figures: Vec<(&str, String)> = Vec::new();
    for outcome in ["completed", "failed", "rejected", "rolled-back"] {
        figures.push((outcome, browser.find(&format!("#figure-{outcome} .figure-value")).await.text().await.unwrap()));
    }
    assert_eq!(figures, [("completed", "1".into()), ("failed", "0".into()), ("rejected", "1".into()), ("rolled-back", "1".into())]);
    assert!(browser.find("#figures-runs").await.text().await.unwrap().starts_with("2 production runs and 1 rehearsal"));
    for (outcome, count) in &figures {
        browser.find("#history-filters select[name=outcome]").await.select_by_value(outcome).await.unwrap();
        let wanted: usize = count.parse().unwrap();
        let start = std::time::Instant::now();
        loop {
            let url = browser.client.current_url().await.unwrap();
            let rows = browser.client.find_all(Locator::Css("#history-table .release-row")).await.unwrap();
            let total = browser.find("#figure-total .figure-value").await.text().await.unwrap();
            if url.query().unwrap_or_default().contains(&format!("outcome={outcome}")) && rows.len() == wanted && total == *count {
                break;
            }
            assert!(start.elapsed() < STEP, "filtered to {outcome}: {} rows, total {total}, the figure said {count}", rows.len());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    browser.find("#history-filters select[name=outcome]").await.select_by_value("").await.unwrap();
    wait_for_element(&browser, &format!("#history-table .release-row[data-release-id='{second}'][data-outcome='rejected']"), STEP).await;
    browser.find("#chart-releases rect.bar").await;
    browser.find("#chart-duration circle.dot").await;
    browser.find("#chart-downtime svg").await;

    // Filters live in the URL: choosing one reloads the table, a reload keeps it.
    browser.find("#history-filters select[name=run]").await.select_by_value("production").await.unwrap();
    wait_for_element(&browser, "#history-table .release-row", STEP).await;
    let url = browser.client.current_url().await.unwrap();
    assert!(url.query().unwrap_or_default().contains("run=production"), "{url}");
    browser.client.refresh().await.unwrap();
    browser.find(&format!("#history-table .release-row[data-release-id='{production}']")).await;
    let rows = browser.client.find_all(Locator::Css("#history-table .release-row")).await.unwrap();
    assert_eq!(rows.len(), 2, "only the production runs match");
    let export = browser.find("#export-csv").await.attr("href").await.unwrap().unwrap_or_default();
    assert!(export.contains("/api/v1/releases/export.csv?") && export.contains("run=production"), "{export}");
    browser.client.back().await.unwrap();
    browser.find("#history-page").await;

    browser.client.goto(&format!("{}/releases/{production}", server.url)).await.unwrap();
    page_status(&browser, "rolled-back").await;
    let downtime = browser.find("#downtime").await.text().await.unwrap();
    assert_ne!(downtime, "not measured", "{rolled_back:#}");
    let decisions = browser.find("#decisions").await.text().await.unwrap();
    assert!(decisions.contains("approved") && decisions.contains("ada") && decisions.contains("practice"), "{decisions}");
    let sha = rolled_back["summary"]["candidate_sha256"].as_str().unwrap();
    assert_eq!(browser.find("#candidate-sha256").await.text().await.unwrap(), sha);
    assert!(!present(&browser, "#release-actions button").await, "a manager is offered a decision");
    browser.close().await;
}
