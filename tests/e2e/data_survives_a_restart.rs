//! What an operator creates is still there after the server is stopped and started again,
//! and a store that already has data is not re-seeded.

use serde_json::json;
use switchyard_e2e::server::Server;

#[tokio::test(flavor = "multi_thread")]
async fn a_created_site_survives_a_restart_and_the_demo_is_seeded_once() {
    let dir = tempfile::tempdir().unwrap();

    let server = Server::start(dir.path());
    assert!(server.output().contains("seeded a demo"), "first start seeds the demo:\n{}", server.output());
    let created = server.post_json("/sites", &json!({"name": "Bob's Bakery", "customer_id": 1, "description": "bread"})).await;
    let id = created["id"].as_i64().expect("an id");
    server.stop();

    let server = Server::start(dir.path());
    assert!(!server.output().contains("seeded a demo"), "a used store is not re-seeded:\n{}", server.output());
    let sites = server.get_json("/sites").await;
    let names: Vec<&str> = sites.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Acme Shop", "Bob's Bakery"]);
    let site = server.get_json(&format!("/sites/{id}")).await;
    assert_eq!(site["site"]["description"], "bread");
    server.stop();
}
