//! A site's wildcard address through the public listener: the demo site lists
//! `*.shop.acme.example` as a production address for its accounts bob, carol and dave, so
//! `bob.shop.acme.example` answers what production runs (1.0.0 once `serve` put the demo
//! live) and, after a release, the new version (1.1.0), like the public address.

use crate::people::{allows, staffed, status, wait_for_release, Api, PASSWORD};
use serde_json::json;
use std::time::Duration;
use switchyard_e2e::free_port;
use switchyard_e2e::server::Server;

/// How long a release step on the local agent may take before the test gives up.
const STEP: Duration = Duration::from_secs(120);

/// What the public router answers for `host` at `/version`: the status and the body.
async fn version_at(port: u16, host: &str) -> (u16, String) {
    let reply = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{port}/version"))
        .header("host", host)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /version at {host}: {e}"));
    (reply.status().as_u16(), reply.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_account_of_the_wildcard_address_answers_the_live_version_before_and_after_a_release() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let server = Server::start_with(&dir.path().join("data"), &["--public-listen", &listen]);
    let admin = staffed(&server).await;
    for host in ["shop.acme.example", "bob.shop.acme.example", "carol.shop.acme.example", "dave.shop.acme.example"] {
        let (code, body) = version_at(port, host).await;
        assert_eq!(code, 200, "{host} is not served: {body}");
        assert!(body.contains("1.0.0"), "{host} answers {body}, not the live 1.0.0");
    }

    // The demo's document to 1.1.0, with a short watch so the run completes in seconds.
    let alice = Api::log_in(&server, "alice", PASSWORD).await;
    let documents = alice.get("/sites/1/patch-documents").await;
    let newest = documents.as_array().unwrap().iter().max_by_key(|d| d["version"].as_i64()).expect("the demo's document").clone();
    let toml = newest["toml"].as_str().unwrap().replace("duration_secs = 300", "duration_secs = 2");
    let version = alice.post("/sites/1/patch-documents", json!({"toml": toml})).await["version"].as_i64().unwrap();
    let rehearsal = alice.post("/releases", json!({"site_id": 1, "document_version": version, "run": "rehearsal"})).await;
    let rehearsal = rehearsal["id"].as_i64().unwrap_or_else(|| panic!("no rehearsal: {rehearsal}"));
    wait_for_release(&alice, rehearsal, "ready for alice's confirmation", STEP, |d| allows(d, "confirm")).await;
    // The rehearsal runs beside production: the accounts still see 1.0.0.
    assert!(version_at(port, "bob.shop.acme.example").await.1.contains("1.0.0"));
    alice.post(&format!("/releases/{rehearsal}/confirm"), json!({"comment": "checked the shop"})).await;
    wait_for_release(&alice, rehearsal, "completed", STEP, |d| status(d) == "completed").await;

    let sam = Api::log_in(&server, "sam", PASSWORD).await;
    let production = sam.post("/releases", json!({"site_id": 1, "document_version": version, "run": "production"})).await;
    let production = production["id"].as_i64().unwrap_or_else(|| panic!("no production run: {production}"));
    wait_for_release(&admin, production, "waiting for approval", STEP, |d| allows(d, "approve")).await;
    admin.post(&format!("/releases/{production}/approve"), json!({"comment": "fine"})).await;
    wait_for_release(&admin, production, "completed", STEP, |d| status(d) == "completed").await;
    for host in ["shop.acme.example", "bob.shop.acme.example", "carol.shop.acme.example"] {
        let (code, body) = version_at(port, host).await;
        assert_eq!(code, 200, "{host} is not served after the release: {body}");
        assert!(body.contains("1.1.0"), "{host} answers {body} after the release, not 1.1.0");
    }
}
