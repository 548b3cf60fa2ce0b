//! Uploaded release candidates of each site, named by the sha256 of their bytes.

use crate::{ensure_exists, now, Store, StoreError};
use sqlx::SqliteConnection;
use switchyard_api::Candidate;

#[derive(sqlx::FromRow)]
struct CandidateRow {
    sha256: String,
    site_id: i64,
    filename: String,
    size_bytes: i64,
    uploaded_by: String,
    uploaded_at: String,
}

impl From<CandidateRow> for Candidate {
    fn from(r: CandidateRow) -> Self {
        Candidate {
            sha256: r.sha256,
            site_id: r.site_id,
            filename: r.filename,
            size_bytes: r.size_bytes,
            uploaded_by: r.uploaded_by,
            uploaded_at: r.uploaded_at,
            manifest: None,
        }
    }
}

/// The uploader under their current name (the name at upload once the user is deleted).
const SELECT: &str = "SELECT c.sha256, c.site_id, c.filename, c.size_bytes, COALESCE(u.username, c.uploaded_by) AS uploaded_by, \
     c.uploaded_at FROM candidates c LEFT JOIN users u ON u.id = c.uploaded_by_id";

impl Store {
    /// Records an upload. The same bytes uploaded again keep their first record: a candidate
    /// is immutable, and who uploaded it first stays on record.
    /// `uploaded_by` is the uploader's name now, `uploaded_by_id` their user id (`None` for
    /// Switchyard itself).
    pub async fn record_candidate(
        &self,
        site_id: i64,
        sha256: &str,
        filename: &str,
        size_bytes: i64,
        uploaded_by: (Option<i64>, &str),
    ) -> Result<Candidate, StoreError> {
        let (uploaded_by_id, uploaded_by) = uploaded_by;
        let mut tx = self.write_transaction().await?;
        ensure_exists(&mut *tx, "sites", "site_id", "site", site_id).await?;
        sqlx::query(
            "INSERT INTO candidates (site_id, sha256, filename, size_bytes, uploaded_by, uploaded_at, uploaded_by_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (site_id, sha256) DO NOTHING",
        )
        .bind(site_id)
        .bind(sha256)
        .bind(filename)
        .bind(size_bytes)
        .bind(uploaded_by)
        .bind(now())
        .bind(uploaded_by_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.candidate(site_id, sha256).await?.ok_or(StoreError::NotFound { what: "candidate of site", id: site_id })
    }

    pub async fn candidate(&self, site_id: i64, sha256: &str) -> Result<Option<Candidate>, StoreError> {
        let row: Option<CandidateRow> = sqlx::query_as(&format!("{SELECT} WHERE c.site_id = $1 AND c.sha256 = $2"))
            .bind(site_id)
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(Candidate::from))
    }

    /// Newest first.
    pub async fn list_candidates(&self, site_id: i64) -> Result<Vec<Candidate>, StoreError> {
        let rows: Vec<CandidateRow> = sqlx::query_as(&format!("{SELECT} WHERE c.site_id = $1 ORDER BY c.uploaded_at DESC, c.sha256"))
            .bind(site_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(Candidate::from).collect())
    }
}

/// How much candidate storage is used: by one site, and on disk in all (a file is kept once
/// per sha256, however many sites uploaded it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CandidateUsage {
    pub site_bytes: u64,
    pub total_bytes: u64,
}

impl Store {
    pub async fn candidate_usage(&self, site_id: i64) -> Result<CandidateUsage, StoreError> {
        let (site_bytes, total_bytes): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COALESCE(SUM(size_bytes), 0) FROM candidates WHERE site_id = $1), \
             (SELECT COALESCE(SUM(size), 0) FROM (SELECT MAX(size_bytes) AS size FROM candidates GROUP BY sha256) AS files)",
        )
        .bind(site_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(CandidateUsage { site_bytes: site_bytes.max(0) as u64, total_bytes: total_bytes.max(0) as u64 })
    }

    /// What still needs the site's candidate `sha256`, in words for a refusal: an unfinished
    /// release, an unfinished go-live, or the production the site serves (its newest completed
    /// production run, else its go-live). `None` when nothing does.
    pub async fn candidate_in_use(&self, site_id: i64, sha256: &str) -> Result<Option<String>, StoreError> {
        in_use(&mut *self.pool.acquire().await?, site_id, sha256).await
    }

    /// Forgets the site's candidate (its manifest row goes with it), refused while something
    /// uses it ([`Store::candidate_in_use`], checked in the deleting transaction so no release
    /// starts on it in between). Returns whether another site still holds the same bytes, in
    /// which case the file must stay.
    pub async fn delete_candidate(&self, site_id: i64, sha256: &str) -> Result<bool, StoreError> {
        let mut tx = self.write_transaction().await?;
        if let Some(why) = in_use(&mut tx, site_id, sha256).await? {
            return Err(StoreError::Conflict(format!(
                "cannot delete candidate {sha256} of site {site_id}: {why}; let the release finish (or roll it back), \
                 or put another candidate live first"
            )));
        }
        let result =
            sqlx::query("DELETE FROM candidates WHERE site_id = $1 AND sha256 = $2").bind(site_id).bind(sha256).execute(&mut *tx).await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "candidate of site", id: site_id });
        }
        let elsewhere: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM candidates WHERE sha256 = $1").bind(sha256).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(elsewhere > 0)
    }
}

async fn in_use(conn: &mut SqliteConnection, site_id: i64, sha256: &str) -> Result<Option<String>, StoreError> {
    let unfinished: Option<(i64, String)> =
        sqlx::query_as("SELECT id, run FROM releases WHERE site_id = $1 AND candidate_sha256 = $2 AND outcome IS NULL ORDER BY id LIMIT 1")
            .bind(site_id)
            .bind(sha256)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((id, run)) = unfinished {
        return Ok(Some(format!("release {id} (a {run} run, not finished) uses it")));
    }
    let going_live: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM go_lives WHERE site_id = $1 AND candidate_sha256 = $2 AND state IN ('running', 'failed') LIMIT 1",
    )
    .bind(site_id)
    .bind(sha256)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = going_live {
        return Ok(Some(format!("go-live attempt {id} (not finished) uses it")));
    }
    let production: Option<(i64, String)> = sqlx::query_as(
        "SELECT id, candidate_sha256 FROM releases WHERE site_id = $1 AND run = 'production' AND outcome = 'completed' \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(site_id)
    .fetch_optional(&mut *conn)
    .await?;
    match production {
        Some((id, live)) if live == sha256 => Ok(Some(format!("it is what production serves (release {id})"))),
        Some(_) => Ok(None),
        None => {
            let live: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM go_lives WHERE site_id = $1 AND candidate_sha256 = $2 AND state = 'live' ORDER BY id DESC LIMIT 1",
            )
            .bind(site_id)
            .bind(sha256)
            .fetch_optional(&mut *conn)
            .await?;
            Ok(live.map(|id| format!("it is what production serves (put live by go-live {id})")))
        }
    }
}
