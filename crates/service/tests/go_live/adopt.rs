//! Adopting a site Switchyard did not deploy: the sample site already runs on the host from a
//! directory of its own, started by the test. Adoption refuses a missing directory and a port
//! nothing answers on, then takes the site over without restarting it: requests straight to
//! its port never fail while it happens, and the public address serves it through the agent's
//! router as soon as its route exists. A no-migration release then follows from the adopted
//! environment (its data copied from the adopted data directory) with no failed request at
//! the public address, and a rollback returns the public address to the adopted process.

use crate::support::{binary, sample_site, Fixture, PUBLIC};
use std::net::SocketAddr;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchyard_api::{AdoptSite, Decision, GoLive, Me, NewReleaseRequest, PatchDocumentDraft, ReleaseDetail, User, UserDraft};
use switchyard_core::Role;
use switchyard_service::{Caller, DecisionKind, Service, ServiceError};
use switchyard_store::{GoLiveKind, GoLiveState};

/// The site as its operator runs it, outside Switchyard; killed when dropped.
struct RunningSite(Child);

impl Drop for RunningSite {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_outside_switchyard(dir: &std::path::Path, port: u16) -> RunningSite {
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("site.toml"), "version = \"0.9.0\"\nschema = 1\n").unwrap();
    let child = Command::new(binary("sample-site"))
        .arg("serve")
        .current_dir(dir)
        .env("PORT", port.to_string())
        .env("SITE_CONFIG", dir.join("site.toml"))
        .env("DATA_DIR", dir.join("data"))
        .spawn()
        .expect("start the sample site");
    RunningSite(child)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap()
}

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

/// GETs `/version` from `url` (with `host`) until stopped; counts answers and failures.
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<Vec<String>>,
}

impl Load {
    fn start(url: String, host: &'static str) -> Load {
        let (stop, ok, failed) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (s, o, f) = (stop.clone(), ok.clone(), failed.clone());
        let task = tokio::spawn(async move {
            let client = http();
            let mut failures = Vec::new();
            while !s.load(Ordering::SeqCst) {
                match client.get(&url).header("host", host).send().await {
                    Ok(reply) if reply.status().is_success() => o.fetch_add(1, Ordering::SeqCst),
                    other => {
                        failures.push(format!("{other:?}"));
                        f.fetch_add(1, Ordering::SeqCst)
                    }
                };
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            failures
        });
        Load { stop, ok, failed, task }
    }

    /// Stops the load; answers how many requests succeeded, failing the test on any failure.
    async fn finish(self, what: &str) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        let failures = self.task.await.unwrap();
        assert_eq!(self.failed.load(Ordering::SeqCst), 0, "requests failed {what}: {failures:?}");
        self.ok.load(Ordering::SeqCst)
    }
}

fn allows(detail: &ReleaseDetail, decision: &str) -> bool {
    detail.allowed.iter().any(|a| a == decision)
}

