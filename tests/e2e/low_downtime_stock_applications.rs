//! Low-downtime migration releases of stock applications through the real server and its
//! local agent, as a user makes them: the Django project on SQLite and on PostgreSQL, the PHP
//! guestbook on MariaDB. Under a paced load of 60 writes/s on the public address, production
//! serves on while version 2 is migrated on a clone and the customer checks it for 30 s; the
//! cutover replays what production took meanwhile, so every acknowledged write is in version 2
//! under its id, no request fails and the recorded downtime is the cutover's, not the check's.
//! Before anyone approves, the release says a rollback loses v2's new column, and approval
//! needs that acknowledged (in a real Chromium for the SQLite run). The rollback, under the
//! same load, replays version 2's writes into version 1: every acknowledged write is there
//! under its id and the next write gets an id above all of them.

use crate::people::{allows, staffed, status, wait_for_release, Api, PASSWORD};
use crate::stock_applications::{new_site, upload, STEP};
use fantoccini::Locator;
use reqwest::Method;
use serde_json::json;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use switchyard_agent::databases::DatabaseKind;
use switchyard_e2e::apps::{path_with_apps, App, DJANGO_NOTES, PHP_GUESTBOOK};
use switchyard_e2e::browser::Browser;
use switchyard_e2e::database::CustomerDatabase;
use switchyard_e2e::free_port;
use switchyard_e2e::paced::{assert_all_kept, served_with_ids, PacedWriter};
use switchyard_e2e::server::Server;
use switchyard_e2e::traffic::version;

/// The pace of the write load; the test asserts at least 50 acknowledged writes/s.
const WRITES_PER_SECOND: u64 = 60;
/// How long the customer checks the migrated clone at its candidate address.
const CHECK: Duration = Duration::from_secs(30);

/// One run: the app, where its data lives, and the table and column its v2 migration adds.
struct Case {
    app: App,
    database: Option<DatabaseKind>,
    name: &'static str,
    address: &'static str,
    table: &'static str,
    added: &'static str,
    /// Whether the approver approves in a real browser (else through the API).
    in_browser: bool,
}

/// The low-downtime runbook the site's template offers for `sha` (with the manifest's
/// migration), its watch window cut to 2 s.
async fn low_downtime_document(alice: &Api, site: i64, sha: &str) -> i64 {
    let template = alice.get(&format!("/sites/{site}/patch-template?workflow=low-downtime-migration&candidate={sha}")).await;
    let toml = template["toml"].as_str().unwrap_or_else(|| panic!("no template: {template}"));
    assert!(toml.contains("workflow = \"low-downtime-migration\"") && toml.contains(sha), "{toml}");
    assert!(toml.contains("migration = true"), "the template does not carry the app's migration:\n{toml}");
    assert!(toml.contains("duration_secs = 300"), "the template's watch window moved:\n{toml}");
    let toml = toml.replace("duration_secs = 300", "duration_secs = 2");
    let saved = alice.post(&format!("/sites/{site}/patch-documents"), json!({"toml": toml})).await;
    saved["version"].as_i64().unwrap_or_else(|| panic!("the runbook was refused: {saved}"))
}

/// The approver opens the release page, reads the rollback statement, finds approving
/// disabled until the acknowledgement is ticked, ticks it and approves.
async fn approve_in_browser(server: &Server, run: i64, added: &str) {
    let browser = Browser::start().await;
    server.sign_in(&browser, &format!("/releases/{run}")).await;
    let statement = browser.find("#rollback-statement").await.text().await.unwrap();
    assert!(statement.contains(added) && statement.contains("would lose"), "the page's rollback statement: {statement}");
    let approve = browser.find("#decide-approve").await;
    assert!(!approve.is_enabled().await.unwrap(), "approving is offered before the rollback statement is acknowledged");
    browser.find("#acknowledge-rollback").await.click().await.unwrap();
    assert!(approve.is_enabled().await.unwrap(), "ticking the acknowledgement does not enable approving");
    browser.find("textarea[name=comment]").await.send_keys("read what a rollback loses").await.unwrap();
    approve.click().await.unwrap();
    browser.find("#decision-done").await;
    assert!(browser.client.find_all(Locator::Css(".banner.error")).await.unwrap().is_empty(), "{}", browser.page_text().await);
    browser.close().await;
}

