//! Data volumes: a site whose data lives in a volume outside its environments serves from one
//! database in every environment that shares the volume, while a private clone gets its own
//! consistent copy; snapshots are restored only while no site on the volume runs, and the
//! volume goes away with the last environment using it.

use crate::support::{add_record, free_port, record_bodies, site_config, site_release, TestAgent};
use switchyard_agent::api::{Activate, CloneEnv, CreateEnv, DestroyEnv, UnpackRelease, VolumeSnapshot};

#[tokio::test]
async fn shared_and_private_clones_snapshot_and_restore() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let prod_port = free_port();
    let mut config = site_config(prod_port);
    config.sqlite.clear();
    config.volume = Some("shop".into());
    c.create_env(&CreateEnv { op_id: "create".into(), name: "blue".into(), config }).await.unwrap();
    let (bytes, sha) = site_release("1.0.0", 1);
    c.upload_bytes(bytes, &sha).await.unwrap();
    c.unpack_release("blue", &UnpackRelease { op_id: "u".into(), release_id: "r1".into(), sha256: sha, limits: None }).await.unwrap();
    c.activate("blue", &Activate { op_id: "a".into(), release_id: "r1".into() }).await.unwrap();
    c.start("blue", "start-blue").await.unwrap();
    add_record(prod_port, "before the clones").await;
    assert!(agent.root().join("volumes/shop/site.db").exists(), "the database is on the volume, DATA_DIR");

    let shared = CloneEnv { op_id: "clone-green".into(), target: "green".into(), port: None, share_volume: true };
    let green = c.clone_env("blue", &shared).await.unwrap();
    assert_eq!(green.config.volume.as_deref(), Some("shop"));
    let private = CloneEnv { op_id: "clone-test".into(), target: "test".into(), port: None, share_volume: false };
    let test = c.clone_env("blue", &private).await.unwrap();
    let test_volume = test.config.volume.clone().unwrap();
    assert!(test_volume.starts_with("test-"), "{test_volume}");
    c.start("green", "start-green").await.unwrap();
    c.start("test", "start-test").await.unwrap();

    // One database for blue and green; the private clone's writes stay in its copy.
    add_record(green.config.port, "written on green").await;
    add_record(test.config.port, "only in test").await;
    assert_eq!(record_bodies(prod_port).await, ["before the clones", "written on green"]);
    assert_eq!(record_bodies(test.config.port).await, ["before the clones", "only in test"]);

    let snapshot = VolumeSnapshot { op_id: "snap".into(), snapshot: "pre".into() };
    let report = c.snapshot_volume("shop", &snapshot).await.unwrap();
    assert_eq!(report.databases, ["site.db"]);
    add_record(prod_port, "after the snapshot").await;
    let restore = VolumeSnapshot { op_id: "restore".into(), snapshot: "pre".into() };
    let refused = c.restore_volume("shop", &restore).await.unwrap_err().to_string();
    assert!(refused.contains("in use by running environment(s)") && refused.contains("blue") && refused.contains("green"), "{refused}");
    c.stop("blue", "stop-blue").await.unwrap();
    c.stop("green", "stop-green").await.unwrap();
    c.restore_volume("shop", &restore).await.unwrap();
    c.start("blue", "start-blue-2").await.unwrap();
    assert_eq!(record_bodies(prod_port).await, ["before the clones", "written on green"]);

    // The volume outlives green (blue still uses it); the private one goes with its clone.
    let destroy = |op: &str| DestroyEnv { op_id: op.into(), force: true };
    c.destroy_env("green", &destroy("destroy-green")).await.unwrap();
    c.destroy_env("test", &destroy("destroy-test")).await.unwrap();
    assert!(agent.root().join("volumes/shop/site.db").exists());
    assert!(!agent.root().join("volumes").join(&test_volume).exists());
    c.stop("blue", "stop-blue-2").await.unwrap();
}
