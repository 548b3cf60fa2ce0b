//! Where a release runs on its host: which agent environments and router addresses the
//! workflow's logical [`Env`]s stand for.
//!
//! The convention (one host, one router table), `<key>` being the site's key, fixed when the
//! site was created (renaming a site never moves it on its host):
//! - a site has two agent environments, `<key>-blue` and `<key>-green`, registered under the
//!   same names in the router table's `environments` of its entry `<key>`, each on a fixed port;
//! - production is whichever of the two the public address serves; the candidate is the other
//!   one, reachable at `candidate.<public address>` for the customer's tests. A swap trades
//!   them, so the next release's production is this release's candidate;
//! - a migration moves production to `temporary.<public address>` (the other addresses
//!   production served show the site-down page until it returns); a rollout splits the
//!   accounts at `*.<public address>` (the first label names the account);
//! - a pre-migration database snapshot is the site's data-volume snapshot named after the
//!   release's uid, or, for a site without a data volume, the agent environment
//!   `<key>-snapshot` (not routed);
//! - a completed rollout swaps the addresses (requests held) and points the accounts at the
//!   candidate alone, so the public address and every account serve the new version and the
//!   next release takes it for production.
//!
//! The placement is worked out once when a release is created and stored with it, so a resume
//! or a rollback acts on the same environments even after a swap changed the table.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use switchyard_agent::api::UnpackCaps;
use switchyard_core::workflow::Env;
use switchyard_router::{RouteTable, SiteRoutes, Target};

use crate::error::{EngineError, Result};

/// The site a release is for: its id in the inventory (`None` for an engine driven without
/// one, from a shell or a test), its key, the public address its releases swap, and its own
/// limits on unpacking a candidate (`None`: the engine's [`crate::ExecConfig::unpack_limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseSite<'a> {
    pub id: Option<i64>,
    pub key: &'a str,
    pub public_address: &'a str,
    pub unpack_limits: Option<UnpackCaps>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The site's entry in the route table (its key; a site put live before keys existed may
    /// still have its entry under its name of the time).
    pub site: String,
    pub production_env: String,
    pub candidate_env: String,
    pub snapshot_env: String,
    pub public_address: String,
    pub candidate_address: String,
    pub temporary_address: String,
    pub accounts_address: String,
    /// The site's other addresses production served when the release was created (a
    /// wildcard's accounts, a second name): they show the site-down page with the public
    /// address while a migration has production at its temporary address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_production_addresses: Vec<String>,
}

/// The two agent environment names of the site with key `key`.
pub fn environment_names(key: &str) -> [String; 2] {
    [format!("{key}-blue"), format!("{key}-green")]
}

pub fn candidate_address(public_address: &str) -> String {
    format!("candidate.{public_address}")
}

pub fn temporary_address(public_address: &str) -> String {
    format!("temporary.{public_address}")
}

pub fn accounts_address(public_address: &str) -> String {
    format!("*.{public_address}")
}

/// The routes a new site starts with: `<key>-blue` on `blue` serving the public address,
/// `<key>-green` on `green` behind the candidate address. Hosts are set up with this once,
/// under the entry `<key>`.
pub fn initial_site_routes(key: &str, public_address: &str, blue: SocketAddr, green: SocketAddr) -> SiteRoutes {
    initial_site_routes_serving(key, public_address, &[], blue, green)
}

/// [`initial_site_routes`] with the site's other production addresses (`www.shop.example`,
/// or a wildcard `*.shop.example` whose first label names the account) served by `<key>-blue`
/// too. A swap trades every address of the site between the two environments, so these move
/// with the public address at each release; a rollout's split of `*.<public>` replaces that
/// address's target while it runs and leaves it on the new production when it completes.
pub fn initial_site_routes_serving(
    key: &str,
    public_address: &str,
    production_addresses: &[String],
    blue: SocketAddr,
    green: SocketAddr,
) -> SiteRoutes {
    let [blue_env, green_env] = environment_names(key);
    let candidate = candidate_address(public_address);
    let mut addresses = BTreeMap::from([
        (public_address.to_owned(), Target::environment(&blue_env)),
        (candidate.clone(), Target::environment(green_env.clone())),
    ]);
    for address in production_addresses {
        // The candidate address is the candidate's, whatever the inventory says.
        if *address != candidate {
            addresses.entry(address.clone()).or_insert_with(|| Target::environment(&blue_env));
        }
    }
    SiteRoutes { environments: BTreeMap::from([(blue_env.clone(), blue), (green_env, green)]), addresses, ..SiteRoutes::default() }
}

