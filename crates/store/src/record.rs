//! The record's hash chains in the store: the audit log is one chain in id order, each release's
//! journal its own chain from the hash of the release's fixed fields (`switchyard_core::record`
//! says what is hashed). Hashes are computed inside the write transaction that inserts the row
//! (`BEGIN IMMEDIATE`, so no two writers chain onto the same predecessor), backfilled once for
//! rows written before chains existed, and checked by [`Store::verify_record`].

use crate::{Store, StoreError};
use sqlx::SqliteConnection;
use switchyard_core::record::{
    audit_fields, check_release_journal, fold_journal_head, row_hash, ChainBreak, ChainCheck, ChainedTransition, RecordCheck,
    ReleaseHeader, ReleaseRecordExport, StoredLink, GENESIS, RELEASE_RECORD_FORMAT,
};

/// An audit row's hash over what it records.
pub(crate) struct AuditContent<'a> {
    pub id: i64,
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub detail: &'a str,
    pub remote: &'a str,
}

impl AuditContent<'_> {
    pub(crate) fn hash(&self, prev_hash: &str) -> String {
        let id = self.id.to_string();
        row_hash("audit_log", &audit_fields(&id, self.at, self.actor, self.action, self.target, self.detail, self.remote), prev_hash)
    }
}

/// A transition's hash; the same fields [`ChainedTransition::fields`] names for the verifier.
pub(crate) fn transition_hash(release_id: i64, transition: &ChainedTransition, prev_hash: &str) -> String {
    let (release_id, seq) = (release_id.to_string(), transition.seq.to_string());
    row_hash("release_transitions", &transition.fields(&release_id, &seq), prev_hash)
}

/// The newest audit row's id and hash: what the next row chains onto.
pub(crate) async fn audit_head(conn: &mut SqliteConnection) -> Result<(i64, String), StoreError> {
    let head: Option<(i64, Option<String>)> =
        sqlx::query_as("SELECT id, row_hash FROM audit_log ORDER BY id DESC LIMIT 1").fetch_optional(&mut *conn).await?;
    // A row without a hash (written outside Switchyard) is chained onto as it is; verify names it.
    Ok(head.map_or((0, GENESIS.to_owned()), |(id, hash)| (id, hash.unwrap_or_default())))
}

type HeaderRow = (i64, String, String, String, String, String, i64, String, String, String, String, String, String);

const HEADER_SELECT: &str = "SELECT id, uid, site, run, workflow, document_toml, document_version, candidate_sha256, submitted_by, \
     placement, config, created_at, state FROM releases";

fn header(
    (id, uid, site, run, workflow, document_toml, document_version, candidate_sha256, submitted_by, placement, config, created_at, state): HeaderRow,
) -> (ReleaseHeader, String) {
    let header = ReleaseHeader {
        id,
        uid,
        site,
        run,
        workflow,
        document_toml,
        document_version,
        candidate_sha256,
        submitted_by,
        placement,
        config,
        created_at,
    };
    (header, state)
}

type TransitionRow = (i64, Option<String>, String, String, String, Option<String>, Option<String>);

async fn chained_transitions(conn: &mut SqliteConnection, release_id: i64) -> Result<Vec<ChainedTransition>, StoreError> {
    let rows: Vec<TransitionRow> = sqlx::query_as(
        "SELECT seq, event, state, commands, at, prev_hash, row_hash FROM release_transitions WHERE release_id = $1 ORDER BY seq",
    )
    .bind(release_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, event, state, commands, at, prev_hash, hash)| ChainedTransition { seq, event, state, commands, at, prev_hash, hash })
        .collect())
}

type AuditRow = (i64, String, String, String, String, String, String, Option<String>, Option<String>);

const CHUNK: i64 = 1000;

