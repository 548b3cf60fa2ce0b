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
    admin: bool,
    can_log_in: bool,
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
            admin: row.admin,
            can_log_in: row.can_log_in,
            created_at: row.created_at,
        })
    }
}

const SELECT: &str =
    "SELECT id, username, display_name, role, customer_id, admin, password_hash IS NOT NULL AS can_log_in, created_at FROM users";

fn username_taken(username: &str) -> impl FnOnce() -> String + '_ {
    move || format!("the username {username:?} is taken; choose another")
}

impl Store {
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!("{SELECT} ORDER BY username")).fetch_all(&self.pool).await?;
        rows.into_iter().map(User::try_from).collect()
    }

    pub async fn user(&self, id: i64) -> Result<User, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(&format!("{SELECT} WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.ok_or(StoreError::NotFound { what: "user", id })?.try_into()
    }

    /// `draft` must already be validated; `password_hash` is the draft's password, hashed.
    pub async fn create_user(&self, draft: &UserDraft) -> Result<User, StoreError> {
        self.create_user_with_password(draft, None).await
    }

    pub async fn create_user_with_password(&self, draft: &UserDraft, password_hash: Option<&str>) -> Result<User, StoreError> {
        let mut tx = self.write_transaction().await?;
        if let Some(customer_id) = draft.customer_id {
            ensure_exists(&mut *tx, "customers", "customer_id", "customer", customer_id).await?;
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, display_name, role, customer_id, admin, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&draft.username)
        .bind(&draft.display_name)
        .bind(draft.role.as_str())
        .bind(draft.customer_id)
        .bind(draft.admin)
        .bind(password_hash)
        .bind(now())
        .fetch_one(&mut *tx)
        .await
        .map_err(on_unique(username_taken(&draft.username)))?;
        tx.commit().await?;
        self.user(id).await
    }

    /// Keeps the password unless `password_hash` brings a new one.
    pub async fn update_user(&self, id: i64, draft: &UserDraft, password_hash: Option<&str>) -> Result<User, StoreError> {
        let mut tx = self.write_transaction().await?;
        if let Some(customer_id) = draft.customer_id {
            ensure_exists(&mut *tx, "customers", "customer_id", "customer", customer_id).await?;
        }
        let result = sqlx::query(
            "UPDATE users SET username = $1, display_name = $2, role = $3, customer_id = $4, admin = $5, \
             password_hash = COALESCE($6, password_hash) WHERE id = $7",
        )
        .bind(&draft.username)
        .bind(&draft.display_name)
        .bind(draft.role.as_str())
        .bind(draft.customer_id)
        .bind(draft.admin)
        .bind(password_hash)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(on_unique(username_taken(&draft.username)))?;
        affected(result, "user", id)?;
        tx.commit().await?;
        self.user(id).await
    }

    /// The stored password hash of `username`, with the user, for logging in.
    pub async fn user_for_login(&self, username: &str) -> Result<Option<(User, Option<String>)>, StoreError> {
        let row: Option<(i64, Option<String>)> =
            sqlx::query_as("SELECT id, password_hash FROM users WHERE username = $1").bind(username).fetch_optional(&self.pool).await?;
        match row {
            None => Ok(None),
            Some((id, hash)) => Ok(Some((self.user(id).await?, hash))),
        }
    }

    pub async fn set_password(&self, id: i64, password_hash: &str) -> Result<(), StoreError> {
        let result =
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(password_hash).bind(id).execute(&self.pool).await?;
        affected(result, "user", id)
    }

    /// Whether anyone can log in yet: the first-run set-up is offered until someone can.
    pub async fn anyone_can_log_in(&self) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE password_hash IS NOT NULL)").fetch_one(&self.pool).await?)
    }

    /// Creates the first administrator in one transaction with the check that nobody can log
    /// in yet, so two first visitors cannot both become administrator.
    pub async fn create_first_admin(&self, draft: &UserDraft, password_hash: &str) -> Result<User, StoreError> {
        let mut tx = self.write_transaction().await?;
        let taken: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE password_hash IS NOT NULL)").fetch_one(&mut *tx).await?;
        if taken {
            return Err(StoreError::Conflict("Switchyard is already set up; log in instead".into()));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, display_name, role, customer_id, admin, password_hash, created_at) \
             VALUES ($1, $2, $3, NULL, 1, $4, $5) \
             ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name, role = excluded.role, \
             customer_id = NULL, admin = 1, password_hash = excluded.password_hash RETURNING id",
        )
        .bind(&draft.username)
        .bind(&draft.display_name)
        .bind(draft.role.as_str())
        .bind(password_hash)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        self.user(id).await
    }

    pub async fn delete_user(&self, id: i64) -> Result<(), StoreError> {
        let result = sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&self.pool).await?;
        affected(result, "user", id)
    }
}

/// A user's TOTP second factor as stored: the sealed secret, whether a code from it was
/// confirmed (only then does logging in need one), and the last time step a code was used at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondFactor {
    pub sealed_secret: String,
    pub enabled: bool,
    pub last_step: Option<i64>,
}

impl Store {
    pub async fn second_factor(&self, user_id: i64) -> Result<Option<SecondFactor>, StoreError> {
        let row: Option<(Option<String>, bool, Option<i64>)> =
            sqlx::query_as("SELECT totp_secret_sealed, totp_enabled, totp_last_step FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        let (sealed, enabled, last_step) = row.ok_or(StoreError::NotFound { what: "user", id: user_id })?;
        Ok(sealed.map(|sealed_secret| SecondFactor { sealed_secret, enabled, last_step }))
    }

    /// Starts an enrolment: a new secret, not yet needed to log in (a confirmed one is replaced
    /// only by a confirmed new one, see [`Store::enable_second_factor`]).
    pub async fn begin_second_factor(&self, user_id: i64, sealed_secret: &str) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE users SET totp_secret_sealed = $1, totp_enabled = 0, totp_last_step = NULL WHERE id = $2")
            .bind(sealed_secret)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        affected(result, "user", user_id)
    }

    pub async fn enable_second_factor(&self, user_id: i64, step: i64) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE users SET totp_enabled = 1, totp_last_step = $1 WHERE id = $2 AND totp_secret_sealed IS NOT NULL")
            .bind(step)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        affected(result, "user", user_id)
    }

    /// Records the time step of a code just used, and says whether it was newer than the last
    /// one (in one statement, so two logins cannot both use the same code).
    pub async fn use_second_factor_step(&self, user_id: i64, step: i64) -> Result<bool, StoreError> {
        let result = sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)")
            .bind(step)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Removes a user's second factor, e.g. when an administrator sets their password because
    /// they lost their authenticator.
    pub async fn remove_second_factor(&self, user_id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET totp_secret_sealed = NULL, totp_enabled = 0, totp_last_step = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
