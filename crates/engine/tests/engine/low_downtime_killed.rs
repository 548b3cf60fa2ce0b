//! A low-downtime migration of the sample site under a paced write load, with the engine
//! process (`switchyard-engine-run`) SIGKILLed at every step boundary of the production run
//! (killed, resumed by a fresh process, killed again at the next boundary, all in one
//! release), and with the agent SIGKILLed at the risky boundaries (the clone, the hold, the
//! replay under the hold, the swap) and restarted over the same root. Either way the release
//! ends completed or rolled back, never stuck, every acknowledged write is served exactly
//! once under its id, and the public address serves; a rollback after completion with the
//! engine killed in its middle keeps every write too.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use switchyard_core::workflow::State;
use switchyard_engine::Engine;
use tokio::process::{Child, Command};

use crate::low_downtime_migration::{low_downtime_document, Writer};
use crate::support::{by_sue, carl, http, journal, private_copy, Host, PUBLIC, SHOP};

/// Who is SIGKILLed at a boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kill {
    Engine,
    /// The agent, and the engine process waiting on it (its client knows the old port).
    Agent,
}

fn engine_run(host: &Host, binary: &Path, args: &[&str]) -> Child {
    let r = &host.registration;
    Command::new(binary)
        .arg("--store")
        .arg(host.dir.path().join("switchyard.db"))
        .args(["--agent-url", &r.url, "--agent-fingerprint", &r.fingerprint])
        .arg("--candidates")
        .arg(host.candidates())
        .args(["--hold-timeout-secs", "20"])
        .args(args)
        .env("SWITCHYARD_AGENT_TOKEN", &r.token)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start switchyard-engine-run")
}

/// Runs `decision` on `release` through engine processes until one ends by itself (at a gate
/// or the end), asking `kill` at each newly journaled transition (its seq and commands)
/// whether to SIGKILL someone there; after a kill a fresh process resumes. Returns the
/// boundaries killed at.
async fn drive(
    host: &mut Host,
    engine: &Engine,
    binary: &Path,
    release: i64,
    decision: &[&str],
    mut kill: impl FnMut(i64, &str) -> Option<Kill>,
) -> Vec<(i64, Kill)> {
    let id = release.to_string();
    let mut args: Vec<String> = decision.iter().map(|s| s.to_string()).collect();
    args.insert(1, id.clone());
    let mut seen = engine.store().last_transition(release).await.unwrap().seq;
    let mut killed = Vec::new();
    // Bounded: 200 processes, each watched for at most 5 minutes.
    for _ in 0..200 {
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = engine_run(host, binary, &words);
        let mut who = None;
        for _ in 0..300_000 {
            let last = engine.store().last_transition(release).await.unwrap();
            if last.seq > seen {
                seen = last.seq;
                who = kill(last.seq, &last.commands);
                if who.is_some() {
                    break;
                }
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let Some(who) = who else {
            let out = child.wait_with_output().await.unwrap();
            assert!(
                out.status.success(),
                "{decision:?} failed ({}):\n{}{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                journal(engine, release).await
            );
            return killed;
        };
        let _ = child.start_kill();
        let _ = child.wait().await;
        if who == Kill::Agent {
            host.restart_agent();
        }
        killed.push((seen, who));
        args = vec!["resume".into(), id.clone()];
    }
    panic!("release {release} took more than 200 engine processes:\n{}", journal(engine, release).await)
}

/// Every record the public address serves, as (id, body), checked for one row per body and
/// per id, and that every acknowledged write is among them under its id.
async fn assert_each_write_once(context: &str, host: &Host, acknowledged: &std::collections::BTreeMap<String, i64>) {
    let reply = http().get(format!("http://{}/records", host.public)).header("host", PUBLIC).send().await.unwrap();
    assert_eq!(reply.status(), 200, "{context}: the public address does not serve /records");
    let rows: Vec<serde_json::Value> = reply.json().await.unwrap();
    let served: Vec<(i64, String)> = rows.iter().map(|r| (r["id"].as_i64().unwrap(), r["body"].as_str().unwrap().to_owned())).collect();
    let bodies: BTreeSet<&str> = served.iter().map(|(_, b)| b.as_str()).collect();
    let ids: BTreeSet<i64> = served.iter().map(|(i, _)| *i).collect();
    assert_eq!(bodies.len(), served.len(), "{context}: a record body is served twice (a write replayed twice)");
    assert_eq!(ids.len(), served.len(), "{context}: an id is served twice");
    let lost: Vec<_> = acknowledged.iter().filter(|(b, i)| !served.contains(&(**i, (*b).clone()))).take(10).collect();
    assert!(lost.is_empty(), "{context}: acknowledged writes missing or under another id, e.g. {lost:?}");
}

/// A rehearsed low-downtime release of v2 with the writer running; returns the release id.
async fn production_release(host: &Host, engine: &Engine) -> i64 {
    let (_, v2) = host.candidate("2.0.0", 2);
    let doc = low_downtime_document(&v2, "");
    host.add_record("before the release").await;
    let rehearsal = engine.start_rehearsal(&doc, &by_sue(), &SHOP).await.unwrap();
    engine.confirm(rehearsal.id, &carl(), "ready").await.unwrap();
    engine.submit_production(&doc, &by_sue(), &[], &SHOP).await.unwrap()
}

/// The version the public address serves, or what it answered instead.
async fn public_version(host: &Host) -> String {
    let reply = http().get(format!("http://{}/version", host.public)).header("host", PUBLIC).send().await.unwrap();
    let status = reply.status();
    let text = reply.text().await.unwrap_or_default();
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) => v["version"].as_str().unwrap_or_default().to_owned(),
        Err(_) => format!("{status}: {}", text.chars().take(200).collect::<String>()),
    }
}

