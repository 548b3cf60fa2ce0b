//! A site's databases on its hosts' database servers, as the site page lists them: the ones
//! its environments use, the copies Switchyard made for rehearsals and snapshots, and the
//! leftovers support may remove. Never a password nor a login.

use serde::{Deserialize, Serialize};

/// `GET /sites/{id}/databases`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteDatabases {
    pub site_id: i64,
    pub databases: Vec<SiteDatabaseEntry>,
    /// Hosts or servers that could not be asked, each in words that say what to check.
    #[serde(default)]
    pub problems: Vec<String>,
}

/// Where a database comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseOrigin {
    /// The hosting operator's, declared for the site: Switchyard never removes it.
    Declared,
    /// Switchyard's private copy for one environment (a rehearsal, a no-migration candidate).
    Clone,
    /// Switchyard's copy kept with a data snapshot taken before a migration.
    Snapshot,
}

impl DatabaseOrigin {
    pub fn label(self) -> &'static str {
        match self {
            DatabaseOrigin::Declared => "declared",
            DatabaseOrigin::Clone => "clone",
            DatabaseOrigin::Snapshot => "snapshot",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteDatabaseEntry {
    pub host_id: i64,
    pub host_name: String,
    /// The database server's name in the host's `databases.toml`.
    pub server: String,
    /// `postgresql` or `mariadb`.
    pub kind: String,
    pub database: String,
    pub origin: DatabaseOrigin,
    /// What Switchyard made it for, in words: `copy for environment shop-green`, `snapshot of
    /// shop (r12)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_for: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_at: Option<String>,
    /// The site's environments (agent names) using it now.
    pub used_by: Vec<String>,
    /// Made by Switchyard and kept by nothing any more: support may remove it.
    pub leftover: bool,
    /// `None`: the server has no such database (a copy broken off half-made) or did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables: Option<u64>,
}

/// `POST /sites/{id}/databases/remove`: a leftover to remove, by server and database; `host_id`
/// only when two of the site's hosts have one of that name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveSiteDatabase {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_id: Option<i64>,
    pub server: String,
    pub database: String,
}
