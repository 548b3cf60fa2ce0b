//! A no-migration release of the sample site from v1 to v2, rehearsed on a clone and then run
//! on production while a load generator reads and writes through the public address: no
//! request fails, no acknowledged write is lost, the downtime (held requests) is measured,
//! and a rollback afterwards brings v1 back with its data and every write v2 took.

use std::time::Duration;

use switchyard_core::patch::WorkflowKind;

use crate::support::{
    assert_completed, assert_nothing_failed_or_lost, assert_rolled_back, by_sue, carl, document, journal, sam, sue, Host, Load, PUBLIC,
    SHOP,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_migration_release_under_load_then_rollback() {
    let host = Host::start().await;
    let engine = host.engine().await;
    let (_, v2) = host.candidate("2.0.0", 1);
    let doc = document(WorkflowKind::NoMigration, "2.0.0", &v2);
    host.add_record("before the release").await;
    let load = Load::start(host.public, 4);

    // The rehearsal clones production, deploys v2 into the clone and waits for the customer.
    let rehearsal = engine.start_rehearsal(&doc, &by_sue(), &SHOP).await.unwrap();
    assert_eq!(rehearsal.waiting_for, "waiting for the customer's confirmation", "{}", journal(&engine, rehearsal.id).await);
    let candidate: serde_json::Value = crate::support::http()
        .get(format!("http://{}/version", host.public))
        .header("host", format!("candidate.{PUBLIC}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(candidate["version"], "2.0.0", "the customer tests v2 at the candidate address");
    assert_eq!(host.version().await, "1.0.0", "a rehearsal never touches production");
    let rehearsed = engine.confirm(rehearsal.id, &carl(), "tested, ready").await.unwrap();
    assert_completed(&engine, &rehearsed).await;

    // The production run waits for support; the submitter cannot approve it herself.
    let run = engine.start_production(&doc, &by_sue(), &[], &SHOP).await.unwrap();
    assert_eq!(run.waiting_for, "waiting for support's approval");
    let own = engine.approve(run.id, &sue(), "looks fine").await.unwrap_err().to_string();
    assert_eq!(own, "sue submitted this release and cannot approve it; another support user must approve");
    let done = engine.approve(run.id, &sam(), "approved in the change meeting").await.unwrap();
    assert_completed(&engine, &done).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let on_v2 = load.acknowledged.lock().unwrap().clone();

    assert!(on_v2.len() > 20, "the load ran ({} writes)", on_v2.len());
    assert_eq!(host.version().await, "2.0.0");
    let served = host.records().await;
    assert_nothing_failed_or_lost("on v2: ", &load.failures.lock().unwrap(), &on_v2, &served);
    assert!(served.contains("before the release"));

    let record = engine.store().release(run.id).await.unwrap();
    assert_eq!(record.failed_requests, Some(0));
    let held = record.downtime_ms.expect("downtime measured");
    assert!(held > 0 && held < 10_000, "requests were held for {held} ms");
    // The approval is journaled with who and the comment.
    let approval = engine.store().transitions(run.id).await.unwrap().into_iter().find_map(|t| t.event.filter(|e| e.contains("approved")));
    let approval = approval.expect("an approval in the journal");
    assert!(approval.contains("\"user\":\"sam\"") && approval.contains("approved in the change meeting"), "{approval}");

    // Rollback: the old production was kept untouched, so one call swaps it back, and the data
    // written on v2 since the cut-over is carried back while requests are held.
    let rolled = engine.rollback(run.id, &sam(), "the customer asked").await.unwrap();
    assert_rolled_back(&engine, &rolled).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (acknowledged, failures) = load.finish().await;
    assert!(acknowledged.len() > on_v2.len(), "the load ran through the rollback");
    assert_eq!(host.version().await, "1.0.0");
    let v1_records = host.records().await;
    assert!(v1_records.contains("before the release"));
    assert_nothing_failed_or_lost("after the rollback: ", &failures, &acknowledged, &v1_records);
}
