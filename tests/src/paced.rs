//! A paced write load on a test application's public address, through the agent's router:
//! one write every 1/`per_second` s, each in its own task so a request the router holds does
//! not slow the pace. It remembers every acknowledged write with the id the application
//! answered it with, and every request that failed in any way (a site-down page included:
//! a low-downtime release must never show one).

use crate::apps::App;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the writer saw: acknowledged value → id, and failures described.
#[derive(Debug, Default, Clone)]
pub struct Written {
    pub acknowledged: BTreeMap<String, i64>,
    pub failures: Vec<String>,
    /// Acknowledged writes per second over the writer's whole run.
    pub rate: f64,
}

pub struct PacedWriter {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    seen: Arc<Mutex<Written>>,
    started: Instant,
}

fn client() -> reqwest::Client {
    // A held request waits for the cutover or the rollback's replay; 40 s is far beyond either.
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(40)).build().unwrap()
}

impl PacedWriter {
    /// Writes `label-N` to `app` at `address` (the Host header) through `public`, `per_second`
    /// times a second, until finished (or 20,000 writes).
    pub fn start(app: App, public: SocketAddr, address: &str, label: &'static str, per_second: u64) -> PacedWriter {
        let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
        let seen = Arc::new(Mutex::new(Written::default()));
        let (shared, address) = (seen.clone(), address.to_owned());
        let task = tokio::spawn(async move {
            let client = client();
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / per_second));
            let mut writes = tokio::task::JoinSet::new();
            for i in 0..20_000 {
                tick.tick().await;
                if *stop_rx.borrow_and_update() {
                    break;
                }
                let (seen, client, address) = (shared.clone(), client.clone(), address.clone());
                writes.spawn(async move {
                    let value = format!("{label}-{i}");
                    let url = format!("http://{public}{}", app.collection);
                    let reply = client.post(&url).header("host", &address).form(&[(app.field, value.as_str())]).send().await;
                    let outcome = match reply {
                        Ok(r) if r.status() == 201 => match r.json::<serde_json::Value>().await {
                            Ok(body) => body["id"].as_i64().ok_or_else(|| format!("POST {value}: 201 without an id: {body}")),
                            Err(e) => Err(format!("POST {value}: 201 with a body that is not JSON: {e}")),
                        },
                        Ok(r) => Err(format!("POST {value}: {}", r.status())),
                        Err(e) => Err(format!("POST {value}: {e}")),
                    };
                    let mut seen = seen.lock().unwrap();
                    match outcome {
                        Ok(id) => {
                            seen.acknowledged.insert(value, id);
                        }
                        Err(failure) => seen.failures.push(failure),
                    }
                });
            }
            while writes.join_next().await.is_some() {}
        });
        PacedWriter { stop, task, seen, started: Instant::now() }
    }

    /// What it saw so far (writes in flight not yet counted).
    pub fn so_far(&self) -> Written {
        self.seen.lock().unwrap().clone()
    }

    /// Stops writing, waits for the writes in flight, and returns what it saw.
    pub async fn finish(self) -> Written {
        self.stop.send(true).unwrap();
        self.task.await.unwrap();
        let mut seen = self.seen.lock().unwrap().clone();
        seen.rate = seen.acknowledged.len() as f64 / self.started.elapsed().as_secs_f64();
        seen
    }
}

/// Every item the application lists now at `address`: value → id, read through the router.
pub async fn served_with_ids(app: App, public: SocketAddr, address: &str) -> BTreeMap<String, i64> {
    let url = format!("http://{public}{}", app.collection);
    let reply = client().get(&url).header("host", address).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert!(reply.status().is_success(), "GET {url} at {address} answered {}", reply.status());
    let body: serde_json::Value = reply.json().await.unwrap();
    let items = body.as_object().and_then(|o| o.values().next()).and_then(|v| v.as_array()).cloned().unwrap_or_default();
    items.iter().filter_map(|item| Some((item[app.field].as_str()?.to_owned(), item["id"].as_i64()?))).collect()
}

/// Fails unless every acknowledged write is served under the id it was acknowledged with, and
/// no id was handed out twice.
pub fn assert_all_kept(context: &str, acknowledged: &BTreeMap<String, i64>, served: &BTreeMap<String, i64>) {
    let lost: Vec<_> = acknowledged.iter().filter(|(value, id)| served.get(*value) != Some(id)).collect();
    let shown: Vec<_> = lost.iter().take(10).map(|(value, id)| format!("{value} (id {id}, served as {:?})", served.get(*value))).collect();
    assert!(
        lost.is_empty(),
        "{context}: {} of {} acknowledged writes are missing or under another id, e.g. {shown:?}",
        lost.len(),
        acknowledged.len()
    );
    let ids: BTreeSet<i64> = acknowledged.values().copied().collect();
    assert_eq!(ids.len(), acknowledged.len(), "{context}: an id was handed out twice");
}
