//! Reading the host without changing it: health checks against an environment's backend and
//! the router's per-environment counters over a watch window.

use std::time::Duration;

use switchyard_agent::AgentError;
use switchyard_core::workflow::{Counters, Env, Event};
use switchyard_router::CountersSnapshot;

use crate::error::Result;
use crate::execute::{call, Host};

/// The backend the router sends an environment's traffic to.
pub(crate) async fn backend(
    t: &Host<'_>,
    env: &str,
) -> Result<std::result::Result<std::net::SocketAddr, AgentError>> {
    let table = match call(t, "read the route table", || t.agent.routes()).await? {
        Ok(table) => table,
        Err(e) => return Ok(Err(e)),
    };
    let found = table
        .sites
        .get(&t.placement.site)
        .and_then(|s| s.environments.get(env))
        .copied();
    Ok(found.ok_or_else(|| {
        AgentError::NotFound(format!(
            "environment {env} is not in the route table of site {}",
            t.placement.site
        ))
    }))
}

/// Asks the environment's backend directly (the engine reaches the host's 127.0.0.1 only when
/// it runs on that host; a remote host needs an agent-side probe).
pub(crate) async fn health_check(
    t: &Host<'_>,
    env: Env,
    path: &str,
    expect: u16,
    retries: u32,
) -> Result<(bool, String)> {
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
            Ok(reply) if reply.status().as_u16() == expect => {
                return Ok((true, format!("{name} {path}: {expect}")))
            }
            Ok(reply) => {
                last = format!(
                    "{name} {path} answered {} (expected {expect})",
                    reply.status().as_u16()
                )
            }
            Err(e) => last = format!("{name} {path}: {e}"),
        }
    }
    Ok((false, format!("{last} after {} attempts", retries + 1)))
}

/// A watch window: per-version requests and 5xx over the window, then the timer.
pub(crate) async fn watch(t: &Host<'_>, seconds: u32) -> Result<Vec<Event>> {
    let read = || async {
        call(t, "read the counters", || t.agent.counters())
            .await
            .map(|r| r.unwrap_or_default())
    };
    let before = read().await?;
    tokio::time::sleep(Duration::from_secs(u64::from(seconds))).await;
    let after = read().await?;
    let delta = |env: &str| {
        let (a, b) = (
            env_counters(&after, &t.placement.site, env),
            env_counters(&before, &t.placement.site, env),
        );
        Counters {
            requests: a.requests.saturating_sub(b.requests),
            errors_5xx: a.errors_5xx.saturating_sub(b.errors_5xx),
        }
    };
    let (old, new) = (
        delta(&t.placement.production_env),
        delta(&t.placement.candidate_env),
    );
    Ok(vec![
        Event::CountersObserved { old, new },
        Event::TimerElapsed,
    ])
}

fn env_counters(snapshot: &CountersSnapshot, site: &str, env: &str) -> Counters {
    snapshot
        .environments
        .iter()
        .filter(|e| e.site == site && e.environment == env)
        .fold(Counters::default(), |sum, e| Counters {
            requests: sum.requests + e.traffic.requests,
            errors_5xx: sum.errors_5xx + e.traffic.responses_5xx,
        })
}
