//! Replay of one environment's captured changes into the matching database of another (a
//! migrated clone at cutover, a restored snapshot at rollback): each change after `after`, in
//! order, as "delete the row at `key`, then insert `row`", in transactions of at most `BATCH`
//! changes, through the target's schema (columns only the target has get their defaults).
//! A change the target refuses stops the replay with nothing of its batch applied and says
//! which change and why; what was applied before stays, so a retry from `last_seq` goes on.
//! Once everything is applied, every id counter of the target is moved past the highest id
//! captured, so no id is handed out twice; a counter already further on stays where it is.
//! A target whose own capture runs (production, when a rollback replays into it) captures the
//! replayed writes like any other. A source whose capture was stopped is refused (409): its
//! changes are gone.
//!
//! The target is found by the source's database name (`shared/site.db`, a binding's name).
//! A SQLite file is written through rusqlite (`sqlite.rs`); a server's database gets one
//! script per batch through its client tool (`psql`, `mariadb`), one change a line, so the
//! line the server names in a refusal names the change (the kind's SQL words in
//! `postgres.rs` and `mariadb.rs`).

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use serde_json::Value;

use super::{databases_of, page, CaptureQuery, Change, Found};
use crate::databases::{Catalog, DatabaseBinding, DatabaseKind};
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
    /// Go on after the last change an earlier replay of this capture into this target applied
    /// (or `after`, if later): a cutover's second replay, under its hold, applies only what
    /// production wrote since the first.
    #[serde(default)]
    pub resume: bool,
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
    let Some(state) = super::state(layout, &req.from)? else {
        // A rollback asked for after the capture window (or after the engine stopped the
        // capture) must say so, not look like a missing environment or an empty replay.
        return Err(AgentError::Conflict(format!(
            "cannot replay environment {}'s changes into {target}: {} has no change capture in force (it was stopped, or never \
             started), so the writes made there are not recorded and cannot be replayed; restore a snapshot instead, or start \
             capture before the next copy is taken",
            req.from, req.from
        )));
    };
    let database = req.database.clone().or_else(|| (state.captures.len() == 1).then(|| state.captures[0].database.clone()));
    let resumed = match (&database, req.resume) {
        (Some(database), true) => state.captures.iter().find(|c| &c.database == database).and_then(|c| c.replayed.get(target).copied()),
        _ => None,
    };
    let after = req.after.max(resumed.unwrap_or(0));
    let mut query = CaptureQuery { database: req.database.clone(), after, limit: Some(BATCH) };
    let mut done = Replayed { applied: 0, last_seq: after, moved_counters: Vec::new(), refused: None };
    loop {
        let batch = page(layout, &req.from, &query).await?;
        let found = databases_of(layout, target)?.into_iter().find(|(name, _)| *name == batch.database);
        let Some((_, found)) = found else {
            return Err(AgentError::NotFound(format!(
                "environment {target} has no database {} to replay {}'s changes into: clone it first",
                batch.database, req.from
            )));
        };
        let changes = batch.changes;
        let count = changes.len() as u64;
        let last = changes.last().map(|c| c.seq);
        let drop_unknown = req.drop_unknown_columns;
        let outcome = match &found {
            Found::Sqlite(path) => {
                let (owner, path) = (super::owner(layout, target), path.clone());
                super::blocking(move || {
                    let outcome = super::sqlite::apply(&path, &changes, drop_unknown);
                    super::give_back(&path, owner)?;
                    outcome
                })
                .await?
            }
            Found::Server(binding) => apply_to_server(layout, binding, &changes, drop_unknown).await?,
        };
        if let Batch::Refused(refusal) = outcome {
            done.refused = Some(refusal);
            return Ok(done);
        }
        if let Some(last) = last {
            done.applied += count;
            done.last_seq = last;
            super::remember_replayed(layout, &req.from, &batch.database, target, last)?;
        }
        query.after = batch.next_after;
        if !batch.more {
            let highest = batch.highest_ids;
            done.moved_counters = match found {
                Found::Sqlite(path) => {
                    let owner = super::owner(layout, target);
                    super::blocking(move || {
                        let moved = super::sqlite::move_counters(&path, &highest);
                        super::give_back(&path, owner)?;
                        moved
                    })
                    .await?
                }
                Found::Server(binding) => {
                    let catalog = Catalog::load(layout.root())?;
                    let server = catalog.server(&binding.server)?;
                    if server.kind() == DatabaseKind::Mariadb {
                        super::mariadb::move_counters(server.config, &binding.database, &highest).await?
                    } else {
                        super::postgres::move_counters(server.config, &binding.database, &highest).await?
                    }
                }
            };
            return Ok(done);
        }
    }
}

/// How a server's SQL names things and writes values.
pub(super) struct Dialect {
    /// The script's first line (choosing the database, opening the transaction).
    pub begin: String,
    /// A table or column name, quoted.
    pub name: fn(&str) -> String,
    /// A captured value as a literal the column's type converts.
    pub literal: fn(&Value) -> String,
    /// Deletes one row of `table` matching `matching` (a table without a key may hold copies).
    pub delete_one: fn(&str, &str) -> String,
}

