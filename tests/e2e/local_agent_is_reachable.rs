//! `switchyard serve` starts a host agent beside itself and registers it as host "local": the
//! host's status is asked live over HTTPS with the certificate pinned, and a host registered
//! with the wrong certificate or without a token is reported unreachable with the reason; the
//! token is entered once and never shown again.

use fantoccini::Locator;
use serde_json::{json, Value};
use switchyard_e2e::browser::Browser;
use switchyard_e2e::server::Server;

async fn status(server: &Server, id: i64) -> Value {
    server.get_json(&format!("/hosts/{id}/status")).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_local_agent_answers_and_a_wrong_certificate_or_token_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let hosts = server.get_json("/hosts").await;
    let hosts = hosts.as_array().unwrap();
    let local = hosts.iter().find(|h| h["name"] == "local").expect("the demo's local host");
    let fingerprint = local["cert_fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(fingerprint.len(), 64, "{local}");
    let url = local["agent_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("https://127.0.0.1:") && !url.ends_with(":7443"), "registered at its real port: {url}");
    let id = local["id"].as_i64().unwrap();

    let live = status(&server, id).await;
    assert_eq!(live["reachable"], true, "{live}");
    assert!(live["agent_version"].as_str().is_some_and(|v| !v.is_empty()), "{live}");
    // The e2e tests run as root, as CI does: the agent gives each site its own user and says
    // what enforces the sites' limits.
    assert_eq!(live["isolation"]["site_users"], true, "run the e2e tests as root: {live}");
    assert!(matches!(live["isolation"]["limits"].as_str(), Some("cgroup v2" | "rlimits")), "{live}");

    assert_eq!(local["token_stored"], true, "{local}");
    assert!(local.get("token").is_none() && local.get("token_ref").is_none(), "the token is never returned: {local}");
    // Another host claiming the same agent with a different certificate is refused by the pin.
    let token = std::fs::read_to_string(dir.path().join("agent/agent/token")).unwrap().trim().to_owned();
    let impostor = server
        .post_json("/hosts", &json!({"name": "impostor", "agent_url": url, "token": token, "cert_fingerprint": "00".repeat(32)}))
        .await;
    let refused = status(&server, impostor["id"].as_i64().unwrap()).await;
    assert_eq!(refused["reachable"], false, "{refused}");
    assert!(refused["problem"].as_str().unwrap().contains("cannot reach the agent"), "{refused}");

    let tokenless = server.post_json("/hosts", &json!({"name": "tokenless", "agent_url": url, "cert_fingerprint": fingerprint})).await;
    let missing = status(&server, tokenless["id"].as_i64().unwrap()).await;
    assert!(missing["problem"].as_str().unwrap().contains("no agent token is stored for host tokenless"), "{missing}");

    // The hosts page shows the live status.
    let browser = Browser::start().await;
    server.sign_in(&browser, "/hosts").await;
    browser.wait_for_text("reachable · agent").await;
    browser.wait_for_text("unreachable: ").await;

    // The operator fixes the impostor's fingerprint from the hosts page and it becomes reachable.
    let edit = "//tr[td[text()='impostor']]//button[text()='Edit']";
    browser.client.find(Locator::XPath(edit)).await.unwrap().click().await.unwrap();
    browser.wait_for_text("Edit host").await;
    let field = browser.find("input[name=cert_fingerprint]").await;
    assert_eq!(field.prop("value").await.unwrap().unwrap_or_default(), "00".repeat(32));
    field.clear().await.unwrap();
    field.send_keys(&fingerprint).await.unwrap();
    // A changed certificate needs the token entered again.
    browser.find("input[name=token]").await.send_keys(&token).await.unwrap();
    browser.find("form.card button[type=submit]").await.click().await.unwrap();
    let fixed = "//tr[td[text()='impostor']]//span[@data-host-status='up']";
    browser.client.wait().at_most(std::time::Duration::from_secs(15)).for_element(Locator::XPath(fixed)).await.unwrap();
    browser.close().await;

    // After a restart the agent keeps its identity and is registered again.
    server.stop();
    let server = Server::start(dir.path());
    let again = status(&server, id).await;
    assert_eq!(again["reachable"], true, "{again}");
    let hosts = server.get_json("/hosts").await;
    let hosts = hosts.as_array().unwrap();
    assert_eq!(hosts.iter().find(|h| h["id"] == id).unwrap()["cert_fingerprint"], fingerprint.as_str());
    server.stop();
}
