//! The sample site started and health-checked through the agent, restarted after a crash, and
//! steps run in its release with timeouts and stored output.

use std::time::Duration;

use crate::support::{eventually, free_port, process_alive, site_config, site_release, TestAgent};
use switchyard_agent::api::{Activate, CreateEnv, ProcessState, RunStep, StepEvent, UnpackRelease};

async fn env_with_release(agent: &TestAgent, name: &str, version: &str, schema: u32) -> u16 {
    let c = &agent.client;
    let port = free_port();
    c.create_env(&CreateEnv { op_id: format!("create-{name}"), name: name.into(), config: site_config(port) }).await.unwrap();
    let (bytes, sha) = site_release(version, schema);
    c.upload_bytes(bytes, &sha).await.unwrap();
    c.unpack_release(name, &UnpackRelease { op_id: format!("unpack-{name}"), release_id: "r1".into(), sha256: sha, limits: None })
        .await
        .unwrap();
    c.activate(name, &Activate { op_id: format!("activate-{name}"), release_id: "r1".into() }).await.unwrap();
    port
}

#[tokio::test]
async fn the_site_is_health_checked_restarted_after_a_crash_and_stopped() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let port = env_with_release(&agent, "web", "1.0.0", 1).await;
    let started = c.start("web", "start-1").await.unwrap();
    assert_eq!(started.state, ProcessState::Running);
    assert!(started.healthy);
    let first_pid = started.pid.unwrap();

    // Starting a running site is a no-op, not a second process.
    let again = c.start("web", "start-2").await.unwrap();
    assert_eq!(again.pid, Some(first_pid));

    unsafe { libc::kill(first_pid as i32, libc::SIGKILL) };
    eventually("the agent restarts the crashed site", Duration::from_secs(10), || async {
        let s = c.process_status("web").await.unwrap();
        s.healthy && s.pid.is_some_and(|p| p != first_pid)
    })
    .await;
    let status = c.process_status("web").await.unwrap();
    assert_eq!(status.restarts, 1);

    let stopped = c.stop("web", "stop-1").await.unwrap();
    assert_eq!(stopped.state, ProcessState::Stopped);
    assert!(!process_alive(status.pid.unwrap()));
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free again");
}

#[tokio::test]
async fn a_site_that_never_becomes_healthy_is_stopped_and_its_log_reported() {
    let agent = TestAgent::start();
    let c = &agent.client;
    // Schema 2 over a database a schema-1 release created: the site refuses to start.
    let port = env_with_release(&agent, "web", "1.0.0", 1).await;
    c.start("web", "s1").await.unwrap();
    c.stop("web", "s2").await.unwrap();
    let (bytes, sha) = site_release("2.0.0", 2);
    c.upload_bytes(bytes, &sha).await.unwrap();
    c.unpack_release("web", &UnpackRelease { op_id: "u2".into(), release_id: "r2".into(), sha256: sha, limits: None }).await.unwrap();
    c.activate("web", &Activate { op_id: "a2".into(), release_id: "r2".into() }).await.unwrap();
    let err = c.start("web", "s3").await.unwrap_err().to_string();
    assert!(err.contains(&format!("did not answer 2xx at http://127.0.0.1:{port}/health")), "{err}");
    assert!(err.contains("run `sample-site migrate` first"), "the log tail explains why: {err}");
    assert_eq!(c.process_status("web").await.unwrap().state, ProcessState::Stopped);

    // The migration step fixes it.
    let step =
        RunStep { op_id: "migrate".into(), command: vec!["bin/site".into(), "migrate".into()], timeout_secs: 30, env: Default::default() };
    let result = c.run_step("web", &step, |_| {}).await.unwrap();
    assert_eq!(result.code, Some(0), "{result:?}");
    assert!(result.stdout.contains("from schema 1 to 2"), "{result:?}");
    assert!(c.start("web", "s4").await.unwrap().healthy);
    c.stop("web", "s5").await.unwrap();
}

