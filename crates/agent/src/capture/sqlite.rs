//! Change capture on a SQLite database the site writes: triggers the agent installs (AFTER
//! INSERT, UPDATE and DELETE on every user table) write each change as JSON into the change
//! table `_switchyard_changes` in the same file, so a write from any process is captured in
//! the writer's own transaction and nothing is lost to a crash of the agent. The same table
//! shape is the agent's own log of the changes it drains from a server (`log.rs`), so both are
//! read here.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use super::replay::{fit_row, Batch, MovedCounter, Refusal};
use super::{Change, ChangeOp};
use crate::error::{AgentError, Result};

/// The change table and the prefix of every trigger the agent installs.
pub(super) const CHANGE_TABLE: &str = "_switchyard_changes";
const TRIGGER_PREFIX: &str = "_switchyard_capture_";

/// `INTEGER PRIMARY KEY` without AUTOINCREMENT: rows are never deleted while capture runs, so
/// the next rowid is always the largest plus one, and no `sqlite_sequence` table is left
/// behind in the site's database once capture stops.
pub(super) const CHANGE_TABLE_SQL: &str = "CREATE TABLE IF NOT EXISTS _switchyard_changes (\
     seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, op TEXT NOT NULL, key TEXT NOT NULL, row TEXT)";

fn failed<'a>(path: &'a Path, doing: &str) -> impl Fn(rusqlite::Error) -> AgentError + 'a {
    let doing = doing.to_owned();
    move |e| {
        AgentError::CommandFailed(format!(
            "cannot {doing} in the SQLite database {} ({e}): check that it is a SQLite database not held by a long write, then retry",
            path.display()
        ))
    }
}

pub(super) fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(failed(path, "open"))?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(failed(path, "open"))?;
    Ok(conn)
}

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A column's value as JSON can hold it: a BLOB (which `json_object` refuses, and a refusal
/// would fail the site's own write) becomes `{"$hex": "..."}`.
fn value(prefix: &str, column: &str) -> String {
    let c = format!("{prefix}.{}", ident(column));
    format!("{}, CASE WHEN typeof({c}) = 'blob' THEN json_object('$hex', hex({c})) ELSE {c} END", literal(column))
}

/// A user table as its triggers see it.
struct Table {
    name: String,
    columns: Vec<String>,
    /// Its primary key's columns in key order, `rowid` when it has none.
    key: Vec<String>,
}

/// The user tables of a database.
fn tables(conn: &Connection) -> rusqlite::Result<Vec<Table>> {
    let mut names = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND name NOT LIKE '\\_switchyard\\_%' ESCAPE '\\' ORDER BY name",
    )?;
    let names: Vec<String> = names.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for table in names {
        let mut info = conn.prepare(&format!("PRAGMA table_info({})", ident(&table)))?;
        let mut columns = Vec::new();
        let mut key: Vec<(i64, String)> = Vec::new();
        for row in info.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, i64>(5)?)))? {
            let (name, pk) = row?;
            if pk > 0 {
                key.push((pk, name.clone()));
            }
            columns.push(name);
        }
        key.sort();
        let key: Vec<String> = if key.is_empty() { vec!["rowid".to_owned()] } else { key.into_iter().map(|(_, n)| n).collect() };
        out.push(Table { name: table, columns, key });
    }
    Ok(out)
}

/// Each user table's columns in order (not the agent's own tables).
pub(super) fn user_tables(conn: &Connection) -> rusqlite::Result<Vec<(String, Vec<String>)>> {
    Ok(tables(conn)?.into_iter().map(|t| (t.name, t.columns)).collect())
}

