//! Accounts: a multi-tenant site's customer accounts, each at its own subdomain, with tags
//! (such as `beta`) that progressive rollouts use to pick who goes first.

use crate::error::on_unique;
use crate::{affected, ensure_parent, now, Store, StoreError};
use switchyard_api::{Account, AccountDraft};

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: i64,
    site_id: i64,
    subdomain: String,
    tags: String,
    created_at: String,
}

impl From<AccountRow> for Account {
    fn from(row: AccountRow) -> Self {
        // Tags are slugs, so a comma never occurs inside one.
        let tags = row.tags.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect();
        Self { id: row.id, site_id: row.site_id, subdomain: row.subdomain, tags, created_at: row.created_at }
    }
}

const SELECT: &str = "SELECT id, site_id, subdomain, tags, created_at FROM accounts";

fn subdomain_taken(subdomain: &str) -> impl FnOnce() -> String + '_ {
    move || format!("this site already has an account at subdomain {subdomain:?}; choose another subdomain")
}

impl Store {
    pub async fn list_accounts(&self, site_id: i64) -> Result<Vec<Account>, StoreError> {
        let rows: Vec<AccountRow> =
            sqlx::query_as(&format!("{SELECT} WHERE site_id = $1 ORDER BY subdomain")).bind(site_id).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(Account::from).collect())
    }

    pub async fn account(&self, id: i64) -> Result<Account, StoreError> {
        let row: Option<AccountRow> = sqlx::query_as(&format!("{SELECT} WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.map(Account::from).ok_or(StoreError::NotFound { what: "account", id })
    }

    /// `draft` must already be validated.
    pub async fn create_account(&self, site_id: i64, draft: &AccountDraft) -> Result<Account, StoreError> {
        let mut tx = self.write_transaction().await?;
        ensure_parent(&mut *tx, "sites", "site", site_id).await?;
        let id: i64 =
            sqlx::query_scalar("INSERT INTO accounts (site_id, subdomain, tags, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(site_id)
                .bind(&draft.subdomain)
                .bind(draft.tags.join(","))
                .bind(now())
                .fetch_one(&mut *tx)
                .await
                .map_err(on_unique(subdomain_taken(&draft.subdomain)))?;
        tx.commit().await?;
        self.account(id).await
    }

    pub async fn update_account(&self, id: i64, draft: &AccountDraft) -> Result<Account, StoreError> {
        let result = sqlx::query("UPDATE accounts SET subdomain = $1, tags = $2 WHERE id = $3")
            .bind(&draft.subdomain)
            .bind(draft.tags.join(","))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(on_unique(subdomain_taken(&draft.subdomain)))?;
        affected(result, "account", id)?;
        self.account(id).await
    }

    pub async fn delete_account(&self, id: i64) -> Result<(), StoreError> {
        let result = sqlx::query("DELETE FROM accounts WHERE id = $1").bind(id).execute(&self.pool).await?;
        affected(result, "account", id)
    }
}
