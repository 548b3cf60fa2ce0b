//! What a production run does to visitors' writes, read from the journal: the statement of
//! what a rollback would do (core's words, from the schema comparison this run or its
//! rehearsal journaled), and the record of the writes its cutover and rollback captured,
//! replayed and refused.

use switchyard_core::schema_change::{rollback_statement, RollbackStatement, SchemaDifference};
use switchyard_core::workflow::{Command, Env, Event, Run, State};
use switchyard_engine::capture::{marked, DatabaseReplay, REPLAYED, SCHEMA_DIFFERENCE};
use switchyard_store::TransitionRecord;

use crate::releases::Loaded;
use crate::{Service, ServiceError};

impl Service {
    /// What a rollback of `loaded` would do, from its journal and its rehearsal's.
    pub(crate) async fn rollback_statement_of(
        &self,
        loaded: &Loaded,
        journal: &[TransitionRecord],
    ) -> Result<Option<RollbackStatement>, ServiceError> {
        if loaded.release.run != Run::Production {
            return Ok(None);
        }
        if let Some(closed) = &loaded.record.capture_closed_at {
            return Ok(Some(switchyard_core::schema_change::window_closed_statement(closed)));
        }
        let rehearsal = match self.rehearsal_behind(loaded, &Default::default()).await? {
            Some(rehearsal) => self.store.transitions(rehearsal.release_id).await?,
            None => Vec::new(),
        };
        let window = self.capture_window_hours(loaded.record.site_id).await?;
        Ok(statement(loaded.release.run, loaded.release.workflow, journal, &rehearsal, window))
    }
}

/// Each command the journal sent, with the event that answered it and whether it was sent
/// while rolling back.
fn answered(journal: &[TransitionRecord]) -> Vec<(Command, Option<Event>, bool)> {
    let mut out = Vec::new();
    for (index, t) in journal.iter().enumerate() {
        let rolling_back = matches!(serde_json::from_str::<State>(&t.state), Ok(State::RollingBack { .. }));
        let sent: Vec<serde_json::Value> = serde_json::from_str(&t.commands).unwrap_or_default();
        let answer = journal.get(index + 1).and_then(|next| next.event.as_deref()).and_then(|e| serde_json::from_str::<Event>(e).ok());
        for item in sent {
            if let Some(command) = item.get("command").and_then(|c| serde_json::from_value::<Command>(c.clone()).ok()) {
                out.push((command, answer.clone(), rolling_back));
            }
        }
    }
    out
}

/// The newest schema comparison the journal holds an answer for.
pub(crate) fn schema_difference(journal: &[TransitionRecord]) -> Option<SchemaDifference> {
    answered(journal).into_iter().rev().find_map(|(command, event, _)| match (command, event) {
        (Command::CompareSchemas { .. }, Some(Event::CommandSucceeded { output })) => marked(&output, SCHEMA_DIFFERENCE),
        _ => None,
    })
}

/// What a rollback of this production run would do; `rehearsal` is the journal of the
/// rehearsal it rests on, whose comparison stands in until the run measured its own.
pub(crate) fn statement(
    run: Run,
    workflow: switchyard_core::WorkflowKind,
    own: &[TransitionRecord],
    rehearsal: &[TransitionRecord],
    window_hours: u32,
) -> Option<RollbackStatement> {
    if run != Run::Production {
        return None;
    }
    let difference = schema_difference(own).or_else(|| schema_difference(rehearsal));
    Some(rollback_statement(workflow, difference.as_ref(), window_hours))
}

/// The writes each replay of the run applied or refused, a sentence each.
pub(crate) fn replays(journal: &[TransitionRecord]) -> Vec<String> {
    let mut words = Vec::new();
    let mut forward = 0;
    for (command, event, rolling_back) in answered(journal) {
        let Command::ReplayChanges { from, .. } = command else { continue };
        let when = if rolling_back || from == Env::Candidate {
            "Rollback, requests held"
        } else {
            forward += 1;
            // The cutover replays while production still serves, then the rest under its hold.
            if forward % 2 == 1 {
                "Before the cutover, production serving"
            } else {
                "Cutover, requests held"
            }
        };
        match event {
            Some(Event::CommandSucceeded { output }) => {
                for db in marked::<Vec<DatabaseReplay>>(&output, REPLAYED).unwrap_or_default() {
                    let counters = db.moved_counters.iter().map(|m| format!("{} past {}", m.table, m.to)).collect::<Vec<_>>().join(", ");
                    let counters = if counters.is_empty() { String::new() } else { format!("; id counters moved: {counters}") };
                    words.push(format!(
                        "{when}: {} writes captured on the {} were replayed into {}, none refused{counters}.",
                        db.applied,
                        if from == Env::Production { "old version" } else { "new version" },
                        db.database
                    ));
                }
            }
            Some(Event::CommandFailed { output }) => words.push(format!("{when}: the replay stopped: {output}.")),
            _ => {}
        }
    }
    words
}
