//! Stock applications whose data lives on a database server, as most customers' sites do:
//! the Django project on PostgreSQL and the PHP guestbook on MariaDB, each on a real server
//! the test starts, with the production database and login made by hand and declared to the
//! host's agent. Unmodified tarballs (they read `DATABASE_URL`) go live bound to it, then:
//! - a migration is rehearsed on a copy of the database, and the server's own statistics show
//!   that production's database took no write meanwhile, and the copy is gone afterwards;
//! - the migration runs in production under a read/write load, no acknowledged write lost;
//! - its rollback brings back the schema and the data of before the migration;
//! - a blue-green release on the database both versions share, and its rollback, lose no
//!   acknowledged write at all.

use crate::people::{allows, staffed, status, wait_for_release, Api, PASSWORD};
use crate::stock_applications::{migration_document, new_site, upload, STEP};
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use switchyard_agent::databases::DatabaseKind;
use switchyard_e2e::apps::{path_with_apps, App, DJANGO_NOTES, PHP_GUESTBOOK};
use switchyard_e2e::database::CustomerDatabase;
use switchyard_e2e::free_port;
use switchyard_e2e::server::Server;
use switchyard_e2e::traffic::{assert_none_lost, served, version, Visitors};

/// The app's table and the column its version 2 migration adds.
struct Schema {
    table: &'static str,
    added: &'static str,
}

/// The blue-green runbook the site's template offers for `sha`, with a short watch window.
async fn blue_green_document(alice: &Api, site: i64, sha: &str) -> i64 {
    let template = alice.get(&format!("/sites/{site}/patch-template?workflow=blue-green&candidate={sha}")).await;
    let toml = template["toml"].as_str().unwrap_or_else(|| panic!("no template: {template}"));
    let toml = toml.replace("duration_secs = 600", "duration_secs = 2");
    let saved = alice.post(&format!("/sites/{site}/patch-documents"), json!({"toml": toml})).await;
    saved["version"].as_i64().unwrap_or_else(|| panic!("the runbook was refused: {saved}"))
}

/// Rehearses `document` as alice and waits until it is recorded.
async fn rehearse(alice: &Api, site: i64, document: i64, while_checking: impl std::future::Future<Output = ()>) {
    let rehearsal = alice.post("/releases", json!({"site_id": site, "document_version": document, "run": "rehearsal"})).await;
    let rehearsal = rehearsal["id"].as_i64().unwrap_or_else(|| panic!("no rehearsal: {rehearsal}"));
    wait_for_release(alice, rehearsal, "the rehearsal ready to check", STEP, |d| allows(d, "confirm")).await;
    while_checking.await;
    alice.post(&format!("/releases/{rehearsal}/confirm"), json!({"comment": "checked the clone"})).await;
    wait_for_release(alice, rehearsal, "the rehearsal completed", STEP, |d| status(d) == "completed").await;
}

