//! Performs one workflow [`Command`] on the host's agent and reports the [`Event`]s the
//! workflow expects back. Every state-changing agent call carries an operation id derived from
//! the command's own (`<op>.<part>`), so re-sending a command after a crash replays what
//! already happened instead of applying it twice.
//!
//! An agent that answers with an error makes the command fail (the workflow then rolls back);
//! an agent that cannot be reached is not a failure of the command: the engine stops and the
//! journal keeps the command for the next resume.

use std::path::PathBuf;
use std::time::Duration;

use switchyard_agent::api::{Activate, CloneEnv, DestroyEnv, ProcessState, Rollback, RunStep, SyncEnv, UnpackCaps, UnpackRelease};
use switchyard_agent::{AgentClient, AgentError};
use switchyard_core::workflow::{Command, Env, Event};
use switchyard_router::api::{MoveToTemporaryAddress, PointAddress, RouteBack, SetHold, SetMaintenance, SwapEnvironments};
use switchyard_router::{AccountSplit, Hold, Target};

use crate::error::{EngineError, Result};
use crate::observe::{backend, health_check};
use crate::placement::Placement;

/// How commands are carried out; the defaults suit production hosts.
#[derive(Debug, Clone)]
pub struct ExecConfig {
    /// Where release candidates are kept, as `<sha256>.tar.gz`.
    pub candidates_dir: PathBuf,
    /// How long the router holds requests before it answers with the site-down page instead;
    /// it must cover syncing data and the swap.
    pub hold_timeout: Duration,
    /// Pause between health-check attempts.
    pub health_interval: Duration,
    /// Pause after requests are held before data is copied, so requests already inside
    /// production finish their writes first (the router holds new ones only).
    pub drain: Duration,
    /// Tries at reaching the agent before the engine stops and leaves the command to a resume.
    pub transport_attempts: u32,
    /// How often a watch window reads the counters so far, to halt a failing new version
    /// before the window ends.
    pub watch_check_interval: Duration,
    /// Requests the new version must have served before a watch window halts it early.
    pub watch_min_requests: u64,
    /// The site's limits on unpacking a candidate, sent with every unpack; the agent applies
    /// the lower of these and its own. `None`: the agent's own alone.
    pub unpack_limits: Option<UnpackCaps>,
}

impl ExecConfig {
    pub fn new(candidates_dir: PathBuf) -> Self {
        ExecConfig {
            candidates_dir,
            hold_timeout: Duration::from_secs(30),
            health_interval: Duration::from_millis(250),
            drain: Duration::from_millis(300),
            transport_attempts: 3,
            watch_check_interval: Duration::from_secs(10),
            watch_min_requests: 100,
            unpack_limits: None,
        }
    }
}

/// What the executor needs besides the command.
pub(crate) struct Host<'a> {
    pub agent: &'a AgentClient,
    pub placement: &'a Placement,
    pub config: &'a ExecConfig,
    pub http: &'a reqwest::Client,
    /// The release's uid, which names its data-volume snapshot.
    pub release_uid: &'a str,
    /// Whether a clone of production serves from production's own data volume (the new
    /// version beside the old one in a blue-green or rollout production run) rather than a
    /// private copy (a rehearsal, or a candidate the data is synced into before the swap).
    pub share_data: bool,
}

/// A command's own result: `Ok(output)` or the agent's refusal as text.
pub(crate) type Outcome = std::result::Result<String, String>;

/// Runs `command` and returns the events to feed the workflow, in order. The engine itself
/// runs watch windows (`observe::watch`) and records rehearsals.
pub(crate) async fn perform(t: &Host<'_>, op: &str, command: &Command) -> Result<Vec<Event>> {
    let outcome = match command {
        Command::HealthCheck { env, path, expect_status, retries } => {
            let (healthy, detail) = health_check(t, *env, path, *expect_status, *retries).await?;
            return Ok(vec![Event::HealthChecked { healthy, detail }]);
        }
        other => agent_command(t, op, other).await?,
    };
    Ok(vec![match outcome {
        Ok(output) => Event::CommandSucceeded { output },
        Err(output) => Event::CommandFailed { output },
    }])
}

