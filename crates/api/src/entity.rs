//! Stored entities as the server returns them: a draft's fields plus identity and timestamps.

use serde::{Deserialize, Serialize};
use switchyard_core::{EnvironmentKind, Role};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub contact_email: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    pub id: i64,
    /// Fixed at creation from the name (`acme-shop`): what the site's environments, volume and
    /// routes are named by on its host. Renaming the site never changes it.
    pub key: String,
    pub name: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub description: String,
    pub environment_count: i64,
    /// The site's default runtime settings: `switchyard.toml` text that runs a release shipping
    /// neither a `switchyard.toml` nor a `Procfile`. `None`: the site has none.
    #[serde(default)]
    pub runtime_manifest: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    pub id: i64,
    pub name: String,
    pub agent_url: String,
    /// Whether an agent token is stored for this host (encrypted; the token is never returned).
    pub token_stored: bool,
    pub cert_fingerprint: String,
    pub created_at: String,
}

/// Whether a host's agent answers, asked live over its pinned HTTPS connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostStatus {
    pub host_id: i64,
    pub reachable: bool,
    /// The agent's version and environments when reachable.
    pub agent_version: Option<String>,
    pub environments: Vec<String>,
    /// What went wrong and what to do, when not reachable.
    pub problem: Option<String>,
    /// How the host keeps its sites apart, when its agent says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<HostIsolation>,
}

/// What a host's agent reports about isolating the sites it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostIsolation {
    /// Each site runs as its own unix user (false: as the agent's user, which can read the
    /// agent's token).
    pub site_users: bool,
    /// What enforces the sites' limits: `cgroup v2` or `rlimits`.
    pub limits: String,
    /// What the operator should fix, each saying how.
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    pub id: i64,
    pub site_id: i64,
    pub name: String,
    pub kind: EnvironmentKind,
    pub host_id: i64,
    pub host_name: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub id: i64,
    pub site_id: i64,
    pub value: String,
    pub environment_id: Option<i64>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: i64,
    pub site_id: i64,
    pub subdomain: String,
    pub tags: Vec<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub customer_id: Option<i64>,
    pub admin: bool,
    /// Whether a password is set: users without one cannot log in yet.
    pub can_log_in: bool,
    pub created_at: String,
}

/// A site with everything a site page shows, fetched in one round trip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteDetail {
    pub site: Site,
    pub environments: Vec<Environment>,
    pub addresses: Vec<Address>,
    pub accounts: Vec<Account>,
    /// The limits the site's candidates are held to, each saying whether the site sets it or
    /// the server's default applies. Absent from an older server.
    #[serde(default)]
    pub candidate_limits: Option<switchyard_core::candidate_limits::SiteCandidateLimits>,
}

/// Counts for the landing page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub customers: i64,
    pub sites: i64,
    pub environments: i64,
    pub hosts: i64,
    pub users: i64,
}

/// One saved version of a site's patch document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchDocumentRecord {
    pub id: i64,
    pub site_id: i64,
    /// Assigned by the store: 1, 2, 3… per site. Never reused, never edited.
    pub version: i64,
    pub workflow: String,
    pub target_version: String,
    pub candidate_sha256: String,
    /// The canonical TOML, with `version` set to this record's version.
    pub toml: String,
    /// One line per step, for review.
    pub summary: String,
    pub created_at: String,
}

/// A patch document as the user wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchDocumentDraft {
    pub toml: String,
}
