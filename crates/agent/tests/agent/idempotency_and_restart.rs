//! Every operation retried with the same operation id applies once, also across an agent
//! restart; an agent killed mid-upload leaves no partial candidate or release behind.

use std::time::Duration;

use crate::support::{free_port, sha256, site_config, tar_gz, TestAgent};
use switchyard_agent::api::{Activate, CloneEnv, CreateEnv, DestroyEnv, Rollback, UnpackRelease};
use switchyard_agent::AgentError;

#[tokio::test]
async fn every_operation_retried_with_the_same_id_applies_once_even_after_a_restart() {
    let mut agent = TestAgent::start();
    let port = free_port();
    let create = CreateEnv { op_id: "create".into(), name: "prod".into(), config: site_config(port) };
    let created = agent.client.create_env(&create).await.unwrap();
    assert_eq!(agent.client.create_env(&create).await.unwrap(), created);

    let mut shas = Vec::new();
    for n in 1..=2 {
        let (bytes, sha) = tar_gz(&[("n.txt", format!("{n}").as_bytes(), 0o644)]);
        agent.client.upload_bytes(bytes, &sha).await.unwrap();
        shas.push(sha);
    }
    let unpack = UnpackRelease { op_id: "unpack-1".into(), release_id: "r1".into(), sha256: shas[0].clone(), limits: None };
    let first = agent.client.unpack_release("prod", &unpack).await.unwrap();
    assert_eq!(agent.client.unpack_release("prod", &unpack).await.unwrap(), first);
    agent
        .client
        .unpack_release("prod", &UnpackRelease { op_id: "unpack-2".into(), release_id: "r2".into(), sha256: shas[1].clone(), limits: None })
        .await
        .unwrap();

    let to_r1 = Activate { op_id: "activate-r1".into(), release_id: "r1".into() };
    let to_r2 = Activate { op_id: "activate-r2".into(), release_id: "r2".into() };
    let r1_result = agent.client.activate("prod", &to_r1).await.unwrap();
    agent.client.activate("prod", &to_r2).await.unwrap();
    // A late retry of the first activation returns its result and does not switch back.
    assert_eq!(agent.client.activate("prod", &to_r1).await.unwrap(), r1_result);
    assert_eq!(agent.client.env("prod").await.unwrap().current.as_deref(), Some("r2"));

    let rollback = Rollback { op_id: "rollback".into() };
    let rolled = agent.client.rollback("prod", &rollback).await.unwrap();
    assert_eq!(rolled.current, "r1");
    let clone = CloneEnv { op_id: "clone".into(), target: "test".into(), port: Some(free_port()), share_volume: false };
    let cloned = agent.client.clone_env("prod", &clone).await.unwrap();

    agent.restart();
    let c = &agent.client;
    // Replayed from the journal: a second rollback would have gone back to r2, a second clone
    // would have been refused because "test" exists.
    assert_eq!(c.rollback("prod", &rollback).await.unwrap(), rolled);
    assert_eq!(c.env("prod").await.unwrap().current.as_deref(), Some("r1"));
    assert_eq!(c.clone_env("prod", &clone).await.unwrap(), cloned);
    assert_eq!(c.create_env(&create).await.unwrap(), created);

    let destroy = DestroyEnv { op_id: "destroy".into(), force: false };
    let destroyed = c.destroy_env("test", &destroy).await.unwrap();
    assert_eq!(c.destroy_env("test", &destroy).await.unwrap(), destroyed, "a retried destroy does not report 'not found'");

    // Reusing an id for something else is refused, not answered with the old result.
    let err = c.activate("prod", &Activate { op_id: "activate-r1".into(), release_id: "r2".into() }).await.unwrap_err();
    assert!(matches!(&err, AgentError::Remote { status: 409, .. }), "{err:?}");
    assert!(err.to_string().contains("operation id activate-r1 was already used for a different request"), "{err}");
}

