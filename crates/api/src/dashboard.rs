//! The dashboard: for every site the caller may see, the version each environment runs, its
//! addresses with what the router serves there now, the last release and how it ended, and
//! the one next action for the caller (`GET /dashboard`, `GET /sites/{id}/dashboard`).

use serde::{Deserialize, Serialize};

/// `GET /dashboard`: the caller's sites (a customer's own only), by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub sites: Vec<SiteDashboard>,
}

/// One site's row of the dashboard, and the top of its page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteDashboard {
    pub site_id: i64,
    pub site: String,
    pub customer_id: i64,
    pub customer: String,
    /// Production first, then the candidate clone while one stands.
    pub environments: Vec<EnvironmentVersion>,
    /// The public address and every account's, with what serves them now.
    pub addresses: Vec<AddressHealth>,
    pub last_release: Option<LastRelease>,
    pub next: NextStep,
}

/// What one environment runs, from the record: the candidate of the go-live or of the last
/// release that put it there, and the version that go-live or release named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentVersion {
    /// `production` or `candidate`.
    pub environment: String,
    /// `1.1.0`; `None` when nothing on record named the version (then the candidate says it).
    pub version: Option<String>,
    pub candidate_sha256: String,
    /// What put it there, in words: `release #4`, `go-live #1`, `rehearsal #3`.
    pub source: String,
    /// The release that put it there (absent for a go-live).
    pub release_id: Option<i64>,
    /// When it got there.
    pub since: String,
    /// Where a person reaches it (`http://candidate.shop.example:8080/`), when it has an address.
    pub url: Option<String>,
    /// For an environment being changed: `changing to 1.2.0 (release #5)`.
    pub note: Option<String>,
}

/// One address of a site and what the host's router serves there now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressHealth {
    /// `shop.example.com`, `bob.shop.example.com`.
    pub address: String,
    /// `public`, `account` or `production` (another production address).
    pub kind: String,
    /// A link to it through the host's public listener, when the host reports one.
    pub url: Option<String>,
    /// `serving`, `site-down` (the site-down page), `held`, `not-routed` or `unknown` (the
    /// host did not answer).
    pub health: String,
    /// In words: `served by production (acme-shop-blue)`, `host local did not answer: …`.
    pub detail: String,
}

/// The site's newest release and how it ended, named by what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRelease {
    pub id: i64,
    /// `rehearsal` or `production`.
    pub run: String,
    /// Core's `Outcome` once final (`completed`, `failed`, `rejected`, `rolled-back`).
    pub outcome: Option<String>,
    /// `completed`, `failed at step 3: health check failed`, `rolled back by sam: slow`,
    /// `waiting for support's approval`.
    pub words: String,
    pub at: String,
}

/// The one next action for the caller: core's `next_action`, in words, with where it is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextStep {
    /// `rehearse`, `test`, `run-in-production`, `approve`, `confirm`, `retry-rollback`,
    /// `follow`, `go-live` or `nothing`.
    pub action: String,
    pub words: String,
    /// The UI page where it is done (`/releases/4`, `/sites/1`); `None` for nothing.
    pub href: Option<String>,
    pub release_id: Option<i64>,
}
