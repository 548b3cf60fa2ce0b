//! The demo a newcomer sees on first start: one customer with one site, its production and test
//! environments on this machine's agent, an address and a few accounts.

use crate::{Service, ServiceError};
use switchyard_api::{AccountDraft, AddressDraft, CustomerDraft, EnvironmentDraft, EnvironmentKind, HostDraft, Role, SiteDraft, UserDraft};

/// Where the demo expects the local agent; `switchyard serve` starts one there.
pub const DEMO_AGENT_URL: &str = "https://127.0.0.1:7443";

impl Service {
    /// Seeds the demo into an empty store and returns true; leaves a used store alone.
    pub async fn seed_demo_if_empty(&self) -> Result<bool, ServiceError> {
        if !self.store.is_empty().await? {
            return Ok(false);
        }
        let customer = self
            .create_customer(
                &crate::Caller::system(),
                CustomerDraft { name: "Acme Outfitters".into(), contact_email: "web@acme.example".into() },
            )
            .await?;
        let host = self
            .create_host(
                &crate::Caller::system(),
                HostDraft {
                    name: crate::LOCAL_HOST_NAME.into(),
                    agent_url: DEMO_AGENT_URL.into(),
                    // Filled in when the local agent registers: its URL, certificate and token.
                    token_ref: String::new(),
                    token: None,
                    cert_fingerprint: String::new(),
                },
            )
            .await?;
        let site = self
            .create_site(
                &crate::Caller::system(),
                SiteDraft {
                    name: "Acme Shop".into(),
                    customer_id: customer.id,
                    description: "The customer's web shop, one account per store front.".into(),
                },
            )
            .await?;
        let production = self
            .create_environment(
                &crate::Caller::system(),
                site.id,
                EnvironmentDraft { name: "production".into(), kind: EnvironmentKind::Production, host_id: host.id },
            )
            .await?;
        self.create_environment(
            &crate::Caller::system(),
            site.id,
            EnvironmentDraft { name: "test".into(), kind: EnvironmentKind::Test, host_id: host.id },
        )
        .await?;
        for value in ["shop.acme.example", "*.shop.acme.example"] {
            self.create_address(
                &crate::Caller::system(),
                site.id,
                AddressDraft { value: value.into(), environment_id: Some(production.id) },
            )
            .await?;
        }
        for (subdomain, tags) in [("bob", vec!["beta"]), ("carol", vec![]), ("dave", vec![])] {
            let tags = tags.into_iter().map(str::to_owned).collect();
            self.create_account(&crate::Caller::system(), site.id, AccountDraft { subdomain: subdomain.into(), tags }).await?;
        }
        for (username, display_name, role, customer_id) in [
            ("alice", "Alice (Acme)", Role::Customer, Some(customer.id)),
            ("sam", "Sam (support)", Role::Support, None),
            ("maria", "Maria (manager)", Role::Manager, None),
        ] {
            self.create_user(
                &crate::Caller::system(),
                UserDraft { username: username.into(), display_name: display_name.into(), role, customer_id, admin: false, password: None },
            )
            .await?;
        }
        tracing::info!(site = %site.name, "seeded the demo into an empty store");
        Ok(true)
    }
}