async fn release_on_a_database_server(app: App, kind: DatabaseKind, name: &str, address: &str, schema: Schema) {
    let db = CustomerDatabase::start(kind, "shop");
    let dir = tempfile::tempdir().unwrap();
    let public: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let path = path_with_apps();
    let server = Server::start_with_env(&dir.path().join("data"), &["--public-listen", &public.to_string()], &[("PATH", &path)]);
    db.declare_to(&server.data_dir.join("agent"));
    let admin = staffed(&server).await;
    let alice = Api::log_in(&server, "alice", PASSWORD).await;
    let sam = Api::log_in(&server, "sam", PASSWORD).await;
    let site = new_site(&admin, name, address).await;

    // Version 1 goes live bound to the customer's database; its first migration makes the schema there.
    let (v1, v1_sha) = app.release(dir.path(), false, None);
    upload(&server, &alice, site, &v1).await;
    let binding = json!([{"server": "main", "database": "shop", "user": "shop"}]);
    let live = admin.post(&format!("/sites/{site}/go-live"), json!({"candidate_sha256": v1_sha, "databases": binding})).await;
    assert_eq!(live["public_address"], address, "{live}\n{}", server.output());
    assert_eq!(version(public, address).await, "1.0.0");
    assert!(!db.columns(schema.table).is_empty(), "version 1's migration made no {} table in production's database", schema.table);
    let visitors = Visitors::start(app, public, address, "before", 3);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before_release = visitors.finish().await;
    assert!(!before_release.acknowledged.is_empty() && before_release.failures.is_empty(), "version 1: {before_release:?}");

    // The rehearsal runs version 2's migration on a copy: production's database takes no write.
    let (v2, v2_sha) = app.release(dir.path(), true, None);
    upload(&server, &alice, site, &v2).await;
    let migration = migration_document(&alice, site, &v2_sha).await;
    // The server's statistics of the visitors' last writes settle within a second or so.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (written_before, databases_before) = (db.rows_written("shop"), db.databases());
    rehearse(&alice, site, migration, async {
        let copies: Vec<String> = db.databases().into_iter().filter(|d| !databases_before.contains(d)).collect();
        assert_eq!(copies.len(), 1, "the rehearsal is not on a copy of its own: {copies:?}");
        assert!(db.rows_written(&copies[0]) > 0, "the rehearsal's migration wrote nothing into its copy");
        assert_eq!(version(public, &format!("candidate.{address}")).await, "2.0.0");
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(db.rows_written("shop"), written_before, "the rehearsal wrote into production's database");
    assert!(!db.columns(schema.table).contains(&schema.added.to_owned()), "the rehearsal migrated production");
    assert_eq!(db.databases(), databases_before, "the rehearsal's copy was left behind");

    // Production: migrated behind the site-down page while visitors read and write.
    let visitors = Visitors::start(app, public, address, "during", 3);
    let run = sam.post("/releases", json!({"site_id": site, "document_version": migration, "run": "production"})).await;
    let run = run["id"].as_i64().unwrap_or_else(|| panic!("no production run: {run}"));
    admin.post(&format!("/releases/{run}/approve"), json!({"comment": "migration window agreed", "acknowledge_rollback": true})).await;
    wait_for_release(&alice, run, "production waiting for alice", STEP, |d| allows(d, "confirm")).await;
    assert!(db.columns(schema.table).contains(&schema.added.to_owned()), "production's database was not migrated");
    alice.post(&format!("/releases/{run}/confirm"), json!({"comment": "my data is all there"})).await;
    wait_for_release(&alice, run, "production completed", STEP, |d| status(d) == "completed").await;
    assert_eq!(version(public, address).await, "2.0.0");
    let released = visitors.finish().await;
    assert!(
        released.failures.is_empty(),
        "requests failed during the release: {:?}",
        &released.failures[..released.failures.len().min(10)]
    );
    let acknowledged_on_v1: Vec<String> = before_release.acknowledged.iter().chain(&released.acknowledged).cloned().collect();
    assert_none_lost("after the migration", &acknowledged_on_v1, &served(app, public, address).await);
    let detail = alice.get(&format!("/releases/{run}")).await;
    let timeline = detail["timeline"].to_string();
    assert!(timeline.contains("main:shop in ") && timeline.contains("checked against it"), "the snapshot is not in the timeline: {detail}");

    // Its rollback: version 1 on the schema and data of before the migration.
    admin.post(&format!("/releases/{run}/rollback"), json!({"comment": "practising the way back"})).await;
    wait_for_release(&alice, run, "rolled back", STEP, |d| status(d) == "rolled-back").await;
    assert_eq!(version(public, address).await, "1.0.0");
    assert!(!db.columns(schema.table).contains(&schema.added.to_owned()), "the rollback kept version 2's column");
    assert_none_lost("after the rollback", &before_release.acknowledged, &served(app, public, address).await);

    // Blue-green to 1.1.0 on the one database both versions share: nothing lost, either way.
    let (v11, v11_sha) = app.relabelled(dir.path(), "1.1.0");
    upload(&server, &alice, site, &v11).await;
    let blue_green = blue_green_document(&alice, site, &v11_sha).await;
    rehearse(&alice, site, blue_green, async {}).await;
    let visitors = Visitors::start(app, public, address, "blue-green", 3);
    let run = sam.post("/releases", json!({"site_id": site, "document_version": blue_green, "run": "production"})).await;
    let run = run["id"].as_i64().unwrap_or_else(|| panic!("no blue-green run: {run}"));
    admin.post(&format!("/releases/{run}/approve"), json!({"comment": "fine"})).await;
    wait_for_release(&alice, run, "blue-green completed", STEP, |d| status(d) == "completed").await;
    assert_eq!(version(public, address).await, "1.1.0");
    tokio::time::sleep(Duration::from_secs(1)).await;
    admin.post(&format!("/releases/{run}/rollback"), json!({"comment": "back to 1.0.0"})).await;
    wait_for_release(&alice, run, "blue-green rolled back", STEP, |d| status(d) == "rolled-back").await;
    assert_eq!(version(public, address).await, "1.0.0");
    let swapped = visitors.finish().await;
    assert!(swapped.failures.is_empty(), "requests failed in blue-green: {:?}", &swapped.failures[..swapped.failures.len().min(10)]);
    assert!(!swapped.acknowledged.is_empty(), "no write was acknowledged during blue-green");
    assert_none_lost("after blue-green and its rollback", &swapped.acknowledged, &served(app, public, address).await);
    let ours: Vec<String> = db.databases().into_iter().filter(|d| d == "shop").collect();
    assert_eq!(ours, ["shop"], "production's database is not where the customer made it");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_django_project_on_postgresql_is_rehearsed_migrated_rolled_back_and_released_blue_green() {
    let schema = Schema { table: "notes_note", added: "author" };
    release_on_a_database_server(DJANGO_NOTES, DatabaseKind::Postgresql, "Notes", "notes.acme.test", schema).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_php_guestbook_on_mariadb_is_rehearsed_migrated_rolled_back_and_released_blue_green() {
    let schema = Schema { table: "entries", added: "signed_at" };
    release_on_a_database_server(PHP_GUESTBOOK, DatabaseKind::Mariadb, "Guestbook", "guestbook.acme.test", schema).await;
}
