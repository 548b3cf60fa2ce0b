//! The engine as a real OS process (`switchyard-engine-run`) killed with SIGKILL at every step
//! boundary of a migration release: after the k-th journaled transition the process is
//! killed, a fresh process resumes the release, and the release ends completed or rolled
//! back, never stuck. A reader on the public address gets only answers and site-down pages
//! throughout, the site-down pages are exactly the failed requests recorded on the release,
//! and the site serves the right version with its data at the end.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use switchyard_core::workflow::State;
use tokio::process::{Child, Command};

use crate::migration_release::migration_document;
use crate::support::{by_sue, carl, journal, private_copy, Host, PublicReader, SHOP};

/// What one run saw: the journal sequence the engine was killed at (if it was), the outcome
/// and the number of transitions.
struct Run {
    killed_at: Option<i64>,
    outcome: String,
    transitions: i64,
}

fn engine_run(host: &Host, binary: &PathBuf, args: &[&str]) -> Child {
    let store = host.dir.path().join("switchyard.db");
    let r = &host.registration;
    Command::new(binary)
        .arg("--store")
        .arg(store)
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

/// Waits for a process that must succeed, failing the test with its output otherwise.
async fn succeeds(child: Child, what: &str) {
    let out = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within 300 s"))
        .unwrap();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a rehearsed migration release through engine processes, SIGKILLing the one that is
/// driving once transition `kill_after` is journaled (never, for `None`) and resuming with a
/// new process.
async fn run_killing_after(binary: Arc<PathBuf>, kill_after: Option<i64>) -> Run {
    let host = Host::start().await;
    let engine = host.engine().await;
    let (_, v2) = host.candidate("2.0.0", 2);
    let doc = migration_document(&v2);
    host.add_record("before the release").await;
    let rehearsal = engine.start_rehearsal(&doc, &by_sue(), &SHOP).await.unwrap();
    engine.confirm(rehearsal.id, &carl(), "ready").await.unwrap();
    let id = engine.submit_production(&doc, &by_sue(), &[], &SHOP).await.unwrap();
    let reader = PublicReader::start(host.public);
    let release = id.to_string();

    let mut killed_at = None;
    for (decision, by) in [("approve", "sam:support"), ("confirm", "carl:customer")] {
        let mut child = engine_run(&host, &binary, &[decision, &release, by, "go"]);
        let Some(k) = kill_after.filter(|_| killed_at.is_none()) else {
            succeeds(child, decision).await;
            continue;
        };
        // Bounded: 60 000 polls, a minute or more.
        let mut exited = false;
        for _ in 0..60_000 {
            let seq = engine.store().last_transition(id).await.unwrap().seq;
            if seq >= k {
                // A process that already exited (at a gate, or at the end) is reaped, not killed.
                let _ = child.start_kill();
                let status = child.wait().await.unwrap();
                killed_at = Some(engine.store().last_transition(id).await.unwrap().seq);
                // No exit code: the signal ended it; otherwise it had exited by itself.
                exited = status.code().is_some();
                break;
            }
            if child.try_wait().unwrap().is_some() {
                // It stopped at a gate before boundary k, or passed k and ended between two
                // polls (a busy machine): then it is as if killed there, with nothing left to do.
                let seq = engine.store().last_transition(id).await.unwrap().seq;
                killed_at = (seq >= k).then_some(seq);
                exited = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if killed_at.is_some() && !exited {
            succeeds(engine_run(&host, &binary, &["resume", &release]), "resume").await;
        } else {
            succeeds(child, decision).await;
        }
    }
    let status = engine.status(id).await.unwrap();
    let trail = journal(&engine, id).await;
    let context = format!("killed after transition {kill_after:?} (at {killed_at:?})");
    let outcome = status.outcome.clone().unwrap_or_else(|| panic!("{context}: the release is stuck ({}):\n{trail}", status.waiting_for));
    let (ok, site_down) = reader.finish().await;

    let record = engine.store().release(id).await.unwrap();
    assert!(ok > 0, "{context}: the reader got no answer");
    assert_eq!(
        record.failed_requests,
        Some(site_down as i64),
        "{context}: the recorded failed requests are the site-down pages the reader got:\n{trail}"
    );
    let version = host.version().await;
    let records = host.records().await;
    assert!(records.contains("before the release"), "{context}: {records:?}");
    match &status.state {
        State::Completed { .. } => assert_eq!(version, "2.0.0", "{context}"),
        State::RolledBack { .. } => assert_eq!(version, "1.0.0", "{context}"),
        other => panic!("{context}: {other:?}"),
    }
    Run { killed_at, outcome, transitions: engine.store().last_transition(id).await.unwrap().seq }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_engine_process_killed_at_every_step_boundary_of_a_migration_resumes_or_rolls_back() {
    let binary = Arc::new(private_copy(std::path::Path::new(env!("CARGO_BIN_EXE_switchyard-engine-run"))));
    let control = run_killing_after(Arc::clone(&binary), None).await;
    assert_eq!(control.outcome, "completed");
    assert!(control.transitions > 10, "{} transitions", control.transitions);

    // Every boundary from the approval's transition to the one before the last, three hosts
    // at a time (each is its own agent, site and store).
    let boundaries: Vec<i64> = (1..control.transitions).collect();
    let mut killed = Vec::new();
    for chunk in boundaries.chunks(3) {
        let runs: Vec<_> = chunk.iter().map(|&k| tokio::spawn(run_killing_after(Arc::clone(&binary), Some(k)))).collect();
        for (k, run) in chunk.iter().zip(runs) {
            let run = run.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            let at = run.killed_at.unwrap_or_else(|| panic!("the engine was never killed after transition {k}"));
            assert!(at >= *k, "killed at {at}, before {k}");
            killed.push((*k, at, run.outcome));
        }
    }
    eprintln!("killed after (boundary, journal seq, outcome): {killed:?}");
}
