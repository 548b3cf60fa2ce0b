//! Users and their roles. Customer users belong to one customer.

use crate::error::on_unique;
use crate::{affected, ensure_exists, now, Store, StoreError};
use switchyard_api::{Role, User, UserDraft};

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    role: String,
    customer_id: Option<i64>,
    created_at: String,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        let role = row.role.parse::<Role>().map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))?;
        Ok(Self {
            id: row.id,
            username: row.username,
            display_name: row.display_name,
            role,
            customer_id: row.customer_id,
            created_at: row.created_at,
        })
    }
}

const SELECT: &str = "SELECT id, username, display_name, role, customer_id, created_at FROM users";

fn username_taken(username: &str) -> impl FnOnce() -> String + '_ {
    move || format!("the username {username:?} is taken; choose another")
}

impl Store {
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!("{SELECT} ORDER BY username")).fetch_all(&self.pool).await?;
        rows.into_iter().map(User::try_from).collect()
    }

    pub async fn user(&self, id: i64) -> Result<User, StoreError> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("{SELECT} WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.ok_or(StoreError::NotFound { what: "user", id })?.try_into()
    }

    /// `draft` must already be validated.
    pub async fn create_user(&self, draft: &UserDraft) -> Result<User, StoreError> {
        let mut tx = self.write_transaction().await?;
        if let Some(customer_id) = draft.customer_id {
            ensure_exists(&mut *tx, "customers", "customer_id", "customer", customer_id).await?;
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, display_name, role, customer_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&draft.username)
        .bind(&draft.display_name)
        .bind(draft.role.as_str())
        .bind(draft.customer_id)
        .bind(now())
        .fetch_one(&mut *tx)
        .await
        .map_err(on_unique(username_taken(&draft.username)))?;
        tx.commit().await?;
        self.user(id).await
    }

    pub async fn update_user(&self, id: i64, draft: &UserDraft) -> Result<User, StoreError> {
        let mut tx = self.write_transaction().await?;
        if let Some(customer_id) = draft.customer_id {
            ensure_exists(&mut *tx, "customers", "customer_id", "customer", customer_id).await?;
        }
        let result = sqlx::query("UPDATE users SET username = $1, display_name = $2, role = $3, customer_id = $4 WHERE id = $5")
            .bind(&draft.username)
            .bind(&draft.display_name)
            .bind(draft.role.as_str())
            .bind(draft.customer_id)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(on_unique(username_taken(&draft.username)))?;
        affected(result, "user", id)?;
        tx.commit().await?;
        self.user(id).await
    }

    pub async fn delete_user(&self, id: i64) -> Result<(), StoreError> {
        let result = sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&self.pool).await?;
        affected(result, "user", id)
    }
}
