//! What the machines ask the engine to do ([`Command`]) and what the engine reports back
//! ([`Event`]). Environments are named by their part in the release, not by host or path.

use super::policy::Actor;
use crate::patch::SyncScope;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The two environments of a release. `Candidate` is the clone or the new environment beside
/// production; after a swap it serves the public address, and the old `Production` is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Env {
    Production,
    Candidate,
}

impl fmt::Display for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Env::Production => "production",
            Env::Candidate => "candidate",
        })
    }
}

/// One agent or router operation. Each is idempotent given the operation id the engine
/// attaches, so a retry after a crash never applies twice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Command {
    CloneEnvironment {
        from: Env,
        to: Env,
    },
    DiscardEnvironment {
        env: Env,
    },
    UploadRelease {
        env: Env,
        sha256: String,
    },
    UnpackRelease {
        env: Env,
        sha256: String,
    },
    /// Switches `current` to the release by atomic rename and restarts onto it.
    ActivateRelease {
        env: Env,
        sha256: String,
    },
    ActivatePreviousRelease {
        env: Env,
    },
    StopService {
        env: Env,
    },
    StartService {
        env: Env,
    },
    /// Step `step` (1-based) of the patch document, or its rollback.
    RunStep {
        env: Env,
        step: usize,
        command: String,
        timeout_secs: u32,
    },
    SyncData {
        from: Env,
        to: Env,
        scope: SyncScope,
    },
    /// The public address serves the site-down page instead of the site.
    Maintenance {
        on: bool,
    },
    MoveToTemporaryAddress {
        env: Env,
    },
    ReturnFromTemporaryAddress {
        env: Env,
    },
    /// The public address and the candidate's address trade places, atomically.
    SwapAddresses,
    /// Every account back on the old version; pinned accounts too.
    RouteBack,
    /// `percent` of accounts (stable by account) and every pinned account on the new version.
    SetAccountSplit {
        percent: u8,
        pinned: Vec<String>,
    },
    /// Every account served by `env` alone, no split: a completed rollout's accounts on the
    /// new version, which after the swap also serves the public address.
    PointAccounts {
        env: Env,
    },
    /// The router holds requests (rather than failing them) while `on`.
    Hold {
        on: bool,
    },
    SnapshotDatabase {
        env: Env,
    },
    RestoreSnapshot {
        env: Env,
    },
    HealthCheck {
        env: Env,
        path: String,
        expect_status: u16,
        retries: u32,
    },
    /// Start a watch window; the engine reports counters and then [`Event::TimerElapsed`].
    Wait {
        seconds: u32,
    },
    /// Capture every write to `env`'s databases from now on (a low-downtime migration's
    /// production before its clone is taken; the new version once it is live).
    StartCapture {
        env: Env,
    },
    /// End `env`'s capture, removing what it installed. Writes after this are not replayable.
    StopCapture {
        env: Env,
    },
    /// Apply the writes captured on `from` to `into`'s copy of each database (going on after
    /// those an earlier replay of the same capture applied there), then move its id counters
    /// past every captured id. With `drop_unknown_columns`, values for columns
    /// `into` has no place for are left out (a rollback into the old schema, acknowledged
    /// before approval); without, such a write stops the replay.
    ReplayChanges {
        from: Env,
        into: Env,
        drop_unknown_columns: bool,
    },
    /// Measure what `env`'s schema has that `against`'s lacks and the reverse (the
    /// migration's effect on what a cutover and a rollback can replay); changes nothing.
    CompareSchemas {
        env: Env,
        against: Env,
    },
    /// Store that this candidate and document version passed a rehearsal on a clone.
    RecordRehearsal {
        candidate_sha256: String,
        document_version: u32,
    },
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = |sha: &str| sha.get(..8).unwrap_or(sha).to_owned();
        match self {
            Command::CloneEnvironment { from, to } => write!(f, "clone {from} into {to}"),
            Command::DiscardEnvironment { env } => write!(f, "discard {env}"),
            Command::UploadRelease { env, sha256 } => write!(f, "upload {} to {env}", short(sha256)),
            Command::UnpackRelease { env, sha256 } => write!(f, "unpack {} in {env}", short(sha256)),
            Command::ActivateRelease { env, sha256 } => write!(f, "activate {} in {env}", short(sha256)),
            Command::ActivatePreviousRelease { env } => write!(f, "activate the previous release in {env}"),
            Command::StopService { env } => write!(f, "stop {env}"),
            Command::StartService { env } => write!(f, "start {env}"),
            Command::RunStep { env, step, command, timeout_secs } => {
                write!(f, "run step {step} in {env}: `{command}` (timeout {timeout_secs} s)")
            }
            Command::SyncData { from, to, scope } => write!(f, "sync {} from {from} to {to}", scope.as_str()),
            Command::Maintenance { on } => write!(f, "site-down page {}", if *on { "on" } else { "off" }),
            Command::MoveToTemporaryAddress { env } => write!(f, "move {env} to its temporary address"),
            Command::ReturnFromTemporaryAddress { env } => write!(f, "return {env} from its temporary address"),
            Command::SwapAddresses => write!(f, "swap addresses"),
            Command::RouteBack => write!(f, "route every account back to the old version"),
            Command::SetAccountSplit { percent, pinned } if pinned.is_empty() => {
                write!(f, "route {percent} % of accounts to the new version")
            }
            Command::SetAccountSplit { percent, pinned } => {
                write!(f, "route {percent} % of accounts and {} to the new version", pinned.join(", "))
            }
            Command::PointAccounts { env } => write!(f, "point every account at {env}"),
            Command::Hold { on } => write!(f, "hold requests {}", if *on { "on" } else { "off" }),
            Command::SnapshotDatabase { env } => write!(f, "snapshot the {env} database"),
            Command::RestoreSnapshot { env } => write!(f, "restore the {env} database snapshot"),
            Command::HealthCheck { env, path, expect_status, retries } => {
                write!(f, "health check {env} {path} expects {expect_status} ({retries} retries)")
            }
            Command::StartCapture { env } => write!(f, "capture the writes to {env}'s databases"),
            Command::StopCapture { env } => write!(f, "stop capturing {env}'s writes"),
            Command::ReplayChanges { from, into, drop_unknown_columns: false } => {
                write!(f, "replay the writes captured on {from} into {into}")
            }
            Command::ReplayChanges { from, into, drop_unknown_columns: true } => {
                write!(f, "replay the writes captured on {from} into {into}, leaving out columns {into} has no place for")
            }
            Command::CompareSchemas { env, against } => write!(f, "compare {env}'s schema with {against}'s"),
            Command::Wait { seconds } => write!(f, "watch for {seconds} s"),
            Command::RecordRehearsal { candidate_sha256, document_version } => {
                write!(f, "record the rehearsal of {} with document v{document_version}", short(candidate_sha256))
            }
        }
    }
}

