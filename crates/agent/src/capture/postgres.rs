//! Change capture on a PostgreSQL database: a logical replication slot decoded by `wal2json`
//! (`format-version` 2, one JSON object per change). The slot is made when capture starts and
//! keeps every change from then on in the server's WAL until the agent reads it; the agent
//! drains it into its own log (`log.rs`) transaction by transaction and only then advances the
//! slot. A table without a primary key is set to `REPLICA IDENTITY FULL` while capture runs,
//! so its updates and deletes name the whole old row; stopping sets it back and drops the slot
//! (a slot left behind would hold the server's WAL forever).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::log::{ChangeLog, Incoming};
use super::ChangeOp;
use crate::databases::postgres::sql;
use crate::databases::ServerConfig;
use crate::error::{AgentError, Result};

/// The slot of an environment's database binding: fixed by both, so a retry finds its own.
pub fn slot_name(env: &str, binding: &str) -> String {
    let hash = hex::encode(Sha256::digest(format!("{env}\0{binding}").as_bytes()));
    format!("switchyard_{}", &hash[..24])
}

/// Parses `X/Y`, PostgreSQL's way of writing a WAL position.
pub fn parse_lsn(text: &str) -> Result<u64> {
    let bad = || AgentError::Internal(format!("PostgreSQL reported a WAL position {text:?} that is not of the form X/Y"));
    let (high, low) = text.trim().split_once('/').ok_or_else(bad)?;
    Ok((u64::from_str_radix(high, 16).map_err(|_| bad())? << 32) | u64::from_str_radix(low, 16).map_err(|_| bad())?)
}

/// Makes the slot (or finds the one an earlier try made) and returns where it starts, plus
/// the tables set to `REPLICA IDENTITY FULL` for want of a key.
pub async fn start(c: &ServerConfig, database: &str, slot: &str) -> Result<(String, Vec<String>)> {
    let doing = format!("start change capture on database {database}");
    let keyless = sql(
        c,
        database,
        "SELECT format('%I.%I', n.nspname, t.relname) FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE t.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND t.relreplident <> 'f' \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = t.oid AND k.contype = 'p') ORDER BY 1",
        &doing,
    )
    .await?;
    let keyless: Vec<String> = keyless.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect();
    for table in &keyless {
        // `table` is PostgreSQL's own quoting (format %I).
        sql(c, database, &format!("ALTER TABLE {table} REPLICA IDENTITY FULL"), &doing).await?;
    }
    let existing =
        sql(c, database, &format!("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '{slot}'"), &doing).await?;
    if !existing.trim().is_empty() {
        return Ok((existing.trim().to_owned(), keyless));
    }
    let made = sql(c, database, &format!("SELECT lsn FROM pg_create_logical_replication_slot('{slot}', 'wal2json')"), &doing)
        .await
        .map_err(|e| match e.to_string() {
            m if m.contains("wal2json") && m.contains("could not access file") => AgentError::CommandFailed(format!(
                "cannot {doing}: the server has no wal2json output plugin; install it on the database server (Debian: postgresql-15-wal2json)"
            )),
            m if m.contains("wal_level") => AgentError::CommandFailed(format!(
                "cannot {doing}: the server does not keep a logical WAL; set wal_level = logical in postgresql.conf and restart it"
            )),
            _ => e,
        })?;
    Ok((made.trim().to_owned(), keyless))
}