impl Store {
    /// Chains the rows written before chains existed, once (the `record_chains` row says it was
    /// done), so a row inserted later without hashes is never legitimised by a backfill.
    pub(crate) async fn backfill_record_chains(&self) -> Result<(), StoreError> {
        let mut tx = self.write_transaction().await?;
        let done: Option<String> =
            sqlx::query_scalar("SELECT backfilled_at FROM record_chains WHERE name = 'backfill'").fetch_optional(&mut *tx).await?;
        if done.is_some() {
            return Ok(());
        }
        let rows: Vec<AuditRow> =
            sqlx::query_as("SELECT id, at, actor, action, target, detail, remote, prev_hash, row_hash FROM audit_log ORDER BY id")
                .fetch_all(&mut *tx)
                .await?;
        let mut prev = GENESIS.to_owned();
        for (id, at, actor, action, target, detail, remote, _, _) in rows {
            let hash =
                AuditContent { id, at: &at, actor: &actor, action: &action, target: &target, detail: &detail, remote: &remote }.hash(&prev);
            sqlx::query("UPDATE audit_log SET prev_hash = $1, row_hash = $2 WHERE id = $3")
                .bind(&prev)
                .bind(&hash)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            prev = hash;
        }
        let headers: Vec<HeaderRow> = sqlx::query_as(&format!("{HEADER_SELECT} ORDER BY id")).fetch_all(&mut *tx).await?;
        for row in headers {
            let (header, _) = header(row);
            let mut prev = header.hash();
            for transition in chained_transitions(&mut tx, header.id).await? {
                let hash = transition_hash(header.id, &transition, &prev);
                sqlx::query("UPDATE release_transitions SET prev_hash = $1, row_hash = $2 WHERE release_id = $3 AND seq = $4")
                    .bind(&prev)
                    .bind(&hash)
                    .bind(header.id)
                    .bind(transition.seq)
                    .execute(&mut *tx)
                    .await?;
                prev = hash;
            }
        }
        sqlx::query("INSERT INTO record_chains (name, backfilled_at) VALUES ('backfill', $1)").bind(crate::now()).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks every chain: the audit log row by row, then each release's journal (including
    /// that its last transition is the state the release records, so a deleted last transition
    /// shows). Names the first broken row of each.
    pub async fn verify_record(&self) -> Result<RecordCheck, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let mut breaks = Vec::new();
        let mut audit = ChainCheck::new("audit_log", GENESIS);
        let mut after = i64::MIN;
        'audit: loop {
            let rows: Vec<AuditRow> = sqlx::query_as(
                "SELECT id, at, actor, action, target, detail, remote, prev_hash, row_hash FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(CHUNK)
            .fetch_all(&mut *conn)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            for (id, at, actor, action, target, detail, remote, prev_hash, hash) in &rows {
                let id_text = id.to_string();
                let link = StoredLink {
                    row: id_text.clone(),
                    fields: audit_fields(&id_text, at, actor, action, target, detail, remote),
                    prev_hash: prev_hash.as_deref(),
                    hash: hash.as_deref(),
                };
                if let Err(broken) = audit.next(&link) {
                    breaks.push(broken);
                    break 'audit;
                }
            }
        }
        let headers: Vec<HeaderRow> = sqlx::query_as(&format!("{HEADER_SELECT} ORDER BY id")).fetch_all(&mut *conn).await?;
        let (mut releases, mut transitions, mut journal_head) = (0, 0, GENESIS.to_owned());
        let mut journal_broken = false;
        for row in headers {
            let (header, state) = header(row);
            let journal = chained_transitions(&mut conn, header.id).await?;
            releases += 1;
            transitions += journal.len() as u64;
            if journal_broken {
                continue;
            }
            match check_release_journal(&header, &journal) {
                Ok(head) if journal.last().is_some_and(|last| last.state == state) => {
                    journal_head = fold_journal_head(&journal_head, header.id, &head);
                }
                Ok(_) => {
                    let row = journal.last().map_or(format!("{}/0", header.id), |last| format!("{}/{}", header.id, last.seq));
                    let problem =
                        "the release records a later state than its last transition: transitions after it were deleted".to_owned();
                    breaks.push(ChainBreak { table: "release_transitions".into(), row, problem });
                    journal_broken = true;
                }
                Err(broken) => {
                    breaks.push(broken);
                    journal_broken = true;
                }
            }
        }
        Ok(RecordCheck { audit_rows: audit.rows(), audit_head: audit.head().to_owned(), releases, transitions, journal_head, breaks })
    }

    /// A release's record with its chain, to verify offline (`switchyard audit verify --file`).
    pub async fn release_record_export(&self, release_id: i64) -> Result<ReleaseRecordExport, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let row: Option<HeaderRow> =
            sqlx::query_as(&format!("{HEADER_SELECT} WHERE id = $1")).bind(release_id).fetch_optional(&mut *conn).await?;
        let (release, _) = header(row.ok_or(StoreError::NotFound { what: "release", id: release_id })?);
        let transitions = chained_transitions(&mut conn, release_id).await?;
        let head_hash = transitions.last().and_then(|t| t.hash.clone()).unwrap_or_else(|| release.hash());
        Ok(ReleaseRecordExport { format: RELEASE_RECORD_FORMAT.to_owned(), release, transitions, head_hash })
    }
}
