//! Change capture on a MariaDB database: the server's row binary log, read from the position
//! `SHOW MASTER STATUS` gave at the start with `mariadb-binlog --read-from-remote-server
//! --base64-output=decode-rows -vv`. Its rows name columns by position (`@1`, `@2`), mapped to
//! names through `information_schema`, and its strings are in the columns' own character sets.
//! The agent drains what was committed into its own log (`log.rs`), keyed by the commit's
//! binary log position, so a read broken off is read again without doubling anything. Nothing
//! is installed on the server; its binary log retention (`expire_logs_days`) must outlast the
//! capture.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::log::{ChangeLog, Incoming};
use super::ChangeOp;
use crate::databases::mariadb::{connect, sql};
use crate::databases::ServerConfig;
use crate::error::{AgentError, Result};

/// A binary log position as one number: the file's sequence number, then the offset in it.
fn position(file: &str, offset: u64) -> Result<u64> {
    let index = file.rsplit_once('.').and_then(|(_, n)| n.parse::<u64>().ok());
    let index = index.ok_or_else(|| AgentError::Internal(format!("the binary log file {file:?} has no sequence number")))?;
    Ok((index << 32) | offset)
}

fn file_of(start_file: &str, at: u64) -> String {
    let stem = start_file.rsplit_once('.').map_or(start_file, |(stem, _)| stem);
    format!("{stem}.{:06}", at >> 32)
}

/// Checks the server keeps a full row binary log and returns where it ends now (`file:offset`).
pub async fn start(c: &ServerConfig, database: &str) -> Result<String> {
    let doing = format!("start change capture on database {database}");
    let settings = sql(c, "SELECT @@log_bin, @@binlog_format, @@binlog_row_image", &doing).await?;
    if settings.trim() != "1\tROW\tFULL" {
        return Err(AgentError::CommandFailed(format!(
            "cannot {doing}: the server must keep a full row binary log (it has log_bin, binlog_format, binlog_row_image = {}): \
             start it with --log-bin --binlog-format=ROW --binlog-row-image=FULL",
            settings.trim().replace('\t', ", ")
        )));
    }
    let status = sql(c, "SHOW MASTER STATUS", &doing).await?;
    let mut fields = status.trim().split('\t');
    match (fields.next(), fields.next().and_then(|p| p.parse::<u64>().ok())) {
        (Some(file), Some(offset)) if !file.is_empty() => Ok(format!("{file}:{offset}")),
        _ => Err(AgentError::CommandFailed(format!("cannot {doing}: SHOW MASTER STATUS gave {status:?}; is the binary log on?"))),
    }
}

/// A table's columns in order, with what decoding their values needs.
struct Column {
    name: String,
    unsigned: bool,
    /// The column's character set; empty for binary data.
    charset: String,
    key: bool,
}

async fn columns(c: &ServerConfig, database: &str) -> Result<BTreeMap<String, Vec<Column>>> {
    let listed = sql(
        c,
        &format!(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IFNULL(CHARACTER_SET_NAME, ''), COLUMN_KEY FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = '{database}' ORDER BY TABLE_NAME, ORDINAL_POSITION"
        ),
        &format!("read the columns of database {database}"),
    )
    .await?;
    let mut tables: BTreeMap<String, Vec<Column>> = BTreeMap::new();
    for line in listed.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        if let [table, name, kind, charset, key] = f[..] {
            let column =
                Column { name: name.to_owned(), unsigned: kind.contains("unsigned"), charset: charset.to_owned(), key: key == "PRI" };
            tables.entry(table.to_owned()).or_default().push(column);
        }
    }
    Ok(tables)
}

