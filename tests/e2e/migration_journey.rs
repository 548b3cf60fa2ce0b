//! A release with a database migration, through the customer's eyes: production moves to its
//! temporary address while the public one shows the site-down page, the migration runs on
//! production's own data, and the customer checks the new version at the temporary address
//! and confirms it in the browser before production returns to its public address. The release
//! records how long the site was down.

use crate::people::{allows, log_in, staffed, status, wait_for_element, wait_for_release, Api, PASSWORD};
use serde_json::json;
use std::time::Duration;
use switchyard_e2e::browser::Browser;
use switchyard_e2e::free_port;
use switchyard_e2e::release::sample_release;
use switchyard_e2e::server::Server;

/// How long a release step on the local agent may take before the test gives up.
const STEP: Duration = Duration::from_secs(120);

/// What the public router answers for `host`: the status and the body.
async fn public(port: u16, host: &str, path: &str) -> (u16, String) {
    let reply = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}{path}"))
        .header("host", host)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path} at {host}: {e}"));
    (reply.status().as_u16(), reply.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_confirms_a_migrated_production_at_its_temporary_address() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let server = Server::start_with(&dir.path().join("data"), &["--public-listen", &listen]);
    let admin = staffed(&server).await;
    let alice = Api::log_in(&server, "alice", PASSWORD).await;
    let sam = Api::log_in(&server, "sam", PASSWORD).await;
    let before = public(port, "shop.acme.example", "/records").await;
    assert_eq!(before.0, 200, "the demo site is not live: {before:?}");
    let written = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/records"))
        .header("host", "shop.acme.example")
        .json(&json!({"body": "an order placed before the migration"}))
        .send()
        .await
        .unwrap();
    assert!(written.status().is_success(), "{}", written.text().await.unwrap_or_default());

    // Alice uploads 2.0.0, which needs schema 2, and writes the migration's runbook.
    let (tarball, sha) = sample_release(dir.path(), "2.0.0", 2);
    let upload = server
        .request(reqwest::Method::POST, "/sites/1/candidates")
        .await
        .header("x-filename", "acme-shop-2.0.0.tar.gz")
        .header("content-type", "application/gzip")
        .body(std::fs::read(&tarball).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 201, "{}", upload.text().await.unwrap_or_default());
    let template = alice.get("/sites/1/patch-template?workflow=migration").await;
    let toml = template["toml"]
        .as_str()
        .unwrap()
        .replace(&"0".repeat(64), &sha)
        .replace("target_version = \"1.0.0\"", "target_version = \"2.0.0\"")
        .replace("command = \"bin/migrate\"", "command = \"bin/site migrate\"")
        .replace(
            "\n[step.rollback]\naction = \"run-command\"\ncommand = \"bin/migrate --down\"\ntimeout_secs = 600\nmigration = false\n",
            "\n",
        );
    let saved = alice.post("/sites/1/patch-documents", json!({"toml": toml})).await;
    let version = saved["version"].as_i64().unwrap_or_else(|| panic!("the runbook was refused: {saved}"));

    // The migration is rehearsed on a clone first; alice marks it ready.
    let rehearsal = alice.post("/releases", json!({"site_id": 1, "document_version": version, "run": "rehearsal"})).await;
    let rehearsal = rehearsal["id"].as_i64().unwrap_or_else(|| panic!("no rehearsal: {rehearsal}"));
    wait_for_release(&alice, rehearsal, "the rehearsal ready to check", STEP, |d| allows(d, "confirm")).await;
    alice.post(&format!("/releases/{rehearsal}/confirm"), json!({"comment": "orders still there on 2.0.0"})).await;
    wait_for_release(&alice, rehearsal, "the rehearsal completed", STEP, |d| status(d) == "completed").await;
    let production = public(port, "shop.acme.example", "/version").await.1;
    assert!(production.contains("1.0.0"), "a rehearsal touched production: {production}");

    // Sam runs it, ada approves; production migrates behind the site-down page and waits for alice.
    let run = sam.post("/releases", json!({"site_id": 1, "document_version": version, "run": "production"})).await;
    let run = run["id"].as_i64().unwrap_or_else(|| panic!("no production run: {run}"));
    // The page says a rollback would restore the snapshot and lose later writes; approving
    // without confirming that is refused with the statement, then accepted with it.
    let detail = admin.get(&format!("/releases/{run}")).await;
    let statement = &detail["evidence"]["rollback"];
    assert_eq!(statement["needs_acknowledgement"], true, "{statement}");
    assert!(statement["words"].as_str().unwrap_or_default().contains("snapshot"), "{statement}");
    let (refused, error) =
        admin.send(reqwest::Method::POST, &format!("/releases/{run}/approve"), Some(json!({"comment": "migration window agreed"}))).await;
    assert_eq!(refused.as_u16(), 422, "{error}");
    assert!(error.to_string().contains("rollback"), "{error}");
    admin.post(&format!("/releases/{run}/approve"), json!({"comment": "migration window agreed", "acknowledge_rollback": true})).await;
    wait_for_release(&alice, run, "production waiting for alice", STEP, |d| allows(d, "confirm")).await;
    let (down, page) = public(port, "shop.acme.example", "/version").await;
    assert_eq!(down, 503, "the public address must show the site-down page during the check: {page}");
    let (up, temporary) = public(port, "temporary.shop.acme.example", "/version").await;
    assert_eq!(up, 200, "{temporary}");
    assert!(temporary.contains("2.0.0"), "the temporary address serves {temporary}");
    let records = public(port, "temporary.shop.acme.example", "/records").await.1;
    assert!(records.contains("an order placed before the migration"), "the migration lost production's data: {records}");

    // Alice confirms in the browser; production returns to its public address on 2.0.0.
    let browser = Browser::start().await;
    log_in(&browser, &server, "alice", PASSWORD).await;
    browser.client.goto(&format!("{}/releases/{run}", server.url)).await.unwrap();
    browser.wait_for_text("waiting for the customer's confirmation").await;
    assert!(browser.client.find(fantoccini::Locator::Css("#decide-approve")).await.is_err(), "a customer is offered to approve");
    browser.find("#release-actions textarea[name=comment]").await.send_keys("checked orders at the temporary address").await.unwrap();
    browser.find("#decide-confirm").await.click().await.unwrap();
    wait_for_element(&browser, ".release-status [data-status='completed']", STEP).await;
    browser.close().await;

    let (live, version_now) = public(port, "shop.acme.example", "/version").await;
    assert_eq!(live, 200, "{version_now}");
    assert!(version_now.contains("2.0.0"), "production serves {version_now}");
    let detail = alice.get(&format!("/releases/{run}")).await;
    let downtime = detail["summary"]["downtime_ms"].as_i64().unwrap_or_else(|| panic!("no downtime recorded: {detail}"));
    assert!(downtime > 0, "the site-down window was not measured: {detail}");
    let decisions = detail["decisions"].to_string();
    assert!(decisions.contains("confirmed") && decisions.contains("alice"), "{decisions}");
}
