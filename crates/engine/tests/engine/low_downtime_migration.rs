//! A low-downtime migration of the sample site from v1 to v2 (whose migration adds
//! `records.author`) under a paced write load of 60 writes/s: production keeps serving v1 on
//! its public address while a clone is migrated and the customer checks it for 30 s; the
//! cutover replays the writes captured meanwhile, so every acknowledged write is in v2 with its
//! id; a rollback then replays v2's writes back into v1, so every acknowledged write is in v1
//! too and no id is handed out twice. A write the migrated schema refuses stops the cutover
//! and leaves v1 serving with nothing lost.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchyard_core::patch::{Action, PatchDocument, WorkflowKind};

use crate::support::{assert_completed, assert_rolled_back, by_sue, carl, document, http, journal, sam, Host, PUBLIC, SHOP};

const CANDIDATE: &str = "candidate.shop.test";
/// Writes per second the load paces itself to; the test checks at least 50 were acknowledged
/// per second over its run.
const WRITES_PER_SECOND: u64 = 60;
/// How long the customer checks the migrated clone.
const CHECK: Duration = Duration::from_secs(30);

/// The low-downtime template with the sample site's migration (and `extra`, shell run after
/// it on the clone's database) and a short watch window.
pub(crate) fn low_downtime_document(sha: &str, extra: &str) -> PatchDocument {
    let mut doc = document(WorkflowKind::LowDowntimeMigration, "2.0.0", sha);
    let step = doc.steps.iter_mut().find(|s| s.action.is_migration()).expect("the template migrates");
    step.action = Action::migration(&format!("bin/site migrate{extra}"), 60, false);
    step.rollback = None;
    for step in &mut doc.steps {
        if let Action::WaitAndWatch { duration_secs, .. } = &mut step.action {
            *duration_secs = 2;
        }
    }
    doc.validate().expect("the low-downtime document validates");
    doc
}

/// A paced writer on the public address: one write every 1/60 s, each in its own task so a
/// held request does not slow the pace, 10,000 at most. Remembers each acknowledged write's
/// id and every failure.
pub(crate) struct Writer {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    pub(crate) acknowledged: Arc<Mutex<BTreeMap<String, i64>>>,
    pub(crate) failures: Arc<Mutex<Vec<String>>>,
    started: Instant,
}

impl Writer {
    pub(crate) fn start(public: SocketAddr, prefix: &'static str) -> Writer {
        let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
        let acknowledged = Arc::new(Mutex::new(BTreeMap::new()));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let (ack, fail) = (acknowledged.clone(), failures.clone());
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(1000 / WRITES_PER_SECOND));
            let mut writes = tokio::task::JoinSet::new();
            for i in 0..10_000 {
                tick.tick().await;
                if *stop_rx.borrow_and_update() {
                    break;
                }
                let (ack, fail) = (ack.clone(), fail.clone());
                writes.spawn(async move {
                    let body = format!("{prefix}-{i}");
                    let reply = http()
                        .post(format!("http://{public}/records"))
                        .header("host", PUBLIC)
                        .json(&serde_json::json!({ "body": body }))
                        .timeout(Duration::from_secs(40))
                        .send()
                        .await;
                    match reply {
                        Ok(r) if r.status() == 201 => {
                            let id = r.json::<serde_json::Value>().await.ok().and_then(|v| v["id"].as_i64()).unwrap_or(-1);
                            ack.lock().unwrap().insert(body, id);
                        }
                        Ok(r) => fail.lock().unwrap().push(format!("POST {body}: {}", r.status())),
                        Err(e) => fail.lock().unwrap().push(format!("POST {body}: {e}")),
                    }
                });
            }
            while writes.join_next().await.is_some() {}
        });
        Writer { stop, task, acknowledged, failures, started: Instant::now() }
    }

    /// Stops writing, waits for the writes in flight, and returns (acknowledged body → id,
    /// failures, acknowledged writes per second).
    pub(crate) async fn finish(self) -> (BTreeMap<String, i64>, Vec<String>, f64) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap();
        let seconds = self.started.elapsed().as_secs_f64();
        let acknowledged = self.acknowledged.lock().unwrap().clone();
        let rate = acknowledged.len() as f64 / seconds;
        (acknowledged, self.failures.lock().unwrap().clone(), rate)
    }
}

/// Every record `address` serves: body → id.
async fn served(host: &Host, address: &str) -> BTreeMap<String, i64> {
    let reply = http().get(format!("http://{}/records", host.public)).header("host", address).send().await.unwrap();
    assert_eq!(reply.status(), 200, "{address} /records");
    let records: Vec<serde_json::Value> = reply.json().await.unwrap();
    records.iter().map(|r| (r["body"].as_str().unwrap().to_owned(), r["id"].as_i64().unwrap())).collect()
}

