//! Uploaded release candidates of each site, named by the sha256 of their bytes.

use crate::{ensure_exists, now, Store, StoreError};
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
