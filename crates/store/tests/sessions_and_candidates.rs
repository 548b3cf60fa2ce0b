//! Sessions, the audit log and candidates on a real SQLite file: what logging in, auditing
//! and uploading rely on.

use switchyard_api::{CustomerDraft, Role, SiteDraft, UserDraft};
use switchyard_store::{NewAuditEntry, Store};

async fn store_with_user() -> (tempfile::TempDir, Store, i64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("switchyard.db")).await.unwrap();
    let draft = UserDraft {
        username: "sam".into(),
        display_name: "Sam".into(),
        role: Role::Support,
        customer_id: None,
        admin: false,
        password: None,
    };
    let user = store.create_user_with_password(&draft, Some("$argon2id$stand-in")).await.unwrap();
    assert!(user.can_log_in);
    (dir, store, user.id)
}

#[tokio::test]
async fn a_session_ends_at_its_expiry_and_with_its_user() {
    let (_dir, store, user) = store_with_user().await;
    store.create_session("live", user, "127.0.0.1", "2999-01-01T00:00:00.000Z").await.unwrap();
    store.create_session("stale", user, "127.0.0.1", "2000-01-01T00:00:00.000Z").await.unwrap();
    assert_eq!(store.session_user("live").await.unwrap().map(|u| u.username), Some("sam".into()));
    assert_eq!(store.session_user("stale").await.unwrap(), None, "an expired session must not log anyone in");
    store.delete_sessions_of(user).await.unwrap();
    assert_eq!(store.session_user("live").await.unwrap(), None);
}

#[tokio::test]
async fn the_first_administrator_can_be_created_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("switchyard.db")).await.unwrap();
    assert!(!store.anyone_can_log_in().await.unwrap());
    let draft = UserDraft {
        username: "ada".into(),
        display_name: "Ada".into(),
        role: Role::Support,
        customer_id: None,
        admin: true,
        password: None,
    };
    let ada = store.create_first_admin(&draft, "hash").await.unwrap();
    assert!(ada.admin && ada.can_log_in);
    let again = UserDraft { username: "mallory".into(), ..draft };
    let refused = store.create_first_admin(&again, "hash").await.unwrap_err();
    assert!(refused.to_string().contains("already set up"), "{refused}");
    assert_eq!(store.list_users().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_audit_log_reads_newest_first_in_pages() {
    let (_dir, store, _) = store_with_user().await;
    for n in 0..5 {
        let target = format!("site {n}");
        store
            .append_audit(&NewAuditEntry {
                actor: "sam",
                actor_id: None,
                action: "site.create",
                target: &target,
                detail: "",
                remote: "127.0.0.1",
            })
            .await
            .unwrap();
    }
    let page = store.audit_page(2, 1).await.unwrap();
    assert_eq!(page.total, 5);
    let targets: Vec<&str> = page.entries.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(targets, ["site 3", "site 2"]);
}

#[tokio::test]
async fn a_candidate_keeps_its_first_upload_record() {
    let (_dir, store, _) = store_with_user().await;
    let customer = store.create_customer(&CustomerDraft { name: "Acme".into(), contact_email: "a@acme.example".into() }).await.unwrap();
    let site = store.create_site(&SiteDraft { name: "Shop".into(), customer_id: customer.id, description: String::new() }).await.unwrap();
    let sha = "ab".repeat(32);
    let first = store.record_candidate(site.id, &sha, "shop-1.tar.gz", 10, (None, "alice")).await.unwrap();
    let again = store.record_candidate(site.id, &sha, "renamed.tar.gz", 10, (None, "mallory")).await.unwrap();
    assert_eq!(again, first, "the same bytes uploaded again must not rewrite who uploaded them");
    assert_eq!(store.list_candidates(site.id).await.unwrap().len(), 1);
    let missing_site = store.record_candidate(999, &sha, "x.tar.gz", 1, (None, "alice")).await.unwrap_err();
    assert!(missing_site.to_string().contains("site 999 does not exist"), "{missing_site}");
}