async fn low_downtime_release(case: Case) {
    let Case { app, address, added, .. } = case;
    let db = case.database.map(|kind| CustomerDatabase::start(kind, "shop"));
    let dir = tempfile::tempdir().unwrap();
    let public: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let path = path_with_apps();
    let server = Server::start_with_env(&dir.path().join("data"), &["--public-listen", &public.to_string()], &[("PATH", &path)]);
    if let Some(db) = &db {
        db.declare_to(&server.data_dir.join("agent"));
    }
    let admin = staffed(&server).await;
    let alice = Api::log_in(&server, "alice", PASSWORD).await;
    let sam = Api::log_in(&server, "sam", PASSWORD).await;
    let site = new_site(&admin, case.name, address).await;

    let (v1, v1_sha) = app.release(dir.path(), false, None);
    upload(&server, &alice, site, &v1).await;
    let mut go_live = json!({"candidate_sha256": v1_sha});
    if db.is_some() {
        go_live["databases"] = json!([{"server": "main", "database": "shop", "user": "shop"}]);
    }
    let live = admin.post(&format!("/sites/{site}/go-live"), go_live).await;
    assert_eq!(live["public_address"], address, "{live}\n{}", server.output());
    assert_eq!(version(public, address).await, "1.0.0");

    // Version 2's runbook from the template, rehearsed on a clone and marked ready by alice.
    let (v2, v2_sha) = app.release(dir.path(), true, None);
    upload(&server, &alice, site, &v2).await;
    let document = low_downtime_document(&alice, site, &v2_sha).await;
    let rehearsal = alice.post("/releases", json!({"site_id": site, "document_version": document, "run": "rehearsal"})).await;
    let rehearsal = rehearsal["id"].as_i64().unwrap_or_else(|| panic!("no rehearsal: {rehearsal}"));
    wait_for_release(&alice, rehearsal, "the rehearsal ready to check", STEP, |d| allows(d, "confirm")).await;
    alice.post(&format!("/releases/{rehearsal}/confirm"), json!({"comment": "checked the clone"})).await;
    wait_for_release(&alice, rehearsal, "the rehearsal completed", STEP, |d| status(d) == "completed").await;

    // Visitors write from here to the end; sam runs it in production.
    let writer = PacedWriter::start(app, public, address, "w", WRITES_PER_SECOND);
    let run = sam.post("/releases", json!({"site_id": site, "document_version": document, "run": "production"})).await;
    let run = run["id"].as_i64().unwrap_or_else(|| panic!("no production run: {run}"));

    // Before approving, the release says what a rollback would lose: v2's new column.
    let detail = admin.get(&format!("/releases/{run}")).await;
    let statement = &detail["evidence"]["rollback"];
    let words = statement["words"].as_str().unwrap_or_default();
    assert!(words.contains(added), "the rollback statement does not name {}.{added}: {statement}", case.table);
    assert_eq!(statement["needs_acknowledgement"], true, "{statement}");
    let (refused, body) = admin.send(Method::POST, &format!("/releases/{run}/approve"), Some(json!({"comment": "go"}))).await;
    assert_eq!(refused, 422, "approving without acknowledging the rollback statement: {body}");
    assert!(body.to_string().contains("acknowledge_rollback"), "the refusal does not say what to do: {body}");
    if case.in_browser {
        approve_in_browser(&server, run, added).await;
    } else {
        admin.post(&format!("/releases/{run}/approve"), json!({"comment": "read it", "acknowledge_rollback": true})).await;
    }

    // While alice checks the migrated clone for 30 s, production serves version 1 on.
    let checking = wait_for_release(&alice, run, "production waiting for alice", STEP, |d| allows(d, "confirm")).await;
    let check_started = Instant::now();
    let candidate = format!("candidate.{address}");
    assert_eq!(checking["evidence"]["test_address"], candidate.as_str(), "{checking}");
    assert_eq!(version(public, address).await, "1.0.0", "production stopped serving version 1 during the migration");
    assert_eq!(version(public, &candidate).await, "2.0.0", "the clone does not run version 2");
    if let Some(db) = &db {
        assert!(!db.columns(case.table).contains(&added.to_owned()), "production's own database was migrated");
    }
    let on_clone = served_with_ids(app, public, &candidate).await;
    assert!(!on_clone.is_empty(), "the clone holds none of production's writes");
    tokio::time::sleep(CHECK.saturating_sub(check_started.elapsed())).await;
    alice.post(&format!("/releases/{run}/confirm"), json!({"comment": "v2 looks right"})).await;
    let done = wait_for_release(&alice, run, "production completed", STEP, |d| status(d) == "completed").await;
    assert_eq!(version(public, address).await, "2.0.0");
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Every write acknowledged so far is in version 2 under its id; no request failed.
    let so_far = writer.so_far();
    assert!(so_far.failures.is_empty(), "requests failed through the cutover: {:?}", &so_far.failures[..so_far.failures.len().min(10)]);
    assert_all_kept("after the cutover", &so_far.acknowledged, &served_with_ids(app, public, address).await);
    // Version 2 serves from the clone's migrated copy; production's own database, stopped at
    // the cutover, stays version 1's for a rollback.
    if let Some(db) = &db {
        assert!(!db.columns(case.table).contains(&added.to_owned()), "the cutover migrated the old version's database");
    }
    let downtime = done["summary"]["downtime_ms"].as_i64().unwrap_or_else(|| panic!("no downtime recorded: {done}"));
    assert!(downtime < CHECK.as_millis() as i64 / 3, "the downtime recorded is {downtime} ms: the customer's check, not the cutover");
    assert_eq!(done["summary"]["failed_requests"], 0, "{done}");
    let replays = done["evidence"]["replays"].to_string();
    assert!(replays.contains("Cutover, requests held"), "the record does not say what the cutover replayed: {replays}");

    // The rollback under the same load: version 1 serves every write, v2's included.
    admin.post(&format!("/releases/{run}/rollback"), json!({"comment": "the customer asked"})).await;
    let rolled = wait_for_release(&alice, run, "rolled back", STEP, |d| status(d) == "rolled-back").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let written = writer.finish().await;
    assert!(written.rate >= 50.0, "the load managed only {:.1} acknowledged writes/s", written.rate);
    assert!(written.failures.is_empty(), "requests failed through the rollback: {:?}", &written.failures[..written.failures.len().min(10)]);
    assert_eq!(version(public, address).await, "1.0.0");
    let on_v1 = served_with_ids(app, public, address).await;
    assert_all_kept("after the rollback", &written.acknowledged, &on_v1);
    if let Some(db) = &db {
        assert!(!db.columns(case.table).contains(&added.to_owned()), "version 1's database has version 2's column after the rollback");
    }
    let replays = rolled["evidence"]["replays"].to_string();
    assert!(replays.contains("Rollback, requests held"), "the record does not say what the rollback replayed: {replays}");

    // No id is handed out twice: the next write's is above every one acknowledged.
    let highest = written.acknowledged.values().max().copied().unwrap_or_default();
    let next = PacedWriter::start(app, public, address, "after-rollback", 10);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let next = next.finish().await;
    let lowest_new = next.acknowledged.values().min().copied().unwrap_or_else(|| panic!("version 1 took no new write: {next:?}"));
    assert!(lowest_new > highest, "a new write got id {lowest_new}, not above the {highest} handed out before");
    println!("{}: {} writes at {:.1}/s, cutover downtime {downtime} ms", case.name, written.acknowledged.len(), written.rate);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_django_project_on_sqlite_migrates_with_a_short_cutover_and_rolls_back_keeping_every_write() {
    let case = Case {
        app: DJANGO_NOTES,
        database: None,
        name: "Notes",
        address: "notes.acme.test",
        table: "notes_note",
        added: "author",
        in_browser: true,
    };
    low_downtime_release(case).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_django_project_on_postgresql_migrates_with_a_short_cutover_and_rolls_back_keeping_every_write() {
    let case = Case {
        app: DJANGO_NOTES,
        database: Some(DatabaseKind::Postgresql),
        name: "Notes",
        address: "notes.acme.test",
        table: "notes_note",
        added: "author",
        in_browser: false,
    };
    low_downtime_release(case).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_php_guestbook_on_mariadb_migrates_with_a_short_cutover_and_rolls_back_keeping_every_write() {
    let case = Case {
        app: PHP_GUESTBOOK,
        database: Some(DatabaseKind::Mariadb),
        name: "Guestbook",
        address: "guestbook.acme.test",
        table: "entries",
        added: "signed_at",
        in_browser: false,
    };
    low_downtime_release(case).await;
}
