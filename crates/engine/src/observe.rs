//! Reading the host without changing it: health checks against an environment's backend and
//! the router's per-environment counters over a watch window, which a person's decision
//! interrupts and a failing new version ends early, and which resumes where it was after a
//! restart.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use switchyard_agent::AgentError;
use switchyard_core::workflow::{Counters, Env, Event};
use switchyard_router::CountersSnapshot;
use switchyard_store::Store;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::error::{EngineError, Result};
use crate::execute::{call, Host};

/// The backend the router sends an environment's traffic to.
pub(crate) async fn backend(t: &Host<'_>, env: &str) -> Result<std::result::Result<std::net::SocketAddr, AgentError>> {
    let table = match call(t, "read the route table", || t.agent.routes()).await? {
        Ok(table) => table,
        Err(e) => return Ok(Err(e)),
    };
    let found = table.sites.get(&t.placement.site).and_then(|s| s.environments.get(env)).copied();
    Ok(found.ok_or_else(|| AgentError::NotFound(format!("environment {env} is not in the route table of site {}", t.placement.site))))
}

/// Asks the environment's backend directly (the engine reaches the host's 127.0.0.1 only when
/// it runs on that host; a remote host needs an agent-side probe).
pub(crate) async fn health_check(t: &Host<'_>, env: Env, path: &str, expect: u16, retries: u32) -> Result<(bool, String)> {
    let name = t.placement.env(env);
    let addr = match backend(t, name).await? {
        Ok(addr) => addr,
        Err(e) => return Ok((false, e.to_string())),
    };
    let url = format!("http://{addr}{path}");
    let mut last = String::new();
    for attempt in 0..=retries {
        if attempt > 0 {
            tokio::time::sleep(t.config.health_interval).await;
        }
        match t.http.get(&url).send().await {
            Ok(reply) if reply.status().as_u16() == expect => return Ok((true, format!("{name} {path}: {expect}"))),
            Ok(reply) => last = format!("{name} {path} answered {} (expected {expect})", reply.status().as_u16()),
            Err(e) => last = format!("{name} {path}: {e}"),
        }
    }
    Ok((false, format!("{last} after {} attempts", retries + 1)))
}

/// Lets a person's decision end a watch window early. The release's driver holds its lock
/// for the whole window, and the decision waits for that lock.
#[derive(Debug, Default)]
pub(crate) struct Interrupt {
    /// Decisions waiting for the release's lock. A window ends while any wait, so a decision
    /// that arrives between two waits of a window (or before it starts) is not missed.
    waiting: AtomicUsize,
    notify: Notify,
}

/// A decision waiting for the release's lock; dropping it (once it has the lock, or when its
/// caller gave up) lets later windows run their course.
pub(crate) struct Waiting<'a>(&'a Interrupt);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Interrupt {
    /// Ends the window running now, and any window that starts, until the guard drops.
    pub(crate) fn decision(&self) -> Waiting<'_> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        // Only tasks waiting now are woken, so no stored permit ends a later window.
        self.notify.notify_waiters();
        Waiting(self)
    }

    /// Sleeps for `duration`; `false` when a decision ended the sleep early.
    async fn sleep(&self, duration: Duration) -> bool {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        // Registered before the check, so a decision after the check wakes it.
        notified.as_mut().enable();
        if self.waiting.load(Ordering::SeqCst) > 0 {
            return false;
        }
        tokio::select! {
            _ = notified => false,
            _ = tokio::time::sleep(duration) => true,
        }
    }
}

/// How a watch window ended.
pub(crate) enum Watched {
    /// The events to journal: the counters and the timer, or only counters that already
    /// exceed the workflow's threshold.
    Window(Vec<Event>),
    /// A person's decision is waiting: nothing is journaled, so the window's `Wait` command
    /// stays pending and a later resume re-sends it.
    Interrupted,
}

/// Where a watch window stands: the counters read when it began and how long ago that was.
pub(crate) struct WindowStart {
    baseline: CountersSnapshot,
    elapsed: Duration,
}

/// Starts the window of release `release_id`'s transition `seq`, or finds the one started
/// before a restart: its start and first counters are kept in the store, so a resumed window
/// waits only for what is left and counts everything served since it began.
pub(crate) async fn open_window(store: &Store, t: &Host<'_>, release_id: i64, seq: i64) -> Result<WindowStart> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let window = match store.watch_window(release_id, seq).await? {
        Some(window) => window,
        None => {
            let baseline = read_counters(t).await?;
            let json = serde_json::to_string(&baseline).map_err(|e| EngineError::Internal(format!("cannot record the counters: {e}")))?;
            store.open_watch_window(release_id, seq, now_ms, &json).await?
        }
    };
    let baseline = serde_json::from_str(&window.baseline)
        .map_err(|e| EngineError::Internal(format!("the watch window of release {release_id} does not read: {e}")))?;
    let elapsed = Duration::from_millis(u64::try_from(now_ms.saturating_sub(window.started_at_ms)).unwrap_or(0));
    Ok(WindowStart { baseline, elapsed })
}

async fn read_counters(t: &Host<'_>) -> Result<CountersSnapshot> {
    call(t, "read the counters", || t.agent.counters()).await.map(|r| r.unwrap_or_default())
}

/// A watch window: per-version requests and 5xx over the window, then the timer. Every
/// `watch_check_interval` the counters so far are read, and the window ends early when `halts`
/// (the workflow's own rule) says they already fail it, once the new version has served
/// `watch_min_requests` (so a few early errors do not end a window the whole would pass).
pub(crate) async fn watch(
    t: &Host<'_>,
    seconds: u32,
    start: WindowStart,
    interrupt: &Interrupt,
    halts: impl Fn(Counters, Counters) -> bool,
) -> Result<Watched> {
    let read = || read_counters(t);
    let before = start.baseline;
    let end = Instant::now() + Duration::from_secs(u64::from(seconds)).saturating_sub(start.elapsed);
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        if !interrupt.sleep(left.min(t.config.watch_check_interval)).await {
            return Ok(Watched::Interrupted);
        }
        if Instant::now() >= end {
            break;
        }
        // A reading that fails mid-window only skips this check; the last one is required.
        if let Ok(now) = read().await {
            let (old, new) = observed(t, &before, &now);
            if new.requests >= t.config.watch_min_requests && halts(old, new) {
                return Ok(Watched::Window(vec![Event::CountersObserved { old, new }]));
            }
        }
    }
    let (old, new) = observed(t, &before, &read().await?);
    Ok(Watched::Window(vec![Event::CountersObserved { old, new }, Event::TimerElapsed]))
}

/// (old version, new version) counters between two readings.
fn observed(t: &Host<'_>, before: &CountersSnapshot, after: &CountersSnapshot) -> (Counters, Counters) {
    let delta = |env: &str| {
        let (a, b) = (env_counters(after, &t.placement.site, env), env_counters(before, &t.placement.site, env));
        // Counters below the baseline were reset by an agent restart: all they hold is new.
        if a.requests < b.requests || a.errors_5xx < b.errors_5xx {
            return a;
        }
        Counters { requests: a.requests - b.requests, errors_5xx: a.errors_5xx - b.errors_5xx }
    };
    (delta(&t.placement.production_env), delta(&t.placement.candidate_env))
}

fn env_counters(snapshot: &CountersSnapshot, site: &str, env: &str) -> Counters {
    snapshot.environments.iter().filter(|e| e.site == site && e.environment == env).fold(Counters::default(), |sum, e| Counters {
        requests: sum.requests + e.traffic.requests,
        errors_5xx: sum.errors_5xx + e.traffic.responses_5xx,
    })
}
