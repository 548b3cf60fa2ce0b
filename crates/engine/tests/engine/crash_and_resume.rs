//! An engine that dies in the middle of a production run (its task aborted mid-command, as a
//! crash would leave it) is resumed by a new engine over the same journal: the last
//! transition's commands are re-sent under the same operation ids, the release ends completed,
//! and production served every request throughout. Tried at each step boundary of the
//! no-migration cut-over: holding requests, syncing data, swapping addresses.

use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard_core::patch::WorkflowKind;

use crate::support::{assert_nothing_failed_or_lost, by_sue, carl, document, journal, sam, Host, Load, SHOP};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_engine_killed_at_each_cut_over_step_resumes_to_completion() {
    let points = [(r#""op":"hold","on":true"#, 0), ("sync-data", 20), ("swap-addresses", 0), (r#""op":"hold","on":false"#, 5)];
    for (index, (marker, delay_ms)) in points.into_iter().enumerate() {
        crash_and_resume(marker, Duration::from_millis(delay_ms), index % 2 == 0).await;
    }
}

/// Runs a no-migration release, kills the approving engine `delay` after the transition whose
/// commands contain `marker` is journaled, and resumes with a fresh engine (through
/// `resume_all`, as Switchyard does on start, when `resume_all` is set). Returns the agent's log.
async fn crash_and_resume(marker: &str, delay: Duration, resume_all: bool) -> String {
    let host = Host::start().await;
    let (_, v2) = host.candidate("2.0.0", 1);
    let doc = document(WorkflowKind::NoMigration, "2.0.0", &v2);
    let first = host.engine().await;
    let rehearsal = first.start_rehearsal(&doc, &by_sue(), &SHOP).await.unwrap();
    first.confirm(rehearsal.id, &carl(), "ready").await.unwrap();
    let run = first.start_production(&doc, &by_sue(), &[], &SHOP).await.unwrap();
    let load = Load::start(host.public, 3);

    let store = first.store().clone();
    let first = Arc::new(first);
    let approving = {
        let first = Arc::clone(&first);
        tokio::spawn(async move { first.approve(run.id, &sam(), "go").await })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let last = store.last_transition(run.id).await.unwrap();
        if last.commands.contains(marker) {
            break;
        }
        assert!(Instant::now() < deadline, "{marker} never journaled:\n{}", journal(&first, run.id).await);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(delay).await;
    approving.abort();
    let _ = approving.await;
    let crashed_at = store.last_transition(run.id).await.unwrap();
    drop(first);

    let second = host.engine().await;
    let resumed = if resume_all {
        let mut all = second.resume_all().await;
        assert_eq!(all.len(), 1, "only the production run is unfinished");
        all.remove(0).1.unwrap()
    } else {
        second.resume(run.id).await.unwrap()
    };
    let trail = journal(&second, run.id).await;
    assert_eq!(resumed.outcome.as_deref(), Some("completed"), "crashed at {marker}:\n{trail}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (acknowledged, failures) = load.finish().await;

    // The journal is append-only: the crashed transition is still there, word for word, and
    // each cut-over command was journaled (so sent under one operation id) exactly once.
    let rows = second.store().transitions(run.id).await.unwrap();
    assert_eq!(rows[crashed_at.seq as usize].commands, crashed_at.commands);
    for command in ["sync-data", "swap-addresses"] {
        assert_eq!(rows.iter().filter(|t| t.commands.contains(command)).count(), 1, "{command} once:\n{trail}");
    }
    assert_eq!(host.version().await, "2.0.0");
    let served = host.records().await;
    assert_nothing_failed_or_lost(&format!("crashed at {marker}: "), &failures, &acknowledged, &served);
    host.log()
}
