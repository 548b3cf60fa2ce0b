//! Id counters kept across a snapshot restore: a rollback that puts a database back as it was
//! before a migration must not hand out again the ids given to rows written since (an old link
//! to note 114 would show another note). Before a restore the counters of the live database
//! are read (SQLite `sqlite_sequence`, PostgreSQL owned sequences, MariaDB `AUTO_INCREMENT`);
//! after it each is moved past what it had reached, never back.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::OptionalExtension;

use super::replay::MovedCounter;
use crate::databases::{DatabaseKind, Server};
use crate::error::{AgentError, Result};

/// Every id counter of a SQLite file: table → the last id it handed out.
pub fn read_sqlite(path: &Path) -> Result<BTreeMap<String, i64>> {
    if !path.exists() {
        return Ok(BTreeMap::new());
    }
    let failed = |e: rusqlite::Error| {
        AgentError::CommandFailed(format!("cannot read the id counters of {} ({e}): check it is a SQLite database", path.display()))
    };
    let conn = super::sqlite::open(path)?;
    let has: Option<i64> =
        conn.query_row("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'", [], |r| r.get(0)).optional().map_err(failed)?;
    if has.is_none() {
        return Ok(BTreeMap::new());
    }
    let mut rows = conn.prepare("SELECT name, seq FROM sqlite_sequence").map_err(failed)?;
    let found = rows.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(failed)?;
    found.collect::<rusqlite::Result<_>>().map_err(failed)
}

/// Moves a SQLite file's counters past `reached`.
pub fn restore_sqlite(path: &Path, reached: &BTreeMap<String, i64>) -> Result<Vec<MovedCounter>> {
    if reached.is_empty() || !path.exists() {
        return Ok(Vec::new());
    }
    super::sqlite::move_counters(path, reached)
}

/// Every id counter of a server's database: table (as capture names it) → the last id it
/// handed out.
pub async fn read_server(server: &Server<'_>, database: &str) -> Result<BTreeMap<String, i64>> {
    let (c, quoted) = (server.config, database.replace('\'', "''"));
    let out = match server.kind() {
        DatabaseKind::Postgresql => {
            let query = "SELECT format('%s.%s', n.nspname, t.relname) || '|' || s.last_value FROM pg_depend d \
                 JOIN pg_class q ON q.oid = d.objid AND q.relkind = 'S' \
                 JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace n ON n.oid = t.relnamespace \
                 JOIN pg_sequences s ON format('%I.%I', s.schemaname, s.sequencename)::regclass = d.objid \
                 WHERE d.deptype IN ('a', 'i') AND s.last_value IS NOT NULL";
            crate::databases::postgres::sql(c, database, query, &format!("read the sequences of database {database}")).await?
        }
        DatabaseKind::Mariadb => {
            let query = format!(
                "SELECT CONCAT(TABLE_NAME, '|', AUTO_INCREMENT - 1) FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = '{quoted}' AND AUTO_INCREMENT IS NOT NULL"
            );
            crate::databases::mariadb::sql(c, &query, &format!("read the AUTO_INCREMENT counters of database {database}")).await?
        }
    };
    Ok(out
        .lines()
        .filter_map(|line| {
            let (table, value) = line.trim().rsplit_once('|')?;
            Some((table.to_owned(), value.parse::<i64>().ok()?))
        })
        .filter(|(_, value)| *value > 0)
        .collect())
}

/// Moves a server database's counters past `reached`.
pub async fn restore_server(server: &Server<'_>, database: &str, reached: &BTreeMap<String, i64>) -> Result<Vec<MovedCounter>> {
    if reached.is_empty() {
        return Ok(Vec::new());
    }
    match server.kind() {
        DatabaseKind::Postgresql => super::postgres::move_counters(server.config, database, reached).await,
        DatabaseKind::Mariadb => super::mariadb::move_counters(server.config, database, reached).await,
    }
}
