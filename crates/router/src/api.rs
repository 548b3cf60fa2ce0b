//! Wire types of the router: the route table, operation requests and the counters snapshot.
//!
//! Plain serde structs with no IO, so the agent's HTTPS API, its client and the UI can share them.
//! Names follow the domain: a site has environments (each a backend address) and public
//! addresses (host patterns), and every address points at a [`Target`].

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// Everything the router serves: the sites on this host, by site name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    #[serde(default)]
    pub sites: BTreeMap<String, SiteRoutes>,
}

/// How one site's public addresses map onto its environments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRoutes {
    /// Environment name → the backend (`127.0.0.1:port`) that serves it.
    #[serde(default)]
    pub environments: BTreeMap<String, SocketAddr>,
    /// Public address (an exact host like `shop.example.com`, or a wildcard `*.example.com`
    /// whose first label names the customer account) → what serves it.
    #[serde(default)]
    pub addresses: BTreeMap<String, Target>,
    /// The page served while the site is down; the router's default when not customised.
    #[serde(default)]
    pub site_down: SiteDownPage,
    /// While on, every address of the site answers with the site-down page (503).
    #[serde(default)]
    pub maintenance: bool,
    /// While set, new requests wait (instead of failing) for the route change that ends the hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Hold>,
}

/// What serves a public address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// One environment serves every request.
    Environment { environment: String },
    /// Accounts are split between two environments (progressive rollout).
    Split(AccountSplit),
    /// The site-down page answers with 503 and Retry-After.
    SiteDown,
}

impl Target {
    /// The target that sends every request to `environment`.
    pub fn environment(environment: impl Into<String>) -> Self {
        Target::Environment { environment: environment.into() }
    }
}

/// A progressive rollout: `candidate_percent` of accounts go to `candidate`, the rest stay on
/// `stable`. The choice is a stable hash of the account, so raising the percentage only ever
/// moves accounts from `stable` to `candidate`, never back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSplit {
    pub stable: String,
    pub candidate: String,
    /// 0 to 100.
    pub candidate_percent: u8,
    /// Account → environment; wins over the hash (test accounts, accounts tagged `beta`).
    #[serde(default)]
    pub pins: BTreeMap<String, String>,
}

/// A site's own site-down page; `html: None` serves the router's default page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteDownPage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Sent as `Retry-After` with every 503.
    #[serde(default = "default_retry_after_secs")]
    pub retry_after_secs: u32,
}

impl Default for SiteDownPage {
    fn default() -> Self {
        SiteDownPage { html: None, retry_after_secs: default_retry_after_secs() }
    }
}

fn default_retry_after_secs() -> u32 {
    30
}

/// Hold mode: requests wait at most `timeout_ms` from the moment the hold began; after that
/// they (and any later request while the hold stays on) get the site-down page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub timeout_ms: u64,
}

/// Swap two environments everywhere in a site: addresses, splits and pins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapEnvironments {
    pub site: String,
    pub first: String,
    pub second: String,
}

/// Serve what `public_address` serves at `temporary_address` instead, and put the
/// site-down page on `public_address`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveToTemporaryAddress {
    pub site: String,
    pub public_address: String,
    pub temporary_address: String,
}

/// Undo [`MoveToTemporaryAddress`]: `public_address` serves what `temporary_address`
/// serves, and the temporary address is removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteBack {
    pub site: String,
    pub temporary_address: String,
    pub public_address: String,
}

/// Point one public address at a target (adds the address if new).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointAddress {
    pub site: String,
    pub address: String,
    pub target: Target,
}

/// Turn maintenance on or off; `page` replaces the site's site-down page when given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetMaintenance {
    pub site: String,
    pub on: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<SiteDownPage>,
}

/// Begin (`Some`) or end (`None`) hold mode for a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetHold {
    pub site: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Hold>,
}

/// Counters of everything served since the router started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CountersSnapshot {
    /// Requests proxied to each environment.
    pub environments: Vec<EnvironmentCounters>,
    /// Every request answered for each public address, including site-down pages.
    pub addresses: Vec<AddressCounters>,
    /// Requests whose host matched no address.
    pub unrouted: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentCounters {
    pub site: String,
    pub environment: String,
    pub traffic: Traffic,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddressCounters {
    pub site: String,
    pub address: String,
    pub traffic: Traffic,
}

/// Requests, 5xx responses, site-down pages and a latency histogram (time to response headers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Traffic {
    pub requests: u64,
    pub responses_5xx: u64,
    pub site_down: u64,
    pub latency: LatencyHistogram,
}

/// A per-bucket (not cumulative) histogram: `counts[i]` requests took at most `bounds_seconds[i]` and more than
/// the bound before it; the last count (one more than the bounds) is everything slower.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyHistogram {
    pub bounds_seconds: Vec<f64>,
    pub counts: Vec<u64>,
    pub sum_seconds: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_table_wire_format() {
        let json = r#"{
            "sites": {
                "shop": {
                    "environments": { "blue": "127.0.0.1:9001", "green": "127.0.0.1:9002" },
                    "addresses": {
                        "shop.example.com": { "kind": "environment", "environment": "blue" },
                        "*.shop.example.com": { "kind": "split", "stable": "blue", "candidate": "green",
                                                "candidate_percent": 5, "pins": { "beta": "green" } },
                        "old.example.com": { "kind": "site_down" }
                    },
                    "hold": { "timeout_ms": 5000 }
                }
            }
        }"#;
        let table: RouteTable = serde_json::from_str(json).unwrap();
        let shop = &table.sites["shop"];
        assert_eq!(shop.addresses["shop.example.com"], Target::environment("blue"));
        assert_eq!(shop.site_down, SiteDownPage { html: None, retry_after_secs: 30 }, "defaults fill the page");
        assert!(!shop.maintenance);
        assert_eq!(shop.hold, Some(Hold { timeout_ms: 5000 }));
        let Target::Split(split) = &shop.addresses["*.shop.example.com"] else { panic!("a split") };
        assert_eq!((split.candidate_percent, split.pins["beta"].as_str()), (5, "green"));
        let again: RouteTable = serde_json::from_str(&serde_json::to_string(&table).unwrap()).unwrap();
        assert_eq!(again, table);
    }
}
