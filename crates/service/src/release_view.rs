//! A release's journal as people read it: the stages with where the release is, the timeline
//! of what happened with each command's output, and the decisions people took.

use std::collections::HashMap;
use switchyard_api::{DecisionRecord, StageView, TimelineEntry};
use switchyard_core::workflow::{Actor, Command, Event, Release, RollbackCause, Stage, State};
use switchyard_store::TransitionRecord;

/// `running`, `waiting` (for a person), `completed`, `rolled-back` or `stalled`.
pub(crate) fn status_word(release: &Release, state: &State) -> &'static str {
    match state {
        State::Running { stage, .. } => match release.stages.get(*stage) {
            Some(Stage::Approval | Stage::Confirmation) => "waiting",
            _ => "running",
        },
        State::RollingBack { .. } => "running",
        State::RollbackStalled { .. } => "stalled",
        State::Completed { .. } => "completed",
        State::RolledBack { .. } => "rolled-back",
    }
}

/// How a run ended, named by what happened (`completed`, `failed at step 4 of 9 (health
/// check …): …`, `rejected by sam: …`, `rolled back by sam: …`), or what it waits for while
/// it runs. The step a failure stopped at comes from the journal's states, when given.
pub(crate) fn outcome_words(release: &Release, state: &State, journal_states: Option<&[State]>) -> String {
    let State::RolledBack { reason, cause } = state else {
        return match state {
            State::Completed { .. } => "completed".into(),
            _ => release.waiting_for(state),
        };
    };
    match cause {
        RollbackCause::Failed => match journal_states.and_then(furthest_stage) {
            Some(index) => {
                let title = release.stages.get(index).map(stage_title).unwrap_or_default();
                format!("failed at step {} of {} ({title}): {reason}", index + 1, release.stages.len())
            }
            None => format!("failed: {reason}"),
        },
        RollbackCause::Rejected if reason.starts_with("rejected") => reason.clone(),
        RollbackCause::Rejected => format!("rejected: {reason}"),
        RollbackCause::Requested => match reason.strip_prefix("rollback requested by ") {
            Some(rest) => format!("rolled back by {rest}"),
            None => format!("rolled back: {reason}"),
        },
    }
}

fn stage_title(stage: &Stage) -> String {
    match stage {
        Stage::Do { command, .. } => command.to_string(),
        Stage::Approval => "support's approval".into(),
        Stage::Confirmation => "the customer's confirmation".into(),
        Stage::Watch { duration_secs, max_5xx_increase } => {
            format!("watch error rates for {duration_secs} s (halt above +{max_5xx_increase} points of 5xx)")
        }
    }
}

/// The furthest stage the release entered, from its journal.
fn furthest_stage(states: &[State]) -> Option<usize> {
    states.iter().filter_map(|s| if let State::Running { stage, .. } = s { Some(*stage) } else { None }).max()
}

pub(crate) fn stages(release: &Release, state: &State, journal_states: &[State]) -> Vec<StageView> {
    let reached = furthest_stage(journal_states);
    release
        .stages
        .iter()
        .enumerate()
        .map(|(index, stage)| {
            let status = match state {
                State::Running { stage: now, .. } if index < *now => "done",
                State::Running { stage: now, .. } if index == *now => match stage {
                    Stage::Approval | Stage::Confirmation => "waiting",
                    _ => "running",
                },
                State::Running { .. } => "pending",
                State::Completed { .. } => "done",
                State::RollingBack { .. } | State::RollbackStalled { .. } | State::RolledBack { .. } => match reached {
                    Some(furthest) if index <= furthest => "undone",
                    _ => "pending",
                },
            };
            StageView { index, title: stage_title(stage), status: status.into() }
        })
        .collect()
}

/// People's usernames now by user id: a decision shows who took it under their current name.
pub(crate) type Names = HashMap<i64, String>;

