//! Who may do what: the one policy the service layer applies to every request, whatever the UI
//! offers. Customers act only on their own customer's sites; support staff run the operation;
//! managers read everything and change nothing; administrators also manage users.

use crate::Role;

/// The person making a request, as far as the policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    pub admin: bool,
    /// The customer a customer user belongs to.
    pub customer_id: Option<i64>,
}

/// Something a person asks to do. Actions on a site carry the id of the customer that owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Sites, their environments, addresses, accounts, patch documents, candidates, releases.
    ReadSite {
        owner: i64,
    },
    /// Customers, hosts and every site at once.
    ReadOperations,
    /// Create, edit or delete customers, sites, environments, addresses, accounts and hosts.
    ChangeInventory,
    ManageUsers,
    /// Register, edit or delete a host: its agent URL, pinned certificate and token decide
    /// where Switchyard sends an agent token, so it is its own right.
    ManageHosts,
    /// Write a patch document, upload a candidate, start a rehearsal, confirm at a gate.
    PrepareRelease {
        owner: i64,
    },
    /// Start a production run, approve or reject, roll back.
    RunRelease,
    ReadAudit,
}

/// Why a request was refused, in words that say what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(pub String);

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn deny(message: &str) -> Result<(), Denied> {
    Err(Denied(message.to_owned()))
}

impl Principal {
    /// Whether this person may do `action`.
    pub fn may(&self, action: Action) -> Result<(), Denied> {
        let own = |owner: i64| self.customer_id == Some(owner);
        match (self.role, action) {
            (Role::Customer, Action::ReadSite { owner } | Action::PrepareRelease { owner }) if own(owner) => Ok(()),
            (Role::Customer, Action::ReadSite { .. } | Action::PrepareRelease { .. }) => {
                deny("this site belongs to another customer; you can only see your own sites")
            }
            (Role::Customer, Action::RunRelease) => {
                deny("customers mark candidates tested and confirm releases; support staff approve and run them")
            }
            (
                Role::Customer,
                Action::ManageUsers | Action::ManageHosts | Action::ChangeInventory | Action::ReadOperations | Action::ReadAudit,
            ) => deny("this is for the hosting operator's staff; ask support if you need it"),
            (_, Action::ManageUsers) if self.admin => Ok(()),
            (_, Action::ManageUsers) => deny("only administrators manage users; ask one to do this"),
            (Role::Support, _) => Ok(()),
            (Role::Manager, Action::ReadSite { .. } | Action::ReadOperations | Action::ReadAudit) => Ok(()),
            (Role::Manager, Action::ChangeInventory | Action::ManageHosts | Action::PrepareRelease { .. } | Action::RunRelease) => {
                deny("managers review; support staff make changes and run releases")
            }
        }
    }

    /// The customer whose sites alone this person sees, if they are limited to one.
    pub fn only_customer(&self) -> Option<i64> {
        match self.role {
            Role::Customer => Some(self.customer_id.unwrap_or(-1)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(id: i64) -> Principal {
        Principal { role: Role::Customer, admin: false, customer_id: Some(id) }
    }

    const SUPPORT: Principal = Principal { role: Role::Support, admin: false, customer_id: None };
    const MANAGER: Principal = Principal { role: Role::Manager, admin: false, customer_id: None };

    #[test]
    fn customers_act_only_on_their_own_sites() {
        assert_eq!(customer(1).may(Action::ReadSite { owner: 1 }), Ok(()));
        assert_eq!(customer(1).may(Action::PrepareRelease { owner: 1 }), Ok(()));
        let refused = customer(1).may(Action::ReadSite { owner: 2 }).unwrap_err();
        assert!(refused.0.contains("another customer"), "{refused}");
        assert!(customer(1).may(Action::PrepareRelease { owner: 2 }).is_err());
    }

    #[test]
    fn customers_never_run_releases_nor_see_operations() {
        let refused = customer(1).may(Action::RunRelease).unwrap_err();
        assert!(refused.0.contains("support staff approve"), "{refused}");
        for action in [Action::ChangeInventory, Action::ManageHosts, Action::ReadOperations, Action::ReadAudit, Action::ManageUsers] {
            assert!(customer(1).may(action).is_err(), "{action:?}");
        }
        assert_eq!(customer(7).only_customer(), Some(7));
    }

    #[test]
    fn a_customer_user_without_a_customer_sees_nothing() {
        let orphan = Principal { role: Role::Customer, admin: false, customer_id: None };
        assert!(orphan.may(Action::ReadSite { owner: 1 }).is_err());
        assert_eq!(orphan.only_customer(), Some(-1));
    }

    #[test]
    fn support_runs_everything_but_users_unless_admin() {
        for action in
            [Action::ChangeInventory, Action::ManageHosts, Action::RunRelease, Action::ReadAudit, Action::PrepareRelease { owner: 3 }]
        {
            assert_eq!(SUPPORT.may(action), Ok(()), "{action:?}");
        }
        assert!(SUPPORT.may(Action::ManageUsers).is_err());
        assert_eq!(Principal { admin: true, ..SUPPORT }.may(Action::ManageUsers), Ok(()));
        assert_eq!(SUPPORT.only_customer(), None);
    }

    #[test]
    fn managers_read_and_change_nothing() {
        for action in [Action::ReadSite { owner: 9 }, Action::ReadOperations, Action::ReadAudit] {
            assert_eq!(MANAGER.may(action), Ok(()), "{action:?}");
        }
        for action in
            [Action::ChangeInventory, Action::ManageHosts, Action::RunRelease, Action::PrepareRelease { owner: 9 }, Action::ManageUsers]
        {
            assert!(MANAGER.may(action).is_err(), "{action:?}");
        }
        assert_eq!(Principal { admin: true, ..MANAGER }.may(Action::ManageUsers), Ok(()));
    }
}