/// Installs the change table and the triggers and returns the capture's start: the last
/// sequence number already logged. The triggers are made anew from the schema as it is now,
/// every time: a trigger lists its table's columns when it is made, so one made before a
/// migration (a clone migrated since, a table altered) would leave the new columns out. The
/// change table and its numbering stay.
pub fn start(path: &Path) -> Result<u64> {
    let mut conn = open(path)?;
    let doing = "install change capture";
    // Immediate: no write of the site falls between dropping the old triggers, listing the
    // tables and making the new ones, so none goes uncaptured.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(failed(path, doing))?;
    tx.execute_batch(CHANGE_TABLE_SQL).map_err(failed(path, doing))?;
    drop_triggers(&tx).map_err(failed(path, doing))?;
    for Table { name: table, columns, key } in tables(&tx).map_err(failed(path, doing))? {
        let pairs = |prefix: &str, names: &[String]| names.iter().map(|c| value(prefix, c)).collect::<Vec<_>>().join(", ");
        let name = literal(&table);
        let (new_key, old_key, new_row) = (pairs("NEW", &key), pairs("OLD", &key), pairs("NEW", &columns));
        let on = ident(&table);
        let trigger = |op: &str| ident(&format!("{TRIGGER_PREFIX}{op}_{table}"));
        let sql = format!(
            "CREATE TRIGGER {ins} AFTER INSERT ON {on} BEGIN \
               INSERT INTO {CHANGE_TABLE} (tbl, op, key, row) VALUES ({name}, 'insert', json_object({new_key}), json_object({new_row})); END;\n\
             CREATE TRIGGER {upd} AFTER UPDATE ON {on} BEGIN \
               INSERT INTO {CHANGE_TABLE} (tbl, op, key, row) VALUES ({name}, 'update', json_object({old_key}), json_object({new_row})); END;\n\
             CREATE TRIGGER {del} AFTER DELETE ON {on} BEGIN \
               INSERT INTO {CHANGE_TABLE} (tbl, op, key, row) VALUES ({name}, 'delete', json_object({old_key}), NULL); END;",
            ins = trigger("insert"),
            upd = trigger("update"),
            del = trigger("delete"),
        );
        tx.execute_batch(&sql).map_err(failed(path, doing))?;
    }
    let position = last_seq(&tx).map_err(failed(path, doing))?;
    tx.commit().map_err(failed(path, doing))?;
    Ok(position)
}

/// Drops every trigger the agent installed (whatever table it is on now: a renamed table
/// keeps its triggers under their old names).
fn drop_triggers(conn: &Connection) -> rusqlite::Result<()> {
    let triggers: Vec<String> = {
        let mut listed = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND substr(name, 1, 20) = ?1")?;
        let names = listed.query_map([TRIGGER_PREFIX], |r| r.get(0))?;
        names.collect::<rusqlite::Result<_>>()?
    };
    for trigger in triggers {
        conn.execute_batch(&format!("DROP TRIGGER IF EXISTS {}", ident(&trigger)))?;
    }
    Ok(())
}

fn last_seq(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row(&format!("SELECT coalesce(max(seq), 0) FROM {CHANGE_TABLE}"), [], |r| r.get(0))
}

/// Removes every trigger the agent installed and the change table, in one transaction; a
/// database without them is left as it is.
pub fn stop(path: &Path) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let mut conn = open(path)?;
    let doing = "remove change capture";
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(failed(path, doing))?;
    drop_triggers(&tx).map_err(failed(path, doing))?;
    tx.execute_batch(&format!("DROP TABLE IF EXISTS {CHANGE_TABLE}")).map_err(failed(path, doing))?;
    tx.commit().map_err(failed(path, doing))
}

/// What a database still holds of change capture (triggers and the change table), by name.
pub fn traces(path: &Path) -> Result<Vec<String>> {
    let conn = open(path)?;
    let mut listed = conn
        .prepare("SELECT name FROM sqlite_master WHERE substr(name, 1, 12) = '_switchyard_' ORDER BY name")
        .map_err(failed(path, "look for change capture"))?;
    let names = listed.query_map([], |r| r.get(0)).map_err(failed(path, "look for change capture"))?;
    names.collect::<rusqlite::Result<_>>().map_err(failed(path, "look for change capture"))
}

