//! The one next thing the person looking at a site should do (rehearse, test the candidate at
//! its address, run it in production, approve, confirm, follow a run, or nothing, with why),
//! decided from the site's facts and the person's role. The dashboard and the site page show
//! it; deciding it here keeps every front end saying the same and lets tests explore every
//! role against every state.

use crate::access::{Action, Principal};
use crate::workflow::{Outcome, Release, Run, Stage, State};
use crate::Role;

/// Where a run is, as far as the next action cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// A command is running (or a rollback is under way).
    Working,
    /// Waiting for support's approval.
    AtApproval,
    /// Waiting for the customer: a rehearsal to be tested and marked ready, a production run
    /// to be checked at its temporary address.
    AtConfirmation,
    /// Watching error rates.
    Watching,
    /// A rollback command kept failing; a rollback request retries it.
    Stalled,
    /// Every stage done.
    Completed,
    /// Ended other than completed.
    Ended(Outcome),
}

impl Phase {
    /// The phase of `release` in `state`.
    pub fn of(release: &Release, state: &State) -> Phase {
        match state {
            State::Running { stage, .. } => match release.stages.get(*stage) {
                Some(Stage::Approval) => Phase::AtApproval,
                Some(Stage::Confirmation) => Phase::AtConfirmation,
                Some(Stage::Watch { .. }) => Phase::Watching,
                _ => Phase::Working,
            },
            State::RollingBack { .. } => Phase::Working,
            State::RollbackStalled { .. } => Phase::Stalled,
            State::Completed { .. } => Phase::Completed,
            State::RolledBack { .. } => Phase::Ended(state.outcome().unwrap_or(Outcome::Failed)),
        }
    }
}

/// The newest run of a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatestRun {
    pub release_id: i64,
    pub run: Run,
    pub submitted_by_id: i64,
    pub document_version: i64,
    pub phase: Phase,
}

/// What the rule knows about a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteFacts {
    /// The customer who owns the site.
    pub owner: i64,
    /// Whether production serves something (a go-live or an adoption finished).
    pub live: bool,
    pub latest: Option<LatestRun>,
    /// The newest saved patch document version, if any.
    pub newest_document: Option<i64>,
    /// The document version of the last production run that completed, if any.
    pub released_document: Option<i64>,
}

/// The person looking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub principal: Principal,
    pub user_id: i64,
}

/// The one next action, each naming what it is done on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextAction {
    /// Support puts the site live (its first deployment).
    GoLive,
    /// Rehearse this document version on a clone of production.
    Rehearse {
        document_version: i64,
    },
    /// The customer tests the rehearsal at the candidate's address and marks it ready.
    Test {
        release_id: i64,
    },
    /// Support starts the production run of a rehearsal that passed.
    RunInProduction {
        release_id: i64,
    },
    Approve {
        release_id: i64,
    },
    /// The customer checks production at its temporary address and confirms.
    Confirm {
        release_id: i64,
    },
    /// Support requests a rollback again to retry a stalled one.
    RetryRollback {
        release_id: i64,
    },
    /// A run is under way; follow it.
    Follow {
        release_id: i64,
    },
    /// Nothing for this person now, and why (whom it waits for, or that all is done).
    Nothing {
        why: String,
    },
}

