//! A blue-green release of the sample site whose schema change is an expand step placed before
//! `deploy-candidate`, under a read/write load on the public address. v2 refuses any schema but
//! its own, so it can only come up if the migration ran first: the candidate is cloned and
//! stopped, gets v2, migrates the shared database, and only then starts. v1 keeps serving the
//! expanded database throughout (the migration only adds a defaulted column), nothing fails,
//! no acknowledged write is lost, and a rollback keeps the schema and every write.

use std::time::Duration;

use switchyard_core::patch::{Action, PatchDocument, Step, WorkflowKind};

use crate::support::{
    assert_completed, assert_nothing_failed_or_lost, assert_rolled_back, by_sue, carl, document, http, journal, sam, Host, Load, PUBLIC,
    SHOP,
};

/// The blue-green template with the sample site's migration as an expand step before the
/// deploy.
fn expand_first_document(sha: &str) -> PatchDocument {
    let mut doc = document(WorkflowKind::BlueGreen, "2.0.0", sha);
    let deploy = doc.steps.iter().position(|s| s.action == Action::DeployCandidate).expect("the template deploys");
    let migrate = Step::new(Action::migration("bin/site migrate", 60, true)).note("adds records.author with a default; 1.0.0 ignores it");
    doc.steps.insert(deploy, migrate);
    doc.validate().expect("the expand-first document validates");
    doc
}

/// Where `op` first appears in the journal text, or a failure showing the journal.
fn first(trail: &str, op: &str) -> usize {
    trail.find(&format!("\"{op}\"")).or_else(|| trail.find(op)).unwrap_or_else(|| panic!("no {op} in the journal:\n{trail}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blue_green_with_an_expand_migration_first_starts_v2_only_on_the_migrated_database() {
    let host = Host::start().await;
    let engine = host.engine().await;
    // No min_schema: v2 refuses to start on schema 1.
    let v2 = host.candidate_with("2.0.0", 2, "");
    let doc = expand_first_document(&v2);
    host.add_record("before the release").await;
    let load = Load::start(host.public, 3);

    let rehearsal = engine.start_rehearsal(&doc, &by_sue(), &SHOP).await.unwrap();
    let rehearsed = engine.confirm(rehearsal.id, &carl(), "ready").await.unwrap();
    assert_completed(&engine, &rehearsed).await;

    let run = engine.start_production(&doc, &by_sue(), &[], &SHOP).await.unwrap();
    let done = engine.approve(run.id, &sam(), "go").await.unwrap();
    assert_completed(&engine, &done).await;
    let trail = journal(&engine, run.id).await;
    let order = [
        first(&trail, "stop-service"),
        first(&trail, "activate-release"),
        first(&trail, "run-step"),
        first(&trail, "start-service"),
        first(&trail, "swap-addresses"),
    ];
    assert!(order.is_sorted(), "stopped, activated, migrated, started, then live:\n{trail}");
    assert!(!trail.contains("snapshot-database"), "an expand step takes no snapshot of the shared database:\n{trail}");

    let live: serde_json::Value =
        http().get(format!("http://{}/version", host.public)).header("host", PUBLIC).send().await.unwrap().json().await.unwrap();
    assert_eq!((&live["version"], &live["schema"]), (&"2.0.0".into(), &2.into()));
    assert_eq!(host.version_at(&format!("candidate.{PUBLIC}")).await, "1.0.0", "v1 is kept beside v2, serving the expanded database");
    host.add_record("written on v2").await;
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
    assert!(served.contains("before the release") && served.contains("written on v2"));
    let record = engine.store().release(run.id).await.unwrap();
    assert_eq!(record.failed_requests, Some(0));
}