/// Polls the release as `who` sees it, confirming as the customer whenever asked, until `done`.
async fn follow(service: &Service, who: &Caller, customer: &Caller, id: i64, done: impl Fn(&ReleaseDetail) -> bool) -> ReleaseDetail {
    let start = Instant::now();
    loop {
        let detail = service.release_detail(who, id).await.unwrap();
        if done(&detail) {
            return detail;
        }
        if allows(&service.release_detail(customer, id).await.unwrap(), "confirm") && !done(&detail) {
            let _ =
                service.decide(customer, id, DecisionKind::Confirm, Decision { comment: "fine".into(), acknowledge_rollback: true }).await;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "release {id} did not get there: {detail:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_running_site_is_adopted_without_a_failed_request_then_released_and_rolled_back_to_it() {
    let f = Fixture::start().await;
    let service = &f.service;
    let customer_id = service.store().site(f.site_id).await.unwrap().customer_id;
    let alice = user(service, "alice", Role::Customer, Some(customer_id)).await;
    let (sue, sam) = (user(service, "sue", Role::Support, None).await, user(service, "sam", Role::Support, None).await);

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = f.dir.path().join("srv-notes");
    let _site = run_outside_switchyard(&dir, port);
    let direct = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    while http().get(format!("{direct}/health")).send().await.is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "the sample site did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let written = http().post(format!("{direct}/records")).json(&serde_json::json!({"body": "kept from before"})).send().await.unwrap();
    assert!(written.status().is_success(), "{written:?}");

    let adopt = |dir: String, port: u16| AdoptSite { dir, port, data_dir: Some("data".into()), command: Some("sample-site serve".into()) };
    let missing = service.adopt_site(&sam, f.site_id, adopt("/nowhere/notes".into(), port)).await.unwrap_err();
    assert!(matches!(&missing, ServiceError::Invalid(_)) && missing.to_string().contains("does not exist on this host"), "{missing:?}");
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let refused = service.adopt_site(&sam, f.site_id, adopt(dir.display().to_string(), silent)).await.unwrap_err();
    assert!(refused.to_string().contains(&format!("nothing answers on port {silent}")), "{refused:?}");
    let customer_may_not = service.adopt_site(&alice, f.site_id, adopt(dir.display().to_string(), port)).await.unwrap_err();
    assert!(matches!(customer_may_not, ServiceError::Forbidden(_)), "{customer_may_not:?}");

    // Visitors still reach the process directly while it is adopted.
    let direct_load = Load::start(format!("{direct}/version"), "localhost");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let adopted = service.adopt_site(&sam, f.site_id, adopt(dir.display().to_string(), port)).await.unwrap();
    assert_eq!(adopted.environment, "notes-blue");
    let public: SocketAddr = f.registration.public_addresses[0];
    assert_eq!(f.served_version().await, "0.9.0", "the public address serves the adopted process");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(direct_load.finish("straight to the adopted process during its adoption").await > 10);
    let journaled = service.store().go_live(adopted.go_live_id).await.unwrap();
    assert_eq!((journaled.kind, journaled.state, journaled.ports[0]), (GoLiveKind::Adoption, GoLiveState::Live, port));
    assert_eq!(journaled.tries, 3, "the refused tries were continued, not left behind");

    let again = service.adopt_site(&sam, f.site_id, adopt(dir.display().to_string(), port)).await.unwrap_err();
    assert!(matches!(&again, ServiceError::Conflict(m) if m.contains("already live")), "{again:?}");
    let v1 = f.upload("notes-1.0.0.tar.gz", sample_site("1.0.0", "")).await;
    let go_live = service
        .go_live(&sam, f.site_id, GoLive { candidate_sha256: v1.clone(), ports: None, databases: Vec::new(), version: None })
        .await
        .unwrap_err();
    assert!(matches!(&go_live, ServiceError::Conflict(m) if m.contains("already live")), "{go_live:?}");

    // The next release follows from the adopted environment, under load at the public address.
    let template = service.patch_template(&alice, f.site_id, "no-migration", Some(&v1)).await.unwrap();
    let toml = template.toml.replace("duration_secs = 300", "duration_secs = 1");
    let document = service.save_patch_document(&alice, f.site_id, PatchDocumentDraft { toml }).await.unwrap();
    let run = |run: &str| NewReleaseRequest {
        site_id: f.site_id,
        document_version: document.version as u32,
        run: run.into(),
        pinned_accounts: vec![],
    };
    let public_load = Load::start(format!("http://{public}/version"), PUBLIC);
    let rehearsal = service.start_release(&alice, run("rehearsal")).await.unwrap().id;
    follow(service, &alice, &alice, rehearsal, |d| d.summary.outcome.is_some()).await;
    let production = service.start_release(&sue, run("production")).await.unwrap().id;
    follow(service, &sam, &alice, production, |d| allows(d, "approve")).await;
    service.decide(&sam, production, DecisionKind::Approve, Decision { comment: "go".into(), acknowledge_rollback: true }).await.unwrap();
    let done = follow(service, &sam, &alice, production, |d| d.summary.outcome.is_some()).await;
    assert_eq!(done.summary.outcome.as_deref(), Some("completed"), "{done:#?}");
    assert_eq!(f.served_version().await, "1.0.0");
    let records: serde_json::Value =
        http().get(format!("http://{public}/records")).header("host", PUBLIC).send().await.unwrap().json().await.unwrap();
    assert!(records.to_string().contains("kept from before"), "the new version serves the adopted site's data: {records}");

    service
        .decide(
            &sam,
            production,
            DecisionKind::Rollback,
            Decision { comment: "back to the adopted one".into(), acknowledge_rollback: true },
        )
        .await
        .unwrap();
    follow(service, &sam, &alice, production, |d| d.summary.outcome.as_deref() == Some("rolled-back")).await;
    assert_eq!(f.served_version().await, "0.9.0", "the rollback returns to the adopted process");
    assert!(public_load.finish("at the public address during the release and its rollback").await > 10);
    assert_eq!(http().get(format!("{direct}/version")).send().await.unwrap().status(), 200, "the adopted process was never stopped");
}
