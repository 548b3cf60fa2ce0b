//! A low-downtime migration's data commands on the agent: capturing an environment's writes,
//! replaying them into the other environment's databases, and comparing the two schemas.
//!
//! Replays and comparisons end their output with one machine-readable line (`replayed: …`,
//! `schema difference: …`, JSON) after the sentences a person reads, so the release page and
//! its record can say what was captured, replayed and refused, and what a rollback would do,
//! from the journal alone.

use serde::{Deserialize, Serialize};
use switchyard_agent::capture::replay::{MovedCounter, ReplayChanges};
use switchyard_agent::capture::{StartCapture, StopCapture};
use switchyard_core::workflow::Env;

use crate::error::Result;
use crate::execute::{call, Host, Outcome};

/// The output line a replay's figures follow.
pub const REPLAYED: &str = "replayed: ";
/// The output line a schema comparison's difference follows.
pub const SCHEMA_DIFFERENCE: &str = "schema difference: ";

/// What a replay did to one database, as journaled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseReplay {
    pub database: String,
    pub applied: u64,
    pub moved_counters: Vec<MovedCounter>,
}

/// The JSON after `prefix` on one of `output`'s lines.
pub fn marked<T: serde::de::DeserializeOwned>(output: &str, prefix: &str) -> Option<T> {
    output.lines().find_map(|line| line.strip_prefix(prefix)).and_then(|json| serde_json::from_str(json).ok())
}

macro_rules! answer {
    ($e:expr) => {
        match $e {
            Ok(value) => value,
            Err(error) => return Ok(Err(error.to_string())),
        }
    };
}

pub(crate) async fn start(t: &Host<'_>, op: &str, env: Env) -> Result<Outcome> {
    let name = t.placement.env(env);
    let req = StartCapture { op_id: format!("{op}.capture") };
    let state = answer!(call(t, "start change capture", || t.agent.start_capture(name, &req)).await?);
    let databases = state.captures.iter().map(|c| c.database.as_str()).collect::<Vec<_>>().join(", ");
    Ok(Ok(format!("capturing every write to {name}'s databases: {databases}")))
}

pub(crate) async fn stop(t: &Host<'_>, op: &str, env: Env) -> Result<Outcome> {
    let name = t.placement.env(env);
    let req = StopCapture { op_id: format!("{op}.stop-capture") };
    match call(t, "stop change capture", || t.agent.stop_capture(name, &req)).await? {
        Ok(stopped) if stopped.removed.is_empty() => Ok(Ok(format!("no capture was in force on {name}"))),
        Ok(stopped) => Ok(Ok(format!("stopped capturing {name}'s writes to {}", stopped.removed.join(", ")))),
        // An environment already discarded has nothing left to capture.
        Err(switchyard_agent::AgentError::Remote { status: 404, .. }) => Ok(Ok(format!("{name} is gone; nothing to stop"))),
        Err(e) => Ok(Err(e.to_string())),
    }
}

/// Replays every database `from` captures into `into`, each under its own operation id (so a
/// resent command is answered, not applied again), stopping at the first refusal.
pub(crate) async fn replay(t: &Host<'_>, op: &str, from: Env, into: Env, drop_unknown_columns: bool) -> Result<Outcome> {
    let (source, target) = (t.placement.env(from), t.placement.env(into));
    let info = answer!(call(t, "read the agent's captures", || t.agent.agent_info()).await?);
    let Some(capture) = info.captures.into_iter().find(|c| c.env == source) else {
        // A rollback after the capture window closed: the approver was told the writes since
        // the cutover would not come back, and the old version's database is as it was then.
        if from == Env::Candidate {
            return Ok(Ok(format!(
                "no capture of {source}'s writes is in force (its capture window closed): {target} goes back to its database as it was at the cutover, without the writes made on {source} since"
            )));
        }
        return Ok(Err(format!(
            "no capture of {source}'s writes is in force, so the writes made there since cannot be replayed into {target}: the capture was stopped (its window ended, or by hand)"
        )));
    };
    let mut done = Vec::new();
    let mut words = Vec::new();
    for (index, database) in capture.captures.iter().map(|c| c.database.clone()).enumerate() {
        let req = ReplayChanges {
            op_id: format!("{op}.replay-{index}"),
            from: source.to_owned(),
            database: Some(database.clone()),
            after: 0,
            drop_unknown_columns,
            resume: true,
        };
        let replayed = answer!(call(t, "replay captured changes", || t.agent.replay_changes(target, &req)).await?);
        if let Some(refused) = replayed.refused {
            let key = refused.key.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ");
            return Ok(Err(format!(
                "{target}'s database {database} refused captured change {} ({}, {key}): {}. {} earlier changes were applied to {target}, which is not put live",
                refused.seq, refused.table, refused.reason, replayed.applied
            )));
        }
        let counters = replayed.moved_counters.iter().map(|m| format!("{} past {}", m.table, m.to)).collect::<Vec<_>>().join(", ");
        words.push(if counters.is_empty() {
            format!("replayed {} captured changes into {target}'s {database}", replayed.applied)
        } else {
            format!("replayed {} captured changes into {target}'s {database}; id counters moved: {counters}", replayed.applied)
        });
        done.push(DatabaseReplay { database, applied: replayed.applied, moved_counters: replayed.moved_counters });
    }
    let json = serde_json::to_string(&done).unwrap_or_default();
    Ok(Ok(format!("{}\n{REPLAYED}{json}", words.join("\n"))))
}

/// What `env`'s schema has that `against`'s lacks, and the reverse.
pub(crate) async fn compare(t: &Host<'_>, env: Env, against: Env) -> Result<Outcome> {
    let (name, other) = (t.placement.env(env), t.placement.env(against));
    let difference = answer!(call(t, "compare schemas", || t.agent.schema_difference(name, other)).await?);
    let mut words = Vec::new();
    for table in difference.added() {
        words.push(format!("{name} adds {}", table.words()));
    }
    for table in difference.removed() {
        words.push(format!("{name} has no {}", table.words()));
    }
    if words.is_empty() {
        words.push(format!("{name}'s tables and columns are {other}'s"));
    }
    let json = serde_json::to_string(&difference).unwrap_or_default();
    Ok(Ok(format!("{}\n{SCHEMA_DIFFERENCE}{json}", words.join("\n"))))
}
