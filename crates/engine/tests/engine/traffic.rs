//! Traffic on the public address while a release runs: a bounded read/write load that
//! remembers acknowledged writes and failures, a reader counting answers and site-down pages,
//! and the checks tests make of what they saw.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{http, PUBLIC};
/// A bounded read/write load on the public address: each worker alternates a write and a read
/// until stopped (or a cap is reached), remembering acknowledged writes and every failure.
pub struct Load {
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
    pub acknowledged: Arc<Mutex<Vec<String>>>,
    pub failures: Arc<Mutex<Vec<String>>>,
}

impl Load {
    pub fn start(public: SocketAddr, workers: usize) -> Load {
        Load::start_on(public, &[PUBLIC.to_owned()], workers)
    }

    /// The same load spread over several addresses (e.g. customer accounts at
    /// `<account>.shop.test`): each request goes to the next one in turn.
    pub fn start_on(public: SocketAddr, addresses: &[String], workers: usize) -> Load {
        let addresses: Arc<Vec<String>> = Arc::new(addresses.to_vec());
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(25)).build().unwrap();
        let workers = (0..workers)
            .map(|w| {
                let (stop, acknowledged, failures, client, addresses) =
                    (stop.clone(), acknowledged.clone(), failures.clone(), client.clone(), addresses.clone());
                tokio::spawn(async move {
                    // Bounded: 3000 round trips per worker at most, whatever happens.
                    for i in 0..3000 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let body = format!("w{w}-{i}");
                        let address = &addresses[(w + i) % addresses.len()];
                        let write = client
                            .post(format!("http://{public}/records"))
                            .header("host", address)
                            .json(&serde_json::json!({ "body": body }))
                            .send()
                            .await;
                        match write {
                            Ok(r) if r.status() == 201 => acknowledged.lock().unwrap().push(body),
                            Ok(r) => failures.lock().unwrap().push(format!("POST {body} at {address}: {}", r.status())),
                            Err(e) => failures.lock().unwrap().push(format!("POST {body} at {address}: {e}")),
                        }
                        match client.get(format!("http://{public}/version")).header("host", address).send().await {
                            Ok(r) if r.status().is_success() => {}
                            Ok(r) => failures.lock().unwrap().push(format!("GET /version at {address}: {}", r.status())),
                            Err(e) => failures.lock().unwrap().push(format!("GET /version at {address}: {e}")),
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                })
            })
            .collect();
        Load { stop, workers, acknowledged, failures }
    }

    /// Stops the workers and returns (acknowledged writes, failures).
    pub async fn finish(self) -> (Vec<String>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for worker in self.workers {
            worker.await.unwrap();
        }
        let acknowledged = self.acknowledged.lock().unwrap().clone();
        let failures = self.failures.lock().unwrap().clone();
        (acknowledged, failures)
    }
}

/// Fails the test when the load saw any failed request, or a write it was told succeeded is
/// not served. `context` prefixes the messages (e.g. where the engine was killed).
pub fn assert_nothing_failed_or_lost(context: &str, failures: &[String], acknowledged: &[String], served: &BTreeSet<String>) {
    assert!(failures.is_empty(), "{context}{} failed requests: {:?}", failures.len(), &failures[..failures.len().min(10)]);
    let lost: Vec<&String> = acknowledged.iter().filter(|b| !served.contains(*b)).collect();
    assert!(lost.is_empty(), "{context}{} acknowledged writes lost, e.g. {:?}", lost.len(), &lost[..lost.len().min(10)]);
}

/// Checks a release's recorded outage against what a [`PublicReader`] saw: the router counted
/// every site-down page the reader got, plus `asked_by_test` the test requested itself, and
/// some downtime (under 20 s) was measured.
pub fn assert_outage_recorded(record: &switchyard_store::ReleaseRecord, (ok, site_down): (u64, u64), asked_by_test: i64) {
    assert!(ok > 0 && site_down > 0, "the reader saw {ok} answers and {site_down} site-down pages");
    assert_eq!(
        record.failed_requests,
        Some(site_down as i64 + asked_by_test),
        "the router's count of site-down answers matches the reader's (plus {asked_by_test} the test asked for)"
    );
    let downtime = record.downtime_ms.expect("downtime measured");
    assert!(downtime > 0 && downtime < 20_000, "{downtime} ms");
}

/// One reader on the public address counting answers and site-down pages (any other status
/// fails the test) until stopped, 5000 requests at most.
pub struct PublicReader {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<(u64, u64)>,
}

impl PublicReader {
    pub fn start(public: SocketAddr) -> PublicReader {
        let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            let (mut ok, mut site_down) = (0u64, 0u64);
            for _ in 0..5000 {
                if *stop_rx.borrow_and_update() {
                    break;
                }
                let reply = http().get(format!("http://{public}/version")).header("host", PUBLIC).send().await.unwrap();
                match reply.status().as_u16() {
                    200 => ok += 1,
                    503 => site_down += 1,
                    other => panic!("the public address answered {other}"),
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (ok, site_down)
        });
        PublicReader { stop, task }
    }

    /// Stops the reader and returns (answers, site-down pages).
    pub async fn finish(self) -> (u64, u64) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap()
    }
}