fn ended(state: &State) -> bool {
    matches!(state, State::Completed { .. } | State::RolledBack { .. })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_engine_killed_at_every_boundary_of_a_low_downtime_migration_and_its_rollback_keeps_every_write_once() {
    let binary: PathBuf = private_copy(Path::new(env!("CARGO_BIN_EXE_switchyard-engine-run")));
    let mut host = Host::start().await;
    let engine = host.engine().await;
    let release = production_release(&host, &engine).await;
    let writer = Writer::start(host.public, "w");

    let every = |_: i64, _: &str| Some(Kill::Engine);
    let mut killed = drive(&mut host, &engine, &binary, release, &["approve", "sam:support", "go"], every).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    killed.extend(drive(&mut host, &engine, &binary, release, &["confirm", "carl:customer", "v2 looks right"], every).await);
    let status = engine.status(release).await.unwrap();
    let trail = journal(&engine, release).await;
    assert!(ended(&status.state), "the release is stuck ({}):\n{trail}", status.waiting_for);
    assert!(killed.len() >= 17, "the engine was killed at only {} boundaries: {killed:?}\n{trail}", killed.len());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let written = writer.acknowledged.lock().unwrap().clone();
    assert_each_write_once("after the production run", &host, &written).await;
    eprintln!("killed at {} boundaries, ended {:?}", killed.len(), status.outcome);

    if matches!(status.state, State::Completed { .. }) {
        assert_eq!(host.version().await, "2.0.0");
        // The rollback, killed once in its middle.
        let start = engine.store().last_transition(release).await.unwrap().seq;
        let middle = move |seq: i64, _: &str| (seq == start + 2).then_some(Kill::Engine);
        let rollback = drive(&mut host, &engine, &binary, release, &["rollback", "sam:support", "back"], middle).await;
        assert_eq!(rollback.len(), 1, "the rollback was not killed in its middle:\n{}", journal(&engine, release).await);
        let status = engine.status(release).await.unwrap();
        assert!(matches!(status.state, State::RolledBack { .. }), "{}", journal(&engine, release).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (acknowledged, failures, _) = writer.finish().await;
    assert_eq!(public_version(&host).await, "1.0.0", "v1 serves after the rollback");
    assert_each_write_once("after the rollback", &host, &acknowledged).await;
    eprintln!("{} writes acknowledged, {} failed: {:?}", acknowledged.len(), failures.len(), &failures[..failures.len().min(5)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_killed_at_the_risky_boundaries_of_a_low_downtime_migration_keeps_every_write_once() {
    let binary: PathBuf = private_copy(Path::new(env!("CARGO_BIN_EXE_switchyard-engine-run")));
    let mut host = Host::start().await;
    let engine = host.engine().await;
    let release = production_release(&host, &engine).await;
    let writer = Writer::start(host.public, "w");

    // The first clone, the hold going on (after the catch-up replay), the replay under the
    // hold (the second replay) and the swap: the agent dies as each is sent.
    let mut replays = 0;
    let mut done = BTreeSet::new();
    let risky = move |_: i64, commands: &str| {
        let op = ["clone-environment", "\"hold\"", "replay-changes", "swap-addresses"].into_iter().find(|op| commands.contains(op))?;
        if op == "replay-changes" {
            replays += 1;
            if replays != 2 {
                return None;
            }
        }
        done.insert(op).then_some(Kill::Agent)
    };
    let mut risky = risky;
    let mut killed = drive(&mut host, &engine, &binary, release, &["approve", "sam:support", "go"], &mut risky).await;
    killed.extend(drive(&mut host, &engine, &binary, release, &["confirm", "carl:customer", "v2 looks right"], &mut risky).await);
    let status = engine.status(release).await.unwrap();
    let trail = journal(&engine, release).await;
    assert!(ended(&status.state), "the release is stuck ({}):\n{trail}", status.waiting_for);
    assert!(killed.len() >= 3, "the agent was killed at only {killed:?}:\n{trail}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (acknowledged, failures, _) = writer.finish().await;
    let expected = if matches!(status.state, State::Completed { .. }) { "2.0.0" } else { "1.0.0" };
    let served = public_version(&host).await;
    assert_eq!(served, expected, "agent killed at {killed:?}; the public address must serve after the release:\n{trail}");
    assert_each_write_once("after the agent was killed", &host, &acknowledged).await;
    eprintln!(
        "agent killed at {killed:?}, ended {:?}; {} writes acknowledged, {} failed",
        status.outcome,
        acknowledged.len(),
        failures.len()
    );
}