/// Requests and 5xx responses a version served during a watch window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Counters {
    pub requests: u64,
    pub errors_5xx: u64,
}

impl Counters {
    /// The 5xx rate in percent; no traffic counts as no errors.
    pub fn error_percent(self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors_5xx as f64 * 100.0 / self.requests as f64
        }
    }
}

/// What happened, as the engine and the people involved report it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    CommandSucceeded {
        output: String,
    },
    CommandFailed {
        output: String,
    },
    /// The answer to [`Command::HealthCheck`] after its retries.
    HealthChecked {
        healthy: bool,
        detail: String,
    },
    Approved {
        by: Actor,
        comment: String,
    },
    Rejected {
        by: Actor,
        comment: String,
    },
    /// The customer marks the rehearsed candidate ready, or confirms production at its
    /// temporary address.
    CustomerConfirmed {
        by: Actor,
        comment: String,
    },
    CountersObserved {
        old: Counters,
        new: Counters,
    },
    TimerElapsed,
    RollbackRequested {
        by: Actor,
        reason: String,
    },
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::CommandSucceeded { .. } => "command success",
            Event::CommandFailed { .. } => "command failure",
            Event::HealthChecked { .. } => "health check result",
            Event::Approved { .. } => "approval",
            Event::Rejected { .. } => "rejection",
            Event::CustomerConfirmed { .. } => "customer confirmation",
            Event::CountersObserved { .. } => "counter reading",
            Event::TimerElapsed => "elapsed timer",
            Event::RollbackRequested { .. } => "rollback request",
        }
    }
}
