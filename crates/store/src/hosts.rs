//! Hosts: machines running the Switchyard agent, reached at their agent URL.

use crate::error::{on_dependents, on_unique};
use crate::{affected, now, Store, StoreError};
use switchyard_api::{Host, HostDraft};

#[derive(sqlx::FromRow)]
struct HostRow {
    id: i64,
    name: String,
    agent_url: String,
    token_stored: bool,
    cert_fingerprint: String,
    created_at: String,
}

impl From<HostRow> for Host {
    fn from(row: HostRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            agent_url: row.agent_url,
            token_stored: row.token_stored,
            cert_fingerprint: row.cert_fingerprint,
            created_at: row.created_at,
        }
    }
}

const SELECT: &str = "SELECT id, name, agent_url, agent_token_sealed IS NOT NULL AS token_stored, cert_fingerprint, created_at FROM hosts";

fn name_taken(name: &str) -> impl FnOnce() -> String + '_ {
    move || format!("a host named {name:?} already exists; choose another name")
}

impl Store {
    pub async fn list_hosts(&self) -> Result<Vec<Host>, StoreError> {
        let rows: Vec<HostRow> = sqlx::query_as(&format!("{SELECT} ORDER BY name")).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(Host::from).collect())
    }

    pub async fn host(&self, id: i64) -> Result<Host, StoreError> {
        let row: Option<HostRow> = sqlx::query_as(&format!("{SELECT} WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.map(Host::from).ok_or(StoreError::NotFound { what: "host", id })
    }

    /// `draft` must already be validated; `sealed_token` is its token as the service sealed it
    /// (the store never sees a token in the clear).
    pub async fn create_host(&self, draft: &HostDraft, sealed_token: Option<&str>) -> Result<Host, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO hosts (name, agent_url, token_ref, agent_token_sealed, cert_fingerprint, created_at) \
             VALUES ($1, $2, '', $3, $4, $5) RETURNING id",
        )
        .bind(&draft.name)
        .bind(&draft.agent_url)
        .bind(sealed_token)
        .bind(&draft.cert_fingerprint)
        .bind(now())
        .fetch_one(&self.pool)
        .await
        .map_err(on_unique(name_taken(&draft.name)))?;
        self.host(id).await
    }

    /// Keeps the stored token unless `sealed_token` brings a new one (which also forgets a
    /// legacy `token_ref`).
    pub async fn update_host(&self, id: i64, draft: &HostDraft, sealed_token: Option<&str>) -> Result<Host, StoreError> {
        let result = sqlx::query(
            "UPDATE hosts SET name = $1, agent_url = $2, agent_token_sealed = COALESCE($3, agent_token_sealed), \
             token_ref = CASE WHEN $3 IS NULL THEN token_ref ELSE '' END, cert_fingerprint = $4 WHERE id = $5",
        )
        .bind(&draft.name)
        .bind(&draft.agent_url)
        .bind(sealed_token)
        .bind(&draft.cert_fingerprint)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(on_unique(name_taken(&draft.name)))?;
        affected(result, "host", id)?;
        self.host(id).await
    }

    pub async fn delete_host(&self, id: i64) -> Result<(), StoreError> {
        let result = sqlx::query("DELETE FROM hosts WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(on_dependents(|| format!("host {id} still runs environments; delete them or move them to another host first")))?;
        affected(result, "host", id)
    }
}

/// What is stored about a host's token: the sealed token, or the reference an older version
/// kept instead (no longer read, only named in the message asking for the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostToken {
    pub sealed: Option<String>,
    pub legacy_ref: String,
}

impl Store {
    pub async fn host_token(&self, id: i64) -> Result<HostToken, StoreError> {
        let row: Option<(Option<String>, String)> =
            sqlx::query_as("SELECT agent_token_sealed, token_ref FROM hosts WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        let (sealed, legacy_ref) = row.ok_or(StoreError::NotFound { what: "host", id })?;
        Ok(HostToken { sealed, legacy_ref })
    }

    pub async fn host_by_name(&self, name: &str) -> Result<Option<Host>, StoreError> {
        let row: Option<HostRow> = sqlx::query_as(&format!("{SELECT} WHERE name = $1")).bind(name).fetch_optional(&self.pool).await?;
        Ok(row.map(Host::from))
    }
}
