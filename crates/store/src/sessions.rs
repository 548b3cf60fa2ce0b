//! Login sessions, kept by the sha256 of their token so a copy of the database logs nobody in.

use crate::{now, Store, StoreError};
use switchyard_api::User;

impl Store {
    /// Records a session for `user_id` that ends at `expires_at` (RFC 3339), and forgets
    /// sessions that already ended, so the table only holds live ones.
    pub async fn create_session(&self, token_sha256: &str, user_id: i64, remote: &str, expires_at: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now()).execute(&self.pool).await?;
        sqlx::query("INSERT INTO sessions (token_sha256, user_id, remote, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_sha256)
            .bind(user_id)
            .bind(remote)
            .bind(now())
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user of a session that has not expired, if any.
    pub async fn session_user(&self, token_sha256: &str) -> Result<Option<User>, StoreError> {
        let user_id: Option<i64> = sqlx::query_scalar("SELECT user_id FROM sessions WHERE token_sha256 = $1 AND expires_at > $2")
            .bind(token_sha256)
            .bind(now())
            .fetch_optional(&self.pool)
            .await?;
        match user_id {
            Some(id) => Ok(Some(self.user(id).await?)),
            None => Ok(None),
        }
    }

    pub async fn delete_session(&self, token_sha256: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1").bind(token_sha256).execute(&self.pool).await?;
        Ok(())
    }

    /// Ends every session of a user, e.g. when their password changes.
    pub async fn delete_sessions_of(&self, user_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&self.pool).await?;
        Ok(())
    }
}