/// Up to `limit` changes logged after `after`, in order.
pub fn read(conn: &Connection, after: u64, limit: u64) -> rusqlite::Result<Vec<Change>> {
    let exists: Option<i64> =
        conn.query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", [CHANGE_TABLE], |r| r.get(0)).optional()?;
    if exists.is_none() {
        return Ok(Vec::new());
    }
    let mut rows = conn.prepare(&format!("SELECT seq, tbl, op, key, row FROM {CHANGE_TABLE} WHERE seq > ?1 ORDER BY seq LIMIT ?2"))?;
    let changes = rows.query_map(params![after as i64, limit as i64], |r| {
        let (seq, table, op, key, row): (i64, String, String, String, Option<String>) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
        let bad = |what: &str| rusqlite::Error::InvalidColumnType(0, format!("change {seq} has a bad {what}"), rusqlite::types::Type::Text);
        let op = match op.as_str() {
            "insert" => ChangeOp::Insert,
            "update" => ChangeOp::Update,
            "delete" => ChangeOp::Delete,
            _ => return Err(bad("operation")),
        };
        let key = serde_json::from_str(&key).map_err(|_| bad("key"))?;
        let row = row.map(|r| serde_json::from_str(&r)).transpose().map_err(|_| bad("row"))?;
        Ok(Change { seq: seq as u64, table, op, key, row })
    })?;
    changes.collect()
}

/// The highest integer key logged per table (keys of one integer column), so a replay can
/// move each id counter past every id handed out while capture ran.
pub fn highest_ids(conn: &Connection) -> rusqlite::Result<BTreeMap<String, i64>> {
    let exists: Option<i64> =
        conn.query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", [CHANGE_TABLE], |r| r.get(0)).optional()?;
    if exists.is_none() {
        return Ok(BTreeMap::new());
    }
    let mut rows = conn.prepare(&format!(
        "SELECT c.tbl, max(j.value) FROM {CHANGE_TABLE} c, json_each(c.key) j \
         WHERE j.type = 'integer' AND (SELECT count(*) FROM json_each(c.key)) = 1 GROUP BY c.tbl"
    ))?;
    let found = rows.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    found.collect()
}

/// Reads a page from a site's database.
pub fn page(path: &Path, after: u64, limit: u64) -> Result<(Vec<Change>, BTreeMap<String, i64>)> {
    let conn = open(path)?;
    let changes = read(&conn, after, limit).map_err(failed(path, "read the captured changes"))?;
    let ids = highest_ids(&conn).map_err(failed(path, "read the captured changes"))?;
    Ok((changes, ids))
}

/// A captured value as SQLite stores it: `{"$hex": ..}` is a BLOB again, any other nested
/// value its JSON text.
fn to_sql(value: &serde_json::Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match value {
        serde_json::Value::Null => V::Null,
        serde_json::Value::Bool(b) => V::Integer(*b as i64),
        serde_json::Value::Number(n) => n.as_i64().map_or_else(|| V::Real(n.as_f64().unwrap_or(f64::NAN)), V::Integer),
        serde_json::Value::String(s) => V::Text(s.clone()),
        serde_json::Value::Object(o) if o.len() == 1 && o.get("$hex").is_some_and(|h| h.is_string()) => {
            hex::decode(o["$hex"].as_str().unwrap_or_default()).map_or_else(|_| V::Text(value.to_string()), V::Blob)
        }
        other => V::Text(other.to_string()),
    }
}

fn columns_of(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut info = conn.prepare(&format!("PRAGMA table_info({})", ident(table)))?;
    let names = info.query_map([], |r| r.get::<_, String>(1))?;
    names.collect()
}

/// Applies one batch of changes in one transaction: all of them, or none and the refusal.
pub(super) fn apply(path: &Path, changes: &[Change], drop_unknown: bool) -> Result<Batch> {
    let mut conn = open(path)?;
    let doing = "replay captured changes";
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(failed(path, doing))?;
    let mut known: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for change in changes {
        let refuse = |reason: String| Refusal { seq: change.seq, table: change.table.clone(), key: change.key.clone(), reason };
        if !known.contains_key(&change.table) {
            known.insert(change.table.clone(), columns_of(&tx, &change.table).map_err(failed(path, doing))?);
        }
        let columns = &known[&change.table];
        if columns.is_empty() {
            return Ok(Batch::Refused(refuse(format!("the target has no table {}: migrate it back, then retry", change.table))));
        }
        let mut row = match fit_row(change, columns, drop_unknown) {
            Ok(row) => row,
            Err(refusal) => return Ok(Batch::Refused(refusal)),
        };
        // A table without a key is matched by rowid: the row keeps the one it had.
        let rowid = change.key.get_key_value("rowid").filter(|_| !columns.iter().any(|c| c == "rowid"));
        if let (Some(rowid), true) = (rowid, change.row.is_some()) {
            row.push(rowid);
        }
        let matching = change.key.keys().map(|k| format!("{} = ?", ident(k))).collect::<Vec<_>>().join(" AND ");
        let table = ident(&change.table);
        let key_values = change.key.values().map(to_sql);
        let mut result = tx.execute(&format!("DELETE FROM {table} WHERE {matching}"), rusqlite::params_from_iter(key_values));
        if result.is_ok() && change.row.is_some() {
            let names = row.iter().map(|(c, _)| ident(c)).collect::<Vec<_>>().join(", ");
            let marks = vec!["?"; row.len()].join(", ");
            let values = row.iter().map(|(_, v)| to_sql(v));
            result = tx.execute(&format!("INSERT INTO {table} ({names}) VALUES ({marks})"), rusqlite::params_from_iter(values));
        }
        if let Err(e) = result {
            return Ok(Batch::Refused(refuse(e.to_string())));
        }
    }
    tx.commit().map_err(failed(path, doing))?;
    Ok(Batch::Applied)
}

