//! A site's own unpack limits travel with its releases: a rehearsal created for a site that
//! allows fewer entries per candidate than the candidate holds fails at the unpack with the agent's refusal
//! naming the limit, while the same engine rehearses the same candidate for a site on the
//! agent's own limits.

use switchyard_agent::api::UnpackCaps;
use switchyard_core::patch::WorkflowKind;
use switchyard_engine::ReleaseSite;

use crate::support::{by_sue, document, journal, Host, SHOP};

#[tokio::test(flavor = "multi_thread")]
async fn a_rehearsal_unpacks_under_the_sites_own_limits() {
    let host = Host::start().await;
    let engine = host.engine().await;
    let (_, v2) = host.candidate("2.0.0", 1);
    let doc = document(WorkflowKind::NoMigration, "2.0.0", &v2);

    // The sample site's release holds two files.
    let tight = ReleaseSite { unpack_limits: Some(UnpackCaps { max_bytes: 1 << 30, max_entries: 1 }), ..SHOP };
    let refused = engine.start_rehearsal(&doc, &by_sue(), &tight).await.unwrap();
    let record = journal(&engine, refused.id).await;
    assert_eq!(refused.outcome.as_deref(), Some("failed"), "{record}");
    assert!(record.contains("the archive has more than 1 entries, the limit for this site"), "{record}");
    assert_eq!(host.version().await, "1.0.0", "production is untouched");

    let rehearsal = engine.start_rehearsal(&doc, &by_sue(), &SHOP).await.unwrap();
    assert_eq!(rehearsal.waiting_for, "waiting for the customer's confirmation", "{}", journal(&engine, rehearsal.id).await);
}
