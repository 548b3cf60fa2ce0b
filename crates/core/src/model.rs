//! The vocabulary of the domain: kinds and roles that every layer shares.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What an environment is for. Production serves the customer's public addresses; test and
/// staging are clones where candidates are rehearsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentKind {
    Production,
    Test,
    Staging,
}

impl EnvironmentKind {
    pub const ALL: [EnvironmentKind; 3] = [Self::Production, Self::Test, Self::Staging];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Test => "test",
            Self::Staging => "staging",
        }
    }
}

impl fmt::Display for EnvironmentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EnvironmentKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| format!("unknown environment kind {s:?}: use production, test or staging"))
    }
}

/// Who a user is to Switchyard. Customers upload and test their own sites' candidates, support
/// staff approve and execute releases, managers review history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Support,
    Manager,
}

impl Role {
    pub const ALL: [Role; 3] = [Self::Customer, Self::Support, Self::Manager];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Support => "support",
            Self::Manager => "manager",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|role| role.as_str() == s).ok_or_else(|| format!("unknown role {s:?}: use customer, support or manager"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_roles_round_trip_through_their_names() {
        for kind in EnvironmentKind::ALL {
            assert_eq!(kind.as_str().parse::<EnvironmentKind>(), Ok(kind));
        }
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("prod".parse::<EnvironmentKind>().unwrap_err().contains("production, test or staging"));
        assert!("admin".parse::<Role>().unwrap_err().contains("customer, support or manager"));
    }
}
