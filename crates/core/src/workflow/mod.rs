//! The release workflows as pure state machines: `step(state, event) -> (state, commands)`.
//!
//! Every release is two runs of its patch document. The rehearsal clones production, runs the
//! document's deploys, commands and health checks on the clone, waits for the customer to mark
//! it ready and records the rehearsal. The production run is refused unless a passed rehearsal
//! of the same candidate and document version is on record; it then follows its workflow:
//!
//! - no-migration: support approves, requests are held while data changed since the clone is
//!   synced into the rehearsed clone, the addresses swap, the old production is kept; its
//!   rollback swaps back and, with requests still held, syncs the data written since back;
//! - migration: production goes to its temporary address behind the site-down page, the
//!   document runs on it (after a database snapshot), the customer confirms, it returns live;
//! - minor patch: stop, apply, restart;
//! - blue-green: the new version beside the old, untouched one; rollback swaps back and
//!   restores the pre-migration snapshot when the database changed;
//! - low-downtime migration: production keeps serving while a clone is migrated and checked;
//!   its writes are captured and replayed into the clone during a short hold, the cutover, and
//!   the new version's writes are captured after it, so a rollback replays them back;
//! - rollout: pinned test accounts, then each stage watched; a worse 5xx rate halts it and
//!   routes every account back; once every account runs the new version, the public address
//!   moves to it too (requests held), so the next release starts from the new version.
//!
//! Any failure, rejection or rollback request runs the undo commands of what completed, newest
//! first, back to the last working configuration. An executor (the engine) performs commands
//! and reports [`Event`]s; nothing here does IO.

mod command;
mod cutover;
mod machine;
mod plan;
pub mod policy;

#[cfg(test)]
mod explore_tests;
#[cfg(test)]
mod transcript_tests;
#[cfg(test)]
mod world;

pub use command::{Command, Counters, Env, Event};
pub use machine::{Outcome, RollbackCause, State, Transition, ROLLBACK_ATTEMPTS};
pub use plan::Stage;
pub use policy::{Actor, Refusal, RehearsalRecord, Submitter};

use crate::patch::{PatchDocument, WorkflowKind};
use serde::{Deserialize, Serialize};

/// Which run of a document a [`Release`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Run {
    Rehearsal,
    Production,
}

/// What a production run needs besides its document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseConfig {
    /// The user who submitted the release; they cannot approve it.
    pub submitted_by: Submitter,
    /// Accounts routed first in a rollout (e.g. those tagged beta).
    pub pinned_accounts: Vec<String>,
    /// Rehearsals on record for this site, from the store.
    pub rehearsals: Vec<RehearsalRecord>,
}

/// One run of a release: its compiled stages and who submitted it. Rebuilt from the stored
/// document and config on resume; the journaled [`State`] says where it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub run: Run,
    pub workflow: WorkflowKind,
    /// The submitter's display name when they submitted, for messages.
    pub submitted_by: String,
    /// The submitter's user id, which decides who may approve; 0 for releases journaled
    /// before users were recorded by id.
    #[serde(default)]
    pub submitted_by_id: i64,
    pub stages: Vec<Stage>,
}

impl Release {
    /// The rehearsal of `doc` on a fresh clone of production.
    pub fn rehearsal(doc: &PatchDocument, submitted_by: &Submitter) -> Release {
        Release {
            run: Run::Rehearsal,
            workflow: doc.workflow,
            submitted_by: submitted_by.name.clone(),
            submitted_by_id: submitted_by.user_id,
            stages: plan::rehearsal(doc),
        }
    }

    /// The production run of `doc`, refused unless this candidate and document version passed
    /// a rehearsal.
    pub fn production(doc: &PatchDocument, config: &ReleaseConfig) -> Result<Release, Refusal> {
        policy::check_rehearsed(&config.rehearsals, &doc.candidate_sha256, doc.version)?;
        Ok(Release {
            run: Run::Production,
            workflow: doc.workflow,
            submitted_by: config.submitted_by.name.clone(),
            submitted_by_id: config.submitted_by.user_id,
            stages: plan::production(doc, &config.pinned_accounts),
        })
    }

    /// The first state and the commands to perform for it.
    pub fn start(&self) -> (State, Vec<Command>) {
        machine::enter(&self.stages, 0, vec![])
    }

    /// What the run waits for in `state`, as a live view or a refusal shows it.
    pub fn waiting_for(&self, state: &State) -> String {
        state.waiting_for(&self.stages)
    }

    /// The transition function. A refused event leaves the state as it was.
    pub fn step(&self, state: &State, event: &Event) -> Transition {
        machine::step(&self.stages, &self.submitter(), state, event)
    }

    /// Who submitted the run, as the approval policy compares them.
    pub fn submitter(&self) -> Submitter {
        Submitter::new(self.submitted_by_id, &self.submitted_by)
    }

    /// Whether the candidate clone this run made still stands once it completed: a rehearsal
    /// removes its clone at its end unless production goes live on it (see `plan::rehearsal`).
    pub fn leaves_its_clone(&self) -> bool {
        let discard = Command::DiscardEnvironment { env: Env::Candidate };
        !matches!(self.stages.last(), Some(Stage::Do { command, .. }) if *command == discard)
    }
}