/// The starting position of the next read: after what the log holds, else the capture's start.
pub async fn drain(c: &ServerConfig, database: &str, starts_at: &str, log: &mut ChangeLog) -> Result<()> {
    let doing = format!("read the changes captured on database {database}");
    let (start_file, start_offset) = starts_at
        .rsplit_once(':')
        .and_then(|(f, o)| o.parse::<u64>().ok().map(|o| (f, o)))
        .ok_or_else(|| AgentError::Internal(format!("the capture of {database} starts at {starts_at:?}, not FILE:OFFSET")))?;
    let from = match log.position()? {
        0 => position(start_file, start_offset)?,
        at => at,
    };
    let file = file_of(start_file, from);
    let out = connect("mariadb-binlog", c)
        .args(["--read-from-remote-server", "--base64-output=decode-rows", "-vv", "--to-last-log"])
        .args([format!("--start-position={}", from & 0xffff_ffff), file.clone()])
        .run_for_bytes(&doing)
        .await?;
    let tables = columns(c, database).await?;
    let mut current_file = file;
    let mut pending: Vec<Incoming> = Vec::new();
    let mut row: Option<(Incoming, bool)> = None; // the change being read, and whether in SET
    let mut before: Map<String, Value> = Map::new();
    let mut after: Map<String, Value> = Map::new();
    let finish = |row: &mut Option<(Incoming, bool)>,
                  before: &mut Map<String, Value>,
                  after: &mut Map<String, Value>,
                  pending: &mut Vec<Incoming>| {
        if let Some((mut change, _)) = row.take() {
            let cols = tables.get(&change.table);
            let key_of = |values: &Map<String, Value>| -> Map<String, Value> {
                let keyed: Vec<&Column> = cols.map(|cs| cs.iter().filter(|c| c.key).collect()).unwrap_or_default();
                if keyed.is_empty() {
                    values.clone()
                } else {
                    keyed.iter().filter_map(|c| values.get(&c.name).map(|v| (c.name.clone(), v.clone()))).collect()
                }
            };
            let (old, new) = (std::mem::take(before), std::mem::take(after));
            match change.op {
                // As on PostgreSQL, an insert into a table without a key names no row.
                ChangeOp::Insert if !cols.is_some_and(|cs| cs.iter().any(|c| c.key)) => change.row = Some(new),
                ChangeOp::Insert => {
                    change.key = key_of(&new);
                    change.row = Some(new);
                }
                ChangeOp::Update => {
                    change.key = key_of(&old);
                    change.row = Some(new);
                }
                ChangeOp::Delete => change.key = key_of(&old),
            }
            pending.push(change);
        }
    };
    for line in out.split(|b| *b == b'\n') {
        let text = String::from_utf8_lossy(line);
        if let Some(rest) = text.strip_prefix("### ") {
            let target = |prefix: &str| rest.strip_prefix(prefix).and_then(|t| table_in(t, database));
            let op = if let Some(t) = target("INSERT INTO ") {
                Some((ChangeOp::Insert, t))
            } else if let Some(t) = target("UPDATE ") {
                Some((ChangeOp::Update, t))
            } else {
                target("DELETE FROM ").map(|t| (ChangeOp::Delete, t))
            };
            if let Some((op, table)) = op {
                finish(&mut row, &mut before, &mut after, &mut pending);
                row = Some((Incoming { table, op, key: Map::new(), row: None }, op == ChangeOp::Insert));
            } else if rest.starts_with("INSERT INTO ") || rest.starts_with("UPDATE ") || rest.starts_with("DELETE FROM ") {
                // Another database's row.
                finish(&mut row, &mut before, &mut after, &mut pending);
            } else if rest == "SET" {
                if let Some((_, in_set)) = row.as_mut() {
                    *in_set = true;
                }
            } else if let (Some((change, in_set)), Some(value)) = (row.as_ref(), line.strip_prefix(b"###   @")) {
                let Some(eq) = value.iter().position(|b| *b == b'=') else { continue };
                let Ok(n) = std::str::from_utf8(&value[..eq]).unwrap_or("").parse::<usize>() else { continue };
                let Some(column) = tables.get(&change.table).and_then(|cs| cs.get(n.wrapping_sub(1))) else {
                    return Err(AgentError::CommandFailed(format!(
                        "cannot {doing}: table {} has no column {n} now; was its schema changed while capture ran?",
                        change.table
                    )));
                };
                let decoded = decode(&value[eq + 1..], column);
                if *in_set { &mut after } else { &mut before }.insert(column.name.clone(), decoded);
            }
            continue;
        }
        finish(&mut row, &mut before, &mut after, &mut pending);
        if !text.starts_with('#') {
            continue;
        }
        if let Some((_, rotated)) = text.split_once("\tRotate to ") {
            if let Some(name) = rotated.split_whitespace().next() {
                current_file = name.to_owned();
            }
        } else if text.contains("\tGTID ") {
            pending.clear();
        } else if text.contains("\tXid = ") {
            let end = text.split_once("end_log_pos ").and_then(|(_, r)| r.split_whitespace().next()).and_then(|p| p.parse::<u64>().ok());
            if let Some(end) = end {
                log.append(position(&current_file, end)?, std::mem::take(&mut pending))?;
            }
        }
    }
    Ok(())
}

