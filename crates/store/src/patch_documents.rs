//! Patch documents, versioned per site. Versions are assigned here, inside the write
//! transaction, so two concurrent saves can never get the same number.

use crate::{ensure_parent, now, Store, StoreError};
use switchyard_api::PatchDocumentRecord;

#[derive(sqlx::FromRow)]
struct PatchDocumentRow {
    id: i64,
    site_id: i64,
    version: i64,
    workflow: String,
    target_version: String,
    candidate_sha256: String,
    toml: String,
    summary: String,
    created_at: String,
}

impl From<PatchDocumentRow> for PatchDocumentRecord {
    fn from(row: PatchDocumentRow) -> Self {
        Self {
            id: row.id,
            site_id: row.site_id,
            version: row.version,
            workflow: row.workflow,
            target_version: row.target_version,
            candidate_sha256: row.candidate_sha256,
            toml: row.toml,
            summary: row.summary,
            created_at: row.created_at,
        }
    }
}

/// What the service hands the store: a document already validated and rendered for `version`.
pub struct NewPatchDocument<'a> {
    pub workflow: &'a str,
    pub target_version: &'a str,
    pub candidate_sha256: &'a str,
    /// Renders the canonical TOML and its summary for the version the store assigns.
    pub render: &'a (dyn Fn(i64) -> (String, String) + Sync),
}

const SELECT: &str = "SELECT id, site_id, version, workflow, target_version, candidate_sha256, toml, summary, created_at \
     FROM patch_documents";

impl Store {
    /// Every version of a site's patch documents, newest first.
    pub async fn list_patch_documents(&self, site_id: i64) -> Result<Vec<PatchDocumentRecord>, StoreError> {
        let rows: Vec<PatchDocumentRow> =
            sqlx::query_as(&format!("{SELECT} WHERE site_id = $1 ORDER BY version DESC")).bind(site_id).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(PatchDocumentRecord::from).collect())
    }

    pub async fn patch_document(&self, site_id: i64, version: i64) -> Result<PatchDocumentRecord, StoreError> {
        let row: Option<PatchDocumentRow> = sqlx::query_as(&format!("{SELECT} WHERE site_id = $1 AND version = $2"))
            .bind(site_id)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?;
        row.map(PatchDocumentRecord::from).ok_or(StoreError::NotFound { what: "patch document version", id: version })
    }

    /// Saves the next version of the site's patch document.
    pub async fn create_patch_document(&self, site_id: i64, new: &NewPatchDocument<'_>) -> Result<PatchDocumentRecord, StoreError> {
        let mut tx = self.write_transaction().await?;
        ensure_parent(&mut *tx, "sites", "site", site_id).await?;
        let latest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM patch_documents WHERE site_id = $1").bind(site_id).fetch_one(&mut *tx).await?;
        let version = latest.unwrap_or(0) + 1;
        let (toml, summary) = (new.render)(version);
        sqlx::query(
            "INSERT INTO patch_documents (site_id, version, workflow, target_version, candidate_sha256, toml, summary, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(site_id)
        .bind(version)
        .bind(new.workflow)
        .bind(new.target_version)
        .bind(new.candidate_sha256)
        .bind(&toml)
        .bind(&summary)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.patch_document(site_id, version).await
    }
}