impl NextAction {
    /// A short machine name, for the wire and for tests: `rehearse`, `approve`, `nothing`…
    pub fn as_str(&self) -> &'static str {
        match self {
            NextAction::GoLive => "go-live",
            NextAction::Rehearse { .. } => "rehearse",
            NextAction::Test { .. } => "test",
            NextAction::RunInProduction { .. } => "run-in-production",
            NextAction::Approve { .. } => "approve",
            NextAction::Confirm { .. } => "confirm",
            NextAction::RetryRollback { .. } => "retry-rollback",
            NextAction::Follow { .. } => "follow",
            NextAction::Nothing { .. } => "nothing",
        }
    }

    /// The release it is done on, if it is done on one.
    pub fn release_id(&self) -> Option<i64> {
        match self {
            NextAction::Test { release_id }
            | NextAction::RunInProduction { release_id }
            | NextAction::Approve { release_id }
            | NextAction::Confirm { release_id }
            | NextAction::RetryRollback { release_id }
            | NextAction::Follow { release_id } => Some(*release_id),
            _ => None,
        }
    }

    /// What to do, as a sentence for the person.
    pub fn words(&self) -> String {
        match self {
            NextAction::GoLive => "Put the site live from an uploaded candidate.".into(),
            NextAction::Rehearse { document_version } => {
                format!("Rehearse patch document v{document_version} on a copy of production.")
            }
            NextAction::Test { release_id } => {
                format!("Test release #{release_id} at its test address, then mark it tested and ready.")
            }
            NextAction::RunInProduction { release_id } => {
                format!("Rehearsal #{release_id} passed and was marked ready: run it in production.")
            }
            NextAction::Approve { release_id } => format!("Approve or reject production run #{release_id}."),
            NextAction::Confirm { release_id } => {
                format!("Check production run #{release_id} at its temporary address, then confirm it.")
            }
            NextAction::RetryRollback { release_id } => {
                format!("The rollback of release #{release_id} stalled: request the rollback again to retry it.")
            }
            NextAction::Follow { release_id } => format!("Release #{release_id} is running: follow it."),
            NextAction::Nothing { why } => why.clone(),
        }
    }
}

fn nothing(why: String) -> NextAction {
    NextAction::Nothing { why }
}

/// The next action for `viewer` on the site of `facts`.
pub fn next_action(viewer: &Viewer, facts: &SiteFacts) -> NextAction {
    let role = viewer.principal.role;
    let prepares = viewer.principal.may(Action::PrepareRelease { owner: facts.owner }).is_ok();
    let runs = viewer.principal.may(Action::RunRelease).is_ok();
    // A site that was never put live has no runs; a go-live comes first.
    if !facts.live && runs {
        return NextAction::GoLive;
    }
    if !facts.live {
        return nothing("The site is not live yet; support staff put it live from an uploaded candidate.".into());
    }
    if let Some(latest) = facts.latest {
        let id = latest.release_id;
        match (latest.phase, latest.run) {
            (Phase::Working | Phase::Watching, _) => return NextAction::Follow { release_id: id },
            (Phase::AtApproval, _) if runs && latest.submitted_by_id == viewer.user_id => {
                return nothing(format!("You submitted production run #{id}; another support member must approve it."))
            }
            (Phase::AtApproval, _) if runs => return NextAction::Approve { release_id: id },
            (Phase::AtApproval, _) => return nothing(format!("Production run #{id} waits for support's approval.")),
            (Phase::AtConfirmation, Run::Rehearsal) if role == Role::Customer && prepares => return NextAction::Test { release_id: id },
            (Phase::AtConfirmation, Run::Production) if role == Role::Customer && prepares => {
                return NextAction::Confirm { release_id: id }
            }
            (Phase::AtConfirmation, Run::Rehearsal) => {
                return nothing(format!("Rehearsal #{id} waits for the customer to test it and mark it ready."))
            }
            (Phase::AtConfirmation, Run::Production) => {
                return nothing(format!("Production run #{id} waits for the customer to check it and confirm."))
            }
            (Phase::Stalled, _) if runs => return NextAction::RetryRollback { release_id: id },
            (Phase::Stalled, _) => return nothing(format!("The rollback of release #{id} stalled; support staff are retrying it.")),
            (Phase::Completed, Run::Rehearsal) if runs => return NextAction::RunInProduction { release_id: id },
            (Phase::Completed, Run::Rehearsal) => {
                return nothing(format!("Rehearsal #{id} passed; support staff run it in production next."))
            }
            // A production run that completed, or any run that ended otherwise: the next
            // release starts from a document.
            (Phase::Completed, Run::Production) | (Phase::Ended(_), _) => {}
        }
    }
    let newer = match (facts.newest_document, facts.released_document) {
        (Some(newest), Some(released)) if newest > released => Some(newest),
        (Some(newest), None) => Some(newest),
        _ => None,
    };
    match newer {
        Some(document_version) if prepares => NextAction::Rehearse { document_version },
        Some(version) => nothing(format!("Patch document v{version} is ready; the customer or support rehearses it next.")),
        None if prepares => nothing("Production runs the newest patch document; write a new one for the next release.".into()),
        None => nothing("Production runs the newest patch document; nothing waits.".into()),
    }
}

#[cfg(test)]
#[path = "next_action_tests.rs"]
mod tests;
