//! The release journal: releases as the engine runs them and the append-only list of their
//! transitions. The engine journals a transition (with the commands it is about to send)
//! before sending them, so after a crash the last transition says what to re-send.
//!
//! State, events, commands, placement and config are JSON the engine writes; the store keeps
//! them in order and never interprets them, so it does not depend on the workflow types.

use crate::{now, Store, StoreError};
use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, SqliteConnection};
use switchyard_core::record::{ChainedTransition, ReleaseHeader};
use switchyard_core::workflow::Outcome;

/// A release to create, with its start state and first commands (transition 0).
#[derive(Debug, Clone)]
pub struct NewRelease<'a> {
    pub uid: &'a str,
    /// The site's key (what its environments are named by on the host).
    pub site: &'a str,
    /// The site in the inventory; `None` for an engine driven without one (a shell, a test).
    pub site_id: Option<i64>,
    /// `rehearsal` or `production`.
    pub run: &'a str,
    pub workflow: &'a str,
    pub document_toml: &'a str,
    pub document_version: i64,
    pub candidate_sha256: &'a str,
    /// The submitter's name when they submitted.
    pub submitted_by: &'a str,
    pub submitted_by_id: Option<i64>,
    pub placement: &'a str,
    pub config: &'a str,
    pub state: &'a str,
    pub commands: &'a str,
}

/// A release as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReleaseRecord {
    pub id: i64,
    pub uid: String,
    /// The site's key (for releases recorded before keys, of a site deleted by then: its name).
    pub site: String,
    /// `None` once the site was deleted: nobody inherits its releases.
    pub site_id: Option<i64>,
    pub run: String,
    pub workflow: String,
    pub document_toml: String,
    pub document_version: i64,
    pub candidate_sha256: String,
    pub submitted_by: String,
    /// `None` for Switchyard itself, a deleted user, or a release recorded before ids.
    pub submitted_by_id: Option<i64>,
    pub placement: String,
    pub config: String,
    /// The state of the last transition.
    pub state: String,
    pub rehearsal_passed: bool,
    /// `completed` or `rolled-back` once final; a completed release can still be rolled back.
    pub outcome: Option<String>,
    /// The production run's downtime (site-down page, temporary address or held requests)
    /// and failed requests; a rollback's are apart, below.
    pub downtime_ms: Option<i64>,
    pub failed_requests: Option<i64>,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// The part of `downtime_ms` requests were held (answered late, not refused).
    pub held_ms: Option<i64>,
    pub rollback_downtime_ms: Option<i64>,
    pub rollback_held_ms: Option<i64>,
    pub rollback_failed_requests: Option<i64>,
    /// The router's counters of the public address as the rollback began (JSON), which its
    /// failed requests are counted from.
    pub rollback_baseline: Option<String>,
    /// When the capture window closed (a low-downtime migration's new version no longer
    /// captured, so a rollback can no longer replay its writes).
    pub capture_closed_at: Option<String>,
}

/// What the router measured for one part of a release (its production run or its rollback).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub downtime_ms: i64,
    pub held_ms: i64,
    pub failed_requests: i64,
}

/// One journaled transition.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TransitionRecord {
    pub release_id: i64,
    pub seq: i64,
    /// `None` for the start.
    pub event: Option<String>,
    pub state: String,
    pub commands: String,
    pub at: String,
}

/// A transition to append.
#[derive(Debug, Clone)]
pub struct NewTransition<'a> {
    pub event: &'a str,
    pub state: &'a str,
    pub commands: &'a str,
}

/// A rehearsal on record for the control rule: this candidate and document version, and
/// whether it passed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RehearsalRow {
    pub candidate_sha256: String,
    pub document_version: i64,
    pub passed: bool,
}

/// Whose releases: a site of the inventory by id, or, for an engine driven without an
/// inventory (a shell, the engine's tests), the releases recorded under a site key and no id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteReleases<'a> {
    Site(i64),
    Unlisted(&'a str),
}

impl<'a> SiteReleases<'a> {
    pub fn new(site_id: Option<i64>, key: &'a str) -> Self {
        site_id.map_or(Self::Unlisted(key), Self::Site)
    }

    /// The WHERE condition with its one `$1` argument.
    fn condition(self) -> Result<(&'static str, SqliteArguments<'a>), StoreError> {
        let mut arguments = SqliteArguments::default();
        let (condition, added) = match self {
            Self::Site(id) => ("site_id = $1", arguments.add(id)),
            Self::Unlisted(key) => ("site = $1 AND site_id IS NULL", arguments.add(key)),
        };
        added.map_err(|e| StoreError::Database(sqlx::Error::Encode(e)))?;
        Ok((condition, arguments))
    }
}

