//! The store on a real SQLite file: schema from empty, data across a reopen, and constraint
//! failures reported as messages that name the rule.

use switchyard_api::{AccountDraft, AddressDraft, CustomerDraft, EnvironmentDraft, EnvironmentKind, HostDraft, Role, SiteDraft, UserDraft};
use switchyard_store::{Store, StoreError};

async fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("switchyard.db")).await.unwrap();
    (dir, store)
}

async fn customer_site_host(store: &Store) -> (i64, i64, i64) {
    let customer = store.create_customer(&CustomerDraft { name: "Acme".into(), contact_email: String::new() }).await.unwrap();
    let site = store.create_site(&SiteDraft { name: "Shop".into(), customer_id: customer.id, description: String::new() }).await.unwrap();
    let host = store
        .create_host(
            &HostDraft {
                name: "web1".into(),
                agent_url: "https://web1:7443".into(),
                token_ref: String::new(),
                token: None,
                cert_fingerprint: String::new(),
            },
            Some("sealed"),
        )
        .await
        .unwrap();
    (customer.id, site.id, host.id)
}

#[tokio::test]
async fn an_empty_file_gets_the_whole_schema() {
    let (_dir, store) = fresh().await;
    assert!(store.is_empty().await.unwrap());
    assert!(store.list_sites(None).await.unwrap().is_empty());
    // sqlite3 (Debian package, installed by `cargo xtask test`) reads the file independently.
    let output = std::process::Command::new("sqlite3")
        .arg(store.path())
        .arg("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name")
        .output()
        .expect("sqlite3 is installed");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "accounts\naddresses\naudit_log\ncandidate_manifests\ncandidates\ncustomers\nenvironments\ngo_lives\nhosts\npatch_documents\nrecord_chains\nrelease_transitions\nreleases\nsessions\nsites\nusers\nwatch_windows\n");
}

#[tokio::test]
async fn data_survives_closing_and_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchyard.db");
    let store = Store::open(&path).await.unwrap();
    let (_, site_id, host_id) = customer_site_host(&store).await;
    store
        .create_environment(site_id, &EnvironmentDraft { name: "production".into(), kind: EnvironmentKind::Production, host_id })
        .await
        .unwrap();
    store.create_account(site_id, &AccountDraft { subdomain: "bob".into(), tags: vec!["beta".into(), "vip".into()] }).await.unwrap();
    store.close().await;

    let reopened = Store::open(&path).await.unwrap();
    let detail = reopened.site_detail(site_id).await.unwrap();
    assert_eq!(detail.site.name, "Shop");
    assert_eq!(detail.site.environment_count, 1);
    assert_eq!(detail.environments[0].host_name, "web1");
    assert_eq!(detail.accounts[0].tags, vec!["beta", "vip"]);
}

#[tokio::test]
async fn duplicates_are_conflicts_that_name_the_value() {
    let (_dir, store) = fresh().await;
    let (customer_id, site_id, host_id) = customer_site_host(&store).await;
    let err = store.create_site(&SiteDraft { name: "Shop".into(), customer_id, description: String::new() }).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m == "a site named \"Shop\" already exists; choose another name"), "{err}");

    let production = EnvironmentDraft { name: "production".into(), kind: EnvironmentKind::Production, host_id };
    store.create_environment(site_id, &production).await.unwrap();
    let again = store
        .create_environment(site_id, &EnvironmentDraft { name: "production".into(), kind: EnvironmentKind::Test, host_id })
        .await
        .unwrap_err();
    assert!(again.to_string().contains("already has an environment named \"production\""), "{again}");
    let second = store
        .create_environment(site_id, &EnvironmentDraft { name: "live".into(), kind: EnvironmentKind::Production, host_id })
        .await
        .unwrap_err();
    assert!(second.to_string().contains("already has a production environment (production)"), "{second}");

    store.create_address(site_id, &AddressDraft { value: "shop.example.com".into(), environment_id: None }).await.unwrap();
    let taken = store.create_address(site_id, &AddressDraft { value: "shop.example.com".into(), environment_id: None }).await.unwrap_err();
    assert!(taken.to_string().contains("already in use"), "{taken}");

    store
        .create_user(&UserDraft {
            username: "sam".into(),
            display_name: "Sam".into(),
            role: Role::Support,
            customer_id: None,
            admin: false,
            password: None,
        })
        .await
        .unwrap();
    let user = store
        .create_user(&UserDraft {
            username: "sam".into(),
            display_name: "Sam".into(),
            role: Role::Manager,
            customer_id: None,
            admin: false,
            password: None,
        })
        .await
        .unwrap_err();
    assert!(user.to_string().contains("username \"sam\" is taken"), "{user}");
}

