//! The sites outlive the control plane: `switchyard serve` runs its local agent (with the
//! router and the sites) as a process of its own, so killing the server with SIGKILL in the
//! middle of a production run's watch window fails no public request; the restarted server
//! re-attaches to the same agent and the watch window goes on with the time already watched
//! instead of starting again from zero.

use crate::people::{allows, staffed, status, wait_for_release, Api, ADMIN, PASSWORD};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchyard_e2e::free_port;
use switchyard_e2e::server::Server;

/// How long a release step on the local agent may take before the test gives up.
const STEP: Duration = Duration::from_secs(120);
/// The production run's watch window.
const WATCH_SECS: u64 = 30;

/// Visitors reading the demo site's version through the router until stopped (at most 60,000
/// requests): how many were answered and what failed.
struct Readers {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    failures: Arc<Mutex<Vec<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Readers {
    fn start(port: u16) -> Readers {
        let (stop, answered, failures) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)), Arc::new(Mutex::new(Vec::new())));
        let tasks = (0..4)
            .map(|_| {
                let (stop, answered, failures) = (stop.clone(), answered.clone(), failures.clone());
                tokio::spawn(async move {
                    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
                    for _ in 0..15_000 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let reply = client.get(format!("http://127.0.0.1:{port}/version")).header("host", "shop.acme.example").send().await;
                        match reply {
                            Ok(reply) if reply.status() == 200 => {
                                answered.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(reply) => failures.lock().unwrap().push(format!("answered {}", reply.status())),
                            Err(e) => failures.lock().unwrap().push(e.to_string()),
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                })
            })
            .collect();
        Readers { stop, answered, failures, tasks }
    }

    async fn finish(self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.unwrap();
        }
        let failures = self.failures.lock().unwrap().clone();
        (self.answered.load(Ordering::Relaxed), failures)
    }
}

fn watching(detail: &Value) -> bool {
    let stages = detail["stages"].as_array().cloned().unwrap_or_default();
    stages.iter().any(|s| s["status"] == "running" && s["title"].as_str().is_some_and(|t| t.starts_with("watch")))
}

/// The demo's document saved again with a watch window of `WATCH_SECS`, rehearsed and marked ready.
async fn rehearsed(server: &Server) -> (i64, i64) {
    let alice = Api::log_in(server, "alice", PASSWORD).await;
    let documents = alice.get("/sites/1/patch-documents").await;
    let newest = documents.as_array().unwrap().iter().max_by_key(|d| d["version"].as_i64()).expect("the demo's document").clone();
    let toml = newest["toml"].as_str().unwrap().replace("duration_secs = 300", &format!("duration_secs = {WATCH_SECS}"));
    let version = alice.post("/sites/1/patch-documents", json!({"toml": toml})).await["version"].as_i64().unwrap();
    let rehearsal = alice.post("/releases", json!({"site_id": 1, "document_version": version, "run": "rehearsal"})).await;
    let rehearsal = rehearsal["id"].as_i64().unwrap();
    wait_for_release(&alice, rehearsal, "the rehearsal ready to check", STEP, |d| allows(d, "confirm")).await;
    alice.post(&format!("/releases/{rehearsal}/confirm"), json!({"comment": "fine"})).await;
    wait_for_release(&alice, rehearsal, "the rehearsal completed", STEP, |d| status(d) == "completed").await;
    (1, version)
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_server_mid_release_fails_no_public_request_and_the_watch_window_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let public = free_port();
    let listen = format!("127.0.0.1:{public}");
    let mut server = Server::start_with(&dir.path().join("data"), &["--public-listen", &listen]);
    assert!(server.output().contains("Started the local host agent"), "{}", server.output());
    let admin = staffed(&server).await;
    let (site, version) = rehearsed(&server).await;
    let sam = Api::log_in(&server, "sam", PASSWORD).await;
    let production = sam.post("/releases", json!({"site_id": site, "document_version": version, "run": "production"})).await;
    let production = production["id"].as_i64().unwrap_or_else(|| panic!("no production run: {production}"));
    wait_for_release(&admin, production, "waiting for approval", STEP, |d| allows(d, "approve")).await;
    admin.post(&format!("/releases/{production}/approve"), json!({"comment": "go"})).await;
    wait_for_release(&admin, production, "the watch window", STEP, watching).await;
    let window_started = Instant::now();

    let readers = Readers::start(public);
    tokio::time::sleep(Duration::from_secs(WATCH_SECS / 2)).await;
    server.kill_server();
    // The control plane is gone: the sites are not.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let answered_while_down = readers.answered.load(Ordering::Relaxed);
    server.restart(&["--public-listen", &listen]);
    let restarted = Instant::now();
    assert!(server.output().contains("Re-attached to the local host agent"), "{}", server.output());

    // The resumed window waits for what is left of it, not for a whole new window.
    let admin = Api::log_in(&server, ADMIN.0, ADMIN.1).await;
    let done = wait_for_release(&admin, production, "completed", STEP, |d| status(d) == "completed").await;
    let after_restart = restarted.elapsed();
    let (answered, failures) = readers.finish().await;
    assert!(
        failures.is_empty(),
        "{} public requests failed around the server's death, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(answered > 100 && answered_while_down > 0, "the load ran: {answered} answered, {answered_while_down} before the restart");
    assert!(
        after_restart < Duration::from_secs(WATCH_SECS - 5),
        "the watch window of {WATCH_SECS} s started again after the restart: it ended {after_restart:?} after it, {:?} after the window began\n{done}",
        window_started.elapsed()
    );
    assert_eq!(done["summary"]["failed_requests"], 0, "{done}");

    // The agent serves on after a plain stop of the server too; `stop` also ends it.
    server.stop_server_only();
    let version = reqwest::Client::new().get(format!("http://{listen}/version")).header("host", "shop.acme.example").send().await.unwrap();
    assert_eq!(version.status(), 200);
    let body = version.text().await.unwrap();
    assert!(body.contains("\"1.1.0\""), "production serves 1.1.0 after the release: {body}");
    server.restart(&["--public-listen", &listen]);
    server.stop();
    let gone = reqwest::Client::new().get(format!("http://{listen}/version")).timeout(Duration::from_secs(5)).send().await;
    assert!(gone.is_err(), "the local agent still serves after `stop`: {gone:?}");
}
