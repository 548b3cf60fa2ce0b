//! A site whose tarballs say nothing of how they start: its runtime manifest in the inventory
//! is checked with its lines, handed to the host at go-live, and the next release (a
//! no-migration run, rehearsed, confirmed by the customer and approved) runs by it too.

use crate::support::{binary, tarball, Fixture};
use std::time::{Duration, Instant};
use switchyard_api::{Decision, GoLive, Me, NewReleaseRequest, PatchDocumentDraft, ReleaseDetail, SiteRuntime, User, UserDraft};
use switchyard_core::Role;
use switchyard_service::{Caller, DecisionKind, Service, ServiceError};

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

async fn user(service: &Service, name: &str, role: Role, customer_id: Option<i64>) -> Caller {
    let draft = UserDraft { username: name.into(), display_name: name.into(), role, customer_id, admin: false, password: None };
    caller(&service.create_user(&Caller::system(), draft).await.unwrap())
}

/// A release of the sample site holding only its `site.toml`: no switchyard.toml, Procfile or
/// bin/site, as a customer's unchanged tarball.
fn bare_release(version: &str) -> Vec<u8> {
    tarball(&[("site.toml", &format!("version = \"{version}\"\nschema = 1\n"), 0o644)])
}

/// Polls the release as `who` sees it, doing `step` on each look, until `done` holds.
async fn follow(service: &Service, who: &Caller, id: i64, done: impl Fn(&ReleaseDetail) -> bool) -> ReleaseDetail {
    let start = Instant::now();
    loop {
        let detail = service.release_detail(who, id).await.unwrap();
        if done(&detail) {
            return detail;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "release {id} did not get there: {detail:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn allows(detail: &ReleaseDetail, decision: &str) -> bool {
    detail.allowed.iter().any(|a| a == decision)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_site_runtime_manifest_puts_a_bare_tarball_live_and_its_release_runs_by_it() {
    let f = Fixture::start().await;
    let service = &f.service;
    let customer_id = service.store().site(f.site_id).await.unwrap().customer_id;
    let alice = user(service, "alice", Role::Customer, Some(customer_id)).await;
    let (sue, sam) = (user(service, "sue", Role::Support, None).await, user(service, "sam", Role::Support, None).await);
    let v1 = f.upload("notes-1.0.0.tar.gz", bare_release("1.0.0")).await;

    // Without a runtime manifest the bare tarball cannot go live.
    let refused = service
        .go_live(&sam, f.site_id, GoLive { candidate_sha256: v1.clone(), ports: None, databases: Vec::new(), version: None })
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("runtime manifest"), "the refusal names the way out: {refused}");

    let broken = SiteRuntime { manifest: Some("[web]\ncommand = \"x\"\nport = 8000\n".into()) };
    let refused = service.set_site_runtime(&sam, f.site_id, broken).await.unwrap_err();
    assert!(matches!(&refused, ServiceError::Invalid(_)) && refused.to_string().contains("switchyard.toml:3: "), "{refused:?}");
    let customer_may_not = service.set_site_runtime(&alice, f.site_id, SiteRuntime { manifest: None }).await.unwrap_err();
    assert!(matches!(customer_may_not, ServiceError::Forbidden(_)), "{customer_may_not:?}");

    let manifest = format!(
        "[web]\ncommand = \"'{}' serve\"\n\n[health]\nhttp_path = \"/health\"\n\n[env]\nSITE_CONFIG = \"${{RELEASE_DIR}}/site.toml\"\n",
        binary("sample-site").display()
    );
    let set = service.set_site_runtime(&sam, f.site_id, SiteRuntime { manifest: Some(manifest.clone()) }).await.unwrap();
    assert_eq!(set.runtime_manifest.as_deref(), Some(manifest.as_str()));
    assert_eq!(service.site(&alice, f.site_id).await.unwrap().site.runtime_manifest.as_deref(), Some(manifest.as_str()));

    service.go_live(&sam, f.site_id, GoLive { candidate_sha256: v1, ports: None, databases: Vec::new(), version: None }).await.unwrap();
    assert_eq!(f.served_version().await, "1.0.0");

    let v2 = f.upload("notes-1.1.0.tar.gz", bare_release("1.1.0")).await;
    let template = service.patch_template(&alice, f.site_id, "no-migration", Some(&v2)).await.unwrap();
    let toml = template.toml.replace("duration_secs = 300", "duration_secs = 1");
    let document = service.save_patch_document(&alice, f.site_id, PatchDocumentDraft { toml }).await.unwrap();
    let run = |run: &str| NewReleaseRequest {
        site_id: f.site_id,
        document_version: document.version as u32,
        run: run.into(),
        pinned_accounts: vec![],
    };
    let rehearsal = service.start_release(&alice, run("rehearsal")).await.unwrap().id;
    follow(service, &alice, rehearsal, |d| allows(d, "confirm")).await;
    service
        .decide(&alice, rehearsal, DecisionKind::Confirm, Decision { comment: "fine".into(), acknowledge_rollback: true })
        .await
        .unwrap();
    follow(service, &alice, rehearsal, |d| d.summary.outcome.is_some()).await;

    let production = service.start_release(&sue, run("production")).await.unwrap().id;
    follow(service, &sam, production, |d| allows(d, "approve")).await;
    service.decide(&sam, production, DecisionKind::Approve, Decision { comment: "go".into(), acknowledge_rollback: true }).await.unwrap();
    let start = Instant::now();
    let done = loop {
        let detail = service.release_detail(&alice, production).await.unwrap();
        if detail.summary.outcome.is_some() {
            break detail;
        }
        if allows(&detail, "confirm") {
            service
                .decide(&alice, production, DecisionKind::Confirm, Decision { comment: "fine".into(), acknowledge_rollback: true })
                .await
                .unwrap();
        }
        assert!(start.elapsed() < Duration::from_secs(120), "the production run did not end: {detail:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(done.summary.outcome.as_deref(), Some("completed"), "{done:#?}");
    assert_eq!(f.served_version().await, "1.1.0");
}
