//! The audit log: appended to on every change, read newest first.

use crate::{now, Store, StoreError};
use switchyard_api::{AuditEntry, AuditPage};

/// One entry to append; the store stamps the time.
#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    /// The actor's name when they acted.
    pub actor: &'a str,
    /// Their user id; `None` for Switchyard acting on its own or someone not logged in.
    pub actor_id: Option<i64>,
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
        sqlx::query("INSERT INTO audit_log (at, actor, action, target, detail, remote, actor_id) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(now())
            .bind(entry.actor)
            .bind(entry.action)
            .bind(entry.target)
            .bind(entry.detail)
            .bind(entry.remote)
            .bind(entry.actor_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Newest first; `limit` rows from `offset`.
    pub async fn audit_page(&self, limit: i64, offset: i64) -> Result<AuditPage, StoreError> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(&self.pool).await?;
        let rows: Vec<AuditRow> = sqlx::query_as(
            // Under the actor's current name; the name they had then once the user is deleted.
            "SELECT a.id, a.at, COALESCE(u.username, a.actor) AS actor, a.action, a.target, a.detail, a.remote \
             FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id ORDER BY a.id DESC LIMIT $1 OFFSET $2",
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let entries = rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at: r.at,
                actor: r.actor,
                action: r.action,
                target: r.target,
                detail: r.detail,
                remote: r.remote,
            })
            .collect();
        Ok(AuditPage { total, entries })
    }
}
