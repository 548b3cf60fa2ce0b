//! The agent's own durable log of changes drained from a database server's capture (a
//! PostgreSQL replication slot): a SQLite file under `<root>/captures/`, with the change table
//! of `sqlite.rs` and the server position the log holds everything up to. A batch and its
//! position are written in one transaction, and the slot is advanced only afterwards, so an
//! agent killed anywhere in between reads the same batch again and skips it by position:
//! nothing is lost and nothing logged twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use super::sqlite::{self, CHANGE_TABLE, CHANGE_TABLE_SQL};
use super::{Change, ChangeOp};
use crate::error::{AgentError, Result};

pub struct ChangeLog {
    path: PathBuf,
    conn: Connection,
}

/// One change as the server reports it, before the log numbers it.
pub struct Incoming {
    pub table: String,
    pub op: ChangeOp,
    pub key: serde_json::Map<String, serde_json::Value>,
    pub row: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ChangeLog {
    pub fn open(path: &Path) -> Result<ChangeLog> {
        if let Some(dir) = path.parent() {
            super::private_dir(dir)?;
        }
        let conn = sqlite::open(path)?;
        conn.execute_batch(&format!(
            "{CHANGE_TABLE_SQL}; CREATE TABLE IF NOT EXISTS position (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL)"
        ))
        .map_err(|e| failed(path, e))?;
        Ok(ChangeLog { path: path.to_owned(), conn })
    }

    /// The server position everything up to which is logged (0: nothing yet).
    pub fn position(&self) -> Result<u64> {
        let at: Option<i64> =
            self.conn.query_row("SELECT at FROM position", [], |r| r.get(0)).optional().map_err(|e| failed(&self.path, e))?;
        Ok(at.unwrap_or(0) as u64)
    }

    /// Appends one committed transaction's changes and moves the position to its commit,
    /// unless the log already holds it (a batch read again after a crash).
    pub fn append(&mut self, commit: u64, changes: Vec<Incoming>) -> Result<bool> {
        let path = self.path.clone();
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(|e| failed(&path, e))?;
        let at: Option<i64> = tx.query_row("SELECT at FROM position", [], |r| r.get(0)).optional().map_err(|e| failed(&path, e))?;
        if at.is_some_and(|at| at as u64 >= commit) {
            return Ok(false);
        }
        for change in changes {
            let op = match change.op {
                ChangeOp::Insert => "insert",
                ChangeOp::Update => "update",
                ChangeOp::Delete => "delete",
            };
            let key = serde_json::Value::Object(change.key).to_string();
            let row = change.row.map(|r| serde_json::Value::Object(r).to_string());
            tx.execute(
                &format!("INSERT INTO {CHANGE_TABLE} (tbl, op, key, row) VALUES (?1, ?2, ?3, ?4)"),
                params![change.table, op, key, row],
            )
            .map_err(|e| failed(&path, e))?;
        }
        tx.execute("INSERT INTO position (id, at) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET at = excluded.at", [commit as i64])
            .map_err(|e| failed(&path, e))?;
        tx.commit().map_err(|e| failed(&path, e))?;
        Ok(true)
    }

    pub fn page(&self, after: u64, limit: u64) -> Result<(Vec<Change>, BTreeMap<String, i64>)> {
        let changes = sqlite::read(&self.conn, after, limit).map_err(|e| failed(&self.path, e))?;
        Ok((changes, sqlite::highest_ids(&self.conn).map_err(|e| failed(&self.path, e))?))
    }
}

fn failed(path: &Path, e: rusqlite::Error) -> AgentError {
    AgentError::Internal(format!("the agent's change log {} cannot be used ({e}): check the disk, then retry", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_read_again_is_not_logged_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("captures").join("log.sqlite");
        let change = || Incoming {
            table: "public.notes".into(),
            op: ChangeOp::Insert,
            key: serde_json::json!({"id": 7}).as_object().unwrap().clone(),
            row: Some(serde_json::json!({"id": 7, "body": "x"}).as_object().unwrap().clone()),
        };
        let mut log = ChangeLog::open(&path).unwrap();
        assert!(log.append(100, vec![change()]).unwrap());
        drop(log);
        let mut log = ChangeLog::open(&path).unwrap();
        assert!(!log.append(100, vec![change()]).unwrap());
        assert!(log.append(200, vec![change()]).unwrap());
        let (changes, ids) = log.page(0, 10).unwrap();
        assert_eq!((changes.len(), log.position().unwrap(), ids["public.notes"]), (2, 200, 7));
    }
}
