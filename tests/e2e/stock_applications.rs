//! Stock applications that Switchyard's code did not write, released from their unmodified
//! trees plus a `switchyard.toml`: a Django project under gunicorn (from PyPI) and a PHP
//! guestbook on PHP's built-in server (from Debian). Each goes live, takes a migration release
//! (rehearsed on a clone, approved, migrated behind the site-down page, confirmed by the
//! customer at the temporary address) and is rolled back, while visitors read and write through
//! the agent's router: every write acknowledged before the release survives it and the rollback,
//! every write acknowledged on the new version survives until the rollback restores the
//! pre-migration snapshot, and no request fails other than with the site-down page.

use crate::people::{allows, staffed, status, wait_for_release, Api, PASSWORD};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use switchyard_e2e::apps::{path_with_apps, App, DJANGO_NOTES, PHP_GUESTBOOK};
use switchyard_e2e::free_port;
use switchyard_e2e::server::Server;
use switchyard_e2e::traffic::{assert_none_lost, served, version, Visitors};

/// How long a release step on the local agent may take before the test gives up.
pub(crate) const STEP: Duration = Duration::from_secs(180);

/// A site of the demo's customer (alice's) with a production environment on the local host
/// and one public address; returns its id.
pub(crate) async fn new_site(admin: &Api, name: &str, address: &str) -> i64 {
    let hosts = admin.get("/hosts").await;
    let local =
        hosts.as_array().unwrap().iter().find(|h| h["name"] == "local").unwrap_or_else(|| panic!("no local host: {hosts}"))["id"].clone();
    let site = admin.post("/sites", json!({"name": name, "customer_id": 1})).await;
    let id = site["id"].as_i64().unwrap_or_else(|| panic!("no site: {site}"));
    admin.post(&format!("/sites/{id}/environments"), json!({"name": "production", "kind": "production", "host_id": local})).await;
    admin.post(&format!("/sites/{id}/addresses"), json!({"value": address})).await;
    id
}

/// Uploads a tarball as `who`; returns the candidate as the API describes it.
pub(crate) async fn upload(server: &Server, who: &Api, site: i64, tarball: &std::path::Path) -> Value {
    let name = tarball.file_name().unwrap().to_string_lossy().into_owned();
    let (status, body) = who.upload(&format!("/sites/{site}/candidates"), &name, std::fs::read(tarball).unwrap()).await;
    assert_eq!(status, 201, "uploading {name} to {}: {body}", server.url);
    body
}

/// The migration runbook the site's template offers for `sha`, filled from its manifest.
pub(crate) async fn migration_document(alice: &Api, site: i64, sha: &str) -> i64 {
    let template = alice.get(&format!("/sites/{site}/patch-template?workflow=migration&candidate={sha}")).await;
    let toml = template["toml"].as_str().unwrap_or_else(|| panic!("no template: {template}"));
    assert!(toml.contains(sha), "the template does not name the candidate:\n{toml}");
    let saved = alice.post(&format!("/sites/{site}/patch-documents"), json!({"toml": toml})).await;
    saved["version"].as_i64().unwrap_or_else(|| panic!("the runbook was refused: {saved}"))
}

