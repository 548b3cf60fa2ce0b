//! The desktop shell without its window: standalone mode answers from the embedded store and
//! team mode from a real server over HTTP, both behind the shell's cookie jar, so logging in,
//! being refused before it, and logging out behave as in a browser.

use axum::http::Method;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use switchyard_desktop::{poll, save_history_csv, upload_file, Desktop, DesktopMode, OutBody, Outgoing, UploadProgress, Watch};

async fn call(desktop: &Desktop, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| OutBody::Json(b.to_string())).unwrap_or(OutBody::Empty);
    let reply = desktop
        .send(Outgoing::new(method.clone(), format!("/api/v1{path}"), body))
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    (reply.status, value)
}

async fn site_names(desktop: &Desktop) -> (u16, Vec<String>) {
    let (status, sites) = call(desktop, Method::GET, "/sites", None).await;
    let names = sites.as_array().map(|s| s.iter().filter_map(|s| s["name"].as_str().map(str::to_owned)).collect()).unwrap_or_default();
    (status, names)
}

/// Logs in through the first-run set-up, as the set-up page does.
async fn set_up(desktop: &Desktop, username: &str) {
    let (status, me) = call(
        desktop,
        Method::POST,
        "/setup",
        Some(json!({"username": username, "display_name": "Desk", "password": "a long enough passphrase"})),
    )
    .await;
    assert_eq!(status, 201, "{me}");
    assert_eq!(me["username"], username);
}

/// Uploads a 1.5 MB tarball to the demo site as the native picker's command does, and checks
/// the candidate and the progress the window was sent.
async fn upload_demo_candidate(desktop: &Desktop, dir: &Path) {
    let (_, sites) = call(desktop, Method::GET, "/sites", None).await;
    let site_id = sites[0]["id"].as_i64().unwrap();
    // A real tarball (uploads are read through as gzip + tar) of 1.5 MB that does not
    // compress, so the upload reports progress along the way.
    let tree = dir.join("shop-2.0.0");
    std::fs::create_dir_all(&tree).unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..1_500_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(tree.join("assets.bin"), noise).unwrap();
    let file = dir.join("shop-2.0.0.tar.gz");
    let tar = std::process::Command::new("tar").arg("czf").arg(&file).arg("-C").arg(&tree).arg(".").output().unwrap();
    assert!(tar.status.success(), "tar failed: {}", String::from_utf8_lossy(&tar.stderr));
    let bytes = std::fs::read(&file).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let candidate = upload_file(desktop, site_id, &file, move |p| record.lock().unwrap().push(p)).await.unwrap();
    assert_eq!((candidate.filename.as_str(), candidate.size_bytes), ("shop-2.0.0.tar.gz", bytes.len() as i64));
    assert_eq!(candidate.sha256.len(), 64);
    let seen = seen.lock().unwrap().clone();
    let total = bytes.len() as u64;
    assert!(seen.len() >= 3, "progress came only as {seen:?}");
    assert_eq!(seen.first(), Some(&UploadProgress { sent: 0, total }));
    assert_eq!(seen.last(), Some(&UploadProgress { sent: total, total }));
    assert!(seen.windows(2).all(|w| w[0].sent <= w[1].sent), "{seen:?}");
}

/// The notification watcher reads the real API's answers: nothing on its first look, then a
/// release that finished since.
async fn notices_a_release_that_ended(desktop: &Desktop, database: &Path) {
    let mut watch = Watch::default();
    assert_eq!(poll(desktop, &mut watch).await, vec![]);
    let finished = "INSERT INTO releases (uid, site, run, workflow, document_toml, document_version, candidate_sha256, \
        submitted_by, placement, config, state, outcome, created_at, finished_at, completed_at, site_id) VALUES ('ended', 'acme-shop', \
        'production', 'blue-green', '', 1, 'ab', 'sam', '{}', '{}', '\"done\"', 'completed', \
        '2026-01-05T10:00:00.000Z', '2026-01-05T10:05:00.000Z', '2026-01-05T10:05:00.000Z', \
        (SELECT id FROM sites WHERE key = 'acme-shop'))";
    let inserted =
        std::process::Command::new("sqlite3").args(["-cmd", ".timeout 10000"]).arg(database).arg(finished).output().expect("sqlite3 runs");
    assert!(inserted.status.success(), "{}", String::from_utf8_lossy(&inserted.stderr));
    let notes = poll(desktop, &mut watch).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].title, "Release completed: Acme Shop");
    assert_eq!(poll(desktop, &mut watch).await, vec![], "told once");
}

