//! Environments: one copy of a site (production, or a test or staging clone) on a host.

use crate::error::on_unique;
use crate::{affected, ensure_exists, ensure_parent, now, Store, StoreError};
use sqlx::SqliteConnection;
use switchyard_api::{Environment, EnvironmentDraft, EnvironmentKind};

#[derive(sqlx::FromRow)]
struct EnvironmentRow {
    id: i64,
    site_id: i64,
    name: String,
    kind: String,
    host_id: i64,
    host_name: String,
    created_at: String,
}

impl TryFrom<EnvironmentRow> for Environment {
    type Error = StoreError;

    fn try_from(row: EnvironmentRow) -> Result<Self, StoreError> {
        let kind = row.kind.parse::<EnvironmentKind>().map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))?;
        Ok(Self {
            id: row.id,
            site_id: row.site_id,
            name: row.name,
            kind,
            host_id: row.host_id,
            host_name: row.host_name,
            created_at: row.created_at,
        })
    }
}

const SELECT: &str = "SELECT e.id, e.site_id, e.name, e.kind, e.host_id, h.name AS host_name, e.created_at \
     FROM environments e JOIN hosts h ON h.id = e.host_id";

fn name_taken(name: &str) -> impl FnOnce() -> String + '_ {
    move || format!("this site already has an environment named {name:?}; choose another name")
}

/// A site has one production; a second one is refused with a message instead of an index error.
async fn ensure_single_production(
    conn: &mut SqliteConnection,
    site_id: i64,
    except: Option<i64>,
    draft: &EnvironmentDraft,
) -> Result<(), StoreError> {
    if draft.kind != EnvironmentKind::Production {
        return Ok(());
    }
    let existing: Option<String> =
        sqlx::query_scalar("SELECT name FROM environments WHERE site_id = $1 AND kind = 'production' AND id != $2")
            .bind(site_id)
            .bind(except.unwrap_or(0))
            .fetch_optional(&mut *conn)
            .await?;
    match existing {
        Some(name) => Err(StoreError::Conflict(format!(
            "this site already has a production environment ({name}); make {:?} a test or staging environment",
            draft.name
        ))),
        None => Ok(()),
    }
}

impl Store {
    pub async fn list_environments(&self, site_id: i64) -> Result<Vec<Environment>, StoreError> {
        let rows: Vec<EnvironmentRow> =
            sqlx::query_as(&format!("{SELECT} WHERE e.site_id = $1 ORDER BY CASE e.kind WHEN 'production' THEN 0 ELSE 1 END, e.name"))
                .bind(site_id)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(Environment::try_from).collect()
    }

    pub async fn environment(&self, id: i64) -> Result<Environment, StoreError> {
        let row: Option<EnvironmentRow> = sqlx::query_as(&format!("{SELECT} WHERE e.id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.ok_or(StoreError::NotFound { what: "environment", id })?.try_into()
    }

    /// `draft` must already be validated.
    pub async fn create_environment(&self, site_id: i64, draft: &EnvironmentDraft) -> Result<Environment, StoreError> {
        let mut tx = self.write_transaction().await?;
        ensure_parent(&mut *tx, "sites", "site", site_id).await?;
        ensure_exists(&mut *tx, "hosts", "host_id", "host", draft.host_id).await?;
        ensure_single_production(&mut tx, site_id, None, draft).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO environments (site_id, name, kind, host_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(site_id)
        .bind(&draft.name)
        .bind(draft.kind.as_str())
        .bind(draft.host_id)
        .bind(now())
        .fetch_one(&mut *tx)
        .await
        .map_err(on_unique(name_taken(&draft.name)))?;
        tx.commit().await?;
        self.environment(id).await
    }

    pub async fn update_environment(&self, id: i64, draft: &EnvironmentDraft) -> Result<Environment, StoreError> {
        let mut tx = self.write_transaction().await?;
        let site_id: i64 = sqlx::query_scalar("SELECT site_id FROM environments WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound { what: "environment", id })?;
        ensure_exists(&mut *tx, "hosts", "host_id", "host", draft.host_id).await?;
        ensure_single_production(&mut tx, site_id, Some(id), draft).await?;
        let result = sqlx::query("UPDATE environments SET name = $1, kind = $2, host_id = $3 WHERE id = $4")
            .bind(&draft.name)
            .bind(draft.kind.as_str())
            .bind(draft.host_id)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(on_unique(name_taken(&draft.name)))?;
        affected(result, "environment", id)?;
        tx.commit().await?;
        self.environment(id).await
    }

    /// Deletes the environment; addresses that pointed at it become unrouted.
    pub async fn delete_environment(&self, id: i64) -> Result<(), StoreError> {
        let result = sqlx::query("DELETE FROM environments WHERE id = $1").bind(id).execute(&self.pool).await?;
        affected(result, "environment", id)
    }
}
