//! A minor patch: production stops behind the site-down page, v2 is applied in place and it
//! starts again. The site-down answers a reader saw are exactly the failed requests the engine
//! records from the router's counters, and the downtime is measured.

use switchyard_core::patch::WorkflowKind;

use crate::support::{assert_completed, assert_outage_recorded, by_sue, carl, document, sam, Host, PublicReader, SHOP};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn minor_patch_stops_applies_and_restarts_with_downtime_recorded() {
    let host = Host::start().await;
    let engine = host.engine().await;
    let (_, v2) = host.candidate("2.0.0", 1);
    let doc = document(WorkflowKind::MinorPatch, "2.0.0", &v2);
    host.add_record("kept through the patch").await;

    let rehearsal = engine.start_rehearsal(&doc, &by_sue(), &SHOP).await.unwrap();
    engine.confirm(rehearsal.id, &carl(), "ready").await.unwrap();
    let run = engine.start_production(&doc, &by_sue(), &[], &SHOP).await.unwrap();

    // One reader through the public address counts what it gets while the patch runs.
    let reader = PublicReader::start(host.public);
    let done = engine.approve(run.id, &sam(), "go").await.unwrap();
    assert_completed(&engine, &done).await;
    let (ok, site_down) = reader.finish().await;

    assert_eq!(host.version().await, "2.0.0");
    assert!(host.records().await.contains("kept through the patch"));
    let record = engine.store().release(run.id).await.unwrap();
    assert_outage_recorded(&record, (ok, site_down), 0);
    // Patched in place: the production environment is the same one, now on v2.
    let blue = host.client.env("shop-blue").await.unwrap();
    assert_eq!(blue.current.as_deref(), Some(format!("r-{}", &v2[..16]).as_str()));
}
