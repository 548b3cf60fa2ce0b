//! A site renamed in the middle of its life, and a submitter who renamed themselves: the demo
//! site is put live on a real (in-process) agent, rehearsed, and a production run waits for
//! approval when both the site and the submitter change their names. The site keeps serving
//! under its key, its customer still sees its history, the renamed submitter still cannot
//! approve their own release, and another support user's approval completes it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use std::io::Write;
use switchyard_api::{
    Decision, GoLive, HistoryFilter, Me, NewReleaseRequest, PatchDocumentDraft, ReleaseDetail, SiteDraft, User, UserDraft,
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

async fn version_at(public: std::net::SocketAddr) -> String {
    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
    let reply = client.get(format!("http://{public}/version")).header("host", PUBLIC).send().await.unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_renamed_site_keeps_serving_its_history_and_its_release_and_a_renamed_submitter_still_cannot_approve() {
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
    let users = service.list_users(&system).await.unwrap();
    let named = |name: &str| caller(users.iter().find(|u| u.username == name).unwrap());
    let (alice, sam) = (named("alice"), named("sam"));
    let sue_user = service
        .create_user(
            &system,
            UserDraft {
                username: "sue".into(),
                display_name: "Sue".into(),
                role: Role::Support,
                customer_id: None,
                admin: false,
                password: None,
            },
        )
        .await
        .unwrap();
    let sue = caller(&sue_user);
    let site = service.list_sites(&system, None).await.unwrap().remove(0);
    assert_eq!((site.name.as_str(), site.key.as_str()), ("Acme Shop", "acme-shop"));

    // Live at 1.0.0, with 1.1.0 uploaded by the customer and a document for it.
    let upload = |name: &'static str, bytes: Vec<u8>| {
        let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
        let (service, alice) = (service.clone(), alice.clone());
        async move { service.upload_candidate(&alice, site.id, name, chunks).await.unwrap().sha256 }
    };
    let (v1, v1_sha) = release(&binary, "1.0.0");
    let (v2, v2_sha) = release(&binary, "1.1.0");
    assert_eq!(upload("shop-1.0.0.tar.gz", v1).await, v1_sha);
    assert_eq!(upload("shop-1.1.0.tar.gz", v2).await, v2_sha);
    let live = service
        .go_live(&sam, site.id, GoLive { candidate_sha256: v1_sha, ports: None, databases: Vec::new(), version: None })
        .await
        .unwrap();
    assert_eq!(live.environment, "acme-shop-blue");
    assert_eq!(version_at(public).await, "1.0.0");
    let template = service.patch_template(&alice, site.id, "no-migration", None).await.unwrap();
    let toml = template
        .toml
        .replace(&"0".repeat(64), &v2_sha)
        .replace("target_version = \"1.0.0\"", "target_version = \"1.1.0\"")
        .replace("duration_secs = 300", "duration_secs = 1");
    let document = service.save_patch_document(&alice, site.id, PatchDocumentDraft { toml }).await.unwrap();
    let run = |run: &str| NewReleaseRequest {
        site_id: site.id,
        document_version: document.version as u32,
        run: run.into(),
        pinned_accounts: vec![],
    };

    // History: a rehearsal the customer confirms.
    let rehearsal = service.start_release(&alice, run("rehearsal")).await.unwrap().id;
    wait_for(&service, &alice, rehearsal, "the customer's confirmation", |d| allows(d, "confirm")).await;
    service
        .decide(&alice, rehearsal, DecisionKind::Confirm, Decision { comment: "looks right".into(), acknowledge_rollback: true })
        .await
        .unwrap();
    wait_for(&service, &alice, rehearsal, "completion", |d| d.summary.outcome.is_some()).await;

    // An unfinished release: sue's production run waits for approval.
    let production = service.start_release(&sue, run("production")).await.unwrap().id;
    wait_for(&service, &sam, production, "approval", |d| allows(d, "approve")).await;

    // Both rename themselves mid-release.
    let renamed = service
        .update_site(
            &system,
            site.id,
            SiteDraft { name: "Acme Storefront".into(), customer_id: site.customer_id, description: String::new() },
        )
        .await
        .unwrap();
    assert_eq!((renamed.name.as_str(), renamed.key.as_str()), ("Acme Storefront", "acme-shop"), "a rename keeps the key");
    let susan_user = service
        .update_user(
            &system,
            sue_user.id,
            UserDraft {
                username: "susan".into(),
                display_name: "Susan".into(),
                role: Role::Support,
                customer_id: None,
                admin: false,
                password: None,
            },
        )
        .await
        .unwrap();
    let susan = caller(&susan_user);
    assert_eq!(version_at(public).await, "1.0.0", "the renamed site still serves at its address");

    // The customer still sees the site's history, under its new name.
    let history = service.release_history(&alice, &HistoryFilter { site_id: Some(site.id), ..Default::default() }).await.unwrap();
    let listed: Vec<(i64, &str, &str)> = history.releases.iter().map(|r| (r.id, r.site.as_str(), r.submitted_by.as_str())).collect();
    assert_eq!(listed, [(production, "Acme Storefront", "susan"), (rehearsal, "Acme Storefront", "alice")]);

    // Renamed, sue is still the submitter: she may not approve, by her new name or any other.
    let as_susan = service.release_detail(&susan, production).await.unwrap();
    assert!(!allows(&as_susan, "approve"), "{:?}", as_susan.allowed);
    let refused = service
        .decide(&susan, production, DecisionKind::Approve, Decision { comment: "mine".into(), acknowledge_rollback: true })
        .await
        .unwrap_err();
    assert!(matches!(&refused, ServiceError::Forbidden(m) if m.contains("submitted this release")), "{refused}");

    // Another support user approves, and the release completes on the renamed site.
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
    let (done, ()) = tokio::join!(done, confirm_when_asked);
    assert_eq!(done.summary.outcome.as_deref(), Some("completed"), "{done:#?}");
    assert_eq!(done.summary.site, "Acme Storefront");
    assert_eq!(version_at(public).await, "1.1.0");
    agent.stop().await;
}
