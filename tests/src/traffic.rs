//! Visitors of a test application at its public address, through the agent's router: a
//! bounded read/write load that remembers every acknowledged write, every site-down page (the
//! router's 503 with `Retry-After`, which tells a visitor to come back) and every real failure.

use crate::apps::App;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the visitors saw.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Writes the site answered 201 to.
    pub acknowledged: Vec<String>,
    /// Requests answered with the site-down page.
    pub site_down: u64,
    /// Requests that failed in any other way, described.
    pub failures: Vec<String>,
}

pub struct Visitors {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(30)).build().unwrap()
}

impl Visitors {
    /// `workers` visitors, each alternating a write and a read of `app` at `address` (the
    /// Host header) through the router at `public`, until stopped or 2,000 round trips each.
    pub fn start(app: App, public: SocketAddr, address: &str, label: &str, workers: usize) -> Visitors {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let workers = (0..workers)
            .map(|worker| {
                let (stop, seen, client, address, label) = (stop.clone(), seen.clone(), client(), address.to_owned(), label.to_owned());
                tokio::spawn(async move {
                    for i in 0..2000 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let value = format!("{label}-{worker}-{i}");
                        let url = format!("http://{public}{}", app.collection);
                        let write = client.post(&url).header("host", &address).form(&[(app.field, value.as_str())]).send().await;
                        record(&seen, &format!("POST {value}"), write, || Some(value.clone()));
                        let read = client.get(&url).header("host", &address).send().await;
                        record(&seen, "GET", read, || None);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                })
            })
            .collect();
        Visitors { stop, seen, workers }
    }

    /// Stops the visitors and returns what they saw.
    pub async fn finish(self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        for worker in self.workers {
            worker.await.unwrap();
        }
        let seen = self.seen.lock().unwrap().clone();
        seen
    }

    /// What the visitors saw so far.
    pub fn so_far(&self) -> Seen {
        self.seen.lock().unwrap().clone()
    }
}

fn record(seen: &Mutex<Seen>, what: &str, answer: reqwest::Result<reqwest::Response>, acknowledged: impl FnOnce() -> Option<String>) {
    let mut seen = seen.lock().unwrap();
    match answer {
        Ok(reply) if reply.status().is_success() => seen.acknowledged.extend(acknowledged()),
        Ok(reply) if reply.status() == 503 && reply.headers().contains_key("retry-after") => seen.site_down += 1,
        Ok(reply) => seen.failures.push(format!("{what}: {}", reply.status())),
        Err(e) => seen.failures.push(format!("{what}: {e}")),
    }
}

/// Every value the application lists now at `address`, read through the router.
pub async fn served(app: App, public: SocketAddr, address: &str) -> BTreeSet<String> {
    let url = format!("http://{public}{}", app.collection);
    let reply = client().get(&url).header("host", address).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert!(reply.status().is_success(), "GET {url} at {address} answered {}", reply.status());
    let body: serde_json::Value = reply.json().await.unwrap();
    let items = body.as_object().and_then(|o| o.values().next()).and_then(|v| v.as_array()).cloned().unwrap_or_default();
    items.iter().filter_map(|item| item[app.field].as_str().map(str::to_owned)).collect()
}

/// The version the application says it is at `address`.
pub async fn version(public: SocketAddr, address: &str) -> String {
    let reply = client().get(format!("http://{public}/version")).header("host", address).send().await.unwrap();
    reply.text().await.unwrap().trim().to_owned()
}

/// Fails when a write the site acknowledged is not served now.
pub fn assert_none_lost(context: &str, acknowledged: &[String], served: &BTreeSet<String>) {
    let lost: Vec<&String> = acknowledged.iter().filter(|value| !served.contains(*value)).collect();
    assert!(
        lost.is_empty(),
        "{context}: {} of {} acknowledged writes are lost, e.g. {:?}",
        lost.len(),
        acknowledged.len(),
        &lost[..lost.len().min(10)]
    );
}