/// One batch as a script, a change a line after `begin`, or the first change the target has
/// no place for. `columns` holds each table's columns as the target has them.
pub(super) fn script(
    changes: &[Change],
    columns: &BTreeMap<String, Vec<String>>,
    drop_unknown: bool,
    d: &Dialect,
) -> std::result::Result<String, Refusal> {
    let mut script = format!("{}\n", d.begin);
    for change in changes {
        let Some(known) = columns.get(&change.table) else {
            return Err(Refusal {
                seq: change.seq,
                table: change.table.clone(),
                key: change.key.clone(),
                reason: format!("the target has no table {}: migrate it back, then retry", change.table),
            });
        };
        let row = fit_row(change, known, drop_unknown)?;
        let table = (d.name)(&change.table);
        let mut line = String::new();
        // An insert into a table without a key names no row to replace.
        if !change.key.is_empty() {
            let matching = change
                .key
                .iter()
                .map(|(k, v)| match v {
                    Value::Null => format!("{} IS NULL", (d.name)(k)),
                    v => format!("{} = {}", (d.name)(k), (d.literal)(v)),
                })
                .collect::<Vec<_>>()
                .join(" AND ");
            line.push_str(&(d.delete_one)(&table, &matching));
            line.push(' ');
        }
        if change.row.is_some() {
            let names = row.iter().map(|(c, _)| (d.name)(c)).collect::<Vec<_>>().join(", ");
            let values = row.iter().map(|(_, v)| (d.literal)(v)).collect::<Vec<_>>().join(", ");
            line.push_str(&format!("INSERT INTO {table} ({names}) VALUES ({values});"));
        }
        script.push_str(&line);
        script.push('\n');
    }
    script.push_str("COMMIT;\n");
    Ok(script)
}

/// The change a server's error names by its script line (`psql:<stdin>:N:`, `at line N`),
/// with the server's message.
pub(super) fn refusal_in(error: &str, changes: &[Change]) -> Option<Refusal> {
    let line = ["<stdin>:", "at line "].iter().find_map(|marker| {
        let rest = &error[error.find(marker)? + marker.len()..];
        rest[..rest.find(|c: char| !c.is_ascii_digit())?].parse::<usize>().ok()
    })?;
    // Line 1 opens the transaction; change i is on line i + 2.
    let change = changes.get(line.checked_sub(2)?)?;
    let reason = error.find("ERROR").map_or(error, |at| &error[at..]).trim().to_owned();
    Some(Refusal { seq: change.seq, table: change.table.clone(), key: change.key.clone(), reason })
}

async fn apply_to_server(layout: &Layout, binding: &DatabaseBinding, changes: &[Change], drop_unknown: bool) -> Result<Batch> {
    if changes.is_empty() {
        return Ok(Batch::Applied);
    }
    let catalog = Catalog::load(layout.root())?;
    let server = catalog.server(&binding.server)?;
    let (c, database) = (server.config, binding.database.as_str());
    let mariadb = server.kind() == DatabaseKind::Mariadb;
    let (columns, dialect) = if mariadb {
        (super::mariadb::columns_of(c, database).await?, super::mariadb::dialect(database))
    } else {
        (super::postgres::columns_of(c, database).await?, super::postgres::dialect())
    };
    let script = match script(changes, &columns, drop_unknown, &dialect) {
        Ok(script) => script,
        Err(refusal) => return Ok(Batch::Refused(refusal)),
    };
    let doing = format!("replay captured changes into database {database}");
    let ran = if mariadb {
        crate::databases::mariadb::sql(c, &script, &doing).await
    } else {
        crate::databases::postgres::sql(c, database, &script, &doing).await
    };
    match ran {
        Ok(_) => Ok(Batch::Applied),
        Err(e) => refusal_in(&e.to_string(), changes).map(Batch::Refused).ok_or(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::ChangeOp;

    fn change(seq: u64) -> Change {
        let key = serde_json::json!({"id": seq}).as_object().unwrap().clone();
        Change { seq, table: "notes".into(), op: ChangeOp::Insert, key: key.clone(), row: Some(key) }
    }

    #[test]
    fn a_servers_error_line_names_the_refused_change() {
        let changes = [change(7), change(8), change(9)];
        let pg = "cannot replay: psql exited with exit status: 3: psql:<stdin>:3: ERROR:  duplicate key value violates unique constraint";
        let refusal = refusal_in(pg, &changes).unwrap();
        assert_eq!((refusal.seq, refusal.reason.as_str()), (8, "ERROR:  duplicate key value violates unique constraint"));
        let mariadb = "cannot replay: mariadb exited with exit status: 1: ERROR 1062 (23000) at line 4: Duplicate entry '9'";
        assert_eq!(refusal_in(mariadb, &changes).unwrap().seq, 9);
        assert!(refusal_in("cannot replay: could not connect to server", &changes).is_none(), "not a change's refusal");
    }
}
