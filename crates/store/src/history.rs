//! Release history for managers: pages of releases newest first, the charts' weekly numbers
//! and (in `history_csv.rs`) the CSV export, all under one filter and one scope.
//!
//! A release refers to its site by id (`releases.site_id`, set NULL when the site is deleted),
//! so a release whose site was deleted lists as "(deleted site)" with no ids, and a later site
//! that reuses the name (perhaps another customer's) never inherits it. A customer scope is a
//! condition on that id, so a release with no site is never shown to a customer user. Sites and
//! submitters show under their current names.

use crate::{Store, StoreError};
use sqlx::sqlite::SqliteArguments;
use sqlx::Arguments;
use switchyard_api::{HistoryFilter, HistoryStats, OutcomeCounts, ReleaseSummary, WeekStats};
use switchyard_core::history_filter::{run_name, Day, HistoryFilterInput, HistoryQuery, HistoryScope, OutcomeFilter};
use switchyard_core::Invalid;

/// What the customer column says for a release whose site no longer exists.
pub const DELETED_SITE: &str = "(deleted site)";

/// One release as the history lists it, with its site and customer as they are now.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct HistoryRow {
    pub id: i64,
    pub uid: String,
    pub site: String,
    /// `None` when the site was deleted.
    pub site_id: Option<i64>,
    /// The customer's name, or [`DELETED_SITE`].
    pub customer: String,
    pub customer_id: Option<i64>,
    pub run: String,
    pub workflow: String,
    pub document_version: i64,
    pub candidate_sha256: String,
    pub submitted_by: String,
    /// The last transition's state, JSON the engine wrote.
    pub state: String,
    /// `completed` or `rolled-back` once final.
    pub outcome: Option<String>,
    /// How it ended as history counts it (core's `Outcome`); `None` while running.
    pub ended_as: Option<String>,
    pub downtime_ms: Option<i64>,
    pub failed_requests: Option<i64>,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// The first time the release completed; set on a release rolled back after completing.
    pub completed_at: Option<String>,
    /// From creation to finish; `None` while running.
    pub duration_s: Option<f64>,
}

/// One page of history and how many releases match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPageRows {
    pub total: i64,
    /// The page size used, after clamping.
    pub limit: i64,
    pub offset: i64,
    pub rows: Vec<HistoryRow>,
}

impl HistoryRow {
    /// The release as lists show it. `status` and `waiting_for` come from the engine, which
    /// reads `state`; a running release's duration counts up to `now`.
    pub fn to_summary(&self, status: String, waiting_for: String, now: chrono::DateTime<chrono::Utc>) -> ReleaseSummary {
        let running_for = || {
            chrono::DateTime::parse_from_rfc3339(&self.created_at)
                .map(|created| (now - created.with_timezone(&chrono::Utc)).num_milliseconds().max(0) as f64 / 1000.0)
                .unwrap_or(0.0)
        };
        ReleaseSummary {
            id: self.id,
            site: self.site.clone(),
            site_id: self.site_id,
            customer: self.customer.clone(),
            customer_id: self.customer_id,
            run: self.run.clone(),
            workflow: self.workflow.clone(),
            document_version: self.document_version,
            candidate_sha256: self.candidate_sha256.clone(),
            submitted_by: self.submitted_by.clone(),
            status,
            waiting_for,
            outcome: self.ended_as.clone(),
            downtime_ms: self.downtime_ms,
            failed_requests: self.failed_requests,
            // History lists the run's figures; a release's page has its rollback's too.
            held_ms: None,
            rollback_downtime_ms: None,
            rollback_held_ms: None,
            rollback_failed_requests: None,
            created_at: self.created_at.clone(),
            finished_at: self.finished_at.clone(),
            duration_s: self.duration_s.unwrap_or_else(running_for),
        }
    }

    /// `completed`, `failed`, `rejected`, `rolled-back` or `running`: the categories of
    /// [`HistoryStats`].
    pub fn history_outcome(&self) -> &str {
        history_outcome(self.ended_as.as_deref())
    }
}

/// A run's category in history: how it ended, or `running`.
pub fn history_outcome(ended_as: Option<&str>) -> &str {
    ended_as.unwrap_or("running")
}