/// Retries a call the agent could not be reached for; an answer (success or refusal) is final.
pub(crate) async fn call<T, F, Fut>(t: &Host<'_>, what: &str, mut f: F) -> Result<std::result::Result<T, AgentError>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, AgentError>>,
{
    let mut attempt = 1;
    loop {
        match f().await {
            Err(AgentError::Transport { context, source }) => {
                if attempt >= t.config.transport_attempts {
                    return Err(EngineError::AgentUnreachable {
                        context: format!("cannot {what}: {context}"),
                        message: source.to_string(),
                    });
                }
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => return Ok(other),
        }
    }
}

/// `?` for the agent's answer inside [`agent_command`]: a refusal ends the command as failed.
macro_rules! answer {
    ($e:expr) => {
        match $e {
            Ok(value) => value,
            Err(error) => return Ok(Err(error.to_string())),
        }
    };
}

fn release_id(sha256: &str) -> String {
    format!("r-{}", sha256.get(..16).unwrap_or(sha256))
}

async fn agent_command(t: &Host<'_>, op: &str, command: &Command) -> Result<Outcome> {
    let (agent, p) = (t.agent, t.placement);
    let site = p.site.clone();
    let part = |name: &str| format!("{op}.{name}");
    Ok(Ok(match command {
        Command::CloneEnvironment { from, to } => {
            if *to == Env::Production {
                return Ok(Err("refusing to clone over production: the workflow only clones into the candidate".into()));
            }
            let (from, to) = (p.env(*from), p.env(*to));
            let port = answer!(backend(t, to).await?).port();
            answer!(clone_replacing(t, op, from, to, Some(port), t.share_data).await?);
            // A clone of an adopted site has no release of its own to run yet (the adopted
            // process is not the agent's): it starts with the first release activated in it.
            let cloned = answer!(call(t, "read an environment", || agent.env(to)).await?);
            if cloned.current.is_none() {
                return Ok(Ok(format!("cloned {from} into {to}, which starts with its first release")));
            }
            // The clone is a running copy of production, ready for the candidate and for tests.
            let started = answer!({
                let id = part("start");
                call(t, "start the clone", || agent.start(to, &id)).await?
            });
            format!("cloned {from} into {to}, running on port {}", started.port)
        }
        Command::DiscardEnvironment { env } => {
            if *env == Env::Production {
                return Ok(Err("refusing to discard production".into()));
            }
            let name = p.env(*env);
            let req = DestroyEnv { op_id: part("destroy"), force: true };
            match call(t, "discard an environment", || agent.destroy_env(name, &req)).await? {
                Ok(_) => format!("discarded {name}"),
                Err(AgentError::Remote { status: 404, .. }) => format!("{name} was already gone"),
                Err(e) => return Ok(Err(e.to_string())),
            }
        }
        Command::UploadRelease { sha256, .. } => {
            // Candidates are stored once per sha256 on the host, so an upload needs no id.
            let path = t.config.candidates_dir.join(format!("{sha256}.tar.gz"));
            if !path.exists() {
                return Ok(Err(format!(
                    "candidate {sha256} is not in {}: upload it to Switchyard first",
                    t.config.candidates_dir.display()
                )));
            }
            let info = answer!(call(t, "upload the candidate", || agent.upload_candidate(&path, sha256)).await?);
            format!("candidate {} on the host ({} bytes)", info.sha256, info.size)
        }
        Command::UnpackRelease { env, sha256 } => {
            let name = p.env(*env);
            let id = release_id(sha256);
            let info = answer!(call(t, "read an environment", || agent.env(name)).await?);
            // A clone carries production's releases; one already unpacked from this candidate
            // is the same files.
            if info.releases.iter().any(|r| r.id == id && r.sha256 == *sha256) {
                format!("release {id} already unpacked in {name}")
            } else {
                let req =
                    UnpackRelease { op_id: part("unpack"), release_id: id.clone(), sha256: sha256.clone(), limits: t.config.unpack_limits };
                let release = answer!(call(t, "unpack the release", || agent.unpack_release(name, &req)).await?);
                format!("unpacked release {} in {name} ({} files)", release.id, release.files)
            }
        }
        Command::ActivateRelease { env, sha256 } => {
            let name = p.env(*env);
            let req = Activate { op_id: part("activate"), release_id: release_id(sha256) };
            let result = answer!(call(t, "activate the release", || agent.activate(name, &req)).await?);
            if result.previous.is_none() {
                // The first release of a clone of an adopted site: nothing ran here before.
                let id = part("start");
                answer!(call(t, "start the site", || agent.start(name, &id)).await?);
            } else {
                answer!(restart_if_running(t, op, name).await?);
            }
            format!("{name} runs release {}", result.current)
        }
        Command::ActivatePreviousRelease { env } => {
            let name = p.env(*env);
            let req = Rollback { op_id: part("rollback") };
            let result = answer!(call(t, "activate the previous release", || agent.rollback(name, &req)).await?);
            answer!(restart_if_running(t, op, name).await?);
            format!("{name} runs release {} again", result.current)
        }
        Command::StopService { env } => {
            let name = p.env(*env);
            // Requests already inside the site (the router holds only new ones) finish
            // before it stops: a stop right after a hold or a swap must not cut them off.
            tokio::time::sleep(t.config.drain).await;
            answer!({
                let id = part("stop");
                call(t, "stop the site", || agent.stop(name, &id)).await?
            });
            format!("stopped {name}")
        }
        Command::StartService { env } => {
            let name = p.env(*env);
            answer!({
                let id = part("start");
                call(t, "start the site", || agent.start(name, &id)).await?
            });
            format!("started {name}")
        }
        Command::RunStep { env, step, command, timeout_secs } => {
            let name = p.env(*env);
            let req = RunStep {
                op_id: part("step"),
                command: vec!["sh".into(), "-c".into(), command.clone()],
                timeout_secs: u64::from(*timeout_secs),
                env: Default::default(),
            };
            let result = answer!(call(t, "run a step", || agent.run_step(name, &req, |_| {})).await?);
            let output = format!("{}{}", result.stdout, result.stderr);
            let tail: String = output.chars().rev().take(2000).collect::<Vec<_>>().into_iter().rev().collect();
            if result.code == Some(0) {
                tail
            } else if result.timed_out {
                return Ok(Err(format!("step {step} timed out after {timeout_secs} s: {tail}")));
            } else {
                return Ok(Err(format!("step {step} exited with {:?}: {tail}", result.code)));
            }
        }
        Command::SyncData { from, to, .. } => {
            // The agent copies files and databases together; the scope is the document's note
            // of what changed, not a filter.
            let (from, to) = (p.env(*from), p.env(*to));
            tokio::time::sleep(t.config.drain).await;
            answer!({
                let id = part("stop");
                call(t, "stop the sync target", || agent.stop(to, &id)).await?
            });
            let req = SyncEnv { op_id: part("sync"), from: from.to_owned() };
            let report = answer!(call(t, "sync data", || agent.sync_env(to, &req)).await?);
            answer!({
                let id = part("start");
                call(t, "start the sync target", || agent.start(to, &id)).await?
            });
            format!("synced {} from {from} into {to}", report.databases.join(", "))
        }
        Command::Maintenance { on } => {
            let change = SetMaintenance { site, on: *on, page: None };
            answer!(call(t, "switch the site-down page", || agent.maintenance(op, change.clone())).await?);
            format!("site-down page {}", if *on { "on" } else { "off" })
        }
        Command::MoveToTemporaryAddress { .. } => {
            let change =
                MoveToTemporaryAddress { site, public_address: p.public_address.clone(), temporary_address: p.temporary_address.clone() };
            answer!(call(t, "move to the temporary address", || agent.move_to_temporary_address(op, change.clone())).await?);
            answer!(point_others(t, op, "down", Target::SiteDown).await?);
            format!("{} serves at {}", p.production_env, p.temporary_address)
        }
        Command::ReturnFromTemporaryAddress { .. } => {
            let change = RouteBack { site, temporary_address: p.temporary_address.clone(), public_address: p.public_address.clone() };
            answer!(call(t, "return from the temporary address", || agent.route_back(op, change.clone())).await?);
            answer!(point_others(t, op, "back", Target::environment(&p.production_env)).await?);
            format!("{} serves at {} again", p.production_env, p.public_address)
        }
        Command::SwapAddresses => {
            let change = SwapEnvironments { site, first: p.production_env.clone(), second: p.candidate_env.clone() };
            answer!(call(t, "swap addresses", || agent.swap(op, change.clone())).await?);
            format!("swapped {} and {}", p.production_env, p.candidate_env)
        }
        Command::RouteBack => {
            let change = PointAddress { site, address: p.accounts_address.clone(), target: Target::environment(&p.production_env) };
            answer!(call(t, "route every account back", || agent.point(op, change.clone())).await?);
            format!("every account on {}", p.production_env)
        }
        Command::SetAccountSplit { percent, pinned } => {
            let split = AccountSplit {
                stable: p.production_env.clone(),
                candidate: p.candidate_env.clone(),
                candidate_percent: *percent,
                pins: pinned.iter().map(|a| (a.clone(), p.candidate_env.clone())).collect(),
            };
            let change = PointAddress { site, address: p.accounts_address.clone(), target: Target::Split(split) };
            answer!(call(t, "split the accounts", || agent.point(op, change.clone())).await?);
            format!("{percent} % of accounts on {}", p.candidate_env)
        }
        Command::PointAccounts { env } => {
            let name = p.env(*env);
            let change = PointAddress { site, address: p.accounts_address.clone(), target: Target::environment(name) };
            answer!(call(t, "point the accounts", || agent.point(op, change.clone())).await?);
            format!("every account on {name}")
        }
        Command::Hold { on } => {
            let hold = on.then(|| Hold { timeout_ms: t.config.hold_timeout.as_millis() as u64 });
            let change = SetHold { site, hold };
            answer!(call(t, "hold requests", || agent.hold(op, change.clone())).await?);
            format!("requests {}", if *on { "held" } else { "released" })
        }
        Command::SnapshotDatabase { env } => answer!(crate::data::snapshot(t, op, *env).await?),
        Command::RestoreSnapshot { env } => answer!(crate::data::restore(t, op, *env).await?),
        Command::StartCapture { env } => answer!(crate::capture::start(t, op, *env).await?),
        Command::StopCapture { env } => answer!(crate::capture::stop(t, op, *env).await?),
        Command::ReplayChanges { from, into, drop_unknown_columns } => {
            // Requests in flight when the hold began finish their writes first.
            tokio::time::sleep(t.config.drain).await;
            answer!(crate::capture::replay(t, op, *from, *into, *drop_unknown_columns).await?)
        }
        Command::CompareSchemas { env, against } => answer!(crate::capture::compare(t, *env, *against).await?),
        Command::HealthCheck { .. } | Command::Wait { .. } | Command::RecordRehearsal { .. } => {
            return Err(EngineError::Internal(format!("`{command}` is not an agent command")));
        }
    }))
}

/// Points the site's other production addresses (accounts, second names) at `target`: the
/// site-down page while a migration has production at its temporary address, production again
/// when it returns. Each under its own operation id, so a resend replays them.
async fn point_others(t: &Host<'_>, op: &str, part: &str, target: Target) -> Result<std::result::Result<(), AgentError>> {
    let p = t.placement;
    // By position: an address (`*.shop.example`) is not a valid operation id; the list is
    // fixed with the placement, so a resend numbers them the same.
    for (index, address) in p.other_production_addresses.iter().enumerate() {
        let change = PointAddress { site: p.site.clone(), address: address.clone(), target: target.clone() };
        let id = format!("{op}.{part}-{index}");
        if let Err(e) = call(t, "point an address", || t.agent.point(&id, change.clone())).await? {
            return Ok(Err(e));
        }
    }
    Ok(Ok(()))
}

/// Clones `from` into `to`, replacing an older `to` (a previous release's candidate or
/// snapshot). The clone is tried first so that a resumed command whose clone already happened
/// replays it instead of discarding it.
pub(crate) async fn clone_replacing(
    t: &Host<'_>,
    op: &str,
    from: &str,
    to: &str,
    port: Option<u16>,
    share_volume: bool,
) -> Result<std::result::Result<(), AgentError>> {
    let agent = t.agent;
    let req = CloneEnv { op_id: format!("{op}.clone"), target: to.to_owned(), port, share_volume };
    match call(t, "clone an environment", || agent.clone_env(from, &req)).await? {
        Err(AgentError::Remote { status: 409, .. }) => {}
        other => return Ok(other.map(|_| ())),
    }
    let destroy = DestroyEnv { op_id: format!("{op}.replace"), force: true };
    if let Err(e) = call(t, "discard the old environment", || agent.destroy_env(to, &destroy)).await? {
        return Ok(Err(e));
    }
    let again = CloneEnv { op_id: format!("{op}.clone-again"), ..req.clone() };
    Ok(call(t, "clone an environment", || agent.clone_env(from, &again)).await?.map(|_| ()))
}

/// A running site restarts onto a newly activated release; a stopped one (a minor patch
/// stops it first) stays stopped until the workflow starts it.
async fn restart_if_running(t: &Host<'_>, op: &str, env: &str) -> Result<std::result::Result<(), AgentError>> {
    let agent = t.agent;
    let status = match call(t, "read the process status", || agent.process_status(env)).await? {
        Ok(status) => status,
        Err(e) => return Ok(Err(e)),
    };
    if matches!(status.state, ProcessState::Stopped | ProcessState::Failed) {
        return Ok(Ok(()));
    }
    let id = format!("{op}.restart");
    Ok(call(t, "restart the site", || agent.restart(env, &id)).await?.map(|_| ()))
}