/// Moves the AUTOINCREMENT counter of every table in `highest` past its highest captured id
/// (a table without AUTOINCREMENT hands out the largest rowid plus one, past them already).
pub(super) fn move_counters(path: &Path, highest: &BTreeMap<String, i64>) -> Result<Vec<MovedCounter>> {
    let mut conn = open(path)?;
    let doing = "move the id counters past the captured ids";
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(failed(path, doing))?;
    let mut moved = Vec::new();
    for (table, id) in highest {
        let sql: Option<String> = tx
            .query_row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1", [table], |r| r.get(0))
            .optional()
            .map_err(failed(path, doing))?;
        if !sql.is_some_and(|s| s.to_ascii_uppercase().contains("AUTOINCREMENT")) {
            continue;
        }
        tx.execute(
            "INSERT INTO sqlite_sequence (name, seq) SELECT ?1, 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1)",
            [table],
        )
        .map_err(failed(path, doing))?;
        tx.execute("UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1", params![table, id]).map_err(failed(path, doing))?;
        let to: i64 =
            tx.query_row("SELECT seq FROM sqlite_sequence WHERE name = ?1", [table], |r| r.get(0)).map_err(failed(path, doing))?;
        moved.push(MovedCounter { table: table.clone(), to });
    }
    tx.commit().map_err(failed(path, doing))?;
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_write_is_logged_and_stopping_leaves_no_trace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("site.db");
        let site = Connection::open(&path).unwrap();
        site.execute_batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, pic BLOB); CREATE TABLE tags (name TEXT); \
             INSERT INTO notes (body) VALUES ('before')",
        )
        .unwrap();
        assert_eq!(start(&path).unwrap(), 0);
        assert_eq!(start(&path).unwrap(), 0, "starting again installs nothing twice");
        site.execute_batch(
            "INSERT INTO notes (body, pic) VALUES ('new', x'00ff'); UPDATE notes SET body = 'edited' WHERE id = 1; \
             DELETE FROM notes WHERE id = 2; INSERT INTO tags VALUES ('t')",
        )
        .unwrap();
        let (changes, ids) = page(&path, 0, 100).unwrap();
        let ops: Vec<(ChangeOp, &str)> = changes.iter().map(|c| (c.op, c.table.as_str())).collect();
        assert_eq!(
            ops,
            [(ChangeOp::Insert, "notes"), (ChangeOp::Update, "notes"), (ChangeOp::Delete, "notes"), (ChangeOp::Insert, "tags")]
        );
        assert_eq!(changes[0].row.as_ref().unwrap()["pic"], serde_json::json!({"$hex": "00FF"}));
        assert_eq!(changes[1].key, serde_json::json!({"id": 1}).as_object().unwrap().clone());
        assert_eq!(changes[3].key, serde_json::json!({"rowid": 1}).as_object().unwrap().clone());
        assert_eq!(ids.get("notes"), Some(&2));
        assert_eq!(page(&path, 2, 1).unwrap().0.iter().map(|c| c.seq).collect::<Vec<_>>(), [3]);

        stop(&path).unwrap();
        stop(&path).unwrap();
        assert!(traces(&path).unwrap().is_empty());
        site.execute_batch("INSERT INTO notes (body) VALUES ('after')").unwrap();
    }
}