/// Checks a wire filter against core's rules, so the service can refuse it before any query.
pub fn history_query(filter: &HistoryFilter) -> Result<HistoryQuery, Invalid> {
    HistoryQuery::parse(&HistoryFilterInput {
        site_id: filter.site_id,
        customer_id: filter.customer_id,
        workflow: filter.workflow.as_deref(),
        outcome: filter.outcome.as_deref(),
        run: filter.run.as_deref(),
        from: filter.from.as_deref(),
        to: filter.to.as_deref(),
        limit: filter.limit,
        offset: filter.offset,
    })
}

/// Releases joined to their site, its customer and their submitter.
pub(crate) const FROM: &str = "FROM releases r \
     LEFT JOIN sites s ON s.id = r.site_id \
     LEFT JOIN customers c ON c.id = s.customer_id \
     LEFT JOIN users u ON u.id = r.submitted_by_id";

/// The columns naming a release's site and submitter as they are called now; the names stored
/// on the release only for a deleted site or user.
pub(crate) const NAMES: &str = "COALESCE(s.name, r.site) AS site, COALESCE(u.username, r.submitted_by) AS submitted_by";

/// A value bound to a numbered placeholder.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Int(i64),
    Text(String),
}

/// The WHERE clause of a scope and filter, with `$n` placeholders and their values.
#[derive(Debug, Clone, Default)]
pub(crate) struct Conditions {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

impl Conditions {
    pub(crate) fn new(scope: HistoryScope, query: &HistoryQuery) -> Conditions {
        let mut conditions = Conditions::default();
        // Through site_id alone (in the covering index), so counts need no join.
        let of_customer = |conditions: &mut Conditions, customer_id| {
            conditions.binds.push(Bind::Int(customer_id));
            let n = conditions.binds.len();
            conditions.push(format!("r.site_id IN (SELECT id FROM sites WHERE customer_id = ${n})"));
        };
        if let HistoryScope::Customer(customer_id) = scope {
            of_customer(&mut conditions, customer_id);
        }
        if let Some(site_id) = query.site_id {
            conditions.bind("r.site_id = ", Bind::Int(site_id));
        }
        if let Some(customer_id) = query.customer_id {
            of_customer(&mut conditions, customer_id);
        }
        if let Some(workflow) = query.workflow {
            conditions.bind("r.workflow = ", Bind::Text(workflow.as_str().to_owned()));
        }
        if let Some(run) = query.run {
            conditions.bind("r.run = ", Bind::Text(run_name(run).to_owned()));
        }
        match query.outcome {
            Some(OutcomeFilter::Ended(outcome)) => {
                conditions.bind("r.ended_as = ", Bind::Text(outcome.as_str().to_owned()));
            }
            Some(OutcomeFilter::Running) => conditions.clauses.push("r.ended_as IS NULL".into()),
            None => {}
        }
        // Timestamps are RFC 3339 UTC text, so a bare day sorts before every time on that day.
        if let Some(from) = query.from {
            conditions.bind("r.created_at >= ", Bind::Text(from.to_string()));
        }
        if let Some(to) = query.to {
            conditions.bind("r.created_at < ", Bind::Text(to.plus_days(1).to_string()));
        }
        conditions
    }

    /// Adds `left $n` with the next placeholder number; returns that number.
    pub(crate) fn bind(&mut self, left: &str, value: Bind) -> usize {
        self.binds.push(value);
        let n = self.binds.len();
        self.clauses.push(format!("{left}${n}"));
        n
    }

