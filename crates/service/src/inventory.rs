//! Inventory operations: customers, sites, hosts, environments, addresses, accounts and users,
//! each checked against the caller's role and written to the audit log when it changes
//! something.

use crate::auth::{hash_password, Caller};
use crate::{Service, ServiceError};
use switchyard_api::{
    Account, AccountDraft, Address, AddressDraft, Customer, CustomerDraft, Environment, EnvironmentDraft, Host, HostDraft, Overview, Site,
    SiteDetail, SiteDraft, User, UserDraft,
};
use switchyard_core::access::Action;

type Result<T> = std::result::Result<T, ServiceError>;

impl Service {
    pub async fn overview(&self, caller: &Caller) -> Result<Overview> {
        caller.may(Action::ReadOperations)?;
        Ok(self.store.overview().await?)
    }

    pub async fn list_customers(&self, caller: &Caller) -> Result<Vec<Customer>> {
        caller.may(Action::ReadOperations)?;
        Ok(self.store.list_customers().await?)
    }

    pub async fn customer(&self, caller: &Caller, id: i64) -> Result<Customer> {
        if caller.me.customer_id != Some(id) {
            caller.may(Action::ReadOperations)?;
        }
        Ok(self.store.customer(id).await?)
    }

    pub async fn create_customer(&self, caller: &Caller, draft: CustomerDraft) -> Result<Customer> {
        caller.may(Action::ChangeInventory)?;
        let customer = self.store.create_customer(&draft.validated()?).await?;
        self.audit(caller, "customer.create", &format!("customer {}", customer.id), &customer.name).await;
        Ok(customer)
    }

    pub async fn update_customer(&self, caller: &Caller, id: i64, draft: CustomerDraft) -> Result<Customer> {
        caller.may(Action::ChangeInventory)?;
        let customer = self.store.update_customer(id, &draft.validated()?).await?;
        self.audit(caller, "customer.update", &format!("customer {id}"), &customer.name).await;
        Ok(customer)
    }

    pub async fn delete_customer(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.may(Action::ChangeInventory)?;
        self.store.delete_customer(id).await?;
        self.audit(caller, "customer.delete", &format!("customer {id}"), "").await;
        Ok(())
    }

    /// Customers always get only their own sites, whatever filter they pass.
    pub async fn list_sites(&self, caller: &Caller, customer_id: Option<i64>) -> Result<Vec<Site>> {
        let customer_id = caller.principal().only_customer().or(customer_id);
        Ok(self.store.list_sites(customer_id).await?)
    }

    /// The site, refused when the caller may not see it.
    pub(crate) async fn readable_site(&self, caller: &Caller, id: i64) -> Result<Site> {
        let site = self.store.site(id).await?;
        caller.may(Action::ReadSite { owner: site.customer_id })?;
        Ok(site)
    }

    /// The site, refused unless the caller may prepare releases of it.
    pub(crate) async fn preparable_site(&self, caller: &Caller, id: i64) -> Result<Site> {
        let site = self.store.site(id).await?;
        caller.may(Action::PrepareRelease { owner: site.customer_id })?;
        Ok(site)
    }

    pub async fn site(&self, caller: &Caller, id: i64) -> Result<SiteDetail> {
        self.readable_site(caller, id).await?;
        let mut detail = self.store.site_detail(id).await?;
        detail.candidate_limits = Some(self.explained_candidate_limits(id).await?);
        Ok(detail)
    }

    pub async fn create_site(&self, caller: &Caller, draft: SiteDraft) -> Result<Site> {
        caller.may(Action::ChangeInventory)?;
        let site = self.store.create_site(&draft.validated()?).await?;
        self.audit(caller, "site.create", &format!("site {}", site.id), &site.name).await;
        Ok(site)
    }

    pub async fn update_site(&self, caller: &Caller, id: i64, draft: SiteDraft) -> Result<Site> {
        caller.may(Action::ChangeInventory)?;
        let site = self.store.update_site(id, &draft.validated()?).await?;
        self.audit(caller, "site.update", &format!("site {id}"), &site.name).await;
        Ok(site)
    }

