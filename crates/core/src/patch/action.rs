//! The typed vocabulary of a patch document: workflow kinds, step actions and their names.

use crate::Role;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which release procedure a document follows; each has its own ordering rules and machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkflowKind {
    NoMigration,
    Migration,
    MinorPatch,
    BlueGreen,
    Rollout,
    /// A migration run on a fresh clone while production stays live; at the cutover the
    /// writes captured on production since the clone are replayed into the migrated copy, and
    /// after it the new version's writes are captured so a rollback keeps them.
    LowDowntimeMigration,
}

impl WorkflowKind {
    pub const ALL: [WorkflowKind; 6] =
        [Self::NoMigration, Self::Migration, Self::MinorPatch, Self::BlueGreen, Self::Rollout, Self::LowDowntimeMigration];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoMigration => "no-migration",
            Self::Migration => "migration",
            Self::MinorPatch => "minor-patch",
            Self::BlueGreen => "blue-green",
            Self::Rollout => "rollout",
            Self::LowDowntimeMigration => "low-downtime-migration",
        }
    }
}

impl fmt::Display for WorkflowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WorkflowKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            format!("unknown workflow {s:?}; use no-migration, migration, low-downtime-migration, minor-patch, blue-green or rollout")
        })
    }
}

/// What a data sync copies from production into the new environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncScope {
    Files,
    Database,
    All,
}

impl SyncScope {
    pub const ALL: [SyncScope; 3] = [Self::Files, Self::Database, Self::All];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Files => "files",
            Self::Database => "database",
            Self::All => "all",
        }
    }
}

/// One typed action. Durations are whole seconds; rates are percentage points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// Upload, unpack and activate the candidate in the workflow's target environment.
    DeployCandidate,
    /// A shell command in the target environment's current release; `migration` marks the
    /// step that changes the database schema, which the ordering rules care about.
    /// `compatible_with_previous` marks a migration as an expand step: it only adds (tables,
    /// nullable or defaulted columns), so the previous release keeps working on the migrated
    /// schema. Blue-green and rollout share one database between the two versions and take
    /// only such migrations; destructive changes wait for a later migration release.
    RunCommand {
        command: String,
        timeout_secs: u32,
        migration: bool,
        #[serde(default)]
        compatible_with_previous: bool,
    },
    /// Copy live data changed since the clone from production into the new environment.
    SyncData {
        scope: SyncScope,
    },
    /// The public address serves the site-down page (`on`) or the site again.
    SiteDownPage {
        on: bool,
    },
    /// Production keeps serving, but at its temporary address for the customer's checks.
    MoveToTemporaryAddress,
    /// The public address and the other environment's address trade places.
    SwapAddresses,
    HealthCheck {
        path: String,
        expect_status: u16,
        retries: u32,
    },
    /// Waits for a person: `support` approves, `customer` confirms.
    ApprovalGate {
        role: Role,
    },
    /// Waits for `duration_secs` while comparing per-version 5xx rates.
    WaitAndWatch {
        duration_secs: u32,
        max_5xx_increase: f64,
    },
    /// Routes `percent` of customer accounts (stable by account) to the new version.
    RolloutStage {
        percent: u8,
    },
}

impl Action {
    /// The name written as `action = "..."` in TOML.
    pub fn name(&self) -> &'static str {
        match self {
            Self::DeployCandidate => "deploy-candidate",
            Self::RunCommand { .. } => "run-command",
            Self::SyncData { .. } => "sync-data",
            Self::SiteDownPage { .. } => "site-down-page",
            Self::MoveToTemporaryAddress => "move-to-temporary-address",
            Self::SwapAddresses => "swap-addresses",
            Self::HealthCheck { .. } => "health-check",
            Self::ApprovalGate { .. } => "approval-gate",
            Self::WaitAndWatch { .. } => "wait-and-watch",
            Self::RolloutStage { .. } => "rollout-stage",
        }
    }

    pub const NAMES: [&'static str; 10] = [
        "deploy-candidate",
        "run-command",
        "sync-data",
        "site-down-page",
        "move-to-temporary-address",
        "swap-addresses",
        "health-check",
        "approval-gate",
        "wait-and-watch",
        "rollout-stage",
    ];

    /// The keys each action accepts besides `action`, `note` and `rollback`, for advice.
    pub fn keys(name: &str) -> &'static [&'static str] {
        match name {
            "run-command" => &["command", "timeout_secs", "migration", "compatible_with_previous"],
            "sync-data" => &["scope"],
            "site-down-page" => &["on"],
            "health-check" => &["path", "expect_status", "retries"],
            "approval-gate" => &["role"],
            "wait-and-watch" => &["duration_secs", "max_5xx_increase"],
            "rollout-stage" => &["percent"],
            _ => &[],
        }
    }

    /// True for the step that changes the database schema.
    pub fn is_migration(&self) -> bool {
        matches!(self, Self::RunCommand { migration: true, .. })
    }

    /// True for a migration the previous release can run on (an expand step).
    pub fn is_expand_migration(&self) -> bool {
        matches!(self, Self::RunCommand { migration: true, compatible_with_previous: true, .. })
    }

    /// A command that is not a migration (`migration = false`).
    pub fn command(command: &str, timeout_secs: u32) -> Action {
        Action::RunCommand { command: command.into(), timeout_secs, migration: false, compatible_with_previous: false }
    }

    /// A migration; `compatible_with_previous` says whether it is an expand step.
    pub fn migration(command: &str, timeout_secs: u32, compatible_with_previous: bool) -> Action {
        Action::RunCommand { command: command.into(), timeout_secs, migration: true, compatible_with_previous }
    }
}

/// One step of a document: an action, an optional note for reviewers, and what undoes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub action: Action,
    pub note: Option<String>,
    pub rollback: Option<Action>,
}

impl Step {
    pub fn new(action: Action) -> Self {
        Self { action, note: None, rollback: None }
    }

    pub fn note(mut self, note: &str) -> Self {
        self.note = Some(note.to_owned());
        self
    }

    pub fn rollback(mut self, rollback: Action) -> Self {
        self.rollback = Some(rollback);
        self
    }
}