    /// Adds a clause that uses placeholders already bound.
    pub(crate) fn push(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    /// The next placeholder number.
    pub(crate) fn next(&self) -> usize {
        self.binds.len() + 1
    }

    /// Whether any condition reads the site or customer, so a count can skip the joins.
    fn needs_sites(&self) -> bool {
        self.clauses.iter().any(|c| c.starts_with("s.") || c.starts_with("c."))
    }

    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The bound values, plus `extra` after them (e.g. LIMIT and OFFSET).
    pub(crate) fn arguments(&self, extra: &[Bind]) -> Result<SqliteArguments<'static>, StoreError> {
        let mut arguments = SqliteArguments::default();
        for value in self.binds.iter().chain(extra) {
            let added = match value {
                Bind::Int(n) => arguments.add(*n),
                Bind::Text(text) => arguments.add(text.clone()),
            };
            added.map_err(|e| StoreError::Database(sqlx::Error::Encode(e)))?;
        }
        Ok(arguments)
    }
}

/// Per week and run: the week, the run, releases, completed, failed, rejected, rolled back,
/// running, mean duration of the finished ones, downtime milliseconds and failed requests.
type WeekRow = (Option<String>, String, i64, i64, i64, i64, i64, i64, Option<f64>, i64, i64);

impl Store {
    /// One page of the releases `scope` may see that match `filter`, newest first, with the
    /// total. A malformed filter is refused with [`StoreError::InvalidFilter`].
    pub async fn release_history(&self, scope: HistoryScope, filter: &HistoryFilter) -> Result<HistoryPageRows, StoreError> {
        let query = history_query(filter)?;
        let conditions = Conditions::new(scope, &query);
        let count_from = if conditions.needs_sites() { FROM } else { "FROM releases r" };
        let total: i64 = sqlx::query_scalar_with(&format!("SELECT COUNT(*) {count_from}{}", conditions.sql()), conditions.arguments(&[])?)
            .fetch_one(&self.pool)
            .await?;
        // The page's ids first, so a deep offset walks the index alone and only the page's
        // rows are joined and read.
        let (limit, offset) = (conditions.next(), conditions.next() + 1);
        let sql = format!(
            "SELECT r.id, r.uid, {NAMES}, s.id AS site_id, COALESCE(c.name, '{DELETED_SITE}') AS customer, \
             s.customer_id, r.run, r.workflow, r.document_version, r.candidate_sha256, r.state, \
             r.outcome, r.ended_as, r.downtime_ms, r.failed_requests, r.created_at, r.finished_at, r.completed_at, \
             CAST(r.duration_s AS REAL) AS duration_s \
             {FROM} WHERE r.id IN (SELECT r.id {count_from}{} ORDER BY r.created_at DESC, r.id DESC LIMIT ${limit} OFFSET ${offset}) \
             ORDER BY r.created_at DESC, r.id DESC",
            conditions.sql()
        );
        let rows = sqlx::query_as_with(&sql, conditions.arguments(&[Bind::Int(query.limit), Bind::Int(query.offset)])?)
            .fetch_all(&self.pool)
            .await?;
        Ok(HistoryPageRows { total, limit: query.limit, offset: query.offset, rows })
    }