#[tokio::test]
async fn steps_stream_output_report_exit_codes_time_out_and_replay_on_retry() {
    let agent = TestAgent::start();
    let c = &agent.client;
    env_with_release(&agent, "web", "1.0.0", 1).await;

    let step = RunStep {
        op_id: "count".into(),
        command: vec!["sh".into(), "-c".into(), "echo run >> \"$SHARED_DIR/runs\"; echo out; echo err >&2; exit 3".into()],
        timeout_secs: 30,
        env: Default::default(),
    };
    let mut events = Vec::new();
    let first = c.run_step("web", &step, |e| events.push(e.clone())).await.unwrap();
    assert_eq!((first.code, first.timed_out, first.stdout.as_str(), first.stderr.as_str()), (Some(3), false, "out\n", "err\n"));
    assert!(matches!(events.last(), Some(StepEvent::Exit { code: Some(3), .. })));
    let replay = c.run_step("web", &step, |_| {}).await.unwrap();
    assert_eq!(replay, first, "a retry replays the stored result");
    let runs = std::fs::read_to_string(agent.root().join("envs/web/shared/runs")).unwrap();
    assert_eq!(runs, "run\n", "the command ran once");

    let slow = RunStep {
        op_id: "slow".into(),
        command: vec!["sh".into(), "-c".into(), "echo begin; sleep 30; echo never".into()],
        timeout_secs: 1,
        env: Default::default(),
    };
    let started = std::time::Instant::now();
    let mut first_output = None;
    let timed = c
        .run_step("web", &slow, |e| {
            if matches!(e, StepEvent::Output { .. }) && first_output.is_none() {
                first_output = Some(started.elapsed());
            }
        })
        .await
        .unwrap();
    assert!(timed.timed_out && timed.code.is_none(), "{timed:?}");
    // Live: the first line arrived well before the step ended at its 1 s timeout.
    let (first, total) = (first_output.unwrap(), started.elapsed());
    assert!(total >= Duration::from_secs(1) && first + Duration::from_millis(500) < total, "first output at {first:?}, end at {total:?}");
    assert_eq!(timed.stdout, "begin\n");
    assert!(started.elapsed() < Duration::from_secs(10), "the timeout was not enforced");

    let missing = RunStep { op_id: "missing".into(), command: vec!["bin/nope".into()], timeout_secs: 5, env: Default::default() };
    let err = c.run_step("web", &missing, |_| {}).await.unwrap_err().to_string();
    assert!(err.contains("cannot start step \"bin/nope\" in environment web"), "{err}");
}

#[tokio::test]
async fn a_restarted_agent_brings_back_the_sites_that_were_running() {
    let mut agent = TestAgent::start();
    let port = env_with_release(&agent, "web", "1.0.0", 1).await;
    let before = agent.client.start("web", "start").await.unwrap().pid.unwrap();
    env_with_release(&agent, "idle", "1.0.0", 1).await;

    agent.restart();
    // The old site died with the old agent rather than running unsupervised.
    eventually("the orphaned site exits", Duration::from_secs(10), || async { !process_alive(before) }).await;
    let c = agent.client.clone();
    eventually("the site is back", Duration::from_secs(15), || {
        let c = c.clone();
        async move { c.process_status("web").await.map(|s| s.healthy).unwrap_or(false) }
    })
    .await;
    assert_eq!(crate::support::site_version(port).await, "1.0.0");
    assert_eq!(c.process_status("idle").await.unwrap().state, ProcessState::Stopped, "a site that never ran stays stopped");
}

#[tokio::test]
async fn a_site_that_ignores_sigterm_is_killed_after_the_stop_timeout() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let port = free_port();
    let mut config = site_config(port);
    config.stop_timeout_secs = 1;
    config.env.insert("SAMPLE_SITE_IGNORE_SIGTERM".into(), "1".into());
    c.create_env(&CreateEnv { op_id: "create".into(), name: "hung".into(), config }).await.unwrap();
    let (bytes, sha) = site_release("1.0.0", 1);
    c.upload_bytes(bytes, &sha).await.unwrap();
    c.unpack_release("hung", &UnpackRelease { op_id: "u".into(), release_id: "r1".into(), sha256: sha, limits: None }).await.unwrap();
    c.activate("hung", &Activate { op_id: "a".into(), release_id: "r1".into() }).await.unwrap();
    let pid = c.start("hung", "start").await.unwrap().pid.unwrap();

    let started = std::time::Instant::now();
    c.stop("hung", "stop").await.unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(5), "stop took {took:?}");
    assert!(!process_alive(pid));
    let log = std::fs::read_to_string(agent.root().join("envs/hung/logs/site.log")).unwrap();
    assert!(log.contains("ignoring SIGTERM"), "the site saw SIGTERM first: {log}");
    assert!(agent.log().contains("ignored SIGTERM"), "the agent says it had to kill");
}
