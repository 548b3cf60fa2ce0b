//! What an operator creates is still there after the server is stopped and started again,
//! and a store that already has data is not re-seeded.

use serde_json::{json, Value};
use switchyard_e2e::server::Server;

#[tokio::test(flavor = "multi_thread")]
async fn a_created_site_survives_a_restart_and_the_demo_is_seeded_once() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();

    let server = Server::start(dir.path());
    assert!(server.output().contains("seeded a demo"), "first start seeds the demo:\n{}", server.output());
    let created: Value = client
        .post(server.api("/sites"))
        .json(&json!({"name": "Bob's Bakery", "customer_id": 1, "description": "bread"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_i64().expect("an id");
    server.stop();

    let server = Server::start(dir.path());
    assert!(!server.output().contains("seeded a demo"), "a used store is not re-seeded:\n{}", server.output());
    let sites: Vec<Value> = client.get(server.api("/sites")).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> = sites.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Acme Shop", "Bob's Bakery"]);
    let site: Value = client.get(server.api(&format!("/sites/{id}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(site["site"]["description"], "bread");
    server.stop();
}