    pub async fn delete_site(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.may(Action::ChangeInventory)?;
        self.store.delete_site(id).await?;
        self.audit(caller, "site.delete", &format!("site {id}"), "").await;
        Ok(())
    }

    pub async fn list_hosts(&self, caller: &Caller) -> Result<Vec<Host>> {
        caller.may(Action::ReadOperations)?;
        Ok(self.store.list_hosts().await?)
    }

    pub async fn host(&self, caller: &Caller, id: i64) -> Result<Host> {
        caller.may(Action::ReadOperations)?;
        Ok(self.store.host(id).await?)
    }

    /// Registers a host. Its token is sealed before the store sees it and never returned.
    pub async fn create_host(&self, caller: &Caller, draft: HostDraft) -> Result<Host> {
        caller.may(Action::ManageHosts)?;
        let draft = draft.validated()?;
        let sealed = self.sealed_host_token(&draft)?;
        let host = self.store.create_host(&draft, sealed.as_deref()).await?;
        self.audit(caller, "host.create", &format!("host {}", host.id), &host_detail(&host.name, sealed.is_some())).await;
        Ok(host)
    }

    /// Edits a host. A new agent URL or certificate needs the token entered again, so a token
    /// stored for one agent is never sent to another.
    pub async fn update_host(&self, caller: &Caller, id: i64, draft: HostDraft) -> Result<Host> {
        caller.may(Action::ManageHosts)?;
        let draft = draft.validated()?;
        let before = self.store.host(id).await?;
        let moved = before.agent_url != draft.agent_url || before.cert_fingerprint != draft.cert_fingerprint;
        if moved && before.token_stored && draft.token.is_none() {
            return Err(switchyard_core::Invalid::single(
                "token",
                "the agent URL or certificate changed: enter the agent's token again, so a stored token only ever goes to the agent it was entered for",
            )
            .into());
        }
        let sealed = self.sealed_host_token(&draft)?;
        let host = self.store.update_host(id, &draft, sealed.as_deref()).await?;
        self.engines.forget(id);
        self.audit(caller, "host.update", &format!("host {id}"), &host_detail(&host.name, sealed.is_some())).await;
        Ok(host)
    }

    fn sealed_host_token(&self, draft: &HostDraft) -> Result<Option<String>> {
        draft.token.as_deref().map(|token| self.secrets.seal(crate::secrets::Purpose::HostToken, token)).transpose()
    }

    pub async fn delete_host(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.may(Action::ManageHosts)?;
        self.store.delete_host(id).await?;
        self.engines.forget(id);
        self.audit(caller, "host.delete", &format!("host {id}"), "").await;
        Ok(())
    }

    pub async fn list_environments(&self, caller: &Caller, site_id: i64) -> Result<Vec<Environment>> {
        self.readable_site(caller, site_id).await?;
        Ok(self.store.list_environments(site_id).await?)
    }

    pub async fn environment(&self, caller: &Caller, id: i64) -> Result<Environment> {
        let environment = self.store.environment(id).await?;
        self.readable_site(caller, environment.site_id).await?;
        Ok(environment)
    }

    pub async fn create_environment(&self, caller: &Caller, site_id: i64, draft: EnvironmentDraft) -> Result<Environment> {
        caller.may(Action::ChangeInventory)?;
        let environment = self.store.create_environment(site_id, &draft.validated()?).await?;
        self.audit(caller, "environment.create", &format!("environment {}", environment.id), &environment.name).await;
        Ok(environment)
    }

    pub async fn update_environment(&self, caller: &Caller, id: i64, draft: EnvironmentDraft) -> Result<Environment> {
        caller.may(Action::ChangeInventory)?;
        let environment = self.store.update_environment(id, &draft.validated()?).await?;
        self.audit(caller, "environment.update", &format!("environment {id}"), &environment.name).await;
        Ok(environment)
    }

    pub async fn delete_environment(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.may(Action::ChangeInventory)?;
        self.store.delete_environment(id).await?;
        self.audit(caller, "environment.delete", &format!("environment {id}"), "").await;
        Ok(())
    }