#[tokio::test]
async fn an_agent_killed_mid_upload_leaves_no_partial_candidate_or_release() {
    let mut agent = TestAgent::start();
    agent.client.create_env(&CreateEnv { op_id: "create".into(), name: "prod".into(), config: site_config(free_port()) }).await.unwrap();
    let total = 8 << 20;
    let data = vec![42u8; total];
    let sha = sha256(&data);
    // A slow body: 64 KiB every 20 ms, so the agent is killed while it is still receiving.
    let chunks: Vec<Vec<u8>> = data.chunks(64 << 10).map(<[u8]>::to_vec).collect();
    let body = futures_util::stream::unfold(chunks.into_iter(), |mut chunks| async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        chunks.next().map(|c| (Ok::<_, std::io::Error>(c), chunks))
    });
    let client = agent.client.clone();
    let upload_sha = sha.clone();
    let upload = tokio::spawn(async move { client.upload_body(&upload_sha, reqwest::Body::wrap_stream(body), Some(total as u64)).await });
    let tmp = agent.root().join("artifacts/tmp");
    crate::support::eventually("part of the upload reached the disk", Duration::from_secs(10), || {
        let tmp = tmp.clone();
        async move { std::fs::read_dir(&tmp).unwrap().flatten().any(|e| e.metadata().map(|m| m.len() > 0).unwrap_or(false)) }
    })
    .await;
    agent.kill();
    assert!(upload.await.unwrap().is_err(), "the upload cannot have succeeded");

    agent.restart();
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "the partial upload was cleaned up");
    assert!(agent.client.artifact(&sha).await.unwrap().is_none());
    let err = agent
        .client
        .unpack_release("prod", &UnpackRelease { op_id: "u".into(), release_id: "r1".into(), sha256: sha.clone(), limits: None })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no candidate with sha256"), "{err}");
    assert!(agent.client.env("prod").await.unwrap().releases.is_empty());
    assert_eq!(std::fs::read_dir(agent.root().join("envs/prod/releases")).unwrap().count(), 0);
}

#[tokio::test]
async fn a_step_cut_off_by_an_agent_restart_is_reported_as_interrupted_not_run_again() {
    let mut agent = TestAgent::start();
    let c = agent.client.clone();
    c.create_env(&CreateEnv { op_id: "create".into(), name: "web".into(), config: site_config(free_port()) }).await.unwrap();
    let (bytes, sha) = tar_gz(&[("README", b"release", 0o644)]);
    c.upload_bytes(bytes, &sha).await.unwrap();
    c.unpack_release("web", &UnpackRelease { op_id: "u".into(), release_id: "r1".into(), sha256: sha, limits: None }).await.unwrap();
    c.activate("web", &Activate { op_id: "a".into(), release_id: "r1".into() }).await.unwrap();
    let step = switchyard_agent::api::RunStep {
        op_id: "long".into(),
        command: vec!["sh".into(), "-c".into(), "echo started >> \"$SHARED_DIR/starts\"; echo begin; sleep 30".into()],
        timeout_secs: 60,
        env: Default::default(),
    };
    let running = {
        let (c, step) = (c.clone(), step.clone());
        tokio::spawn(async move { c.run_step("web", &step, |_| {}).await })
    };
    let starts = agent.root().join("envs/web/shared/starts");
    let log = agent.root().join("steps/long.ndjson");
    crate::support::eventually("the step's first line is stored", Duration::from_secs(10), || {
        let log = log.clone();
        async move { std::fs::read_to_string(&log).is_ok_and(|text| text.contains("begin")) }
    })
    .await;
    agent.restart();
    assert!(running.await.unwrap().is_err(), "the first call lost its agent");
    let replay = agent.client.run_step("web", &step, |_| {}).await.unwrap();
    assert!(replay.interrupted && replay.code.is_none(), "{replay:?}");
    assert_eq!(replay.stdout, "begin\n", "the output stored before the restart is replayed");
    assert_eq!(std::fs::read_to_string(&starts).unwrap(), "started\n", "the step did not run twice");
}
