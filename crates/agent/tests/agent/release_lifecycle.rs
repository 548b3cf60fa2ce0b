//! Upload, unpack, activate, roll back to the previous release, and keep only the last N.

use std::time::Duration;

use crate::support::{add_record, free_port, record_bodies, site_config, site_release, site_version, tar_gz, TestAgent};
use switchyard_agent::api::{Activate, CreateEnv, DestroyEnv, Rollback, UnpackRelease};
use switchyard_agent::AgentError;

#[tokio::test]
async fn a_release_is_uploaded_unpacked_activated_and_rolled_back() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let port = free_port();
    c.create_env(&CreateEnv { op_id: "create-prod".into(), name: "prod".into(), config: site_config(port) }).await.unwrap();

    for (n, version) in [(1, "1.0.0"), (2, "2.0.0")] {
        let (bytes, sha) = site_release(version, 1);
        let path = agent.dir.path().join(format!("v{n}.tar.gz"));
        std::fs::write(&path, &bytes).unwrap();
        let stored = c.upload_candidate(&path, &sha).await.unwrap();
        assert_eq!(stored.size, bytes.len() as u64);
        let release = c
            .unpack_release("prod", &UnpackRelease { op_id: format!("unpack-{n}"), release_id: format!("r{n}"), sha256: sha, limits: None })
            .await
            .unwrap();
        assert_eq!(release.files, 2);
    }
    let on_disk = agent.root().join("envs/prod/releases/r1/bin/site");
    assert!(on_disk.exists());

    let first = c.activate("prod", &Activate { op_id: "act-1".into(), release_id: "r1".into() }).await.unwrap();
    assert_eq!((first.current.as_str(), first.previous.as_deref()), ("r1", None));
    assert_eq!(std::fs::read_link(agent.root().join("envs/prod/current")).unwrap(), std::path::Path::new("releases/r1"));
    c.start("prod", "start-1").await.unwrap();
    assert_eq!(site_version(port).await, "1.0.0");
    add_record(port, "written under v1").await;

    let second = c.activate("prod", &Activate { op_id: "act-2".into(), release_id: "r2".into() }).await.unwrap();
    assert_eq!((second.current.as_str(), second.previous.as_deref()), ("r2", Some("r1")));
    c.restart("prod", "restart-2").await.unwrap();
    assert_eq!(site_version(port).await, "2.0.0");
    assert_eq!(record_bodies(port).await, ["written under v1"]);

    let back = c.rollback("prod", &Rollback { op_id: "rollback-1".into() }).await.unwrap();
    assert_eq!((back.current.as_str(), back.previous.as_deref()), ("r1", Some("r2")));
    c.restart("prod", "restart-3").await.unwrap();
    assert_eq!(site_version(port).await, "1.0.0");
    assert_eq!(record_bodies(port).await, ["written under v1"], "shared data survives releases");

    let info = c.env("prod").await.unwrap();
    assert_eq!((info.current.as_deref(), info.previous.as_deref()), (Some("r1"), Some("r2")));
    c.stop("prod", "stop-1").await.unwrap();

    // Mistakes are refused with what to do.
    let err = c.activate("prod", &Activate { op_id: "act-x".into(), release_id: "r9".into() }).await.unwrap_err();
    assert!(err.to_string().contains("environment prod has no release r9: unpack it first"), "{err}");
    let (other, other_sha) = tar_gz(&[("x", b"other", 0o644)]);
    c.upload_bytes(other, &other_sha).await.unwrap();
    let err = c
        .unpack_release("prod", &UnpackRelease { op_id: "unpack-dup".into(), release_id: "r1".into(), sha256: other_sha, limits: None })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("release r1 of environment prod already holds candidate"), "{err}");
}

#[tokio::test]
async fn only_the_last_n_releases_are_kept_but_never_the_active_or_previous_one() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let mut config = site_config(free_port());
    config.keep_releases = 1;
    c.create_env(&CreateEnv { op_id: "create".into(), name: "web".into(), config }).await.unwrap();
    let mut pruned = Vec::new();
    for n in 1..=4 {
        let (bytes, sha) = tar_gz(&[("release.txt", format!("release {n}").as_bytes(), 0o644)]);
        c.upload_bytes(bytes, &sha).await.unwrap();
        c.unpack_release("web", &UnpackRelease { op_id: format!("u{n}"), release_id: format!("r{n}"), sha256: sha, limits: None })
            .await
            .unwrap();
        let result = c.activate("web", &Activate { op_id: format!("a{n}"), release_id: format!("r{n}") }).await.unwrap();
        pruned.extend(result.pruned);
    }
    assert_eq!(pruned, ["r1", "r2"]);
    let left: Vec<String> = c.env("web").await.unwrap().releases.into_iter().map(|r| r.id).collect();
    assert_eq!(left, ["r3", "r4"], "keep 1 plus the previous release for rollback");
    assert!(!agent.root().join("envs/web/releases/r1").exists());
    assert_eq!(std::fs::read_to_string(agent.root().join("envs/web/current/release.txt")).unwrap(), "release 4");
    let back = c.rollback("web", &Rollback { op_id: "rb".into() }).await.unwrap();
    assert_eq!(back.current, "r3");
}

#[tokio::test]
async fn production_is_destroyed_only_with_force_and_its_site_is_stopped_first() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let port = free_port();
    let mut config = site_config(port);
    config.production = true;
    c.create_env(&CreateEnv { op_id: "create".into(), name: "prod".into(), config }).await.unwrap();
    let (bytes, sha) = site_release("1.0.0", 1);
    c.upload_bytes(bytes, &sha).await.unwrap();
    c.unpack_release("prod", &UnpackRelease { op_id: "u".into(), release_id: "r1".into(), sha256: sha, limits: None }).await.unwrap();
    c.activate("prod", &Activate { op_id: "a".into(), release_id: "r1".into() }).await.unwrap();
    let pid = c.start("prod", "start").await.unwrap().pid.unwrap();

    let err = c.destroy_env("prod", &DestroyEnv { op_id: "d1".into(), force: false }).await.unwrap_err();
    assert!(matches!(&err, AgentError::Remote { status: 409, .. }), "{err:?}");
    assert!(err.to_string().contains("is production: destroy it with force=true"), "{err}");
    assert!(crate::support::process_alive(pid), "a refused destroy must not stop the site");

    c.destroy_env("prod", &DestroyEnv { op_id: "d2".into(), force: true }).await.unwrap();
    assert!(!agent.root().join("envs/prod").exists());
    crate::support::eventually("the site process is gone", Duration::from_secs(5), || async { !crate::support::process_alive(pid) }).await;
    assert!(c.list_envs().await.unwrap().is_empty());
}
