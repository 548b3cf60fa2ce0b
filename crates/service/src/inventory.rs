//! Inventory operations: customers, sites, hosts, environments, addresses, accounts and users.

use crate::{Service, ServiceError};
use switchyard_api::{
    Account, AccountDraft, Address, AddressDraft, Customer, CustomerDraft, Environment, EnvironmentDraft, Host,
    HostDraft, Overview, Site, SiteDetail, SiteDraft, User, UserDraft,
};

type Result<T> = std::result::Result<T, ServiceError>;

impl Service {
    pub async fn overview(&self) -> Result<Overview> {
        Ok(self.store.overview().await?)
    }

    pub async fn list_customers(&self) -> Result<Vec<Customer>> {
        Ok(self.store.list_customers().await?)
    }

    pub async fn customer(&self, id: i64) -> Result<Customer> {
        Ok(self.store.customer(id).await?)
    }

    pub async fn create_customer(&self, draft: CustomerDraft) -> Result<Customer> {
        Ok(self.store.create_customer(&draft.validated()?).await?)
    }

    pub async fn update_customer(&self, id: i64, draft: CustomerDraft) -> Result<Customer> {
        Ok(self.store.update_customer(id, &draft.validated()?).await?)
    }

    pub async fn delete_customer(&self, id: i64) -> Result<()> {
        Ok(self.store.delete_customer(id).await?)
    }

    pub async fn list_sites(&self, customer_id: Option<i64>) -> Result<Vec<Site>> {
        Ok(self.store.list_sites(customer_id).await?)
    }

    pub async fn site(&self, id: i64) -> Result<SiteDetail> {
        Ok(self.store.site_detail(id).await?)
    }

    pub async fn create_site(&self, draft: SiteDraft) -> Result<Site> {
        Ok(self.store.create_site(&draft.validated()?).await?)
    }

    pub async fn update_site(&self, id: i64, draft: SiteDraft) -> Result<Site> {
        Ok(self.store.update_site(id, &draft.validated()?).await?)
    }

    pub async fn delete_site(&self, id: i64) -> Result<()> {
        Ok(self.store.delete_site(id).await?)
    }

    pub async fn list_hosts(&self) -> Result<Vec<Host>> {
        Ok(self.store.list_hosts().await?)
    }

    pub async fn host(&self, id: i64) -> Result<Host> {
        Ok(self.store.host(id).await?)
    }

    pub async fn create_host(&self, draft: HostDraft) -> Result<Host> {
        Ok(self.store.create_host(&draft.validated()?).await?)
    }

    pub async fn update_host(&self, id: i64, draft: HostDraft) -> Result<Host> {
        Ok(self.store.update_host(id, &draft.validated()?).await?)
    }

    pub async fn delete_host(&self, id: i64) -> Result<()> {
        Ok(self.store.delete_host(id).await?)
    }

    pub async fn list_environments(&self, site_id: i64) -> Result<Vec<Environment>> {
        self.store.site(site_id).await?;
        Ok(self.store.list_environments(site_id).await?)
    }

    pub async fn environment(&self, id: i64) -> Result<Environment> {
        Ok(self.store.environment(id).await?)
    }

    pub async fn create_environment(&self, site_id: i64, draft: EnvironmentDraft) -> Result<Environment> {
        Ok(self.store.create_environment(site_id, &draft.validated()?).await?)
    }

    pub async fn update_environment(&self, id: i64, draft: EnvironmentDraft) -> Result<Environment> {
        Ok(self.store.update_environment(id, &draft.validated()?).await?)
    }

    pub async fn delete_environment(&self, id: i64) -> Result<()> {
        Ok(self.store.delete_environment(id).await?)
    }

    pub async fn create_address(&self, site_id: i64, draft: AddressDraft) -> Result<Address> {
        Ok(self.store.create_address(site_id, &draft.validated()?).await?)
    }

    pub async fn update_address(&self, id: i64, draft: AddressDraft) -> Result<Address> {
        Ok(self.store.update_address(id, &draft.validated()?).await?)
    }

    pub async fn delete_address(&self, id: i64) -> Result<()> {
        Ok(self.store.delete_address(id).await?)
    }

    pub async fn create_account(&self, site_id: i64, draft: AccountDraft) -> Result<Account> {
        Ok(self.store.create_account(site_id, &draft.validated()?).await?)
    }

    pub async fn update_account(&self, id: i64, draft: AccountDraft) -> Result<Account> {
        Ok(self.store.update_account(id, &draft.validated()?).await?)
    }

    pub async fn delete_account(&self, id: i64) -> Result<()> {
        Ok(self.store.delete_account(id).await?)
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        Ok(self.store.list_users().await?)
    }

    pub async fn user(&self, id: i64) -> Result<User> {
        Ok(self.store.user(id).await?)
    }

    pub async fn create_user(&self, draft: UserDraft) -> Result<User> {
        Ok(self.store.create_user(&draft.validated()?).await?)
    }

    pub async fn update_user(&self, id: i64, draft: UserDraft) -> Result<User> {
        Ok(self.store.update_user(id, &draft.validated()?).await?)
    }

    pub async fn delete_user(&self, id: i64) -> Result<()> {
        Ok(self.store.delete_user(id).await?)
    }
}
