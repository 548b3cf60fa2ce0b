//! Replay of one environment's captured changes into the matching database of another (a
//! migrated clone at cutover, a restored snapshot at rollback): each change after `after`, in
//! order, as "delete the row at `key`, then insert `row`", in transactions of at most `BATCH`
//! changes, through the target's schema (columns only the target has get their defaults).
//! A change the target refuses stops the replay with nothing of its batch applied and says
//! which change and why; what was applied before stays, so a retry from `last_seq` goes on.
//! Once everything is applied, every id counter of the target is moved past the highest id
//! captured, so no id is handed out twice.
//!
//! The target is found by the source's database name (`shared/site.db`, a binding's name):
//! SQLite files here (`sqlite.rs` does the SQL); replay into a server's database is not built.

use serde::{Deserialize, Serialize};

use super::{databases_of, page, CaptureQuery, Change, Found};
use crate::error::{AgentError, Result};
use crate::layout::Layout;

/// At most this many changes per transaction of the target: a refusal undoes one batch, and
/// a long transaction would hold the target's writers for as long.
const BATCH: u64 = 500;

/// `POST /v1/envs/{target}/capture/replay`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayChanges {
    pub op_id: String,
    /// The environment whose capture is replayed.
    pub from: String,
    /// Needed when `from` captures several databases.
    #[serde(default)]
    pub database: Option<String>,
    /// Replay the changes numbered after this one (0: all of them; a refusal's `last_seq` to
    /// go on after fixing it).
    #[serde(default)]
    pub after: u64,
    /// Leave out a change's columns the target has no place for, instead of refusing it.
    #[serde(default)]
    pub drop_unknown_columns: bool,
}

/// An id counter moved past the captured ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedCounter {
    pub table: String,
    /// The counter now stands at least here: the next id handed out is above it.
    pub to: i64,
}

/// The change the target refused, and its own words for why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    pub seq: u64,
    pub table: String,
    pub key: serde_json::Map<String, serde_json::Value>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replayed {
    /// Changes applied by this replay.
    pub applied: u64,
    /// Every change up to this one is in the target (`after` when none was applied).
    pub last_seq: u64,
    /// Counters moved once everything was applied (none after a refusal).
    pub moved_counters: Vec<MovedCounter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<Refusal>,
}

/// What one batch came to in the target.
pub(super) enum Batch {
    Applied,
    Refused(Refusal),
}

/// A change's row cut to the target's columns: `Err` names the first column the target has no
/// place for (unless those are dropped).
pub(super) fn fit_row<'a>(
    change: &'a Change,
    columns: &[String],
    drop_unknown: bool,
) -> std::result::Result<Vec<(&'a String, &'a serde_json::Value)>, Refusal> {
    let Some(row) = &change.row else { return Ok(Vec::new()) };
    let mut kept = Vec::new();
    for (column, value) in row {
        if columns.iter().any(|c| c == column) {
            kept.push((column, value));
        } else if !drop_unknown {
            return Err(Refusal {
                seq: change.seq,
                table: change.table.clone(),
                key: change.key.clone(),
                reason: format!(
                    "table {} of the target has no column {column}: migrate it back, or replay with drop_unknown_columns to leave it out",
                    change.table
                ),
            });
        }
    }
    Ok(kept)
}

/// Replays `req.from`'s captured changes into `target`'s matching database.
pub async fn replay(layout: &Layout, target: &str, req: &ReplayChanges) -> Result<Replayed> {
    if req.from == target {
        return Err(AgentError::Invalid(format!(
            "cannot replay environment {target}'s changes into itself: name another environment in from"
        )));
    }
    let mut query = CaptureQuery { database: req.database.clone(), after: req.after, limit: Some(BATCH) };
    let mut done = Replayed { applied: 0, last_seq: req.after, moved_counters: Vec::new(), refused: None };
    loop {
        let batch = page(layout, &req.from, &query).await?;
        let found = databases_of(layout, target)?.into_iter().find(|(name, _)| *name == batch.database);
        let Some((_, found)) = found else {
            return Err(AgentError::NotFound(format!(
                "environment {target} has no database {} to replay {}'s changes into: clone it first",
                batch.database, req.from
            )));
        };
        let Found::Sqlite(path) = found else {
            return Err(AgentError::Invalid(format!(
                "replay into a database server's database ({}) is not available yet: only SQLite files replay",
                batch.database
            )));
        };
        let changes = batch.changes;
        let count = changes.len() as u64;
        let last = changes.last().map(|c| c.seq);
        let drop_unknown = req.drop_unknown_columns;
        let apply_to = path.clone();
        let owner = super::owner(layout, target);
        let outcome = super::blocking(move || {
            let outcome = super::sqlite::apply(&apply_to, &changes, drop_unknown);
            super::give_back(&apply_to, owner)?;
            outcome
        })
        .await?;
        if let Batch::Refused(refusal) = outcome {
            done.refused = Some(refusal);
            return Ok(done);
        }
        if let Some(last) = last {
            done.applied += count;
            done.last_seq = last;
        }
        query.after = batch.next_after;
        if !batch.more {
            let highest = batch.highest_ids;
            done.moved_counters = super::blocking(move || {
                let moved = super::sqlite::move_counters(&path, &highest);
                super::give_back(&path, owner)?;
                moved
            })
            .await?;
            return Ok(done);
        }
    }
}
