//! The release manifest each candidate declares, recorded once at upload beside the
//! candidate (which stays immutable): the file it came from and its canonical TOML.

use crate::{Store, StoreError};
use switchyard_core::manifest::ManifestSource;

/// A candidate's manifest as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredManifest {
    pub sha256: String,
    pub source: ManifestSource,
    pub toml: String,
}

#[derive(sqlx::FromRow)]
struct ManifestRow {
    sha256: String,
    source: String,
    toml: String,
}

impl TryFrom<ManifestRow> for StoredManifest {
    type Error = StoreError;

    fn try_from(row: ManifestRow) -> Result<Self, StoreError> {
        // Only this module writes the column, so another value means the database was edited.
        let source = row.source.parse().map_err(|e: String| StoreError::Database(sqlx::Error::Decode(e.into())))?;
        Ok(StoredManifest { sha256: row.sha256, source, toml: row.toml })
    }
}

impl Store {
    /// Records what candidate `sha256` of site `site_id` declares. Like the candidate, the
    /// first record stays: the same bytes always declare the same.
    pub async fn record_candidate_manifest(
        &self,
        site_id: i64,
        sha256: &str,
        source: ManifestSource,
        toml: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_transaction().await?;
        sqlx::query("INSERT INTO candidate_manifests (site_id, sha256, source, toml) VALUES ($1, $2, $3, $4) ON CONFLICT (site_id, sha256) DO NOTHING")
            .bind(site_id)
            .bind(sha256)
            .bind(source.as_str())
            .bind(toml)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn candidate_manifest(&self, site_id: i64, sha256: &str) -> Result<Option<StoredManifest>, StoreError> {
        let row: Option<ManifestRow> =
            sqlx::query_as("SELECT sha256, source, toml FROM candidate_manifests WHERE site_id = $1 AND sha256 = $2")
                .bind(site_id)
                .bind(sha256)
                .fetch_optional(&self.pool)
                .await?;
        row.map(StoredManifest::try_from).transpose()
    }

    /// Every manifest of the site's candidates.
    pub async fn candidate_manifests(&self, site_id: i64) -> Result<Vec<StoredManifest>, StoreError> {
        let rows: Vec<ManifestRow> = sqlx::query_as("SELECT sha256, source, toml FROM candidate_manifests WHERE site_id = $1")
            .bind(site_id)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(StoredManifest::try_from).collect()
    }
}