/// `` `db`.`table` `` as the table's name when it is in `database`.
fn table_in(target: &str, database: &str) -> Option<String> {
    let rest = target.strip_prefix(&format!("`{database}`.`"))?;
    Some(rest.strip_suffix('`')?.to_owned())
}

/// A value as `-vv` prints it (`5 /* LONGINT ... */`, `'text' /* ... */`, `NULL /* ... */`).
fn decode(printed: &[u8], column: &Column) -> Value {
    let end = printed.windows(4).rposition(|w| w == b" /* ").unwrap_or(printed.len());
    let raw = &printed[..end];
    if raw == b"NULL" {
        return Value::Null;
    }
    if raw.len() >= 2 && raw[0] == b'\'' && raw[raw.len() - 1] == b'\'' {
        let bytes = unescape(&raw[1..raw.len() - 1]);
        return match column.charset.as_str() {
            "" => serde_json::json!({ "$hex": hex::encode_upper(&bytes) }),
            cs if cs.starts_with("utf8") => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
            // latin1 and the other single-byte sets: each byte is its code point.
            _ => Value::String(bytes.iter().map(|b| *b as char).collect()),
        };
    }
    let text = String::from_utf8_lossy(raw);
    // An unsigned column's large values print as a negative number with the real one after.
    let text = match (column.unsigned, text.split_once(" (")) {
        (true, Some((_, real))) => real.trim_end_matches(')').to_owned(),
        (_, Some((signed, _))) => signed.to_owned(),
        _ => text.into_owned(),
    };
    if let Ok(n) = text.parse::<i64>() {
        return Value::from(n);
    }
    if let Ok(n) = text.parse::<u64>() {
        return Value::from(n);
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => Value::from(f),
        _ => Value::String(text),
    }
}