/// A real `switchyard` API on 127.0.0.1 over its own store, as a team's server.
async fn team_server(dir: &std::path::Path) -> (String, tokio::task::JoinHandle<()>) {
    std::fs::create_dir_all(dir).unwrap();
    let store = switchyard_store::Store::open(&dir.join("switchyard.db")).await.unwrap();
    let service = switchyard_service::Service::new(store);
    service.seed_demo_if_empty().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = switchyard_server::api_router(service);
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, task)
}

#[tokio::test(flavor = "multi_thread")]
async fn standalone_and_team_mode_keep_the_session_for_the_window() {
    let scratch = tempfile::tempdir().unwrap();
    // Set once, before anything reads them; this is the file's only test.
    std::env::set_var("SWITCHYARD_DATA", scratch.path().join("store"));
    std::env::set_var("SWITCHYARD_AGENT_LISTEN", "127.0.0.1:0");
    let config = scratch.path().join("config").join("desktop.json");

    // Standalone: the embedded store, refused until someone is signed in.
    let desktop = Desktop::open(config.clone()).await.unwrap();
    assert_eq!(desktop.mode().await, DesktopMode::default());
    let (status, session) = call(&desktop, Method::GET, "/session", None).await;
    assert_eq!((status, session["needs_setup"].as_bool()), (200, Some(true)), "{session}");
    assert_eq!(site_names(&desktop).await.0, 401);
    set_up(&desktop, "desk").await;
    assert_eq!(site_names(&desktop).await, (200, vec!["Acme Shop".to_owned()]));
    upload_demo_candidate(&desktop, scratch.path()).await;
    notices_a_release_that_ended(&desktop, &scratch.path().join("store").join("switchyard.db")).await;
    let summary = desktop.standalone_summary().unwrap();
    assert!(summary.contains("local host agent runs at https://127.0.0.1:"), "{summary}");

    // A team server that does not answer is refused with what failed and what to do.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let refused = desktop.set_mode(DesktopMode { mode: "team".into(), server_url: Some(format!("http://{closed}")) }).await.unwrap_err();
    assert!(refused.error.contains("cannot reach the Switchyard server"), "{refused}");
    assert!(refused.detail.contains("switchyard serve"), "{refused}");
    assert_eq!(desktop.mode().await, DesktopMode::default(), "a refused switch changes nothing");

    // Team: the same requests go to the server; the standalone session is not sent there.
    let (url, server) = team_server(&scratch.path().join("team")).await;
    let team = DesktopMode { mode: "team".into(), server_url: Some(format!("{url}/")) };
    let chosen = desktop.set_mode(team).await.unwrap();
    assert_eq!(chosen.server_url.as_deref(), Some(url.as_str()));
    assert_eq!(site_names(&desktop).await.0, 401);
    set_up(&desktop, "lead").await;
    assert_eq!(site_names(&desktop).await, (200, vec!["Acme Shop".to_owned()]));
    let (status, _) = call(&desktop, Method::DELETE, "/session", None).await;
    assert_eq!(status, 204);
    assert_eq!(site_names(&desktop).await.0, 401, "logging out empties the jar");
    let (status, _) =
        call(&desktop, Method::POST, "/session", Some(json!({"username": "lead", "password": "a long enough passphrase"}))).await;
    assert_eq!(status, 200);
    assert_eq!(site_names(&desktop).await.0, 200);
    upload_demo_candidate(&desktop, scratch.path()).await;
    let csv = scratch.path().join("history.csv");
    save_history_csv(&desktop, "?run=production", &csv).await.unwrap();
    let header = std::fs::read_to_string(&csv).unwrap();
    assert!(header.lines().next().unwrap_or_default().starts_with("id,"), "{header}");
    let refused = save_history_csv(&desktop, "from=yesterday", &csv).await.unwrap_err();
    assert!(refused.to_string().contains("from"), "{refused}");

    // The choice is saved: a restarted app starts in team mode without opening a store.
    let restarted = Desktop::open(config).await.unwrap();
    assert_eq!(restarted.mode().await.server_url.as_deref(), Some(url.as_str()));
    assert_eq!(restarted.standalone_summary(), None);

    // The server goes away: the window is told what failed and what to do.
    server.abort();
    let _ = server.await;
    let gone = restarted.send(Outgoing::new(Method::GET, "/api/v1/sites", OutBody::Empty)).await.err().expect("the server is gone");
    assert!(gone.error.contains(&url), "{gone}");
    let outside = restarted.send(Outgoing::new(Method::GET, "/elsewhere", OutBody::Empty)).await.err().expect("only API paths");
    assert!(outside.error.contains("not an API path"), "{outside}");

    desktop.shut_down().await;
}
