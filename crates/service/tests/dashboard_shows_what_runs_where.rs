//! The dashboard says what runs where and what to do next, from the record: the demo site is
//! put live at 1.0.0 on a real (in-process) agent with a public listener; the dashboard shows
//! production at 1.0.0, the rehearsal's clone at 1.1.0 behind a test link that answers 1.1.0,
//! production at 1.1.0 once the release completes and at 1.0.0 again after the rollback, with
//! each role's one next action at every gate, and another customer sees none of it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use std::io::Write;
use switchyard_api::{
    CustomerDraft, Decision, GoLive, Me, NewReleaseRequest, PatchDocumentDraft, ReleaseDetail, SiteDashboard, SiteDraft, User, UserDraft,
};
use switchyard_core::Role;
use switchyard_service::{Caller, DecisionKind, LocalAgent, Service, ServiceError};
use switchyard_store::Store;

const PUBLIC: &str = "shop.acme.example";

fn caller(user: &User) -> Caller {
    let me = Me {
        id: user.id,
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        role: user.role,
        customer_id: user.customer_id,
        admin: user.admin,
    };
    Caller { me, remote: "test".into() }
}

/// The sample site's executable, built once (like the engine's tests do).
fn sample_site() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = Command::new(option_env!("CARGO").unwrap_or("cargo"))
        .current_dir(&workspace)
        .args(["build", "--quiet", "-p", "sample-site", "--bin", "sample-site"])
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build of the sample site failed");
    let test_exe = std::env::current_exe().unwrap();
    let built = test_exe.parent().and_then(Path::parent).unwrap().join("sample-site");
    // A private copy, so a concurrent build cannot replace it while the site runs.
    let copy = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sample-site-{}", std::process::id()));
    std::fs::copy(&built, &copy).expect("copy the sample site");
    copy
}

/// A release tarball of the sample site at `version`, and its sha256.
fn release(binary: &Path, version: &str) -> (Vec<u8>, String) {
    let script = format!(
        "#!/bin/sh\nhere=$(cd \"$(dirname \"$0\")/..\" && pwd)\nSITE_CONFIG=\"$here/site.toml\" exec '{}' \"$@\"\n",
        binary.display()
    );
    let site_toml = format!("version = \"{version}\"\nschema = 1\n");
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data, mode) in [("bin/site", script.as_bytes(), 0o755), ("site.toml", site_toml.as_bytes(), 0o644)] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, data).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&builder.into_inner().unwrap()).unwrap();
    let bytes = gz.finish().unwrap();
    let sha = hex::encode(Sha256::digest(&bytes));
    (bytes, sha)
}

/// What a link of the dashboard answers at `/version`: its host through the public listener.
async fn version_at_link(link: &str) -> String {
    let rest = link.strip_prefix("http://").unwrap_or_else(|| panic!("{link} is not an http link"));
    let (authority, _) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "80"));
    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
    let reply = client.get(format!("http://127.0.0.1:{port}/version")).header("host", host).send().await.unwrap();
    let body: serde_json::Value = reply.json().await.unwrap();
    body["version"].as_str().unwrap_or_default().to_owned()
}

