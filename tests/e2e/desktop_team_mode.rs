//! A team member points the desktop app at the team's `switchyard serve`: a server that cannot be
//! reached is refused saying what to do, the real one is accepted, and after logging in the
//! window shows the server's sites, not the embedded store's.

use crate::desktop_steps::{invoke, log_in, wait_for_text, PASSWORD};
use serde_json::json;
use switchyard_e2e::desktop::DesktopApp;
use switchyard_e2e::server::Server;

/// Creates the server's administrator and a site only the server has, over its HTTP API.
async fn prepare_team_server(server: &Server) {
    let http = reqwest::Client::new();
    let reply = http
        .post(server.api("/setup"))
        .json(&json!({"username": "lead", "display_name": "Team Lead", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201, "set-up refused: {}", reply.text().await.unwrap_or_default());
    let token = reply.headers()["x-switchyard-session"].to_str().unwrap().to_owned();
    let customers: serde_json::Value = http.get(server.api("/customers")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let customer_id = customers[0]["id"].as_i64().expect("the demo customer");
    let reply = http
        .post(server.api("/sites"))
        .bearer_auth(&token)
        .json(&json!({"name": "Team Site", "customer_id": customer_id, "description": "only on the team's server"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201, "creating the site was refused: {}", reply.text().await.unwrap_or_default());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_desktop_app_in_team_mode_logs_in_to_the_server_and_shows_its_sites() {
    let scratch = tempfile::tempdir().unwrap();
    let server = Server::start(&scratch.path().join("server"));
    prepare_team_server(&server).await;
    let data = scratch.path().join("store");
    let app = DesktopApp::start(&data, scratch.path()).await;
    // Standalone first: the embedded store is fresh, so it asks for its own administrator.
    wait_for_text(&app, "Welcome to Switchyard").await;

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let refused = invoke(&app, "set_desktop_mode", json!({"mode": {"mode": "team", "server_url": format!("http://{closed}")}}))
        .await
        .expect_err("nothing listens there");
    let error = refused["error"].as_str().unwrap_or_default();
    assert!(error.contains("cannot reach the Switchyard server"), "{refused}");
    assert!(refused["detail"].as_str().unwrap_or_default().contains("switchyard serve"), "{refused}");

    let chosen = invoke(&app, "set_desktop_mode", json!({"mode": {"mode": "team", "server_url": server.url}})).await.unwrap();
    assert_eq!(chosen["mode"], "team", "{chosen}");
    assert_eq!(chosen["server_url"], server.url.as_str(), "{chosen}");

    // The UI reloads after a switch and now asks who is signed in on the server.
    app.client.refresh().await.unwrap();
    log_in(&app, "lead", PASSWORD).await;
    let text = wait_for_text(&app, "Team Site").await;
    assert!(text.contains("Acme Shop"), "{text}");
    let mode = invoke(&app, "desktop_mode", json!({})).await.unwrap();
    assert_eq!(mode["mode"], "team", "{mode}");
    app.close().await;

    // The choice was saved in the app's config directory, and nothing went to the local store.
    let config = std::fs::read_to_string(scratch.path().join("config/dev.switchyard.desktop/desktop.json")).unwrap();
    assert!(config.contains(&server.url), "{config}");
    let dump = std::process::Command::new("sqlite3")
        .arg(data.join("switchyard.db"))
        .arg("SELECT name FROM sites ORDER BY name")
        .output()
        .expect("sqlite3 is installed by cargo xtask test");
    assert_eq!(String::from_utf8_lossy(&dump.stdout), "Acme Shop\n");
    server.stop();
}
