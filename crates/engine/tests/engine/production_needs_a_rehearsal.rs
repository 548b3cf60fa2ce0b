//! The control rule through the engine: a production run of a candidate and document version
//! that never passed a rehearsal is refused with a message that says why, and nothing is
//! created or sent to the agent.

use switchyard_core::patch::WorkflowKind;
use switchyard_engine::EngineError;

use crate::support::{by_sue, carl, document, sue, Host, SHOP};

#[tokio::test(flavor = "multi_thread")]
async fn production_without_a_matching_rehearsal_is_refused() {
    let host = Host::start().await;
    let engine = host.engine().await;
    let (_, v2) = host.candidate("2.0.0", 1);
    let doc = document(WorkflowKind::NoMigration, "2.0.0", &v2);

    let refused = engine.start_production(&doc, &by_sue(), &[], &SHOP).await.unwrap_err();
    assert!(matches!(refused, EngineError::Refused(_)), "{refused:?}");
    assert_eq!(
        refused.to_string(),
        format!(
            "production run refused: candidate {} with patch document version 1 has not passed a rehearsal on a clone of production (no rehearsals recorded); rehearse this exact candidate and document first",
            &v2[..12]
        )
    );
    assert!(
        engine.store().list_releases(switchyard_store::SiteReleases::Unlisted("shop")).await.unwrap().is_empty(),
        "a refused run leaves no release"
    );

    // A rehearsal of the same candidate under an older document version does not count.
    let rehearsal = engine.start_rehearsal(&doc, &by_sue(), &SHOP).await.unwrap();
    engine.confirm(rehearsal.id, &carl(), "ready").await.unwrap();
    let mut edited = doc.clone();
    edited.version = 2;
    let refused = engine.start_production(&edited, &by_sue(), &[], &SHOP).await.unwrap_err().to_string();
    assert!(refused.contains(&format!("(rehearsed were: {} v1 passed)", &v2[..8])), "{refused}");

    // Only the customer marks a rehearsal ready.
    let again = engine.start_rehearsal(&edited, &by_sue(), &SHOP).await.unwrap();
    let not_customer = engine.confirm(again.id, &sue(), "ready").await.unwrap_err().to_string();
    assert_eq!(not_customer, "sue is a support; only the customer confirms or rejects at this step");
    assert_eq!(host.version().await, "1.0.0");
}
