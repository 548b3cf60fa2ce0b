//! The go-live journal on a real SQLite file: one unfinished attempt per site, retried until it
//! is live or abandoned, with the ports it started with kept for every retry.

use switchyard_api::{CustomerDraft, SiteDraft};
use switchyard_store::{GoLiveKind, GoLiveState, NewGoLive, Store};

async fn store_with_site() -> (tempfile::TempDir, Store, i64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("switchyard.db")).await.unwrap();
    let customer = store.create_customer(&CustomerDraft { name: "Acme".into(), contact_email: "a@acme.example".into() }).await.unwrap();
    let site = store.create_site(&SiteDraft { name: "Shop".into(), customer_id: customer.id, description: String::new() }).await.unwrap();
    (dir, store, site.id)
}

fn attempt(site_id: i64, sha: &str) -> NewGoLive<'_> {
    NewGoLive {
        site_id,
        kind: GoLiveKind::Candidate,
        candidate_sha256: sha,
        environment: "shop-blue",
        ports: [8101, 8102],
        started_by: "sam",
    }
}

#[tokio::test]
async fn a_site_has_one_unfinished_go_live_until_it_is_abandoned() {
    let (dir, store, site) = store_with_site().await;
    let (a, b) = ("aa".repeat(32), "bb".repeat(32));
    let first = store.start_go_live(attempt(site, &a)).await.unwrap();
    assert_eq!((first.state, first.step.as_str(), first.ports), (GoLiveState::Running, "", [8101, 8102]));
    store.go_live_step_done(first.id, "create").await.unwrap();
    store.go_live_ended(first.id, GoLiveState::Failed, Some("cannot start the site")).await.unwrap();

    let refused = store.start_go_live(attempt(site, &b)).await.unwrap_err().to_string();
    assert!(refused.contains("already has a go-live under way") && refused.contains("abandon"), "{refused}");

    // A retry with a fixed candidate continues the same attempt, and survives a reopen.
    let retried = store.retry_go_live(first.id, &b).await.unwrap();
    assert_eq!((first.tries, retried.tries), (1, 2));
    store.close().await;
    let store = Store::open(&dir.path().join("switchyard.db")).await.unwrap();
    let again = store.latest_go_live(site).await.unwrap().unwrap();
    assert_eq!(
        (again.id, again.state, again.step.as_str(), again.candidate_sha256.as_str()),
        (first.id, GoLiveState::Running, "create", b.as_str())
    );
    assert_eq!(again.last_error.as_deref(), Some("cannot start the site"), "the last error stays on record until the attempt ends");

    store.go_live_ended(first.id, GoLiveState::Abandoned, None).await.unwrap();
    assert!(store.retry_go_live(first.id, &a).await.is_err(), "an abandoned go-live cannot be continued");
    let fresh = store.start_go_live(attempt(site, &a)).await.unwrap();
    assert_ne!(fresh.id, first.id);
    assert_eq!(store.latest_go_live(site).await.unwrap().map(|g| g.id), Some(fresh.id));
}
