//! A site's first go-live against a real agent process: refused before the host is touched
//! when the candidate cannot work, continued after a failure or a killed agent until the site
//! is live, abandoned and started afresh, and agent refusals reported as what they are; the
//! agent chooses the ports; a site's runtime manifest runs tarballs that say nothing; a
//! running site is adopted and released; every production address, wildcards too, is served.

mod adopt;
mod database;
mod runtime_manifest;
mod site_databases;
mod support;
mod wildcard_addresses;

use support::{sample_site, tarball, Fixture};
use switchyard_api::GoLive;
use switchyard_service::{Caller, ServiceError};
use switchyard_store::GoLiveState;

pub(crate) fn request(sha: &str) -> GoLive {
    GoLive { candidate_sha256: sha.to_owned(), ports: None, databases: Vec::new(), version: None }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_candidate_that_cannot_work_is_refused_before_the_host_is_touched_then_the_fixed_one_goes_live() {
    let f = Fixture::start().await;
    let me = Caller::system();
    let good = tarball(&[("Procfile", "web: x\n", 0o644), ("big", &"x".repeat(100_000), 0o644)]);
    // A broken-off archive and a manifest that does not parse are refused at the upload
    // already, with the line; nothing of them is kept to go live with.
    for (name, bytes, says) in [
        ("notes-cut.tar.gz", good[..good.len() / 2].to_vec(), "is not a readable .tar.gz"),
        ("notes-bad.tar.gz", tarball(&[("switchyard.toml", "[web]\ncommand = \"x\"\nport = 8000\n", 0o644)]), "switchyard.toml:3: "),
    ] {
        let refused = f.try_upload(name, bytes).await.unwrap_err();
        assert!(
            matches!(&refused, ServiceError::Invalid(_)) && refused.to_string().contains(says) && refused.to_string().contains(name),
            "{refused:?}"
        );
    }
    // A tarball that says nothing of how to start is a candidate (a site may give the start
    // command), but it cannot go live.
    let no_start = f.upload("notes-php.tar.gz", tarball(&[("index.php", "<?php echo 1;", 0o644)])).await;
    let refused = f.service.go_live(&me, f.site_id, request(&no_start)).await.unwrap_err();
    assert!(
        matches!(&refused, ServiceError::Invalid(_)) && refused.to_string().contains("does not say how to start the site"),
        "{refused:?}"
    );
    assert!(refused.to_string().contains(&format!("{no_start}.tar.gz")), "the refusal names the file: {refused}");
    assert_eq!(f.environments().await, Vec::<String>::new(), "a refused go-live created something on the host");
    assert!(f.service.store().latest_go_live(f.site_id).await.unwrap().is_none(), "a refused go-live was journaled");

    let fixed = f.upload("notes-1.0.0.tar.gz", sample_site("1.0.0", "")).await;
    let live = f.service.go_live(&me, f.site_id, request(&fixed)).await.unwrap();
    assert_eq!((live.public_address.as_str(), live.environment.as_str()), (support::PUBLIC, "notes-blue"));
    assert_eq!(f.served_version().await, "1.0.0");
    let again = f.service.go_live(&me, f.site_id, request(&fixed)).await.unwrap_err();
    assert!(matches!(&again, ServiceError::Conflict(m) if m.contains("already live")), "{again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_site_that_exits_at_once_fails_its_go_live_and_a_fixed_candidate_continues_it() {
    let f = Fixture::start().await;
    let me = Caller::system();
    let exits =
        f.upload("notes-0.9.tar.gz", tarball(&[("bin/site", "#!/bin/sh\necho 'no database configured' >&2\nexit 3\n", 0o755)])).await;
    let failed = f.service.go_live(&me, f.site_id, request(&exits)).await.unwrap_err();
    // The site's own failure is the candidate's to fix, not an unreachable host.
    assert!(matches!(&failed, ServiceError::Invalid(_)), "{failed:?}");
    assert!(
        failed.to_string().contains("cannot start the site on host web-1") && failed.to_string().contains("no database configured"),
        "{failed}"
    );
    let journaled = f.service.store().latest_go_live(f.site_id).await.unwrap().unwrap();
    assert_eq!((journaled.state, journaled.step.as_str()), (GoLiveState::Failed, "activate"));
    assert!(journaled.last_error.as_deref().unwrap_or("").contains("no database configured"), "{journaled:?}");

    let fixed = f.upload("notes-1.0.0.tar.gz", sample_site("1.0.0", "")).await;
    let live = f.service.go_live(&me, f.site_id, request(&fixed)).await.unwrap();
    assert_eq!(live.go_live_id, journaled.id, "the retry continued the failed attempt");
    assert_eq!(f.served_version().await, "1.0.0");
    assert_eq!(f.environments().await, ["notes-blue", "notes-green"]);
    let done = f.service.store().go_live(journaled.id).await.unwrap();
    assert_eq!((done.state, done.ports, done.tries), (GoLiveState::Live, journaled.ports, 2));
    // Left to the agent, the ports are what it chose on its host, kept by the retry.
    let client = f.client();
    let [blue, green] = done.ports;
    assert!(blue != 0 && green != 0 && blue != green, "{:?}", done.ports);
    assert_eq!(client.env("notes-blue").await.unwrap().config.port, blue);
    assert_eq!(client.env("notes-green").await.unwrap().config.port, green);
    let routes = client.routes().await.unwrap();
    let routed: Vec<u16> = routes.sites["notes"].environments.values().map(|a| a.port()).collect();
    assert_eq!(routed, [blue, green], "the routes point at the agent's ports");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_killed_during_a_go_live_is_restarted_and_the_go_live_retried_to_success() {
    let mut f = Fixture::start().await;
    let me = Caller::system();
    // The site takes a few seconds to listen, so the agent can be killed while starting it.
    let slow = f.upload("notes-1.0.0.tar.gz", sample_site("1.0.0", "sleep 3")).await;
    let service = f.service.clone();
    let site_id = f.site_id;
    let going = tokio::spawn(async move { service.go_live(&Caller::system(), site_id, request(&slow)).await.map(|_| slow) });
    let store = f.service.store().clone();
    for _ in 0..300 {
        if store.latest_go_live(site_id).await.unwrap().is_some_and(|g| g.step == "activate") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    f.kill_agent();
    let broken_off = going.await.unwrap().unwrap_err();
    assert!(matches!(&broken_off, ServiceError::Unavailable(_)), "a dead agent is an unreachable host: {broken_off:?}");

    f.restart_agent().await;
    let sha = f.service.store().latest_go_live(site_id).await.unwrap().unwrap().candidate_sha256;
    let live = f.service.go_live(&me, site_id, request(&sha)).await.unwrap();
    assert_eq!(live.environment, "notes-blue");
    assert_eq!(f.served_version().await, "1.0.0");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_abandoned_go_live_leaves_nothing_on_the_host_and_a_fresh_one_goes_live() {
    let f = Fixture::start().await;
    let me = Caller::system();
    let nothing = f.service.abandon_go_live(&me, f.site_id).await.unwrap_err();
    assert!(matches!(&nothing, ServiceError::NotFound(m) if m.contains("no unfinished go-live")), "{nothing:?}");
    let exits = f.upload("notes-0.9.tar.gz", tarball(&[("bin/site", "#!/bin/sh\nexit 1\n", 0o755)])).await;
    f.service.go_live(&me, f.site_id, request(&exits)).await.unwrap_err();
    assert_eq!(f.environments().await, ["notes-blue", "notes-green"]);

    let abandoned = f.service.abandon_go_live(&me, f.site_id).await.unwrap();
    assert_eq!(abandoned.environment, "notes-blue");
    assert_eq!(f.environments().await, Vec::<String>::new(), "the abandoned environment is still on the host");
    assert_eq!(f.service.store().go_live(abandoned.go_live_id).await.unwrap().state, GoLiveState::Abandoned);

    let good = f.upload("notes-1.0.0.tar.gz", sample_site("1.0.0", "")).await;
    let live = f.service.go_live(&me, f.site_id, request(&good)).await.unwrap();
    assert_ne!(live.go_live_id, abandoned.go_live_id, "a fresh go-live is a new attempt");
    assert_eq!(f.served_version().await, "1.0.0");
    let late = f.service.abandon_go_live(&me, f.site_id).await.unwrap_err();
    assert!(matches!(&late, ServiceError::Conflict(m) if m.contains("went live")), "{late:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_port_taken_on_the_host_is_a_conflict_not_an_unreachable_host_and_a_retry_keeps_the_ports() {
    let f = Fixture::start().await;
    let me = Caller::system();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().port();
    let green = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let good = f.upload("notes-1.0.0.tar.gz", sample_site("1.0.0", "")).await;
    let ports = GoLive { candidate_sha256: good.clone(), ports: Some([busy, green]), databases: Vec::new(), version: None };
    let refused = f.service.go_live(&me, f.site_id, ports.clone()).await.unwrap_err();
    assert!(
        matches!(&refused, ServiceError::Conflict(m) if m.contains(&format!("port {busy}")) && m.contains("already in use")),
        "{refused:?}"
    );

    let other = GoLive { candidate_sha256: good.clone(), ports: Some([green, busy]), databases: Vec::new(), version: None };
    let moved = f.service.go_live(&me, f.site_id, other).await.unwrap_err();
    assert!(matches!(&moved, ServiceError::Invalid(_)) && moved.to_string().contains("abandon it to choose others"), "{moved:?}");

    drop(taken);
    let live = f.service.go_live(&me, f.site_id, request(&good)).await.unwrap();
    assert_eq!(f.service.store().go_live(live.go_live_id).await.unwrap().ports, [busy, green]);
    assert_eq!(f.served_version().await, "1.0.0");
}