impl Placement {
    /// Reads which of the site's two environments serves `public_address` now. The site's
    /// route-table entry is `key`, or (for a site put live before keys existed, whose entry
    /// carries its name of the time) the entry holding `<key>-blue`.
    pub fn resolve(key: &str, public_address: &str, table: &RouteTable) -> Result<Placement> {
        let [blue, green] = environment_names(key);
        let (site, routes) = table
            .sites
            .get_key_value(key)
            .or_else(|| table.sites.iter().find(|(_, routes)| routes.environments.contains_key(&blue)))
            .ok_or_else(|| {
                EngineError::Placement(format!(
                    "site {key} is not in the host's route table: set up its routes (blue and green environments) first"
                ))
            })?;
        for env in [&blue, &green] {
            if !routes.environments.contains_key(env) {
                return Err(EngineError::Placement(format!(
                    "the route table has no environment {env} for site {site}: every site needs {blue} and {green}"
                )));
            }
        }
        let production_env = match routes.addresses.get(public_address) {
            Some(Target::Environment { environment }) if *environment == blue || *environment == green => environment.clone(),
            Some(other) => {
                return Err(EngineError::Placement(format!(
                    "the public address {public_address} of site {site} serves {other:?}, not {blue} or {green}: finish or roll back the release that changed it first"
                )))
            }
            None => {
                return Err(EngineError::Placement(format!("site {site} has no public address {public_address} in the route table")))
            }
        };
        let candidate_env = if production_env == blue { green } else { blue };
        let (candidate, temporary) = (candidate_address(public_address), temporary_address(public_address));
        let other_production_addresses = routes
            .addresses
            .iter()
            .filter(|(address, target)| {
                ![public_address, candidate.as_str(), temporary.as_str()].contains(&address.as_str())
                    && matches!(target, Target::Environment { environment } if *environment == production_env)
            })
            .map(|(address, _)| address.clone())
            .collect();
        Ok(Placement {
            site: site.to_owned(),
            production_env,
            candidate_env,
            snapshot_env: format!("{key}-snapshot"),
            public_address: public_address.to_owned(),
            candidate_address: candidate_address(public_address),
            temporary_address: temporary_address(public_address),
            accounts_address: accounts_address(public_address),
            other_production_addresses,
        })
    }

    /// The agent environment a logical environment stands for.
    pub fn env(&self, env: Env) -> &str {
        match env {
            Env::Production => &self.production_env,
            Env::Candidate => &self.candidate_env,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_is_what_the_public_address_serves() {
        let (a, b): (SocketAddr, SocketAddr) = ("127.0.0.1:1".parse().unwrap(), "127.0.0.1:2".parse().unwrap());
        let mut table = RouteTable::default();
        table.sites.insert("shop".into(), initial_site_routes("shop", "shop.test", a, b));
        let placement = Placement::resolve("shop", "shop.test", &table).unwrap();
        assert_eq!((placement.env(Env::Production), placement.env(Env::Candidate)), ("shop-blue", "shop-green"));
        assert_eq!(placement.candidate_address, "candidate.shop.test");

        let routes = table.sites.get_mut("shop").unwrap();
        routes.addresses.insert("shop.test".into(), Target::environment("shop-green"));
        let swapped = Placement::resolve("shop", "shop.test", &table).unwrap();
        assert_eq!((swapped.production_env.as_str(), swapped.candidate_env.as_str()), ("shop-green", "shop-blue"));

        let err = Placement::resolve("shop", "nope.test", &table).unwrap_err().to_string();
        assert_eq!(err, "site shop has no public address nope.test in the route table");
        let err = Placement::resolve("blog", "shop.test", &table).unwrap_err().to_string();
        assert!(err.starts_with("site blog is not in the host's route table"), "{err}");
    }

    #[test]
    fn every_production_address_starts_on_production_and_a_swap_carries_the_wildcard() {
        let (a, b): (SocketAddr, SocketAddr) = ("127.0.0.1:1".parse().unwrap(), "127.0.0.1:2".parse().unwrap());
        let also = ["*.shop.test".to_owned(), "www.shop.test".to_owned(), "candidate.shop.test".to_owned()];
        let mut table = RouteTable::default();
        table.sites.insert("shop".into(), initial_site_routes_serving("shop", "shop.test", &also, a, b));
        let routes = &table.sites["shop"];
        assert_eq!(routes.addresses["*.shop.test"], Target::environment("shop-blue"));
        assert_eq!(routes.addresses["www.shop.test"], Target::environment("shop-blue"));
        assert_eq!(routes.addresses["candidate.shop.test"], Target::environment("shop-green"));
        // The router takes the table and swaps it as a release's swap does.
        let router = switchyard_router::Router::new(switchyard_router::RouterConfig::default());
        router.set_table(table.clone()).expect("a valid route table");
        let placement = Placement::resolve("shop", "shop.test", &table).unwrap();
        router.swap_environments(&placement.site, &placement.production_env, &placement.candidate_env).unwrap();
        let table = router.table();
        let swapped = &table.sites["shop"];
        for address in ["shop.test", "*.shop.test", "www.shop.test"] {
            assert_eq!(swapped.addresses[address], Target::environment("shop-green"), "{address} moves with the public address");
        }
        assert_eq!(swapped.addresses["candidate.shop.test"], Target::environment("shop-blue"));
        let placement = Placement::resolve("shop", "shop.test", &table).unwrap();
        assert_eq!(placement.other_production_addresses, ["*.shop.test", "www.shop.test"]);
    }

    #[test]
    fn a_site_put_live_under_its_name_is_found_by_its_key() {
        let (a, b): (SocketAddr, SocketAddr) = ("127.0.0.1:1".parse().unwrap(), "127.0.0.1:2".parse().unwrap());
        let mut table = RouteTable::default();
        // Before keys, go-live named the route-table entry after the site's display name.
        table.sites.insert("Acme Shop".into(), initial_site_routes("acme-shop", "shop.test", a, b));
        let placement = Placement::resolve("acme-shop", "shop.test", &table).unwrap();
        assert_eq!(placement.site, "Acme Shop");
        assert_eq!((placement.production_env.as_str(), placement.snapshot_env.as_str()), ("acme-shop-blue", "acme-shop-snapshot"));
    }
}
