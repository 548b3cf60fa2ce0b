//! Sites: a customer's application, the unit that is released.

use crate::error::on_unique;
use crate::{affected, ensure_exists, now, Store, StoreError};
use switchyard_api::{CandidateLimitsDraft, Site, SiteDetail, SiteDraft};
use switchyard_core::validate::site_key;
use switchyard_core::Invalid;

#[derive(sqlx::FromRow)]
struct SiteRow {
    id: i64,
    key: String,
    name: String,
    customer_id: i64,
    customer_name: String,
    description: String,
    environment_count: i64,
    runtime_manifest: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<SiteRow> for Site {
    fn from(row: SiteRow) -> Self {
        Self {
            id: row.id,
            key: row.key,
            name: row.name,
            customer_id: row.customer_id,
            customer_name: row.customer_name,
            description: row.description,
            environment_count: row.environment_count,
            runtime_manifest: row.runtime_manifest,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

const SELECT: &str = "SELECT s.id, s.key, s.name, s.customer_id, c.name AS customer_name, s.description, \
     (SELECT COUNT(*) FROM environments e WHERE e.site_id = s.id) AS environment_count, \
     s.runtime_manifest, s.created_at, s.updated_at \
     FROM sites s JOIN customers c ON c.id = s.customer_id";

fn name_taken(name: &str) -> impl FnOnce() -> String + '_ {
    move || format!("a site named {name:?} already exists; choose another name")
}

impl Store {
    /// All sites, or only one customer's when `customer_id` is given.
    pub async fn list_sites(&self, customer_id: Option<i64>) -> Result<Vec<Site>, StoreError> {
        let rows: Vec<SiteRow> = match customer_id {
            Some(customer) => {
                sqlx::query_as(&format!("{SELECT} WHERE s.customer_id = $1 ORDER BY s.name")).bind(customer).fetch_all(&self.pool).await?
            }
            None => sqlx::query_as(&format!("{SELECT} ORDER BY s.name")).fetch_all(&self.pool).await?,
        };
        Ok(rows.into_iter().map(Site::from).collect())
    }

    pub async fn site(&self, id: i64) -> Result<Site, StoreError> {
        let row: Option<SiteRow> = sqlx::query_as(&format!("{SELECT} WHERE s.id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.map(Site::from).ok_or(StoreError::NotFound { what: "site", id })
    }

    /// The site a release belongs to; `None` once it was deleted (or for a release recorded
    /// without one).
    pub async fn site_of_release(&self, site_id: Option<i64>) -> Result<Option<Site>, StoreError> {
        let Some(id) = site_id else { return Ok(None) };
        match self.site(id).await {
            Ok(site) => Ok(Some(site)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    pub async fn site_detail(&self, id: i64) -> Result<SiteDetail, StoreError> {
        let site = self.site(id).await?;
        Ok(SiteDetail {
            environments: self.list_environments(id).await?,
            addresses: self.list_addresses(id).await?,
            accounts: self.list_accounts(id).await?,
            site,
            candidate_limits: None,
        })
    }

    /// `draft` must already be validated. The site's key is derived from its name here, once;
    /// a name that folds to another site's key is refused naming that site.
    pub async fn create_site(&self, draft: &SiteDraft) -> Result<Site, StoreError> {
        let key = site_key("name", &draft.name).map_err(|e| StoreError::InvalidFilter(Invalid(vec![e])))?;
        let mut tx = self.write_transaction().await?;
        ensure_exists(&mut *tx, "customers", "customer_id", "customer", draft.customer_id).await?;
        let holder: Option<String> =
            sqlx::query_scalar("SELECT name FROM sites WHERE key = $1").bind(&key).fetch_optional(&mut *tx).await?;
        // The same name again is the plain duplicate the name's own rule reports.
        if let Some(holder) = holder.filter(|holder| *holder != draft.name) {
            return Err(StoreError::Conflict(format!(
                "site {holder:?} already has the key {key:?}, which {:?} would be named by on its host; choose a name that differs in letters or digits",
                draft.name
            )));
        }
        let stamp = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sites (key, name, customer_id, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(&key)
        .bind(&draft.name)
        .bind(draft.customer_id)
        .bind(&draft.description)
        .bind(stamp)
        .fetch_one(&mut *tx)
        .await
        .map_err(on_unique(name_taken(&draft.name)))?;
        tx.commit().await?;
        self.site(id).await
    }

    /// Renames or re-describes the site; its key never changes, so its environments, routes
    /// and releases stay its own.
    pub async fn update_site(&self, id: i64, draft: &SiteDraft) -> Result<Site, StoreError> {
        let mut tx = self.write_transaction().await?;
        ensure_exists(&mut *tx, "customers", "customer_id", "customer", draft.customer_id).await?;
        let result = sqlx::query("UPDATE sites SET name = $1, customer_id = $2, description = $3, updated_at = $4 WHERE id = $5")
            .bind(&draft.name)
            .bind(draft.customer_id)
            .bind(&draft.description)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(on_unique(name_taken(&draft.name)))?;
        affected(result, "site", id)?;
        tx.commit().await?;
        self.site(id).await
    }

    /// Sets the site's default runtime manifest (`switchyard.toml` text, already checked), or
    /// clears it with `None`.
    pub async fn set_site_runtime_manifest(&self, id: i64, manifest: Option<&str>) -> Result<Site, StoreError> {
        let result = sqlx::query("UPDATE sites SET runtime_manifest = $1, updated_at = $2 WHERE id = $3")
            .bind(manifest)
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        affected(result, "site", id)?;
        self.site(id).await
    }

    /// The site's default runtime manifest, if it has one.
    pub async fn site_runtime_manifest(&self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(self.site(id).await?.runtime_manifest)
    }

    /// The site's own candidate limits; `None` fields leave the server's default.
    pub async fn site_candidate_limits(&self, id: i64) -> Result<CandidateLimitsDraft, StoreError> {
        let row: Option<(Option<i64>, Option<i64>, Option<i64>)> =
            sqlx::query_as("SELECT candidate_quota_bytes, candidate_max_unpacked_bytes, candidate_max_entries FROM sites WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let (quota, unpacked, entries) = row.ok_or(StoreError::NotFound { what: "site", id })?;
        let unsigned = |v: Option<i64>| v.map(|v| u64::try_from(v).unwrap_or(0));
        Ok(CandidateLimitsDraft { quota_bytes: unsigned(quota), max_unpacked_bytes: unsigned(unpacked), max_entries: unsigned(entries) })
    }

    /// Sets the site's own candidate limits (already checked), all three at once.
    pub async fn set_site_candidate_limits(&self, id: i64, limits: &CandidateLimitsDraft) -> Result<(), StoreError> {
        let signed = |v: Option<u64>| v.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
        let result = sqlx::query(
            "UPDATE sites SET candidate_quota_bytes = $1, candidate_max_unpacked_bytes = $2, candidate_max_entries = $3, \
             updated_at = $4 WHERE id = $5",
        )
        .bind(signed(limits.quota_bytes))
        .bind(signed(limits.max_unpacked_bytes))
        .bind(signed(limits.max_entries))
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        affected(result, "site", id)
    }

    /// The site's own capture window in hours; `None` leaves Switchyard's default.
    pub async fn site_capture_window(&self, id: i64) -> Result<Option<u32>, StoreError> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT capture_window_hours FROM sites WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        let (hours,) = row.ok_or(StoreError::NotFound { what: "site", id })?;
        Ok(hours.and_then(|h| u32::try_from(h).ok()))
    }

    /// Sets the site's own capture window (already checked); `None` goes back to the default.
    pub async fn set_site_capture_window(&self, id: i64, hours: Option<u32>) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE sites SET capture_window_hours = $1, updated_at = $2 WHERE id = $3")
            .bind(hours.map(i64::from))
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        affected(result, "site", id)
    }

    /// Deletes the site with its environments, addresses and accounts.
    pub async fn delete_site(&self, id: i64) -> Result<(), StoreError> {
        let result = sqlx::query("DELETE FROM sites WHERE id = $1").bind(id).execute(&self.pool).await?;
        affected(result, "site", id)
    }
}
