//! A team member points the desktop app at the team's `switchyard serve` from the settings panel:
//! a server that cannot be reached is refused saying what to do, the real one is accepted, and
//! after logging in the window shows the server's sites, not the embedded store's.

use crate::desktop_steps::{click, fill, invoke, log_in, set_up_administrator, sql, wait_for_text, PASSWORD};
use serde_json::json;
use std::time::{Duration, Instant};
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

/// Waits (bounded) until the page marked `beforeTheSwitch` has been replaced by a new one.
async fn wait_for_reload(app: &DesktopApp) {
    let start = Instant::now();
    loop {
        let marked = app.client.execute("return window.beforeTheSwitch === true", vec![]).await;
        if matches!(marked, Ok(serde_json::Value::Bool(false))) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the window did not reload after switching to team mode");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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

    // The settings panel on the login page: someone who set up the app alone joins the team.
    set_up_administrator(&app, "desk").await;
    click(&app, "#logout").await;
    wait_for_text(&app, "Log in to Switchyard").await;
    let agent = wait_for_text(&app, "local host agent runs at").await;
    assert!(agent.contains("Standalone"), "{agent}");
    click(&app, "#desktop-settings input[value=team]").await;
    fill(&app, "#desktop-settings input[name=server_url]", &format!("http://{closed}")).await;
    click(&app, "#desktop-settings button[type=submit]").await;
    wait_for_text(&app, "Cannot reach the Switchyard server").await;
    fill(&app, "#desktop-settings input[name=server_url]", &server.url).await;
    // The page reloads once the switch is saved; a mark on this page tells the two apart.
    app.client.execute("window.beforeTheSwitch = true", vec![]).await.unwrap();
    click(&app, "#desktop-settings button[type=submit]").await;
    wait_for_reload(&app).await;

    // Now the server asks who is signed in there.
    log_in(&app, "lead", PASSWORD).await;
    let text = wait_for_text(&app, "Team Site").await;
    assert!(text.contains("Acme Shop"), "{text}");
    let mode = invoke(&app, "desktop_mode", json!({})).await.unwrap();
    assert_eq!(mode["mode"], "team", "{mode}");
    app.close().await;

    // The choice was saved in the app's config directory, and nothing went to the local store.
    let config = std::fs::read_to_string(scratch.path().join("config/dev.switchyard.desktop/desktop.json")).unwrap();
    assert!(config.contains(&server.url), "{config}");
    assert_eq!(sql(&data.join("switchyard.db"), "SELECT name FROM sites ORDER BY name"), "Acme Shop\n");
    server.stop();
}
