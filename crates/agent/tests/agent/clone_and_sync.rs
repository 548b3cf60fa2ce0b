//! Cloning production into a test environment carries its code, config and data; later
//! writes reach the clone through sync (rsync for files, the SQLite backup API for the database).

use crate::support::{add_record, free_port, record_bodies, site_config, site_release, site_version, TestAgent};
use switchyard_agent::api::{Activate, CloneEnv, CreateEnv, SyncEnv, UnpackRelease};

#[tokio::test]
async fn a_clone_carries_code_config_and_data_and_sync_brings_later_writes() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let prod_port = free_port();
    let mut config = site_config(prod_port);
    config.production = true;
    config.env.insert("GREETING".into(), "hello".into());
    c.create_env(&CreateEnv { op_id: "create".into(), name: "prod".into(), config }).await.unwrap();
    let (bytes, sha) = site_release("1.0.0", 1);
    c.upload_bytes(bytes, &sha).await.unwrap();
    c.unpack_release("prod", &UnpackRelease { op_id: "u".into(), release_id: "r1".into(), sha256: sha, limits: None }).await.unwrap();
    c.activate("prod", &Activate { op_id: "a".into(), release_id: "r1".into() }).await.unwrap();
    c.start("prod", "start-prod").await.unwrap();
    add_record(prod_port, "before the clone").await;
    std::fs::create_dir_all(agent.root().join("envs/prod/shared/uploads")).unwrap();
    std::fs::write(agent.root().join("envs/prod/shared/uploads/logo.png"), b"png-1").unwrap();

    // The production site keeps running: the database is copied with the online backup API.
    let clone =
        c.clone_env("prod", &CloneEnv { op_id: "clone".into(), target: "test".into(), port: None, share_volume: false }).await.unwrap();
    assert_ne!(clone.config.port, prod_port, "the clone gets its own port");
    assert!(!clone.config.production, "a clone is not production");
    assert_eq!(clone.config.env.get("GREETING").map(String::as_str), Some("hello"));
    assert_eq!(clone.current.as_deref(), Some("r1"));
    let test_port = clone.config.port;
    c.start("test", "start-test").await.unwrap();
    assert_eq!(site_version(test_port).await, "1.0.0");
    assert_eq!(record_bodies(test_port).await, ["before the clone"]);
    assert_eq!(std::fs::read(agent.root().join("envs/test/shared/uploads/logo.png")).unwrap(), b"png-1");

    // The clone is independent: its writes stay in it.
    add_record(test_port, "only in test").await;
    assert_eq!(record_bodies(prod_port).await, ["before the clone"]);

    // Production moves on; the test environment catches up by sync.
    add_record(prod_port, "after the clone").await;
    std::fs::write(agent.root().join("envs/prod/shared/uploads/logo.png"), b"png-2").unwrap();
    let refused = c.sync_env("test", &SyncEnv { op_id: "sync-running".into(), from: "prod".into() }).await.unwrap_err();
    assert!(refused.to_string().contains("environment test is running: stop it before syncing data into it"), "{refused}");
    c.stop("test", "stop-test").await.unwrap();
    let report = c.sync_env("test", &SyncEnv { op_id: "sync".into(), from: "prod".into() }).await.unwrap();
    assert_eq!(report.databases, ["site.db"]);
    c.start("test", "start-test-2").await.unwrap();
    assert_eq!(record_bodies(test_port).await, ["before the clone", "after the clone"]);
    assert_eq!(std::fs::read(agent.root().join("envs/test/shared/uploads/logo.png")).unwrap(), b"png-2");

    c.stop("test", "stop-test-2").await.unwrap();
    c.stop("prod", "stop-prod").await.unwrap();
}

#[tokio::test]
async fn cloning_under_live_writes_gives_a_consistent_database() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let port = free_port();
    c.create_env(&CreateEnv { op_id: "create".into(), name: "prod".into(), config: site_config(port) }).await.unwrap();
    let (bytes, sha) = site_release("1.0.0", 1);
    c.upload_bytes(bytes, &sha).await.unwrap();
    c.unpack_release("prod", &UnpackRelease { op_id: "u".into(), release_id: "r1".into(), sha256: sha, limits: None }).await.unwrap();
    c.activate("prod", &Activate { op_id: "a".into(), release_id: "r1".into() }).await.unwrap();
    c.start("prod", "start").await.unwrap();
    add_record(port, "seed").await;

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut written = 0u32;
            // Bounded: at most 2000 writes even if the clone were slow.
            while written < 2000 && !stop.load(std::sync::atomic::Ordering::SeqCst) {
                add_record(port, &format!("live {written}")).await;
                written += 1;
            }
            written
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut clones = Vec::new();
    for n in 0..3 {
        clones.push(
            c.clone_env("prod", &CloneEnv { op_id: format!("clone-{n}"), target: format!("test-{n}"), port: None, share_volume: false })
                .await
                .unwrap(),
        );
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let written = writer.await.unwrap();
    assert!(written > 0, "the writer ran during the clones");

    for clone in clones {
        let db = rusqlite::Connection::open(agent.root().join(format!("envs/{}/shared/site.db", clone.name))).unwrap();
        let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "{}", clone.name);
        let count: u32 = db.query_row("SELECT count(*) FROM records", [], |r| r.get(0)).unwrap();
        assert!((1..=written + 1).contains(&count), "{}: {count} records of {}", clone.name, written + 1);
        // Rows are a prefix of production's: a snapshot, not a mix of moments.
        let max_id: u32 = db.query_row("SELECT max(id) FROM records", [], |r| r.get(0)).unwrap();
        assert_eq!(max_id, count, "{}", clone.name);
    }
    c.stop("prod", "stop").await.unwrap();
}
