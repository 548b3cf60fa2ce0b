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
        Candidate { sha256: r.sha256, site_id: r.site_id, filename: r.filename, size_bytes: r.size_bytes, uploaded_by: r.uploaded_by, uploaded_at: r.uploaded_at, manifest: None }
    }
}

const SELECT: &str = "SELECT sha256, site_id, filename, size_bytes, uploaded_by, uploaded_at FROM candidates";

impl Store {
    /// Records an upload. The same bytes uploaded again keep their first record: a candidate
    /// is immutable, and who uploaded it first stays on record.
    pub async fn record_candidate(&self, site_id: i64, sha256: &str, filename: &str, size_bytes: i64, uploaded_by: &str) -> Result<Candidate, StoreError> {
        let mut tx = self.write_transaction().await?;
        ensure_exists(&mut *tx, "sites", "site_id", "site", site_id).await?;
        sqlx::query(
            "INSERT INTO candidates (site_id, sha256, filename, size_bytes, uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (site_id, sha256) DO NOTHING",
        )
        .bind(site_id)
        .bind(sha256)
        .bind(filename)
        .bind(size_bytes)
        .bind(uploaded_by)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.candidate(site_id, sha256).await?.ok_or(StoreError::NotFound { what: "candidate of site", id: site_id })
    }

    pub async fn candidate(&self, site_id: i64, sha256: &str) -> Result<Option<Candidate>, StoreError> {
        let row: Option<CandidateRow> = sqlx::query_as(&format!("{SELECT} WHERE site_id = $1 AND sha256 = $2"))
            .bind(site_id)
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(Candidate::from))
    }

    /// Newest first.
    pub async fn list_candidates(&self, site_id: i64) -> Result<Vec<Candidate>, StoreError> {
        let rows: Vec<CandidateRow> =
            sqlx::query_as(&format!("{SELECT} WHERE site_id = $1 ORDER BY uploaded_at DESC, sha256")).bind(site_id).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(Candidate::from).collect())
    }
}
