//! A person's decision does not wait out a watch window: a rollout watched for two minutes per
//! stage is rolled back a few seconds into its first window, and a failing v2 is halted by the
//! counters read during the window rather than at its end. Every wait is bounded well below
//! the window, so a test that waited the window out fails instead of passing slowly.

use std::sync::Arc;
use std::time::Duration;

use switchyard_core::workflow::{Event, State};
use switchyard_engine::{Engine, EngineError};
use tokio::time::timeout;

use crate::rollout_by_account::{accounts, assert_everyone_served_by, assert_only_v2_failed, records, rehearsed_rollout_watching};
use crate::support::{assert_nothing_failed_or_lost, journal, sam, Host, Load, PUBLIC};

/// Every watch window of these rollouts.
const WINDOW_SECS: u32 = 120;
/// The longest any single call may take here: far less than a window.
const PROMPTLY: Duration = Duration::from_secs(30);

/// The journal's events in order, by name (`approved`, `counters-observed`, …).
async fn events(engine: &Engine, id: i64) -> Vec<String> {
    let journal = engine.store().transitions(id).await.unwrap();
    journal
        .iter()
        .filter_map(|t| t.event.as_deref())
        .map(|e| {
            let v: serde_json::Value = serde_json::from_str(e).unwrap();
            v["event"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

/// Waits (bounded) until the release's last transition asks for a watch window; its sequence.
async fn watching(engine: &Engine, id: i64) -> i64 {
    for _ in 0..600 {
        let last = engine.store().last_transition(id).await.unwrap();
        if last.commands.contains("\"op\":\"wait\"") {
            return last.seq;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the release never started watching:\n{}", journal(engine, id).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rollback_requested_a_few_seconds_into_a_long_watch_window_rolls_back_at_once() {
    let host = Host::start().await;
    let engine = Arc::new(host.engine().await);
    let (_, v2) = host.candidate("2.0.0", 1);
    let id = rehearsed_rollout_watching(&host, &engine, &v2, WINDOW_SECS).await;
    let mut addresses = accounts();
    addresses.push(PUBLIC.to_owned());
    let load = Load::start_on(host.public, &addresses, 2);

    let driving = tokio::spawn({
        let engine = Arc::clone(&engine);
        async move { engine.approve(id, &sam(), "go").await }
    });
    let asked = watching(&engine, id).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // A decision the watch refuses is answered at once and leaves the window running.
    let refused = timeout(PROMPTLY, engine.approve(id, &sam(), "again")).await.expect("a refused decision waited for the window");
    assert!(matches!(refused, Err(EngineError::Refused(_))), "{refused:?}");
    assert!(!driving.is_finished(), "a refused decision ended the window");

    // The service's way: the decision is recorded at once, a resume drives the rollback.
    let rollback = Event::RollbackRequested { by: sam(), reason: "the customer asked".into() };
    let recorded =
        timeout(PROMPTLY, engine.record_decision(id, rollback)).await.expect("the rollback request waited for the window").unwrap();
    let trail = journal(&engine, id).await;
    assert!(matches!(recorded.state, State::RollingBack { .. }), "{trail}");
    let interrupted = timeout(PROMPTLY, driving).await.expect("the watch window went on after the decision").unwrap().unwrap();
    assert_eq!(interrupted.outcome, None, "the driver stopped where it was: {trail}");
    let rolled = timeout(PROMPTLY, engine.resume(id)).await.expect("the rollback took a window").unwrap();
    let trail = journal(&engine, id).await;
    assert!(matches!(rolled.state, State::RolledBack { .. }), "{trail}");

    // The window's Wait was never answered: the rollback request came right after it.
    let names = events(&engine, id).await;
    let after_wait = &names[usize::try_from(asked).unwrap()..];
    assert_eq!(after_wait[0], "rollback-requested", "{trail}");
    assert!(!names.iter().any(|n| n == "counters-observed" || n == "timer-elapsed"), "no window was reported:\n{trail}");
    assert!(after_wait[1..].iter().all(|n| n == "command-succeeded"), "{trail}");

    tokio::time::sleep(Duration::from_millis(300)).await;
    let (acknowledged, failures) = load.finish().await;
    assert_everyone_served_by(&host, "shop-blue", "1.0.0").await;
    assert_nothing_failed_or_lost("", &failures, &acknowledged, &records(&host).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_new_version_is_halted_during_its_watch_window_not_at_its_end() {
    let host = Host::start().await;
    let engine = host
        .engine_with(|config| {
            config.watch_check_interval = Duration::from_secs(1);
            config.watch_min_requests = 20;
        })
        .await;
    let v2 = host.candidate_with("2.0.0", 1, "fail_percent = 50\n");
    let id = rehearsed_rollout_watching(&host, &engine, &v2, WINDOW_SECS).await;
    // The pinned account sends a fifth of the requests, so its window sees v2 fail.
    let mut addresses = accounts();
    addresses.extend(std::iter::repeat_n(format!("beta.{PUBLIC}"), 9));
    let load = Load::start_on(host.public, &addresses, 4);

    let halted =
        timeout(PROMPTLY, engine.approve(id, &sam(), "go")).await.expect("the failing version was watched for the whole window").unwrap();
    let trail = journal(&engine, id).await;
    let State::RolledBack { reason, .. } = &halted.state else { panic!("not rolled back:\n{trail}") };
    assert!(reason.starts_with("halted: the new version's 5xx rate"), "{reason}");
    let names = events(&engine, id).await;
    assert_eq!(names.iter().filter(|n| *n == "counters-observed").count(), 1, "{trail}");
    assert!(!names.iter().any(|n| n == "timer-elapsed"), "the window ran out:\n{trail}");

    tokio::time::sleep(Duration::from_millis(300)).await;
    let (acknowledged, failures) = load.finish().await;
    assert_everyone_served_by(&host, "shop-blue", "1.0.0").await;
    assert_only_v2_failed(&failures);
    assert_nothing_failed_or_lost("", &[], &acknowledged, &records(&host).await);
}
