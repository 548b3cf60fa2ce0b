//! Addresses: the domains and host:ports a site is served at, each routed to one environment.

use crate::error::on_unique;
use crate::{affected, ensure_parent, now, Store, StoreError};
use sqlx::SqliteConnection;
use switchyard_api::{Address, AddressDraft};

#[derive(sqlx::FromRow)]
struct AddressRow {
    id: i64,
    site_id: i64,
    value: String,
    environment_id: Option<i64>,
    created_at: String,
}

impl From<AddressRow> for Address {
    fn from(row: AddressRow) -> Self {
        Self { id: row.id, site_id: row.site_id, value: row.value, environment_id: row.environment_id, created_at: row.created_at }
    }
}

const SELECT: &str = "SELECT id, site_id, value, environment_id, created_at FROM addresses";

fn value_taken(value: &str) -> impl FnOnce() -> String + '_ {
    move || format!("the address {value:?} is already in use by a site; each address serves one site")
}

/// An address may only route to an environment of its own site.
async fn ensure_environment_of_site(conn: &mut SqliteConnection, site_id: i64, environment_id: Option<i64>) -> Result<(), StoreError> {
    let Some(environment_id) = environment_id else { return Ok(()) };
    let owner: Option<i64> =
        sqlx::query_scalar("SELECT site_id FROM environments WHERE id = $1").bind(environment_id).fetch_optional(&mut *conn).await?;
    match owner {
        Some(owner) if owner == site_id => Ok(()),
        Some(_) => Err(StoreError::BadReference {
            field: "environment_id",
            message: format!("environment {environment_id} belongs to another site; choose one of this site's environments"),
        }),
        None => Err(StoreError::BadReference {
            field: "environment_id",
            message: format!("environment {environment_id} does not exist; choose an existing environment"),
        }),
    }
}

impl Store {
    pub async fn list_addresses(&self, site_id: i64) -> Result<Vec<Address>, StoreError> {
        let rows: Vec<AddressRow> =
            sqlx::query_as(&format!("{SELECT} WHERE site_id = $1 ORDER BY value")).bind(site_id).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(Address::from).collect())
    }

    pub async fn address(&self, id: i64) -> Result<Address, StoreError> {
        let row: Option<AddressRow> = sqlx::query_as(&format!("{SELECT} WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.map(Address::from).ok_or(StoreError::NotFound { what: "address", id })
    }

    /// `draft` must already be validated.
    pub async fn create_address(&self, site_id: i64, draft: &AddressDraft) -> Result<Address, StoreError> {
        let mut tx = self.write_transaction().await?;
        ensure_parent(&mut *tx, "sites", "site", site_id).await?;
        ensure_environment_of_site(&mut tx, site_id, draft.environment_id).await?;
        let id: i64 =
            sqlx::query_scalar("INSERT INTO addresses (site_id, value, environment_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(site_id)
                .bind(&draft.value)
                .bind(draft.environment_id)
                .bind(now())
                .fetch_one(&mut *tx)
                .await
                .map_err(on_unique(value_taken(&draft.value)))?;
        tx.commit().await?;
        self.address(id).await
    }

    pub async fn update_address(&self, id: i64, draft: &AddressDraft) -> Result<Address, StoreError> {
        let mut tx = self.write_transaction().await?;
        let site_id: i64 = sqlx::query_scalar("SELECT site_id FROM addresses WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound { what: "address", id })?;
        ensure_environment_of_site(&mut tx, site_id, draft.environment_id).await?;
        let result = sqlx::query("UPDATE addresses SET value = $1, environment_id = $2 WHERE id = $3")
            .bind(&draft.value)
            .bind(draft.environment_id)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(on_unique(value_taken(&draft.value)))?;
        affected(result, "address", id)?;
        tx.commit().await?;
        self.address(id).await
    }

    pub async fn delete_address(&self, id: i64) -> Result<(), StoreError> {
        let result = sqlx::query("DELETE FROM addresses WHERE id = $1").bind(id).execute(&self.pool).await?;
        affected(result, "address", id)
    }
}