const SELECT: &str = "SELECT id, uid, site, site_id, run, workflow, document_toml, document_version, candidate_sha256, \
     submitted_by, submitted_by_id, placement, config, state, rehearsal_passed, outcome, downtime_ms, failed_requests, created_at, \
     finished_at, held_ms, rollback_downtime_ms, rollback_held_ms, rollback_failed_requests, rollback_baseline, capture_closed_at FROM releases";

fn chained(seq: i64, event: Option<&str>, state: &str, commands: &str, at: &str) -> ChainedTransition {
    ChainedTransition {
        seq,
        event: event.map(str::to_owned),
        state: state.to_owned(),
        commands: commands.to_owned(),
        at: at.to_owned(),
        prev_hash: None,
        hash: None,
    }
}

/// Inserts a transition chained onto `prev_hash`; returns its own hash for the next one.
async fn insert_transition(
    conn: &mut SqliteConnection,
    release_id: i64,
    transition: &ChainedTransition,
    prev_hash: &str,
) -> Result<String, StoreError> {
    let hash = crate::record::transition_hash(release_id, transition, prev_hash);
    sqlx::query(
        "INSERT INTO release_transitions (release_id, seq, event, state, commands, at, prev_hash, row_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(release_id)
    .bind(transition.seq)
    .bind(&transition.event)
    .bind(&transition.state)
    .bind(&transition.commands)
    .bind(&transition.at)
    .bind(prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    Ok(hash)
}

impl Store {
    /// Creates the release and journals its start (transition 0) in one transaction.
    pub async fn create_release(&self, new: &NewRelease<'_>) -> Result<ReleaseRecord, StoreError> {
        let mut tx = self.write_transaction().await?;
        let at = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO releases (uid, site, run, workflow, document_toml, document_version, candidate_sha256, \
             submitted_by, placement, config, state, created_at, site_id, submitted_by_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        )
        .bind(new.uid)
        .bind(new.site)
        .bind(new.run)
        .bind(new.workflow)
        .bind(new.document_toml)
        .bind(new.document_version)
        .bind(new.candidate_sha256)
        .bind(new.submitted_by)
        .bind(new.placement)
        .bind(new.config)
        .bind(new.state)
        .bind(&at)
        .bind(new.site_id)
        .bind(new.submitted_by_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(crate::error::on_unique(|| format!("a release with uid {} already exists; use a fresh uid", new.uid)))?;
        let header = ReleaseHeader {
            id,
            uid: new.uid.into(),
            site: new.site.into(),
            run: new.run.into(),
            workflow: new.workflow.into(),
            document_toml: new.document_toml.into(),
            document_version: new.document_version,
            candidate_sha256: new.candidate_sha256.into(),
            submitted_by: new.submitted_by.into(),
            placement: new.placement.into(),
            config: new.config.into(),
            created_at: at.clone(),
        };
        let start = chained(0, None, new.state, new.commands, &at);
        insert_transition(&mut tx, id, &start, &header.hash()).await?;
        tx.commit().await?;
        self.release(id).await
    }

    pub async fn release(&self, id: i64) -> Result<ReleaseRecord, StoreError> {
        let row: Option<ReleaseRecord> = sqlx::query_as(&format!("{SELECT} WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.ok_or(StoreError::NotFound { what: "release", id })
    }

    /// A site's releases, newest first.
    pub async fn list_releases(&self, site: SiteReleases<'_>) -> Result<Vec<ReleaseRecord>, StoreError> {
        let (condition, arguments) = site.condition()?;
        Ok(sqlx::query_as_with(&format!("{SELECT} WHERE {condition} ORDER BY id DESC"), arguments).fetch_all(&self.pool).await?)
    }

    /// Releases not yet final: what an engine resumes after a restart.
    pub async fn unfinished_releases(&self) -> Result<Vec<ReleaseRecord>, StoreError> {
        Ok(sqlx::query_as(&format!("{SELECT} WHERE outcome IS NULL ORDER BY id")).fetch_all(&self.pool).await?)
    }

    /// Every transition of a release, oldest first.
    pub async fn transitions(&self, release_id: i64) -> Result<Vec<TransitionRecord>, StoreError> {
        Ok(sqlx::query_as("SELECT release_id, seq, event, state, commands, at FROM release_transitions WHERE release_id = $1 ORDER BY seq")
            .bind(release_id)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn last_transition(&self, release_id: i64) -> Result<TransitionRecord, StoreError> {
        let row: Option<TransitionRecord> = sqlx::query_as(
            "SELECT release_id, seq, event, state, commands, at FROM release_transitions \
             WHERE release_id = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(release_id)
        .fetch_optional(&self.pool)
        .await?;
        row.ok_or(StoreError::NotFound { what: "release", id: release_id })
    }

    /// Appends `transitions` after transition `after_seq` in one transaction and records the
    /// last state on the release (and `outcome` when it is final). Refused with a conflict when
    /// another writer appended first, so two engines never both act on the same transition.
    /// Returns the sequence number of the last appended transition.
    pub async fn append_transitions(
        &self,
        release_id: i64,
        after_seq: i64,
        transitions: &[NewTransition<'_>],
        outcome: Option<Outcome>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_transaction().await?;
        let last: Option<(i64, Option<String>)> =
            sqlx::query_as("SELECT seq, row_hash FROM release_transitions WHERE release_id = $1 ORDER BY seq DESC LIMIT 1")
                .bind(release_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((last, prev_hash)) = last else {
            return Err(StoreError::NotFound { what: "release", id: release_id });
        };
        // A transition without a hash (written outside Switchyard) is chained onto as it is.
        let mut prev_hash = prev_hash.unwrap_or_default();
        if last != after_seq {
            return Err(StoreError::Conflict(format!(
                "release {release_id} moved on to transition {last} while this change was based on {after_seq}; reload it and try again"
            )));
        }
        let at = now();
        let mut seq = after_seq;
        for transition in transitions {
            seq += 1;
            let next = chained(seq, Some(transition.event), transition.state, transition.commands, &at);
            prev_hash = insert_transition(&mut tx, release_id, &next, &prev_hash).await?;
        }
        if let Some(state) = transitions.last().map(|t| t.state) {
            // A rollback after completion reopens the release until it is rolled back;
            // completed_at keeps the first completion, which tells a rollback from a failure.
            // `outcome` names the final state, `ended_as` what history counts it as.
            let final_state = outcome.map(|o| if o == Outcome::Completed { "completed" } else { "rolled-back" });
            sqlx::query(
                "UPDATE releases SET state = $1, outcome = $2, finished_at = CASE WHEN $2 IS NULL THEN NULL ELSE $3 END, \
                 completed_at = COALESCE(completed_at, CASE WHEN $2 = 'completed' THEN $3 END), ended_as = $5 WHERE id = $4",
            )
            .bind(state)
            .bind(final_state)
            .bind(&at)
            .bind(release_id)
            .bind(outcome.map(Outcome::as_str))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(seq)
    }

    /// Marks the rehearsal as passed (its `RecordRehearsal` command).
    pub async fn mark_rehearsal_passed(&self, release_id: i64) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE releases SET rehearsal_passed = 1 WHERE id = $1 AND run = 'rehearsal'")
            .bind(release_id)
            .execute(&self.pool)
            .await?;
        crate::affected(result, "rehearsal", release_id)
    }

    /// Stores what the router measured for a release: milliseconds the public address served
    /// the site-down page or held requests, and the requests that failed.
    pub async fn record_downtime(&self, release_id: i64, downtime_ms: i64, failed_requests: i64) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE releases SET downtime_ms = $1, failed_requests = $2 WHERE id = $3")
            .bind(downtime_ms)
            .bind(failed_requests)
            .bind(release_id)
            .execute(&self.pool)
            .await?;
        crate::affected(result, "release", release_id)
    }

    /// Stores the production run's figures and, once it was rolled back, the rollback's.
    pub async fn record_figures(&self, release_id: i64, run: Figures, rollback: Option<Figures>) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE releases SET downtime_ms = $1, held_ms = $2, failed_requests = $3, rollback_downtime_ms = $4, \
             rollback_held_ms = $5, rollback_failed_requests = $6 WHERE id = $7",
        )
        .bind(run.downtime_ms)
        .bind(run.held_ms)
        .bind(run.failed_requests)
        .bind(rollback.map(|f| f.downtime_ms))
        .bind(rollback.map(|f| f.held_ms))
        .bind(rollback.map(|f| f.failed_requests))
        .bind(release_id)
        .execute(&self.pool)
        .await?;
        crate::affected(result, "release", release_id)
    }

    /// Completed low-downtime migration runs whose new version's writes are still captured,
    /// oldest first: the candidates for closing their capture window.
    pub async fn open_capture_windows(&self) -> Result<Vec<ReleaseRecord>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "{SELECT} WHERE run = 'production' AND workflow = 'low-downtime-migration' AND ended_as = 'completed' \
             AND capture_closed_at IS NULL ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records that the release's capture window closed at `at`; a window closed before keeps
    /// the time it closed.
    pub async fn close_capture_window(&self, release_id: i64, at: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE releases SET capture_closed_at = $1 WHERE id = $2 AND capture_closed_at IS NULL")
            .bind(at)
            .bind(release_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Keeps the router's counters as a rollback begins, unless they were kept already (a
    /// resumed rollback counts from its first start).
    pub async fn record_rollback_baseline(&self, release_id: i64, baseline: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE releases SET rollback_baseline = $1 WHERE id = $2 AND rollback_baseline IS NULL")
            .bind(baseline)
            .bind(release_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The site's finished or passed rehearsals: what the control rule checks a production run
    /// against. A rehearsal still running is neither passed nor failed, so it is left out.
    /// A deleted site's rehearsals count for no later site, even one reusing its name or key.
    pub async fn rehearsals(&self, site: SiteReleases<'_>) -> Result<Vec<RehearsalRow>, StoreError> {
        let (condition, arguments) = site.condition()?;
        Ok(sqlx::query_as_with(
            &format!(
                "SELECT candidate_sha256, document_version, rehearsal_passed AS passed FROM releases \
             WHERE {condition} AND run = 'rehearsal' AND (rehearsal_passed = 1 OR outcome IS NOT NULL) ORDER BY id",
            ),
            arguments,
        )
        .fetch_all(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_release<'a>(uid: &'a str, run: &'a str) -> NewRelease<'a> {
        NewRelease {
            uid,
            site: "shop",
            site_id: None,
            run,
            workflow: "no-migration",
            document_toml: "site = \"shop\"",
            document_version: 3,
            candidate_sha256: "ab",
            submitted_by: "sue",
            submitted_by_id: None,
            placement: "{}",
            config: "{}",
            state: "s0",
            commands: "[c0]",
        }
    }

    #[tokio::test]
    async fn transitions_append_in_order_and_a_stale_writer_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).await.unwrap();
        let release = store.create_release(&new_release("u1", "rehearsal")).await.unwrap();
        assert_eq!((release.state.as_str(), release.outcome.as_deref()), ("s0", None));
        let step = |event, state, commands| NewTransition { event, state, commands };
        let seq = store.append_transitions(release.id, 0, &[step("e1", "s1", "[]"), step("e2", "s2", "[c2]")], None).await.unwrap();
        assert_eq!(seq, 2);
        let stale = store.append_transitions(release.id, 1, &[step("e3", "s3", "[]")], None).await.unwrap_err();
        assert!(stale.to_string().contains("moved on to transition 2"), "{stale}");
        let journal = store.transitions(release.id).await.unwrap();
        let seen: Vec<(i64, Option<&str>, &str)> = journal.iter().map(|t| (t.seq, t.event.as_deref(), t.state.as_str())).collect();
        assert_eq!(seen, [(0, None, "s0"), (1, Some("e1"), "s1"), (2, Some("e2"), "s2")]);
        assert_eq!(store.last_transition(release.id).await.unwrap().commands, "[c2]");
        assert_eq!(store.unfinished_releases().await.unwrap().len(), 1);

        store.append_transitions(release.id, 2, &[step("e3", "done", "[]")], Some(Outcome::Completed)).await.unwrap();
        let done = store.release(release.id).await.unwrap();
        assert_eq!((done.state.as_str(), done.outcome.as_deref()), ("done", Some("completed")));
        assert!(done.finished_at.is_some());
        assert!(store.unfinished_releases().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn rehearsals_on_record_are_the_passed_and_the_finished_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).await.unwrap();
        let passed = store.create_release(&new_release("u1", "rehearsal")).await.unwrap();
        let failed = store.create_release(&new_release("u2", "rehearsal")).await.unwrap();
        store.create_release(&new_release("u3", "rehearsal")).await.unwrap();
        store.create_release(&new_release("u4", "production")).await.unwrap();
        store.mark_rehearsal_passed(passed.id).await.unwrap();
        store
            .append_transitions(failed.id, 0, &[NewTransition { event: "e", state: "rb", commands: "[]" }], Some(Outcome::Failed))
            .await
            .unwrap();
        let rows = store.rehearsals(SiteReleases::Unlisted("shop")).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.passed).collect::<Vec<_>>(), [true, false]);
        assert!(store.rehearsals(SiteReleases::Unlisted("other")).await.unwrap().is_empty());
        store.record_downtime(passed.id, 1500, 0).await.unwrap();
        assert_eq!(store.release(passed.id).await.unwrap().downtime_ms, Some(1500));
        assert!(matches!(store.record_downtime(99, 1, 0).await, Err(StoreError::NotFound { .. })));
    }
}