    /// The charts' numbers for the releases `scope` may see that match `filter` (its page size
    /// and offset are ignored): totals, rates and one entry per ISO week, from the first
    /// matching week to the last, weeks without releases included as zeros.
    pub async fn release_stats(&self, scope: HistoryScope, filter: &HistoryFilter) -> Result<HistoryStats, StoreError> {
        let query = history_query(filter)?;
        let conditions = Conditions::new(scope, &query);
        let from = if conditions.needs_sites() { FROM } else { "FROM releases r" };
        let sql = format!(
            "SELECT r.created_week, r.run, COUNT(*), \
             SUM(CASE WHEN r.ended_as = 'completed' THEN 1 ELSE 0 END), \
             SUM(CASE WHEN r.ended_as = 'failed' THEN 1 ELSE 0 END), \
             SUM(CASE WHEN r.ended_as = 'rejected' THEN 1 ELSE 0 END), \
             SUM(CASE WHEN r.ended_as = 'rolled-back' THEN 1 ELSE 0 END), \
             SUM(CASE WHEN r.ended_as IS NULL THEN 1 ELSE 0 END), \
             AVG(r.duration_s), COALESCE(SUM(r.downtime_ms), 0), COALESCE(SUM(r.failed_requests), 0) \
             {from}{} GROUP BY r.created_week, r.run ORDER BY r.created_week",
            conditions.sql()
        );
        let rows: Vec<WeekRow> = sqlx::query_as_with(&sql, conditions.arguments(&[])?).fetch_all(&self.pool).await?;
        Ok(stats_from_weeks(&rows))
    }
}

fn stats_from_weeks(rows: &[WeekRow]) -> HistoryStats {
    let mut stats = HistoryStats {
        all: OutcomeCounts::default(),
        production: OutcomeCounts::default(),
        rehearsals: OutcomeCounts::default(),
        failure_rate: 0.0,
        rollback_rate: 0.0,
        weeks: Vec::new(),
    };
    // Mean durations of one week's runs of both kinds, weighted by their finished runs.
    let mut duration_weight = 0.0;
    for &(ref week, ref run, releases, completed, failed, rejected, rolled_back, running, mean_duration_s, downtime_ms, failed_requests) in
        rows
    {
        let counts = OutcomeCounts { total: releases, completed, failed, rejected, rolled_back, running };
        add(&mut stats.all, &counts);
        add(if run == "rehearsal" { &mut stats.rehearsals } else { &mut stats.production }, &counts);
        // A week the database cannot date (a malformed timestamp) still counts in the totals.
        let Some(monday) = week.as_deref().and_then(Day::parse) else { continue };
        let same_week = stats.weeks.last().is_some_and(|w| w.week == monday.to_string());
        if !same_week {
            if let Some(last) = stats.weeks.last().and_then(|w: &WeekStats| Day::parse(&w.week)) {
                let mut gap = last.plus_days(7);
                while gap < monday {
                    stats.weeks.push(empty_week(gap));
                    gap = gap.plus_days(7);
                }
            }
            stats.weeks.push(empty_week(monday));
            duration_weight = 0.0;
        }
        let entry = stats.weeks.last_mut().expect("pushed above");
        let finished = (releases - running) as f64;
        if let Some(mean) = mean_duration_s.filter(|_| finished > 0.0) {
            entry.mean_duration_s = (entry.mean_duration_s * duration_weight + mean * finished) / (duration_weight + finished);
            duration_weight += finished;
        }
        entry.releases += releases;
        entry.completed += completed;
        entry.failed += failed;
        entry.rejected += rejected;
        entry.rolled_back += rolled_back;
        entry.downtime_s += downtime_ms as f64 / 1000.0;
        entry.failed_requests += failed_requests;
    }
    let p = &stats.production;
    stats.failure_rate = ratio(p.failed, p.completed + p.failed + p.rejected + p.rolled_back);
    stats.rollback_rate = ratio(p.rolled_back, p.completed + p.rolled_back);
    stats
}

fn add(sum: &mut OutcomeCounts, counts: &OutcomeCounts) {
    sum.total += counts.total;
    sum.completed += counts.completed;
    sum.failed += counts.failed;
    sum.rejected += counts.rejected;
    sum.rolled_back += counts.rolled_back;
    sum.running += counts.running;
}

fn empty_week(monday: Day) -> WeekStats {
    WeekStats {
        week: monday.to_string(),
        releases: 0,
        completed: 0,
        failed: 0,
        rejected: 0,
        rolled_back: 0,
        mean_duration_s: 0.0,
        downtime_s: 0.0,
        failed_requests: 0,
    }
}

fn ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_without_releases_are_filled_and_rates_count_production_runs_only() {
        let rows: Vec<WeekRow> = vec![
            (Some("2026-12-21".into()), "production".into(), 5, 2, 1, 1, 1, 0, Some(30.0), 1500, 3),
            (Some("2026-12-21".into()), "rehearsal".into(), 2, 1, 1, 0, 0, 0, Some(60.0), 0, 0),
            (Some("2027-01-04".into()), "production".into(), 1, 0, 0, 0, 0, 1, None, 0, 0),
        ];
        let stats = stats_from_weeks(&rows);
        let weeks: Vec<(&str, i64)> = stats.weeks.iter().map(|w| (w.week.as_str(), w.releases)).collect();
        assert_eq!(weeks, [("2026-12-21", 7), ("2026-12-28", 0), ("2027-01-04", 1)]);
        let all = &stats.all;
        assert_eq!((all.total, all.completed, all.failed, all.rejected, all.rolled_back, all.running), (8, 3, 2, 1, 1, 1));
        assert_eq!((stats.production.total, stats.rehearsals.total, stats.rehearsals.failed), (6, 2, 1));
        // The rehearsal's failure is not a production failure.
        assert_eq!(stats.failure_rate, 1.0 / 5.0);
        assert_eq!(stats.rollback_rate, 1.0 / 3.0);
        assert_eq!(stats.weeks[0].mean_duration_s, (30.0 * 5.0 + 60.0 * 2.0) / 7.0);
        assert_eq!((stats.weeks[0].downtime_s, stats.weeks[2].mean_duration_s), (1.5, 0.0));
        assert_eq!(stats_from_weeks(&[]).failure_rate, 0.0);
    }
}
