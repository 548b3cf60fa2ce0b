//! The transition function shared by every run: given the compiled stages, a state and an
//! event, the next state and the commands to perform. Every failure turns into a rollback
//! through the undo commands of the stages that completed, newest first.

use super::command::{Command, Event};
use super::plan::Stage;
use super::policy::{self, Refusal, Submitter};
use crate::Role;
use serde::{Deserialize, Serialize};

/// How many times a failed rollback command is retried before an operator is asked.
pub const ROLLBACK_ATTEMPTS: u8 = 3;

/// Where a run is. Small and serialisable, so the engine journals it before acting.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum State {
    /// Waiting on stage `stage`: its command's result, a person, or a watch window.
    /// `undo` holds what reverses the completed stages, oldest first (each stage's own undo
    /// commands reversed, so that running the list backwards runs them in their order).
    Running { stage: usize, undo: Vec<Command> },
    /// Reversing: `remaining[0]` is in flight.
    RollingBack {
        reason: String,
        #[serde(default)]
        cause: RollbackCause,
        remaining: Vec<Command>,
        attempt: u8,
    },
    /// A rollback command kept failing; a rollback request from an operator retries it.
    RollbackStalled {
        reason: String,
        #[serde(default)]
        cause: RollbackCause,
        remaining: Vec<Command>,
        output: String,
    },
    /// Every stage done. The previous configuration is kept, so it can still be rolled back.
    Completed { undo: Vec<Command> },
    /// Back on the last working configuration.
    RolledBack {
        reason: String,
        #[serde(default)]
        cause: RollbackCause,
    },
}

/// Why a run is being (or was) rolled back: what history counts it as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RollbackCause {
    /// A step, a health check or a watch window failed it (a run journaled before causes
    /// were recorded reads as this).
    #[default]
    Failed,
    /// Support rejected it at the approval, or the customer at the confirmation.
    Rejected,
    /// Someone asked for the rollback.
    Requested,
}

/// How a run ended, as history, its figures and its export name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Completed,
    Failed,
    Rejected,
    /// Rolled back because someone asked, before or after it completed.
    RolledBack,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [Outcome::Completed, Outcome::Failed, Outcome::Rejected, Outcome::RolledBack];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Failed => "failed",
            Outcome::Rejected => "rejected",
            Outcome::RolledBack => "rolled-back",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// The outcome of a run rolled back for `cause`.
    pub fn of_rollback(cause: RollbackCause) -> Outcome {
        match cause {
            RollbackCause::Failed => Outcome::Failed,
            RollbackCause::Rejected => Outcome::Rejected,
            RollbackCause::Requested => Outcome::RolledBack,
        }
    }
}

impl State {
    /// How the run ended; `None` while it is under way (a rollback in progress included).
    pub fn outcome(&self) -> Option<Outcome> {
        match self {
            State::Completed { .. } => Some(Outcome::Completed),
            State::RolledBack { cause, .. } => Some(Outcome::of_rollback(*cause)),
            _ => None,
        }
    }

    pub fn is_final(&self) -> bool {
        matches!(self, State::Completed { .. } | State::RolledBack { .. })
    }

    pub(super) fn waiting_for(&self, stages: &[Stage]) -> String {
        match self {
            State::Running { stage, .. } => match &stages[*stage] {
                Stage::Do { command, .. } => format!("waiting for `{command}`"),
                Stage::Approval => "waiting for support's approval".into(),
                Stage::Confirmation => "waiting for the customer's confirmation".into(),
                Stage::Watch { .. } => "watching error rates".into(),
            },
            State::RollingBack { remaining, .. } => format!("rolling back, waiting for `{}`", remaining[0]),
            State::RollbackStalled { .. } => "stalled in its rollback; request a rollback to retry".into(),
            State::Completed { .. } | State::RolledBack { .. } => self.final_words().unwrap_or_default().into(),
        }
    }

    /// What a final state waits for, in words; `None` while the run is under way.
    pub fn final_words(&self) -> Option<&'static str> {
        match self {
            State::Completed { .. } => Some("completed; only a rollback request is accepted"),
            State::RolledBack { .. } => Some("rolled back and finished"),
            _ => None,
        }
    }
}

pub type Transition = Result<(State, Vec<Command>), Refusal>;

/// Enters stage `next` (or completes), returning the commands that stage needs.
pub fn enter(stages: &[Stage], next: usize, undo: Vec<Command>) -> (State, Vec<Command>) {
    match stages.get(next) {
        None => (State::Completed { undo }, vec![]),
        Some(Stage::Do { command, .. }) => (State::Running { stage: next, undo }, vec![command.clone()]),
        Some(Stage::Approval | Stage::Confirmation) => (State::Running { stage: next, undo }, vec![]),
        Some(Stage::Watch { duration_secs, .. }) => (State::Running { stage: next, undo }, vec![Command::Wait { seconds: *duration_secs }]),
    }
}

/// Starts reversing `undo` (oldest first), newest first.
fn roll_back(reason: String, cause: RollbackCause, undo: &[Command]) -> (State, Vec<Command>) {
    let remaining: Vec<Command> = undo.iter().rev().cloned().collect();
    match remaining.first() {
        None => (State::RolledBack { reason, cause }, vec![]),
        Some(first) => {
            let first = first.clone();
            (State::RollingBack { reason, cause, remaining, attempt: 1 }, vec![first])
        }
    }
}