#[tokio::test]
async fn references_to_missing_rows_name_the_field() {
    let (_dir, store) = fresh().await;
    let (_, site_id, host_id) = customer_site_host(&store).await;
    let err = store.create_site(&SiteDraft { name: "Other".into(), customer_id: 99, description: String::new() }).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::BadReference { field: "customer_id", message } if message.contains("customer 99 does not exist")),
        "{err}"
    );

    let other_customer = store.create_customer(&CustomerDraft { name: "Other Co".into(), contact_email: String::new() }).await.unwrap();
    let other_site =
        store.create_site(&SiteDraft { name: "Other".into(), customer_id: other_customer.id, description: String::new() }).await.unwrap();
    let foreign_env = store
        .create_environment(other_site.id, &EnvironmentDraft { name: "production".into(), kind: EnvironmentKind::Production, host_id })
        .await
        .unwrap();
    let err = store
        .create_address(site_id, &AddressDraft { value: "x.example.com".into(), environment_id: Some(foreign_env.id) })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("belongs to another site"), "{err}");

    let missing =
        store.create_environment(404, &EnvironmentDraft { name: "a".into(), kind: EnvironmentKind::Test, host_id }).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { what: "site", id: 404 }));
}

#[tokio::test]
async fn deletes_refuse_to_orphan_and_cascade_where_they_own() {
    let (_dir, store) = fresh().await;
    let (customer_id, site_id, host_id) = customer_site_host(&store).await;
    let env = store
        .create_environment(site_id, &EnvironmentDraft { name: "production".into(), kind: EnvironmentKind::Production, host_id })
        .await
        .unwrap();
    let address =
        store.create_address(site_id, &AddressDraft { value: "a.example.com".into(), environment_id: Some(env.id) }).await.unwrap();

    let busy_host = store.delete_host(host_id).await.unwrap_err();
    assert!(busy_host.to_string().contains("still runs environments"), "{busy_host}");
    let busy_customer = store.delete_customer(customer_id).await.unwrap_err();
    assert!(busy_customer.to_string().contains("still has sites"), "{busy_customer}");

    // Deleting the environment leaves the address, unrouted.
    store.delete_environment(env.id).await.unwrap();
    assert_eq!(store.address(address.id).await.unwrap().environment_id, None);

    store.delete_site(site_id).await.unwrap();
    assert!(matches!(store.address(address.id).await, Err(StoreError::NotFound { .. })));
    store.delete_host(host_id).await.unwrap();
    store.delete_customer(customer_id).await.unwrap();
    assert!(store.is_empty().await.unwrap());
    assert!(matches!(store.delete_site(site_id).await, Err(StoreError::NotFound { what: "site", .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_queue_instead_of_failing_with_database_locked() {
    let (_dir, store) = fresh().await;
    let (customer_id, _, host_id) = customer_site_host(&store).await;
    let mut tasks = Vec::new();
    for n in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            // Half of them fail on a duplicate name: a failed transaction must not block the rest.
            let name = format!("site-{}", n / 2);
            match store.create_site(&SiteDraft { name, customer_id, description: String::new() }).await {
                Ok(site) => {
                    let draft = EnvironmentDraft { name: "production".into(), kind: EnvironmentKind::Production, host_id };
                    store.create_environment(site.id, &draft).await.map(|_| true)
                }
                Err(StoreError::Conflict(_)) => Ok(false),
                Err(other) => Err(other),
            }
        }));
    }
    let mut created = 0;
    for task in tasks {
        if task.await.unwrap().expect("no write fails for lack of a lock") {
            created += 1;
        }
    }
    assert_eq!(created, 20);
    assert_eq!(store.list_sites(Some(customer_id)).await.unwrap().len(), 21);
}