async fn release_a_stock_application(app: App, name: &str, address: &str) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let public: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let path = path_with_apps();
    let server = Server::start_with_env(&dir.path().join("data"), &["--public-listen", &public.to_string()], &[("PATH", &path)]);
    let admin = staffed(&server).await;
    let alice = Api::log_in(&server, "alice", PASSWORD).await;
    let sam = Api::log_in(&server, "sam", PASSWORD).await;
    let site = new_site(&admin, name, address).await;

    // The customer uploads version 1 as it is; its manifest is read and shown.
    let (v1, v1_sha) = app.release(dir.path(), false, None);
    let candidate = upload(&server, &alice, site, &v1).await;
    assert!(candidate["manifest"]["summary"].to_string().contains("starts:"), "the candidate shows no manifest: {candidate}");

    // Support puts it live: the manifest's migration creates the schema, then it serves.
    let live = admin.post(&format!("/sites/{site}/go-live"), json!({"candidate_sha256": v1_sha})).await;
    assert_eq!(live["public_address"], address, "{live}");
    assert_eq!(version(public, address).await, "1.0.0");
    let visitors = Visitors::start(app, public, address, "before", 3);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before_release = visitors.so_far().acknowledged;
    assert!(!before_release.is_empty(), "no write succeeded on version 1: {:?}", visitors.so_far());

    // Version 2 needs a migration; its runbook comes from the template, filled from the manifest.
    let (v2, v2_sha) = app.release(dir.path(), true, None);
    upload(&server, &alice, site, &v2).await;
    let document = migration_document(&alice, site, &v2_sha).await;

    // Alice rehearses it on a clone of production and marks it ready; production is untouched.
    let rehearsal = alice.post("/releases", json!({"site_id": site, "document_version": document, "run": "rehearsal"})).await;
    let rehearsal = rehearsal["id"].as_i64().unwrap_or_else(|| panic!("no rehearsal: {rehearsal}"));
    wait_for_release(&alice, rehearsal, "the rehearsal ready to check", STEP, |d| allows(d, "confirm")).await;
    assert_eq!(version(public, address).await, "1.0.0", "a rehearsal touched production");
    alice.post(&format!("/releases/{rehearsal}/confirm"), json!({"comment": "checked the clone"})).await;
    wait_for_release(&alice, rehearsal, "the rehearsal completed", STEP, |d| status(d) == "completed").await;

    // Sam runs it, ada approves; alice checks production at the temporary address and confirms.
    let run = sam.post("/releases", json!({"site_id": site, "document_version": document, "run": "production"})).await;
    let run = run["id"].as_i64().unwrap_or_else(|| panic!("no production run: {run}"));
    admin.post(&format!("/releases/{run}/approve"), json!({"comment": "migration window agreed", "acknowledge_rollback": true})).await;
    wait_for_release(&alice, run, "production waiting for alice", STEP, |d| allows(d, "confirm")).await;
    let temporary = format!("temporary.{address}");
    assert_eq!(version(public, &temporary).await, "2.0.0");
    assert_none_lost("at the temporary address", &before_release, &served(app, public, &temporary).await);
    alice.post(&format!("/releases/{run}/confirm"), json!({"comment": "my data is all there"})).await;
    wait_for_release(&alice, run, "production completed", STEP, |d| status(d) == "completed").await;
    assert_eq!(version(public, address).await, "2.0.0");
    let released = visitors.finish().await;
    assert!(
        released.failures.is_empty(),
        "requests failed during the release: {:?}",
        &released.failures[..released.failures.len().min(10)]
    );
    assert_none_lost("after the release", &released.acknowledged, &served(app, public, address).await);

    // Visitors write on version 2, then ada rolls back: version 1 serves its pre-migration data.
    let on_v2 = Visitors::start(app, public, address, "after", 2);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen_on_v2 = on_v2.finish().await;
    assert!(!seen_on_v2.acknowledged.is_empty() && seen_on_v2.failures.is_empty(), "version 2 did not take writes: {seen_on_v2:?}");
    admin.post(&format!("/releases/{run}/rollback"), json!({"comment": "practising the way back"})).await;
    wait_for_release(&alice, run, "rolled back", STEP, |d| status(d) == "rolled-back").await;
    assert_eq!(version(public, address).await, "1.0.0");
    let after_rollback = served(app, public, address).await;
    assert_none_lost("after the rollback", &before_release, &after_rollback);
    let detail = alice.get(&format!("/releases/{run}")).await;
    assert!(detail["summary"]["downtime_ms"].as_i64().is_some_and(|ms| ms > 0), "no downtime recorded: {detail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_django_project_under_gunicorn_goes_live_migrates_and_rolls_back() {
    release_a_stock_application(DJANGO_NOTES, "Notes", "notes.acme.test").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_php_guestbook_goes_live_migrates_and_rolls_back() {
    release_a_stock_application(PHP_GUESTBOOK, "Guestbook", "guestbook.acme.test").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manifest_that_does_not_parse_is_refused_at_upload_with_its_line_and_nothing_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let admin = staffed(&server).await;
    let alice = Api::log_in(&server, "alice", PASSWORD).await;
    let site = new_site(&admin, "Notes", "notes.acme.test").await;
    let broken = DJANGO_NOTES.manifest().replace("[health]\n", "[health]\nhttp = \"/version\"\n");
    let (tarball, sha) = DJANGO_NOTES.release(dir.path(), false, Some(&broken));
    let name = tarball.file_name().unwrap().to_string_lossy().into_owned();
    let (status, body) = alice.upload(&format!("/sites/{site}/candidates"), &name, std::fs::read(&tarball).unwrap()).await;
    assert_eq!(status, 422, "{body}");
    let line = broken.lines().position(|l| l.starts_with("http =")).unwrap() + 1;
    assert!(body.to_string().contains(&format!("switchyard.toml:{line}:")), "the refusal does not point at line {line}: {body}");
    let listed = alice.get(&format!("/sites/{site}/candidates")).await;
    assert!(!listed.to_string().contains(&sha), "a refused candidate was kept: {listed}");
    assert!(!server.data_dir.join(format!("candidates/{sha}.tar.gz")).exists(), "the refused tarball stayed on disk");

    // The same tree with its manifest fixed is accepted, and the template runs its migration.
    let (fixed, fixed_sha) = DJANGO_NOTES.release(dir.path(), true, None);
    let candidate = upload(&server, &alice, site, &fixed).await;
    let summary = candidate["manifest"]["summary"].to_string();
    assert!(summary.contains("health: HTTP GET /version") && summary.contains("migration: python3 manage.py migrate"), "{candidate}");
    let template = alice.get(&format!("/sites/{site}/patch-template?workflow=migration&candidate={fixed_sha}")).await;
    let toml = template["toml"].as_str().unwrap();
    assert!(toml.contains("command = \"python3 manage.py migrate --noinput\"") && toml.contains("migrate notes 0001"), "{toml}");
    assert!(toml.contains("target_version = \"2.0.0\""), "{toml}");
}