/// Moves every committed change the slot holds into `log`, then lets the server forget them.
pub async fn drain(c: &ServerConfig, database: &str, slot: &str, log: &mut ChangeLog) -> Result<()> {
    let doing = format!("read the changes captured on database {database}");
    loop {
        let out = sql(
            c,
            database,
            &format!(
                "SELECT lsn, data FROM pg_logical_slot_peek_changes('{slot}', NULL, 2000, 'format-version', '2', \
                 'include-pk', '1', 'include-transaction', '1', 'include-timestamp', '0')"
            ),
            &doing,
        )
        .await?;
        let mut pending: Vec<Incoming> = Vec::new();
        let mut last_commit = None;
        let mut read = 0;
        for line in out.lines().filter(|l| !l.is_empty()) {
            read += 1;
            let (lsn, data) =
                line.split_once('\t').ok_or_else(|| AgentError::Internal(format!("cannot {doing}: wal2json gave {line:?}")))?;
            let data: Value =
                serde_json::from_str(data).map_err(|e| AgentError::Internal(format!("cannot {doing}: wal2json gave {data:?} ({e})")))?;
            match data["action"].as_str() {
                Some("B") => pending.clear(),
                Some("C") => {
                    let commit = parse_lsn(lsn)?;
                    log.append(commit, std::mem::take(&mut pending))?;
                    last_commit = Some(lsn.to_owned());
                }
                Some(action @ ("I" | "U" | "D")) => pending.push(change(action, &data)?),
                // Truncations and messages are not row changes; see docs/databases.md.
                _ => {}
            }
        }
        if let Some(lsn) = &last_commit {
            sql(c, database, &format!("SELECT pg_replication_slot_advance('{slot}', '{lsn}')"), &doing).await?;
        }
        if read < 2000 || last_commit.is_none() {
            return Ok(());
        }
    }
}

fn change(action: &str, data: &Value) -> Result<Incoming> {
    let table = format!("{}.{}", data["schema"].as_str().unwrap_or("public"), data["table"].as_str().unwrap_or_default());
    let named = |list: &Value| -> Map<String, Value> {
        let mut out = Map::new();
        for column in list.as_array().into_iter().flatten() {
            if let Some(name) = column["name"].as_str() {
                out.insert(name.to_owned(), column["value"].clone());
            }
        }
        out
    };
    let row = named(&data["columns"]);
    let pk: Vec<&str> = data["pk"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect();
    // The old key when the server sent it (a delete, an update that changed the key, a table
    // of REPLICA IDENTITY FULL), else the key columns of the new row.
    let identity = named(&data["identity"]);
    let key: Map<String, Value> = if identity.is_empty() {
        pk.iter().filter_map(|k| row.get(*k).map(|v| ((*k).to_owned(), v.clone()))).collect()
    } else if pk.is_empty() {
        identity
    } else {
        identity.into_iter().filter(|(k, _)| pk.contains(&k.as_str())).collect()
    };
    let op = match action {
        "I" => ChangeOp::Insert,
        "U" => ChangeOp::Update,
        _ => ChangeOp::Delete,
    };
    Ok(Incoming { table, op, key, row: (op != ChangeOp::Delete).then_some(row) })
}

/// Drops the slot and sets the tables capture changed back to their default identity; what is
/// already gone is skipped, so a retried stop finishes the job.
pub async fn stop(c: &ServerConfig, database: &str, slot: &str, keyless: &[String]) -> Result<()> {
    let doing = format!("stop change capture on database {database}");
    sql(c, "postgres", &format!("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{slot}'"), &doing)
        .await?;
    for table in keyless {
        let statement = format!(
            "DO $$ BEGIN IF to_regclass('{t}') IS NOT NULL THEN ALTER TABLE {table} REPLICA IDENTITY DEFAULT; END IF; END $$",
            t = table.replace('\'', "''")
        );
        sql(c, database, &statement, &doing).await?;
    }
    Ok(())
}

/// Whether the slot still exists (a capture in force holds the server's WAL).
pub async fn slot_exists(c: &ServerConfig, slot: &str) -> Result<bool> {
    let found =
        sql(c, "postgres", &format!("SELECT 1 FROM pg_replication_slots WHERE slot_name = '{slot}'"), "look for a replication slot")
            .await?;
    Ok(found.trim() == "1")
}

/// A JSON value as a PostgreSQL literal (the column's type converts it); text with control
/// characters goes as UTF-8 bytes, so each change of a replay script stays on its line.
fn literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::String(s) if s.chars().any(char::is_control) => format!("convert_from('\\x{}'::bytea, 'UTF8')", hex::encode(s.as_bytes())),
        Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        Value::Object(_) | Value::Array(_) => literal(&Value::String(value.to_string())),
        other => format!("'{other}'"),
    }
}

