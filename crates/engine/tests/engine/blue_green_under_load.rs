//! A blue-green release of the sample site from v1 to v2 while a load generator reads and
//! writes through the public address: v2 comes up beside v1 on the same data volume (one
//! database, as two versions pointed at one MySQL), the addresses swap with requests held,
//! nothing fails and no acknowledged write is lost. A rollback swaps v1 back, and v1 serves
//! every write, those taken by v2 included, because the old environment was kept untouched
//! on the shared database.

use std::time::Duration;

use switchyard_core::patch::WorkflowKind;
use switchyard_core::workflow::State;

use crate::support::{
    assert_nothing_failed_or_lost, carl, document, journal, sam, Host, Load, PUBLIC,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blue_green_release_under_load_then_rollback_keeps_every_write() {
    let host = Host::start().await;
    let engine = host.engine().await;
    let (_, v2) = host.candidate("2.0.0", 1);
    let doc = document(WorkflowKind::BlueGreen, "2.0.0", &v2);
    host.add_record("before the release").await;
    let load = Load::start(host.public, 4);

    let rehearsal = engine.start_rehearsal(&doc, "sue", PUBLIC).await.unwrap();
    crate::support::http()
        .post(format!("http://{}/records", host.public))
        .header("host", format!("candidate.{PUBLIC}"))
        .json(&serde_json::json!({ "body": "rehearsal test data" }))
        .send()
        .await
        .unwrap();
    let rehearsed = engine
        .confirm(rehearsal.id, &carl(), "ready")
        .await
        .unwrap();
    assert_eq!(
        rehearsed.outcome.as_deref(),
        Some("completed"),
        "{}",
        journal(&engine, rehearsal.id).await
    );

    let run = engine
        .start_production(&doc, "sue", &[], PUBLIC)
        .await
        .unwrap();
    let done = engine.approve(run.id, &sam(), "go").await.unwrap();
    assert_eq!(
        done.outcome.as_deref(),
        Some("completed"),
        "{}",
        journal(&engine, run.id).await
    );
    assert_eq!(host.version().await, "2.0.0");
    assert_eq!(
        host.version_at(&format!("candidate.{PUBLIC}")).await,
        "1.0.0",
        "the old version is kept beside the new one for an instant rollback"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let on_v2 = load.acknowledged.lock().unwrap().len();

    let rolled = engine
        .rollback(run.id, &sam(), "the customer asked")
        .await
        .unwrap();
    assert!(
        matches!(rolled.state, State::RolledBack { .. }),
        "{}",
        journal(&engine, run.id).await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (acknowledged, failures) = load.finish().await;

    assert!(
        acknowledged.len() > on_v2 && on_v2 > 20,
        "the load ran throughout ({on_v2}, then {})",
        acknowledged.len()
    );
    assert_eq!(host.version().await, "1.0.0");
    let served = host.records().await;
    assert_nothing_failed_or_lost("", &failures, &acknowledged, &served);
    assert!(served.contains("before the release"));
    assert!(
        !served.contains("rehearsal test data"),
        "the rehearsal wrote to its own copy of the data"
    );
    let record = engine.store().release(run.id).await.unwrap();
    assert_eq!(record.failed_requests, Some(0));
}
