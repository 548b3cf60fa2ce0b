//! The audit log: appended to on every change, read newest first.

use crate::{now, Store, StoreError};
use switchyard_api::{AuditEntry, AuditPage};

/// One entry to append; the store stamps the time.
#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub detail: &'a str,
    pub remote: &'a str,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    detail: String,
    remote: String,
}

impl Store {
    pub async fn append_audit(&self, entry: &NewAuditEntry<'_>) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit_log (at, actor, action, target, detail, remote) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(now())
            .bind(entry.actor)
            .bind(entry.action)
            .bind(entry.target)
            .bind(entry.detail)
            .bind(entry.remote)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Newest first; `limit` rows from `offset`.
    pub async fn audit_page(&self, limit: i64, offset: i64) -> Result<AuditPage, StoreError> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(&self.pool).await?;
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, at, actor, action, target, detail, remote FROM audit_log ORDER BY id DESC LIMIT $1 OFFSET $2",
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let entries = rows
            .into_iter()
            .map(|r| AuditEntry { id: r.id, at: r.at, actor: r.actor, action: r.action, target: r.target, detail: r.detail, remote: r.remote })
            .collect();
        Ok(AuditPage { total, entries })
    }
}
