//! The audit log: appended to on every change, read newest first.

use crate::record::AuditContent;
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
    /// Appends the entry chained onto the newest row, inside one write transaction so no two
    /// entries chain onto the same predecessor.
    pub async fn append_audit(&self, entry: &NewAuditEntry<'_>) -> Result<(), StoreError> {
        let mut tx = self.write_transaction().await?;
        let (last_id, prev_hash) = crate::record::audit_head(&mut tx).await?;
        let (id, at) = (last_id + 1, now());
        let content = AuditContent {
            id,
            at: &at,
            actor: entry.actor,
            action: entry.action,
            target: entry.target,
            detail: entry.detail,
            remote: entry.remote,
        };
        let row_hash = content.hash(&prev_hash);
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor, action, target, detail, remote, actor_id, prev_hash, row_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(&at)
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.target)
        .bind(entry.detail)
        .bind(entry.remote)
        .bind(entry.actor_id)
        .bind(&prev_hash)
        .bind(&row_hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
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
