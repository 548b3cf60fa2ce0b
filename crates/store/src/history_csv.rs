//! The release-history CSV export: every release a scope and filter match (not one page),
//! newest first, read in chunks so memory stays flat however long the history is.
//!
//! Quoting follows RFC 4180 (CRLF line ends; a field with a comma, quote or line break is
//! quoted with its quotes doubled). A text cell that a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-`, `@`, tab or carriage return) gets a leading `'`, since
//! customer and user names are typed by people outside the company.

use crate::history::{history_outcome, history_query, Bind, Conditions, DELETED_SITE, FROM, NAMES};
use crate::{Store, StoreError};
use std::io::Write;
use switchyard_api::HistoryFilter;
use switchyard_core::history_filter::HistoryScope;

/// The header line, in column order.
pub const HISTORY_CSV_COLUMNS: [&str; 14] = [
    "id",
    "site",
    "customer",
    "run",
    "workflow",
    "document_version",
    "candidate_sha256",
    "submitted_by",
    "outcome",
    "created_at",
    "finished_at",
    "duration_s",
    "downtime_s",
    "failed_requests",
];

/// Rows read per query: big enough that the export is a handful of queries, small enough
/// that a long history never sits in memory at once.
const CHUNK: i64 = 5_000;

#[derive(Debug, sqlx::FromRow)]
struct ExportRow {
    id: i64,
    site: String,
    customer: String,
    run: String,
    workflow: String,
    document_version: i64,
    candidate_sha256: String,
    submitted_by: String,
    ended_as: Option<String>,
    created_at: String,
    finished_at: Option<String>,
    duration_s: Option<f64>,
    downtime_ms: Option<i64>,
    failed_requests: Option<i64>,
}

impl Store {
    /// Writes every release `scope` may see that matches `filter` (page size and offset are
    /// ignored) to `out` as CSV with a header line; returns how many releases it wrote.
    /// `outcome` is `completed`, `failed`, `rejected`, `rolled-back` or `running`, as in the stats.
    pub async fn release_history_csv(&self, scope: HistoryScope, filter: &HistoryFilter, out: &mut impl Write) -> Result<u64, StoreError> {
        let query = history_query(filter)?;
        let base = Conditions::new(scope, &query);
        write_line(out, HISTORY_CSV_COLUMNS.iter().map(|c| c.to_string())).map_err(StoreError::Export)?;
        let mut written = 0;
        let mut after: Option<(String, i64)> = None;
        loop {
            let mut conditions = base.clone();
            let mut extra = Vec::new();
            if let Some((created_at, id)) = &after {
                let (at, below) = (conditions.next(), conditions.next() + 1);
                // The plain upper bound lets the read start in the index right after the last row.
                conditions.push(format!("r.created_at <= ${at} AND (r.created_at < ${at} OR r.id < ${below})"));
                extra.extend([Bind::Text(created_at.clone()), Bind::Int(*id)]);
            }
            let limit = conditions.next() + extra.len();
            extra.push(Bind::Int(CHUNK));
            let sql = format!(
                "SELECT r.id, {NAMES}, COALESCE(c.name, '{DELETED_SITE}') AS customer, r.run, r.workflow, \
                 r.document_version, r.candidate_sha256, r.ended_as, r.created_at, \
                 r.finished_at, CAST(r.duration_s AS REAL) AS duration_s, r.downtime_ms, r.failed_requests \
                 {FROM}{} ORDER BY r.created_at DESC, r.id DESC LIMIT ${limit}",
                conditions.sql()
            );
            let rows: Vec<ExportRow> = sqlx::query_as_with(&sql, conditions.arguments(&extra)?).fetch_all(&self.pool).await?;
            for row in &rows {
                write_line(out, cells(row)).map_err(StoreError::Export)?;
            }
            written += rows.len() as u64;
            match rows.last() {
                Some(last) if rows.len() as i64 == CHUNK => after = Some((last.created_at.clone(), last.id)),
                _ => break,
            }
        }
        out.flush().map_err(StoreError::Export)?;
        Ok(written)
    }
}

fn cells(row: &ExportRow) -> [String; 14] {
    let optional = |value: Option<i64>| value.map(|v| v.to_string()).unwrap_or_default();
    [
        row.id.to_string(),
        text(&row.site),
        text(&row.customer),
        text(&row.run),
        text(&row.workflow),
        row.document_version.to_string(),
        text(&row.candidate_sha256),
        text(&row.submitted_by),
        history_outcome(row.ended_as.as_deref()).to_owned(),
        text(&row.created_at),
        row.finished_at.as_deref().map(text).unwrap_or_default(),
        row.duration_s.map(|s| format!("{s:.3}")).unwrap_or_default(),
        row.downtime_ms.map(|ms| format!("{}.{:03}", ms / 1000, (ms % 1000).abs())).unwrap_or_default(),
        optional(row.failed_requests),
    ]
}

/// A text cell, defused if a spreadsheet would read it as a formula.
fn text(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

fn write_line(out: &mut impl Write, cells: impl IntoIterator<Item = String>) -> std::io::Result<()> {
    let mut line = String::new();
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&quoted(&cell));
    }
    line.push_str("\r\n");
    out.write_all(line.as_bytes())
}

/// RFC 4180: quote a field holding a comma, quote or line break, doubling its quotes.
fn quoted(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\"")).into()
    } else {
        cell.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_they_must_be_and_formulas_are_defused() {
        assert_eq!(quoted("plain"), "plain");
        assert_eq!(quoted("Acme, Inc."), "\"Acme, Inc.\"");
        assert_eq!(quoted("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quoted("two\nlines"), "\"two\nlines\"");
        assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text("sue"), "sue");
        let mut out = Vec::new();
        write_line(&mut out, ["a".to_string(), "b,c".to_string(), String::new()]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a,\"b,c\",\r\n");
    }
}
