//! A blue-green release of the sample site from v1 to v2 while a load generator reads and
//! writes through the public address: v2 comes up beside v1 on the same data volume (one
//! database, as two versions pointed at one MySQL), the addresses swap with requests held,
//! nothing fails and no acknowledged write is lost. A rollback swaps v1 back, and v1 serves
//! every write, those taken by v2 included, because the old environment was kept untouched
//! on the shared database. With an expand migration (one v1 can run on) after the deploy, no
//! snapshot is taken: the rollback keeps the migrated schema and every write, v2's included.

use std::time::Duration;

use switchyard_core::patch::{Action, PatchDocument, Step, WorkflowKind};

use crate::support::{
    assert_completed, assert_nothing_failed_or_lost, assert_rolled_back, by_sue, carl, document, http, journal, sam, Host, Load, PUBLIC,
    SHOP,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blue_green_release_under_load_then_rollback_keeps_every_write() {
    let host = Host::start().await;
    let engine = host.engine().await;
    let (_, v2) = host.candidate("2.0.0", 1);
    let doc = document(WorkflowKind::BlueGreen, "2.0.0", &v2);
    host.add_record("before the release").await;
    let load = Load::start(host.public, 4);

    let rehearsal = engine.start_rehearsal(&doc, &by_sue(), &SHOP).await.unwrap();
    crate::support::http()
        .post(format!("http://{}/records", host.public))
        .header("host", format!("candidate.{PUBLIC}"))
        .json(&serde_json::json!({ "body": "rehearsal test data" }))
        .send()
        .await
        .unwrap();
    let rehearsed = engine.confirm(rehearsal.id, &carl(), "ready").await.unwrap();
    assert_completed(&engine, &rehearsed).await;

    let run = engine.start_production(&doc, &by_sue(), &[], &SHOP).await.unwrap();
    let done = engine.approve(run.id, &sam(), "go").await.unwrap();
    assert_completed(&engine, &done).await;
    assert_eq!(host.version().await, "2.0.0");
    assert_eq!(
        host.version_at(&format!("candidate.{PUBLIC}")).await,
        "1.0.0",
        "the old version is kept beside the new one for an instant rollback"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let on_v2 = load.acknowledged.lock().unwrap().len();

    let rolled = engine.rollback(run.id, &sam(), "the customer asked").await.unwrap();
    assert_rolled_back(&engine, &rolled).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (acknowledged, failures) = load.finish().await;

    assert!(acknowledged.len() > on_v2 && on_v2 > 20, "the load ran throughout ({on_v2}, then {})", acknowledged.len());
    assert_eq!(host.version().await, "1.0.0");
    let served = host.records().await;
    assert_nothing_failed_or_lost("", &failures, &acknowledged, &served);
    assert!(served.contains("before the release"));
    assert!(!served.contains("rehearsal test data"), "the rehearsal wrote to its own copy of the data");
    let record = engine.store().release(run.id).await.unwrap();
    assert_eq!(record.failed_requests, Some(0));
}

/// The blue-green template with the sample site's expand migration after the deploy: v2 serves
/// the database before and after its migration (`min_schema = 1`), v1 keeps serving it after.
fn migrating_document(sha: &str) -> PatchDocument {
    let mut doc = document(WorkflowKind::BlueGreen, "2.0.0", sha);
    let deploy = doc.steps.iter().position(|s| s.action == Action::DeployCandidate).expect("the template deploys");
    let migrate = Step::new(Action::migration("bin/site migrate", 60, true));
    doc.steps.insert(deploy + 1, migrate);
    doc.validate().expect("the migrating document validates");
    doc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blue_green_with_an_expand_migration_rolls_back_keeping_schema_and_writes() {
    let host = Host::start().await;
    let engine = host.engine().await;
    let v2 = host.candidate_with("2.0.0", 2, "min_schema = 1\n");
    let doc = migrating_document(&v2);
    host.add_record("before the release").await;
    let load = Load::start(host.public, 3);

    let rehearsal = engine.start_rehearsal(&doc, &by_sue(), &SHOP).await.unwrap();
    let rehearsed = engine.confirm(rehearsal.id, &carl(), "ready").await.unwrap();
    assert_completed(&engine, &rehearsed).await;
    let run = engine.start_production(&doc, &by_sue(), &[], &SHOP).await.unwrap();
    let done = engine.approve(run.id, &sam(), "go").await.unwrap();
    let trail = journal(&engine, run.id).await;
    assert_eq!(done.outcome.as_deref(), Some("completed"), "{trail}");
    assert!(
        trail.contains("run-step") && !trail.contains("snapshot-database"),
        "an expand step on the shared database takes no snapshot:\n{trail}"
    );

    let live: serde_json::Value =
        http().get(format!("http://{}/version", host.public)).header("host", PUBLIC).send().await.unwrap().json().await.unwrap();
    assert_eq!((&live["version"], &live["schema"]), (&"2.0.0".into(), &2.into()));
    assert_eq!(host.version_at(&format!("candidate.{PUBLIC}")).await, "1.0.0", "v1 kept serving the migrated database");
    host.add_record("written on v2 after the release").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let rolled = engine.rollback(run.id, &sam(), "the customer asked").await.unwrap();
    assert_rolled_back(&engine, &rolled).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (acknowledged, failures) = load.finish().await;

    assert_eq!(host.version().await, "1.0.0");
    let served = host.records().await;
    // v1 kept serving the expanded schema: nothing failed, and no write is given up.
    assert_nothing_failed_or_lost("", &failures, &acknowledged, &served);
    assert!(acknowledged.len() > 20, "the load ran through the release");
    assert!(served.contains("before the release"));
    assert!(served.contains("written on v2 after the release"), "the rollback keeps v2's writes");
}