/// The actor's current name, or the name they acted under once the user is gone (or for a
/// decision journaled before ids were kept).
fn name<'a>(names: &'a Names, by: &'a Actor) -> &'a str {
    names.get(&by.user_id).map_or(by.user.as_str(), String::as_str)
}

/// `(what happened, its output)` in words.
fn describe(event: &Event, names: &Names) -> (String, String) {
    let by = |actor| name(names, actor);
    match event {
        Event::CommandSucceeded { output } => ("done".into(), output.clone()),
        Event::CommandFailed { output } => ("failed".into(), output.clone()),
        Event::HealthChecked { healthy: true, detail } => ("health check passed".into(), detail.clone()),
        Event::HealthChecked { healthy: false, detail } => ("health check failed".into(), detail.clone()),
        Event::Approved { by: who, comment } => (format!("approved by {}", by(who)), comment.clone()),
        Event::Rejected { by: who, comment } => (format!("rejected by {}", by(who)), comment.clone()),
        Event::CustomerConfirmed { by: who, comment } => (format!("confirmed by {}", by(who)), comment.clone()),
        Event::RollbackRequested { by: who, reason } => (format!("rollback requested by {}", by(who)), reason.clone()),
        Event::CountersObserved { old, new } => (
            "error rates observed".into(),
            format!("old version {}/{} 5xx, new version {}/{} 5xx", old.errors_5xx, old.requests, new.errors_5xx, new.requests),
        ),
        Event::TimerElapsed => ("watch window ended".into(), String::new()),
    }
}

fn decision(event: &Event, at: &str, names: &Names) -> Option<DecisionRecord> {
    let (by, word, comment) = match event {
        Event::Approved { by, comment } => (by, "approved", comment),
        Event::Rejected { by, comment } => (by, "rejected", comment),
        Event::CustomerConfirmed { by, comment } => (by, "confirmed", comment),
        Event::RollbackRequested { by, reason } => (by, "rollback requested", reason),
        _ => return None,
    };
    Some(DecisionRecord {
        at: at.to_owned(),
        by: name(names, by).to_owned(),
        role: by.role.to_string(),
        decision: word.into(),
        comment: comment.clone(),
    })
}

/// The commands a transition sent, in words. The engine journals them with their operation
/// ids as `[{"op_id", "command"}]`.
fn commands(text: &str) -> Vec<String> {
    let Ok(items) = serde_json::from_str::<Vec<serde_json::Value>>(text) else { return Vec::new() };
    items
        .into_iter()
        .filter_map(|item| serde_json::from_value::<Command>(item.get("command")?.clone()).ok())
        .map(|command| command.to_string())
        .collect()
}

