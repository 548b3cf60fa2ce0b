//! Customers: the companies whose sites are released.

use crate::error::{on_dependents, on_unique};
use crate::{affected, now, Store, StoreError};
use switchyard_api::{Customer, CustomerDraft};

#[derive(sqlx::FromRow)]
struct CustomerRow {
    id: i64,
    name: String,
    contact_email: String,
    created_at: String,
}

impl From<CustomerRow> for Customer {
    fn from(row: CustomerRow) -> Self {
        Self { id: row.id, name: row.name, contact_email: row.contact_email, created_at: row.created_at }
    }
}

const SELECT: &str = "SELECT id, name, contact_email, created_at FROM customers";

fn name_taken(name: &str) -> impl FnOnce() -> String + '_ {
    move || format!("a customer named {name:?} already exists; choose another name")
}

impl Store {
    pub async fn list_customers(&self) -> Result<Vec<Customer>, StoreError> {
        let rows: Vec<CustomerRow> = sqlx::query_as(&format!("{SELECT} ORDER BY name")).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(Customer::from).collect())
    }

    pub async fn customer(&self, id: i64) -> Result<Customer, StoreError> {
        let row: Option<CustomerRow> = sqlx::query_as(&format!("{SELECT} WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.map(Customer::from).ok_or(StoreError::NotFound { what: "customer", id })
    }

    /// `draft` must already be validated.
    pub async fn create_customer(&self, draft: &CustomerDraft) -> Result<Customer, StoreError> {
        let id: i64 = sqlx::query_scalar("INSERT INTO customers (name, contact_email, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(&draft.name)
            .bind(&draft.contact_email)
            .bind(now())
            .fetch_one(&self.pool)
            .await
            .map_err(on_unique(name_taken(&draft.name)))?;
        self.customer(id).await
    }

    pub async fn update_customer(&self, id: i64, draft: &CustomerDraft) -> Result<Customer, StoreError> {
        let result = sqlx::query("UPDATE customers SET name = $1, contact_email = $2 WHERE id = $3")
            .bind(&draft.name)
            .bind(&draft.contact_email)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(on_unique(name_taken(&draft.name)))?;
        affected(result, "customer", id)?;
        self.customer(id).await
    }

    pub async fn delete_customer(&self, id: i64) -> Result<(), StoreError> {
        let result = sqlx::query("DELETE FROM customers WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(on_dependents(|| format!("customer {id} still has sites or users; delete or move them first")))?;
        affected(result, "customer", id)
    }
}