/// Every acknowledged write is served under the id it was acknowledged with.
fn assert_all_kept(context: &str, acknowledged: &BTreeMap<String, i64>, served: &BTreeMap<String, i64>) {
    let lost: Vec<_> = acknowledged.iter().filter(|(body, id)| served.get(*body) != Some(id)).take(10).collect();
    assert!(lost.is_empty(), "{context}: acknowledged writes missing or under another id, e.g. {lost:?}");
    let ids: BTreeSet<i64> = acknowledged.values().copied().collect();
    assert_eq!(ids.len(), acknowledged.len(), "{context}: an id was handed out twice");
}

async fn version_at(host: &Host, address: &str) -> (String, i64) {
    let reply = http().get(format!("http://{}/version", host.public)).header("host", address).send().await.unwrap();
    let v: serde_json::Value = reply.json().await.unwrap();
    (v["version"].as_str().unwrap_or_default().to_owned(), v["schema"].as_i64().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_low_downtime_migration_keeps_every_write_through_the_cutover_and_the_rollback() {
    let host = Host::start().await;
    let engine = host.engine().await;
    let (_, v2) = host.candidate("2.0.0", 2);
    let doc = low_downtime_document(&v2, "");
    host.add_record("before the release").await;

    // The rehearsal measures what the migration changes: records.author is new.
    let rehearsal = engine.start_rehearsal(&doc, &by_sue(), &SHOP).await.unwrap();
    assert_eq!(rehearsal.waiting_for, "waiting for the customer's confirmation", "{}", journal(&engine, rehearsal.id).await);
    assert!(journal(&engine, rehearsal.id).await.contains("adds records.author"), "{}", journal(&engine, rehearsal.id).await);
    engine.confirm(rehearsal.id, &carl(), "ready").await.unwrap();

    let writer = Writer::start(host.public, "w");
    let run = engine.start_production(&doc, &by_sue(), &[], &SHOP).await.unwrap();
    let at_check = engine.approve(run.id, &sam(), "go").await.unwrap();
    assert_eq!(at_check.waiting_for, "waiting for the customer's confirmation", "{}", journal(&engine, run.id).await);

    // While the customer checks the migrated clone, visitors keep v1 at the public address.
    let checking = Instant::now();
    assert_eq!(version_at(&host, PUBLIC).await, ("1.0.0".to_owned(), 1), "production serves on through the migration");
    assert_eq!(version_at(&host, CANDIDATE).await, ("2.0.0".to_owned(), 2), "the clone runs v2 on its migrated copy");
    assert!(served(&host, CANDIDATE).await.contains_key("before the release"), "the clone holds production's data");
    tokio::time::sleep(CHECK.saturating_sub(checking.elapsed())).await;

    let done = engine.confirm(run.id, &carl(), "v2 looks right").await.unwrap();
    assert_completed(&engine, &done).await;
    assert_eq!(version_at(&host, PUBLIC).await, ("2.0.0".to_owned(), 2), "v2 is live after the cutover");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let written = writer.acknowledged.lock().unwrap().clone();
    let failures = writer.failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "requests failed through the cutover: {:?}", &failures[..failures.len().min(10)]);
    assert_all_kept("after the cutover", &written, &served(&host, PUBLIC).await);
    let record = engine.store().release(run.id).await.unwrap();
    let downtime = record.downtime_ms.expect("downtime measured");
    assert!(downtime < CHECK.as_millis() as i64 / 3, "downtime is the cutover, not the customer's check: {downtime} ms");
    assert_eq!(record.failed_requests, Some(0), "no request failed");
    assert_eq!(record.held_ms, Some(downtime), "the cutover's downtime is held requests, no site-down page");
    let log = journal(&engine, run.id).await;
    assert!(log.contains("captured changes into shop-green's volume/site.db"), "{log}");

    // The rollback, under the same load, replays v2's writes back into v1.
    let rolled = engine.rollback(run.id, &sam(), "the customer asked").await.unwrap();
    assert_rolled_back(&engine, &rolled).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (acknowledged, failures, rate) = writer.finish().await;
    assert!(rate >= 50.0, "the load managed only {rate:.1} acknowledged writes/s");
    assert!(failures.is_empty(), "requests failed through the rollback: {:?}", &failures[..failures.len().min(10)]);
    assert_eq!(version_at(&host, PUBLIC).await, ("1.0.0".to_owned(), 1), "v1 is back on its own schema");
    let after = served(&host, PUBLIC).await;
    assert!(after.contains_key("before the release"));
    assert_all_kept("after the rollback", &acknowledged, &after);
    // The next id is above every id handed out before.
    let highest = acknowledged.values().max().copied().unwrap_or_default();
    let reply = http()
        .post(format!("http://{}/records", host.public))
        .header("host", PUBLIC)
        .json(&serde_json::json!({"body": "after"}))
        .send()
        .await
        .unwrap();
    let id = reply.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    assert!(id > highest, "a new write got id {id}, not above the {highest} handed out already");
    let log = journal(&engine, run.id).await;
    assert!(log.contains("captured changes into shop-blue's volume/site.db"), "the rollback replayed v2's writes: {log}");
    // The rollback is measured apart: the run keeps its own figures.
    let after_rollback = engine.store().release(run.id).await.unwrap();
    assert_eq!(after_rollback.downtime_ms, Some(downtime), "the run's downtime was changed by its rollback");
    let rollback_downtime = after_rollback.rollback_downtime_ms.expect("the rollback's downtime measured");
    assert!(rollback_downtime > 0 && rollback_downtime < CHECK.as_millis() as i64 / 3, "{rollback_downtime} ms");
    assert_eq!((after_rollback.rollback_held_ms, after_rollback.rollback_failed_requests), (Some(rollback_downtime), Some(0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_the_migrated_schema_refuses_stops_the_cutover_and_v1_serves_on_with_nothing_lost() {
    let host = Host::start().await;
    let engine = host.engine().await;
    let (_, v2) = host.candidate("2.0.0", 2);
    // The migrated schema refuses any record whose body starts with "poison".
    let refuse = " && python3 -c \"import os,sqlite3; c=sqlite3.connect(os.environ['DATA_DIR']+'/site.db'); c.execute(\\\"CREATE TRIGGER refuse_poison BEFORE INSERT ON records WHEN NEW.body LIKE 'poison%' BEGIN SELECT RAISE(ABORT, 'poisoned bodies are refused'); END\\\"); c.commit()\"";
    let doc = low_downtime_document(&v2, refuse);
    let rehearsal = engine.start_rehearsal(&doc, &by_sue(), &SHOP).await.unwrap();
    assert_eq!(rehearsal.waiting_for, "waiting for the customer's confirmation", "{}", journal(&engine, rehearsal.id).await);
    engine.confirm(rehearsal.id, &carl(), "ready").await.unwrap();

    let writer = Writer::start(host.public, "w");
    let run = engine.start_production(&doc, &by_sue(), &[], &SHOP).await.unwrap();
    engine.approve(run.id, &sam(), "go").await.unwrap();
    host.add_record("poison in production").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ended = engine.confirm(run.id, &carl(), "v2 looks right").await.unwrap();
    assert_rolled_back(&engine, &ended).await;
    let log = journal(&engine, run.id).await;
    assert!(log.contains("refused captured change") && log.contains("poisoned bodies are refused"), "{log}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (acknowledged, failures, _) = writer.finish().await;
    assert!(failures.is_empty(), "requests failed: {:?}", &failures[..failures.len().min(10)]);
    assert_eq!(version_at(&host, PUBLIC).await, ("1.0.0".to_owned(), 1), "v1 serves on");
    let after = served(&host, PUBLIC).await;
    assert!(after.contains_key("poison in production"));
    assert_all_kept("after the refused cutover", &acknowledged, &after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_the_capture_window_closed_a_rollback_goes_back_to_the_database_as_it_was_at_the_cutover() {
    let host = Host::start().await;
    let engine = host.engine().await;
    let (_, v2) = host.candidate("2.0.0", 2);
    let doc = low_downtime_document(&v2, "");
    let rehearsal = engine.start_rehearsal(&doc, &by_sue(), &SHOP).await.unwrap();
    engine.confirm(rehearsal.id, &carl(), "ready").await.unwrap();
    let run = engine.start_production(&doc, &by_sue(), &[], &SHOP).await.unwrap();
    engine.approve(run.id, &sam(), "go").await.unwrap();
    host.add_record("during the check").await;
    let done = engine.confirm(run.id, &carl(), "fine").await.unwrap();
    assert_completed(&engine, &done).await;
    host.add_record("inside the window").await;

    engine.close_capture_window(run.id).await.unwrap();
    engine.close_capture_window(run.id).await.expect("closing a closed window again is answered");
    assert!(engine.store().release(run.id).await.unwrap().capture_closed_at.is_some());
    let info = host.client.agent_info().await.unwrap();
    assert!(info.captures.is_empty(), "a capture is still in force: {:?}", info.captures);
    host.add_record("after the window").await;

    // As its statement said: v1 comes back on its database as it was at the cutover.
    let rolled = engine.rollback(run.id, &sam(), "too late, but asked").await.unwrap();
    assert_rolled_back(&engine, &rolled).await;
    let records = host.records().await;
    assert!(records.contains("during the check"), "the cutover's replay is in v1's database: {records:?}");
    assert!(!records.contains("after the window"), "{records:?}");
    assert!(journal(&engine, run.id).await.contains("capture window closed"), "{}", journal(&engine, run.id).await);
}