fn name(table: &str) -> String {
    table.split('.').map(|part| format!("\"{}\"", part.replace('"', "\"\""))).collect::<Vec<_>>().join(".")
}

pub(super) fn dialect() -> super::replay::Dialect {
    super::replay::Dialect {
        // On the first line, which a refusal's line number counts from: a replay waiting on a
        // lock fails within bounds (the cutover then stops with the old version serving)
        // instead of holding the release forever.
        begin: "SET lock_timeout = '30s'; SET statement_timeout = '120s'; BEGIN;".to_owned(),
        name,
        literal,
        delete_one: |table, matching| format!("DELETE FROM {table} WHERE ctid = (SELECT ctid FROM {table} WHERE {matching} LIMIT 1);"),
    }
}

/// Every user table's columns, by the name capture gives it (`schema.table`).
pub(super) async fn columns_of(c: &ServerConfig, database: &str) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
    let out = sql(
        c,
        database,
        "SELECT table_schema || '.' || table_name, column_name FROM information_schema.columns \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, ordinal_position",
        &format!("list the tables of database {database}"),
    )
    .await?;
    let mut columns = std::collections::BTreeMap::<String, Vec<String>>::new();
    for line in out.lines() {
        if let Some((table, column)) = line.split_once('\t') {
            columns.entry(table.to_owned()).or_default().push(column.to_owned());
        }
    }
    Ok(columns)
}

/// Moves every sequence a table's columns own (serial, identity) past its highest captured id.
pub(super) async fn move_counters(
    c: &ServerConfig,
    database: &str,
    highest: &std::collections::BTreeMap<String, i64>,
) -> Result<Vec<super::replay::MovedCounter>> {
    let doing = format!("move the sequences of database {database} past the captured ids");
    let mut moved = Vec::new();
    for (table, id) in highest {
        let quoted = name(table).replace('\'', "''");
        let out = sql(
            c,
            database,
            &format!(
                "SELECT setval(d.objid::regclass, greatest({id}, coalesce(s.last_value, 0))) FROM pg_depend d \
                 JOIN pg_class q ON q.oid = d.objid AND q.relkind = 'S' \
                 JOIN pg_sequences s ON format('%I.%I', s.schemaname, s.sequencename)::regclass = d.objid \
                 WHERE d.refobjid = to_regclass('{quoted}') AND d.deptype IN ('a', 'i')"
            ),
            &doing,
        )
        .await?;
        for to in out.lines().filter_map(|l| l.trim().parse::<i64>().ok()) {
            moved.push(super::replay::MovedCounter { table: table.clone(), to });
        }
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_changes_read_as_the_server_writes_them() {
        assert_eq!(parse_lsn("0/16B3748").unwrap(), 0x16B3748);
        assert_eq!(parse_lsn("1/0").unwrap(), 1 << 32);
        assert!(parse_lsn("garbage").is_err());
        assert!(slot_name("shop-blue", "default").len() <= 63);
        let update = serde_json::json!({"action": "U", "schema": "public", "table": "notes",
            "columns": [{"name": "id", "type": "bigint", "value": 9}, {"name": "body", "type": "text", "value": "b"}],
            "identity": [{"name": "id", "type": "bigint", "value": 8}], "pk": [{"name": "id", "type": "bigint"}]});
        let read = change("U", &update).unwrap();
        assert_eq!((read.table.as_str(), read.op, &read.key["id"]), ("public.notes", ChangeOp::Update, &serde_json::json!(8)));
        assert_eq!(read.row.unwrap()["id"], 9);
    }
}