/// Polls the release as `who` sees it until `done` holds, failing after two minutes with the
/// release as it was.
async fn wait_for(service: &Service, who: &Caller, id: i64, what: &str, done: impl Fn(&ReleaseDetail) -> bool) -> ReleaseDetail {
    let start = Instant::now();
    loop {
        let detail = service.release_detail(who, id).await.unwrap();
        if done(&detail) {
            return detail;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "release {id} never got to {what}: {detail:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn allows(detail: &ReleaseDetail, decision: &str) -> bool {
    detail.allowed.iter().any(|a| a == decision)
}

/// The demo site's row as `who` sees it on the dashboard.
async fn row(service: &Service, who: &Caller) -> SiteDashboard {
    let dashboard = service.dashboard(who).await.unwrap();
    let row = dashboard.sites.into_iter().find(|s| s.site == "Acme Shop").expect("the demo site is on the dashboard");
    assert_eq!(service.site_dashboard(who, row.site_id).await.unwrap().environments, row.environments, "the site page agrees");
    row
}

fn running(row: &SiteDashboard, environment: &str) -> Option<(Option<String>, String)> {
    row.environments.iter().find(|e| e.environment == environment).map(|e| (e.version.clone(), e.source.clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dashboard_shows_the_live_version_before_and_after_a_release_and_a_rollback_and_each_roles_next_action() {
    let binary = sample_site();
    let dir = tempfile::tempdir().unwrap();
    // The local agent's sites run as their own users and must pass through to its root.
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o711)).unwrap();
    let service = Service::new(Store::open(&dir.path().join("switchyard.db")).await.unwrap());
    service.seed_demo_if_empty().await.unwrap();
    let agent =
        LocalAgent::start(dir.path(), "127.0.0.1:0".parse().unwrap(), vec!["127.0.0.1:0".parse().unwrap()], &service).await.unwrap();
    let public = agent.registration.public_addresses[0];
    let system = Caller::system();
    let new_user = |username: &str, role: Role, customer_id: Option<i64>| {
        let draft = UserDraft { username: username.into(), display_name: username.into(), role, customer_id, admin: false, password: None };
        let (service, system) = (service.clone(), system.clone());
        async move { caller(&service.create_user(&system, draft).await.unwrap()) }
    };
    let users = service.list_users(&system).await.unwrap();
    let named = |name: &str| caller(users.iter().find(|u| u.username == name).unwrap());
    let (alice, sam, maria) = (named("alice"), named("sam"), named("maria"));
    let sue = new_user("sue", Role::Support, None).await;
    // Another customer with a site of their own.
    let globex = service.create_customer(&system, CustomerDraft { name: "Globex".into(), contact_email: String::new() }).await.unwrap();
    let globex_site = service
        .create_site(&system, SiteDraft { name: "Globex Store".into(), customer_id: globex.id, description: String::new() })
        .await
        .unwrap();
    let gina = new_user("gina", Role::Customer, Some(globex.id)).await;
    let site = service.list_sites(&system, None).await.unwrap().into_iter().find(|s| s.name == "Acme Shop").unwrap();

    // Not live yet: support is asked to put it live, the customer is told it is not live.
    assert_eq!(row(&service, &sam).await.next.action, "go-live");
    assert!(row(&service, &alice).await.next.words.contains("not live yet"));

    let upload = |name: &'static str, bytes: Vec<u8>| {
        let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
        let (service, alice) = (service.clone(), alice.clone());
        async move { service.upload_candidate(&alice, site.id, name, chunks).await.unwrap().sha256 }
    };
    let (v1, v1_sha) = release(&binary, "1.0.0");
    let (v2, v2_sha) = release(&binary, "1.1.0");
    upload("shop-1.0.0.tar.gz", v1).await;
    upload("shop-1.1.0.tar.gz", v2).await;
    let go_live = GoLive { candidate_sha256: v1_sha.clone(), ports: None, databases: Vec::new(), version: Some("1.0.0".into()) };
    service.go_live(&sam, site.id, go_live).await.unwrap();

    // Live at 1.0.0 from its go-live; every address routed to production, with a link through
    // the public listener's port.
    let before = row(&service, &alice).await;
    assert_eq!(running(&before, "production"), Some((Some("1.0.0".into()), "go-live #1".into())), "{before:#?}");
    assert_eq!(before.environments[0].candidate_sha256, v1_sha);
    assert_eq!(running(&before, "candidate"), None);
    let public_link = format!("http://{PUBLIC}:{}/", public.port());
    assert_eq!(before.environments[0].url.as_deref(), Some(public_link.as_str()));
    let addresses: Vec<(&str, &str, &str)> =
        before.addresses.iter().map(|a| (a.address.as_str(), a.kind.as_str(), a.health.as_str())).collect();
    assert!(addresses.contains(&(PUBLIC, "public", "serving")), "{addresses:?}");
    assert!(addresses.contains(&("bob.shop.acme.example", "account", "serving")), "{addresses:?}");
    assert_eq!(version_at_link(before.addresses[0].url.as_deref().unwrap()).await, "1.0.0");
    assert!(before.last_release.is_none());

    // A document to 1.1.0: customer and support rehearse it next, the manager only reads.
    let template = service.patch_template(&alice, site.id, "no-migration", None).await.unwrap();
    let toml = template
        .toml
        .replace(&"0".repeat(64), &v2_sha)
        .replace("target_version = \"1.0.0\"", "target_version = \"1.1.0\"")
        .replace("duration_secs = 300", "duration_secs = 4");
    let document = service.save_patch_document(&alice, site.id, PatchDocumentDraft { toml }).await.unwrap();
    let version = document.version;
    for who in [&alice, &sam] {
        let next = row(&service, who).await.next;
        assert_eq!((next.action.as_str(), next.href.as_deref()), ("rehearse", Some("/sites/1#start-rehearsal")), "{next:?}");
    }
    assert_eq!(row(&service, &maria).await.next.action, "nothing");
    let run =
        |run: &str| NewReleaseRequest { site_id: site.id, document_version: version as u32, run: run.into(), pinned_accounts: vec![] };

    // The rehearsal's clone runs 1.1.0 at its test link; production still 1.0.0.
    let rehearsal = service.start_release(&alice, run("rehearsal")).await.unwrap().id;
    wait_for(&service, &alice, rehearsal, "the customer's confirmation", |d| allows(d, "confirm")).await;
    let testing = row(&service, &alice).await;
    assert_eq!(running(&testing, "production"), Some((Some("1.0.0".into()), "go-live #1".into())));
    assert_eq!(running(&testing, "candidate"), Some((Some("1.1.0".into()), format!("rehearsal #{rehearsal}"))));
    let test_link = testing.environments[1].url.clone().expect("a test link");
    assert_eq!(test_link, format!("http://candidate.{PUBLIC}:{}/", public.port()));
    assert_eq!(version_at_link(&test_link).await, "1.1.0", "the test link answers with the candidate");
    // The rehearsal's page links the same address; support is told whom it waits for.
    let page = service.release_detail(&alice, rehearsal).await.unwrap();
    assert_eq!(page.evidence.test_url.as_deref(), Some(test_link.as_str()));
    let as_sam = service.release_detail(&sam, rehearsal).await.unwrap().evidence;
    assert!(as_sam.not_offered.is_none() || as_sam.not_offered.as_deref().is_some_and(|w| w.len() > 20), "{as_sam:?}");
    // Nothing was released before, but production runs what went live: the diff says so.
    let diff = service.release_diff(&alice, rehearsal).await.unwrap();
    assert_eq!((diff.against_release, diff.against_go_live.as_deref()), (None, Some("go-live #1 (1.0.0)")));
    assert_eq!(testing.next.action, "test");
    assert_eq!(testing.next.href, Some(format!("/releases/{rehearsal}")));
    assert!(row(&service, &sam).await.next.words.contains("waits for the customer to test it"));
    service
        .decide(&alice, rehearsal, DecisionKind::Confirm, Decision { comment: "looks right".into(), acknowledge_rollback: true })
        .await
        .unwrap();
    wait_for(&service, &alice, rehearsal, "completion", |d| d.summary.outcome.is_some()).await;
    assert_eq!(row(&service, &sam).await.next.action, "run-in-production");
    assert!(row(&service, &alice).await.next.words.contains("support staff run it in production next"));

    // Sue submits production: sam approves, sue is told why she may not.
    let production = service.start_release(&sue, run("production")).await.unwrap().id;
    wait_for(&service, &sam, production, "approval", |d| allows(d, "approve")).await;
    assert_eq!(row(&service, &sam).await.next.action, "approve");
    let own = row(&service, &sue).await.next;
    assert!(own.words.contains("You submitted production run"), "{own:?}");
    // The approver's page carries the rehearsal it rests on, who marked it tested; the
    // submitter's says why no Approve button is offered.
    let evidence = service.release_detail(&sam, production).await.unwrap().evidence;
    let rested_on = evidence.rehearsal.clone().expect("the rehearsal the run rests on");
    assert_eq!((rested_on.release_id, rested_on.outcome.as_deref()), (rehearsal, Some("completed")));
    assert_eq!((rested_on.confirmed_by.as_deref(), rested_on.comment.as_str()), (Some("alice"), "looks right"));
    assert!(evidence.not_offered.is_none(), "{evidence:?}");
    let why_not = service.release_detail(&sue, production).await.unwrap().evidence.not_offered;
    assert!(why_not.as_deref().is_some_and(|w| w.contains("sue submitted this release")), "{why_not:?}");
    let why_not = service.release_detail(&alice, production).await.unwrap().evidence.not_offered;
    assert!(why_not.as_deref().is_some_and(|w| w.contains("support staff")), "{why_not:?}");
    service.decide(&sam, production, DecisionKind::Approve, Decision { comment: "go".into(), acknowledge_rollback: true }).await.unwrap();
    let done = wait_for(&service, &sam, production, "its end", |d| d.summary.outcome.is_some());
    let confirm_when_asked = async {
        let start = Instant::now();
        loop {
            let detail = service.release_detail(&alice, production).await.unwrap();
            if detail.summary.outcome.is_some() || start.elapsed() > Duration::from_secs(120) {
                break;
            }
            if allows(&detail, "confirm") {
                service
                    .decide(&alice, production, DecisionKind::Confirm, Decision { comment: "fine".into(), acknowledge_rollback: true })
                    .await
                    .unwrap();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    // While the window watches, the page says when it ends, for its countdown.
    let watch_end = async {
        let start = Instant::now();
        loop {
            let detail = service.release_detail(&sam, production).await.unwrap();
            if let Some(end) = detail.evidence.watch_ends_at {
                return Some(end);
            }
            if detail.summary.outcome.is_some() || start.elapsed() > Duration::from_secs(120) {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let (done, (), watch_end) = tokio::join!(done, confirm_when_asked, watch_end);
    assert_eq!(done.summary.outcome.as_deref(), Some("completed"), "{done:#?}");
    let watch_end = watch_end.expect("the watch window's end was shown while it watched");
    let left = chrono::DateTime::parse_from_rfc3339(&watch_end).unwrap().signed_duration_since(chrono::Utc::now());
    assert!(left.num_seconds() <= 4, "the window of 4 s ends {left} from now");

    // Released: production runs 1.1.0 from the release, which every address answers.
    let after = row(&service, &alice).await;
    assert_eq!(running(&after, "production"), Some((Some("1.1.0".into()), format!("release #{production}"))), "{after:#?}");
    assert_eq!(after.environments[0].candidate_sha256, v2_sha);
    assert_eq!(version_at_link(&public_link).await, "1.1.0");
    let last = after.last_release.clone().unwrap();
    assert_eq!((last.id, last.outcome.as_deref(), last.words.as_str()), (production, Some("completed"), "completed"));
    assert!(after.next.words.contains("Production runs the newest patch document"), "{:?}", after.next);

    // Rolled back: production runs 1.0.0 from the go-live again, and the release says by whom.
    service
        .decide(&sam, production, DecisionKind::Rollback, Decision { comment: "checkout is slow".into(), acknowledge_rollback: true })
        .await
        .unwrap();
    wait_for(&service, &sam, production, "the rollback", |d| d.summary.outcome.as_deref() == Some("rolled-back")).await;
    let rolled_back = row(&service, &maria).await;
    assert_eq!(running(&rolled_back, "production"), Some((Some("1.0.0".into()), "go-live #1".into())), "{rolled_back:#?}");
    assert_eq!(version_at_link(&public_link).await, "1.0.0");
    let last = rolled_back.last_release.unwrap();
    assert_eq!(last.outcome.as_deref(), Some("rolled-back"));
    assert_eq!(last.words, "rolled back by sam: checkout is slow");
    assert_eq!(service.release_detail(&maria, production).await.unwrap().evidence.outcome_words, last.words);
    // Its document is unreleased again: the customer may rehearse it once more.
    assert_eq!(row(&service, &alice).await.next.action, "rehearse");

    // Scoped: another customer sees only their own site, and never this one.
    let theirs = service.dashboard(&gina).await.unwrap();
    let names: Vec<&str> = theirs.sites.iter().map(|s| s.site.as_str()).collect();
    assert_eq!(names, ["Globex Store"]);
    assert_eq!(theirs.sites[0].site_id, globex_site.id);
    let refused = service.site_dashboard(&gina, site.id).await.unwrap_err();
    assert!(matches!(refused, ServiceError::Forbidden(_)), "{refused}");
    assert_eq!(service.dashboard(&maria).await.unwrap().sites.len(), 2);
    agent.stop().await;
}