/// `mariadb-binlog` prints control bytes as `\xNN` and everything else as it is.
fn unescape(quoted: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(quoted.len());
    let mut i = 0;
    while i < quoted.len() {
        if quoted[i] == b'\\' && quoted.get(i + 1) == Some(&b'x') && i + 3 < quoted.len() {
            if let Ok(byte) = u8::from_str_radix(std::str::from_utf8(&quoted[i + 2..i + 4]).unwrap_or(""), 16) {
                if byte < 0x20 || byte == 0x7f {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(quoted[i]);
        i += 1;
    }
    out
}

/// A JSON value as a MariaDB literal; text with anything but printable ASCII goes as UTF-8
/// bytes, so each change of a replay script stays on its line whatever the client's charset.
fn literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Bool(b) => (*b as u8).to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if !s.chars().all(|c| c.is_ascii() && !c.is_control()) => {
            format!("CONVERT(X'{}' USING utf8mb4)", hex::encode(s.as_bytes()))
        }
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
        Value::Object(o) if o.len() == 1 && o.get("$hex").is_some_and(Value::is_string) => {
            format!("X'{}'", o["$hex"].as_str().unwrap_or_default())
        }
        other => literal(&Value::String(other.to_string())),
    }
}

fn name(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

pub(super) fn dialect(database: &str) -> super::replay::Dialect {
    super::replay::Dialect {
        // See postgres.rs: a replay waiting on a lock fails within bounds.
        begin: format!(
            "SET SESSION innodb_lock_wait_timeout = 30, SESSION max_statement_time = 120; USE {}; START TRANSACTION;",
            name(database)
        ),
        name,
        literal,
        delete_one: |table, matching| format!("DELETE FROM {table} WHERE {matching} LIMIT 1;"),
    }
}

/// Every table's columns in `database`.
pub(super) async fn columns_of(c: &ServerConfig, database: &str) -> Result<BTreeMap<String, Vec<String>>> {
    let out = sql(
        c,
        &format!(
            "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{}' ORDER BY 1, ORDINAL_POSITION",
            database.replace('\'', "''")
        ),
        &format!("list the tables of database {database}"),
    )
    .await?;
    let mut columns = BTreeMap::<String, Vec<String>>::new();
    for line in out.lines() {
        if let Some((table, column)) = line.split_once('\t') {
            columns.entry(table.to_owned()).or_default().push(column.to_owned());
        }
    }
    Ok(columns)
}

/// Moves each AUTO_INCREMENT counter past its table's highest captured id.
pub(super) async fn move_counters(
    c: &ServerConfig,
    database: &str,
    highest: &BTreeMap<String, i64>,
) -> Result<Vec<super::replay::MovedCounter>> {
    let doing = format!("move the AUTO_INCREMENT counters of database {database} past the captured ids");
    let mut moved = Vec::new();
    for (table, id) in highest {
        let has = sql(
            c,
            &format!(
                "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{}' AND AUTO_INCREMENT IS NOT NULL",
                database.replace('\'', "''"),
                table.replace('\'', "''")
            ),
            &doing,
        )
        .await?;
        let Ok(next) = has.trim().parse::<i64>() else { continue };
        if next <= *id {
            sql(c, &format!("ALTER TABLE {}.{} AUTO_INCREMENT = {}", name(database), name(table), id + 1), &doing).await?;
        }
        moved.push(super::replay::MovedCounter { table: table.clone(), to: (*id).max(next - 1) });
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_the_binary_log_prints_them() {
        let column = |charset: &str, unsigned| Column { name: "c".into(), unsigned, charset: charset.into(), key: false };
        assert_eq!(decode(b"5 /* LONGINT meta=0 */", &column("", false)), Value::from(5));
        assert_eq!(decode(b"-1 (4294967295) /* INT meta=0 */", &column("", true)), Value::from(4294967295u64));
        assert_eq!(decode(b"-1 (4294967295) /* INT meta=0 */", &column("", false)), Value::from(-1));
        assert_eq!(decode(b"NULL /* BLOB/TEXT */", &column("utf8mb4", false)), Value::Null);
        assert_eq!(decode(b"'it's\\x0a \\x41 /* x' /* BLOB/TEXT */", &column("utf8mb4", false)), Value::from("it's\n \\x41 /* x"));
        assert_eq!(decode(b"'caf\xe9' /* VARSTRING */", &column("latin1", false)), Value::from("caf\u{e9}"));
        assert_eq!(decode(b"'\\x00\xff' /* BLOB */", &column("", false)), serde_json::json!({"$hex": "00FF"}));
        assert_eq!(position("mb.000002", 4).unwrap(), (2 << 32) | 4);
        assert_eq!(file_of("mb.000001", (2 << 32) | 4), "mb.000002");
        assert_eq!(table_in("`shop`.`notes`", "shop").as_deref(), Some("notes"));
        assert_eq!(table_in("`other`.`notes`", "shop"), None);
    }
}