pub fn step(stages: &[Stage], submitted_by: &Submitter, state: &State, event: &Event) -> Transition {
    let unexpected = || Refusal::Unexpected { event: event.name(), waiting_for: state.waiting_for(stages) };
    match state {
        State::Running { stage, undo } => {
            if let Event::RollbackRequested { by, reason } = event {
                return Ok(roll_back(format!("rollback requested by {}: {reason}", by.user), RollbackCause::Requested, undo));
            }
            running(stages, submitted_by, *stage, undo, event).unwrap_or_else(|| Err(unexpected()))
        }
        State::RollingBack { reason, cause, remaining, attempt } => match event {
            Event::CommandSucceeded { .. } | Event::HealthChecked { healthy: true, .. } => {
                let rest = remaining[1..].to_vec();
                match rest.first() {
                    None => Ok((State::RolledBack { reason: reason.clone(), cause: *cause }, vec![])),
                    Some(next) => {
                        let next = next.clone();
                        Ok((State::RollingBack { reason: reason.clone(), cause: *cause, remaining: rest, attempt: 1 }, vec![next]))
                    }
                }
            }
            Event::CommandFailed { output } | Event::HealthChecked { healthy: false, detail: output } => {
                if *attempt < ROLLBACK_ATTEMPTS {
                    let retry =
                        State::RollingBack { reason: reason.clone(), cause: *cause, remaining: remaining.clone(), attempt: attempt + 1 };
                    Ok((retry, vec![remaining[0].clone()]))
                } else {
                    let stalled = State::RollbackStalled {
                        reason: reason.clone(),
                        cause: *cause,
                        remaining: remaining.clone(),
                        output: output.clone(),
                    };
                    Ok((stalled, vec![]))
                }
            }
            _ => Err(unexpected()),
        },
        State::RollbackStalled { reason, cause, remaining, .. } => match event {
            Event::RollbackRequested { .. } => {
                let retry = State::RollingBack { reason: reason.clone(), cause: *cause, remaining: remaining.clone(), attempt: 1 };
                Ok((retry, vec![remaining[0].clone()]))
            }
            _ => Err(unexpected()),
        },
        State::Completed { undo } => match event {
            Event::RollbackRequested { by, reason } => {
                Ok(roll_back(format!("rollback requested by {}: {reason}", by.user), RollbackCause::Requested, undo))
            }
            _ => Err(unexpected()),
        },
        State::RolledBack { .. } => Err(unexpected()),
    }
}

/// The events a running stage accepts; `None` when this event does not apply to it.
fn running(stages: &[Stage], submitted_by: &Submitter, index: usize, undo: &[Command], event: &Event) -> Option<Transition> {
    let advance = |extra: &[Command]| {
        let mut undo = undo.to_vec();
        // A rollback runs `undo` newest first; a stage's own undo commands run in their order.
        undo.extend(extra.iter().rev().cloned());
        Ok(enter(stages, index + 1, undo))
    };
    let fail = |reason: String| Ok(roll_back(reason, RollbackCause::Failed, undo));
    let reject = |reason: String| Ok(roll_back(reason, RollbackCause::Rejected, undo));
    Some(match (&stages[index], event) {
        (Stage::Do { command: Command::HealthCheck { .. }, undo: extra }, Event::HealthChecked { healthy, detail }) => {
            if *healthy {
                advance(extra)
            } else {
                fail(format!("health check failed: {detail}"))
            }
        }
        (Stage::Do { command: Command::HealthCheck { .. }, .. }, _) => return None,
        (Stage::Do { undo: extra, .. }, Event::CommandSucceeded { .. }) => advance(extra),
        (Stage::Do { command, .. }, Event::CommandFailed { output }) => fail(format!("`{command}` failed: {output}")),
        (Stage::Approval, Event::Approved { by, .. }) => match policy::may_approve(by, submitted_by) {
            Ok(()) => advance(&[]),
            Err(refusal) => Err(refusal),
        },
        (Stage::Approval, Event::Rejected { by, comment }) if by.role == Role::Support => {
            reject(format!("rejected by {}: {comment}", by.user))
        }
        (Stage::Approval, Event::Rejected { by, .. }) => Err(Refusal::CannotReject { user: by.user.clone(), role: by.role }),
        (Stage::Confirmation, Event::CustomerConfirmed { by, .. }) => match policy::may_confirm(by) {
            Ok(()) => advance(&[]),
            Err(refusal) => Err(refusal),
        },
        (Stage::Confirmation, Event::Rejected { by, comment }) => match policy::may_confirm(by) {
            Ok(()) => reject(format!("the customer {} found a problem: {comment}", by.user)),
            Err(refusal) => Err(refusal),
        },
        (Stage::Watch { max_5xx_increase, .. }, Event::CountersObserved { old, new }) => {
            let (old_rate, new_rate) = (old.error_percent(), new.error_percent());
            if new_rate - old_rate > *max_5xx_increase {
                fail(format!(
                    "halted: the new version's 5xx rate {new_rate:.2} % exceeds the old version's {old_rate:.2} % by more than {max_5xx_increase} points"
                ))
            } else {
                Ok((State::Running { stage: index, undo: undo.to_vec() }, vec![]))
            }
        }
        (Stage::Watch { .. }, Event::TimerElapsed) => advance(&[]),
        _ => return None,
    })
}
