//! What a user submits to create or edit each entity, and the rules it must pass before the
//! store sees it. `validated` returns the normalised draft or every broken rule at once.

use crate::model::{EnvironmentKind, Role};
use crate::validate::{self, Checks, FieldError, Invalid};
use serde::{Deserialize, Serialize};

/// A hosting customer: the company whose sites are released.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerDraft {
    pub name: String,
    #[serde(default)]
    pub contact_email: String,
}

impl CustomerDraft {
    pub fn validated(self) -> Result<Self, Invalid> {
        let mut checks = Checks::default();
        let name = checks.check(validate::name("name", "customer name", &self.name));
        let contact_email = checks.check(validate::email("contact_email", &self.contact_email));
        checks.finish(|| Self { name: name.unwrap(), contact_email: contact_email.unwrap() })
    }
}

/// A customer's application.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteDraft {
    pub name: String,
    pub customer_id: i64,
    #[serde(default)]
    pub description: String,
}

impl SiteDraft {
    pub fn validated(self) -> Result<Self, Invalid> {
        let mut checks = Checks::default();
        let name = checks.check(validate::name("name", "site name", &self.name));
        if let Some(name) = &name {
            checks.check(validate::site_key("name", name));
        }
        let description = checks.check(validate::description("description", &self.description));
        checks.check(positive_id("customer_id", "a customer", self.customer_id));
        checks.finish(|| Self { name: name.unwrap(), customer_id: self.customer_id, description: description.unwrap() })
    }
}

/// A machine running the Switchyard agent. `Debug` leaves the token out.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostDraft {
    pub name: String,
    pub agent_url: String,
    /// No longer accepted (it named a file or variable on the server); kept so an old client
    /// that sends one gets a message instead of its reference being ignored.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_ref: String,
    /// The agent's token, entered once: stored encrypted, never returned. `None` on an update
    /// keeps the stored one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The agent certificate's sha256, pinned by the client; empty until registered.
    #[serde(default)]
    pub cert_fingerprint: String,
}

impl std::fmt::Debug for HostDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostDraft")
            .field("name", &self.name)
            .field("agent_url", &self.agent_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("cert_fingerprint", &self.cert_fingerprint)
            .finish_non_exhaustive()
    }
}

impl HostDraft {
    pub fn validated(self) -> Result<Self, Invalid> {
        let mut checks = Checks::default();
        let name = checks.check(validate::slug("name", "host name", &self.name));
        let agent_url = checks.check(validate::agent_url("agent_url", &self.agent_url));
        let token_ref = checks.check(validate::token_ref("token_ref", &self.token_ref));
        let token = match &self.token {
            Some(token) => checks.check(validate::agent_token("token", token)).map(Some),
            None => Some(None),
        };
        let cert_fingerprint = checks.check(validate::fingerprint("cert_fingerprint", &self.cert_fingerprint));
        checks.finish(|| Self {
            name: name.unwrap(),
            agent_url: agent_url.unwrap(),
            token_ref: token_ref.unwrap(),
            token: token.unwrap(),
            cert_fingerprint: cert_fingerprint.unwrap(),
        })
    }
}

/// One copy of a site on a host: its production, or a test or staging clone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentDraft {
    pub name: String,
    pub kind: EnvironmentKind,
    pub host_id: i64,
}

impl EnvironmentDraft {
    pub fn validated(self) -> Result<Self, Invalid> {
        let mut checks = Checks::default();
        // The name becomes the agent's directory envs/<name>/, hence the slug rule.
        let name = checks.check(validate::slug("name", "environment name", &self.name));
        checks.check(positive_id("host_id", "a host", self.host_id));
        checks.finish(|| Self { name: name.unwrap(), kind: self.kind, host_id: self.host_id })
    }
}

/// A public address of a site, optionally routed to one of its environments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressDraft {
    pub value: String,
    #[serde(default)]
    pub environment_id: Option<i64>,
}

impl AddressDraft {
    pub fn validated(self) -> Result<Self, Invalid> {
        let mut checks = Checks::default();
        let value = checks.check(validate::address("value", &self.value));
        if let Some(id) = self.environment_id {
            checks.check(positive_id("environment_id", "an environment", id));
        }
        checks.finish(|| Self { value: value.unwrap(), environment_id: self.environment_id })
    }
}

/// One of a customer's accounts on a multi-tenant site, served at its own subdomain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDraft {
    pub subdomain: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl AccountDraft {
    pub fn validated(self) -> Result<Self, Invalid> {
        let mut checks = Checks::default();
        let subdomain = checks.check(validate::slug("subdomain", "subdomain", &self.subdomain));
        let tags = checks.check(validate::tags("tags", &self.tags));
        checks.finish(|| Self { subdomain: subdomain.unwrap(), tags: tags.unwrap() })
    }
}