/// The journal read: each transition's state, the timeline and the decisions, oldest first.
pub(crate) fn read_journal(journal: &[TransitionRecord], names: &Names) -> (Vec<State>, Vec<TimelineEntry>, Vec<DecisionRecord>) {
    let mut states = Vec::new();
    let mut timeline = Vec::new();
    let mut decisions = Vec::new();
    for t in journal {
        if let Ok(state) = serde_json::from_str::<State>(&t.state) {
            states.push(state);
        }
        let event = t.event.as_deref().and_then(|e| serde_json::from_str::<Event>(e).ok());
        let (what, output) = match &event {
            Some(event) => describe(event, names),
            None => ("started".into(), String::new()),
        };
        if let Some(d) = event.as_ref().and_then(|e| decision(e, &t.at, names)) {
            decisions.push(d);
        }
        timeline.push(TimelineEntry { seq: t.seq, at: t.at.clone(), event: what, output, commands: commands(&t.commands) });
    }
    (states, timeline, decisions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_core::workflow::{Actor, Env};
    use switchyard_core::Role;

    fn release() -> Release {
        Release {
            run: switchyard_core::workflow::Run::Production,
            workflow: switchyard_core::WorkflowKind::MinorPatch,
            submitted_by: "sue".into(),
            submitted_by_id: 1,
            stages: vec![
                Stage::Approval,
                Stage::Do { command: Command::StopService { env: Env::Production }, undo: vec![] },
                Stage::Confirmation,
            ],
        }
    }

    #[test]
    fn a_release_at_a_gate_is_waiting_with_earlier_stages_done() {
        let state = State::Running { stage: 2, undo: vec![] };
        let views = stages(&release(), &state, std::slice::from_ref(&state));
        let statuses: Vec<&str> = views.iter().map(|v| v.status.as_str()).collect();
        assert_eq!(statuses, ["done", "done", "waiting"]);
        assert_eq!(status_word(&release(), &state), "waiting");
        assert_eq!(views[0].title, "support's approval");
    }

    #[test]
    fn a_rolled_back_release_shows_what_it_undid() {
        let reached = State::Running { stage: 1, undo: vec![] };
        let state = State::RolledBack { reason: "health check failed".into(), cause: Default::default() };
        let statuses: Vec<String> = stages(&release(), &state, &[reached, state.clone()]).into_iter().map(|v| v.status).collect();
        assert_eq!(statuses, ["undone", "undone", "pending"]);
        assert_eq!(status_word(&release(), &state), "rolled-back");
    }

    #[test]
    fn how_a_run_ended_is_named_by_what_happened() {
        let release = release();
        let ended = |reason: &str, cause| State::RolledBack { reason: reason.into(), cause };
        assert_eq!(outcome_words(&release, &State::Completed { undo: vec![] }, None), "completed");
        // A failure names the step it stopped at, from the journal.
        let reached = [State::Running { stage: 0, undo: vec![] }, State::Running { stage: 1, undo: vec![] }];
        let failed = ended("`stop production` failed: exit 1", RollbackCause::Failed);
        assert_eq!(
            outcome_words(&release, &failed, Some(&reached)),
            format!("failed at step 2 of 3 ({}): `stop production` failed: exit 1", stage_title(&release.stages[1]))
        );
        assert_eq!(outcome_words(&release, &ended("rejected by sam: not now", RollbackCause::Rejected), None), "rejected by sam: not now");
        let asked = ended("rollback requested by sam: checkout is slow", RollbackCause::Requested);
        assert_eq!(outcome_words(&release, &asked, None), "rolled back by sam: checkout is slow");
        let waiting = State::Running { stage: 0, undo: vec![] };
        assert_eq!(outcome_words(&release, &waiting, None), "waiting for support's approval");
    }

    #[test]
    fn decisions_and_outputs_come_from_the_journal() {
        let approved = Event::Approved { by: Actor::new(2, "sam", Role::Support), comment: "go".into() };
        let journal = vec![
            TransitionRecord {
                release_id: 1,
                seq: 0,
                event: None,
                state: serde_json::to_string(&State::Running { stage: 0, undo: vec![] }).unwrap(),
                commands: "[]".into(),
                at: "t0".into(),
            },
            TransitionRecord {
                release_id: 1,
                seq: 1,
                event: Some(serde_json::to_string(&approved).unwrap()),
                state: serde_json::to_string(&State::Running { stage: 1, undo: vec![] }).unwrap(),
                commands: serde_json::json!([{"op_id": "x-1-0", "command": Command::StopService { env: Env::Production }}]).to_string(),
                at: "t1".into(),
            },
        ];
        let (states, timeline, decisions) = read_journal(&journal, &Names::from([(2, "samuel".to_owned())]));
        assert_eq!(states.len(), 2);
        assert_eq!(timeline[0].event, "started");
        // Sam renamed himself since: the decision shows his name now.
        assert_eq!(timeline[1].event, "approved by samuel");
        assert_eq!(decisions[0].by, "samuel");
        assert_eq!(timeline[1].output, "go");
        assert_eq!(timeline[1].commands.len(), 1);
        assert_eq!(decisions[0].decision, "approved");
        assert_eq!(decisions[0].role, "support");
    }
}