    pub async fn create_address(&self, caller: &Caller, site_id: i64, draft: AddressDraft) -> Result<Address> {
        caller.may(Action::ChangeInventory)?;
        let address = self.store.create_address(site_id, &draft.validated()?).await?;
        self.audit(caller, "address.create", &format!("address {}", address.id), &address.value).await;
        Ok(address)
    }

    pub async fn update_address(&self, caller: &Caller, id: i64, draft: AddressDraft) -> Result<Address> {
        caller.may(Action::ChangeInventory)?;
        let address = self.store.update_address(id, &draft.validated()?).await?;
        self.audit(caller, "address.update", &format!("address {id}"), &address.value).await;
        Ok(address)
    }

    pub async fn delete_address(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.may(Action::ChangeInventory)?;
        self.store.delete_address(id).await?;
        self.audit(caller, "address.delete", &format!("address {id}"), "").await;
        Ok(())
    }

    pub async fn create_account(&self, caller: &Caller, site_id: i64, draft: AccountDraft) -> Result<Account> {
        caller.may(Action::ChangeInventory)?;
        let account = self.store.create_account(site_id, &draft.validated()?).await?;
        self.audit(caller, "account.create", &format!("account {}", account.id), &account.subdomain).await;
        Ok(account)
    }

    pub async fn update_account(&self, caller: &Caller, id: i64, draft: AccountDraft) -> Result<Account> {
        caller.may(Action::ChangeInventory)?;
        let account = self.store.update_account(id, &draft.validated()?).await?;
        self.audit(caller, "account.update", &format!("account {id}"), &account.subdomain).await;
        Ok(account)
    }

    pub async fn delete_account(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.may(Action::ChangeInventory)?;
        self.store.delete_account(id).await?;
        self.audit(caller, "account.delete", &format!("account {id}"), "").await;
        Ok(())
    }

    pub async fn list_users(&self, caller: &Caller) -> Result<Vec<User>> {
        caller.may(Action::ReadOperations)?;
        Ok(self.store.list_users().await?)
    }

    pub async fn user(&self, caller: &Caller, id: i64) -> Result<User> {
        if caller.me.id != id {
            caller.may(Action::ReadOperations)?;
        }
        Ok(self.store.user(id).await?)
    }

    /// Without `admin` and a password a user exists on record but cannot log in.
    pub async fn create_user(&self, caller: &Caller, draft: UserDraft) -> Result<User> {
        caller.may(Action::ManageUsers)?;
        let draft = draft.validated()?;
        let hash = match draft.password.clone() {
            Some(password) => Some(hash_password(password).await?),
            None => None,
        };
        let user = self.store.create_user_with_password(&draft, hash.as_deref()).await?;
        self.audit(caller, "user.create", &format!("user {}", user.id), &format!("{} ({})", user.username, user.role)).await;
        Ok(user)
    }

    pub async fn update_user(&self, caller: &Caller, id: i64, draft: UserDraft) -> Result<User> {
        caller.may(Action::ManageUsers)?;
        let draft = draft.validated()?;
        if caller.me.id == id && !draft.admin {
            return Err(ServiceError::Conflict("you cannot remove your own administrator rights; ask another administrator".into()));
        }
        let hash = match draft.password.clone() {
            Some(password) => Some(hash_password(password).await?),
            None => None,
        };
        let user = self.store.update_user(id, &draft, hash.as_deref()).await?;
        if hash.is_some() {
            self.store.delete_sessions_of(id).await?;
        }
        self.audit(caller, "user.update", &format!("user {id}"), &format!("{} ({})", user.username, user.role)).await;
        Ok(user)
    }

    pub async fn delete_user(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.may(Action::ManageUsers)?;
        if caller.me.id == id {
            return Err(ServiceError::Conflict("you cannot delete yourself; ask another administrator".into()));
        }
        self.store.delete_user(id).await?;
        self.audit(caller, "user.delete", &format!("user {id}"), "").await;
        Ok(())
    }
}

/// The audit detail of a host change: its name, and whether a token was entered (never the token).
fn host_detail(name: &str, token_entered: bool) -> String {
    if token_entered {
        format!("{name} (agent token entered)")
    } else {
        name.to_owned()
    }
}