/// A person using Switchyard. Customers belong to one customer and see only its sites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDraft {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    pub role: Role,
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// Administrators also manage users.
    #[serde(default)]
    pub admin: bool,
    /// A new password; required when creating a user who should log in, left out to keep the
    /// current one. Never sent back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl UserDraft {
    pub fn validated(self) -> Result<Self, Invalid> {
        let mut checks = Checks::default();
        let username = checks.check(validate::slug("username", "username", &self.username));
        let display_name = if self.display_name.trim().is_empty() {
            username.clone()
        } else {
            checks.check(validate::name("display_name", "display name", &self.display_name))
        };
        match (self.role, self.customer_id) {
            (Role::Customer, None) => {
                checks.check::<()>(Err(FieldError::new("customer_id", "a customer user must belong to a customer; choose one")));
            }
            (Role::Customer, Some(id)) => {
                checks.check(positive_id("customer_id", "a customer", id));
            }
            (role, Some(_)) => {
                checks.check::<()>(Err(FieldError::new(
                    "customer_id",
                    format!("{role} users work for the hosting operator, not a customer; leave the customer empty"),
                )));
            }
            (_, None) => {}
        }
        if self.admin && self.role == Role::Customer {
            checks.check::<()>(Err(FieldError::new(
                "admin",
                "customers cannot administer Switchyard; make this a support or manager user, or untick administrator",
            )));
        }
        if let Some(password) = &self.password {
            checks.check(validate::password("password", password));
        }
        checks.finish(|| Self {
            username: username.unwrap(),
            display_name: display_name.unwrap(),
            role: self.role,
            customer_id: self.customer_id,
            admin: self.admin,
            password: self.password,
        })
    }
}

fn positive_id(field: &str, what: &str, id: i64) -> Result<(), FieldError> {
    if id > 0 {
        Ok(())
    } else {
        Err(FieldError::new(field, format!("choose {what}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_draft_keeps_its_token_out_of_debug_output_and_refuses_references() {
        let token = "agent-token-0123456789abcdef";
        let draft = HostDraft {
            name: "web-1".into(),
            agent_url: "https://web1.example.com:7443".into(),
            token: Some(format!(" {token} ")),
            ..HostDraft::default()
        };
        assert!(!format!("{draft:?}").contains(token));
        assert_eq!(draft.clone().validated().unwrap().token.as_deref(), Some(token));
        let by_reference = HostDraft { token: None, token_ref: "file:/etc/shadow".into(), ..draft };
        assert_eq!(by_reference.validated().unwrap_err().0[0].field, "token_ref");
    }

    #[test]
    fn a_site_draft_reports_every_broken_rule() {
        let draft = SiteDraft { name: " ".into(), customer_id: 0, description: "d".repeat(2_001) };
        let invalid = draft.validated().unwrap_err();
        assert_eq!(invalid.message_for("name"), Some("site name must not be empty"));
        assert_eq!(invalid.message_for("customer_id"), Some("choose a customer"));
        assert!(invalid.message_for("description").unwrap().contains("at most 2000"));
    }

    #[test]
    fn a_valid_site_draft_is_normalised() {
        let draft = SiteDraft { name: "  Acme Shop ".into(), customer_id: 3, description: " Main shop ".into() };
        let valid = draft.validated().unwrap();
        assert_eq!(valid.name, "Acme Shop");
        assert_eq!(valid.description, "Main shop");
    }

    #[test]
    fn environments_are_named_like_directories() {
        let draft = EnvironmentDraft { name: "Prod 1".into(), kind: EnvironmentKind::Production, host_id: 1 };
        assert!(draft.validated().unwrap_err().message_for("name").unwrap().contains("' '"));
    }

    #[test]
    fn customer_users_need_a_customer_and_staff_must_not_have_one() {
        let customer = UserDraft {
            username: "bob".into(),
            display_name: String::new(),
            role: Role::Customer,
            customer_id: None,
            admin: false,
            password: None,
        };
        assert!(customer.validated().unwrap_err().message_for("customer_id").unwrap().contains("must belong"));
        let support = UserDraft {
            username: "sue".into(),
            display_name: String::new(),
            role: Role::Support,
            customer_id: Some(1),
            admin: false,
            password: None,
        };
        assert!(support.validated().unwrap_err().message_for("customer_id").unwrap().contains("leave the customer empty"));
        let manager = UserDraft {
            username: "Max".into(),
            display_name: String::new(),
            role: Role::Manager,
            customer_id: None,
            admin: false,
            password: None,
        };
        let valid = manager.validated().unwrap();
        assert_eq!((valid.username.as_str(), valid.display_name.as_str()), ("max", "max"));
    }

    #[test]
    fn accounts_and_addresses_use_the_shared_rules() {
        let account = AccountDraft { subdomain: "Bob".into(), tags: vec!["beta".into()] };
        assert_eq!(account.validated().unwrap().subdomain, "bob");
        let address = AddressDraft { value: "shop example com".into(), environment_id: Some(-1) };
        let invalid = address.validated().unwrap_err();
        assert!(invalid.message_for("value").is_some());
        assert_eq!(invalid.message_for("environment_id"), Some("choose an environment"));
    }
}
