//! The compiled route table: validated once per route change, then read by every request.
//!
//! A [`CompiledTable`] is immutable; a route change builds a new one and publishes it in one
//! atomic pointer swap, so a request sees either the whole old table or the whole new one.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::uri::Authority;

use crate::api::{RouteTable, Target};
use crate::counters::{CounterRegistry, TrafficCounters};
use crate::error::RouterError;
use crate::host::{HostMatcher, HostPattern};
use crate::site_down::PreparedPage;
use crate::split::{self, Cohort};

/// One environment's backend, with what a proxied request needs ready to hand.
#[derive(Debug)]
pub(crate) struct Backend {
    pub site: Arc<str>,
    pub environment: Arc<str>,
    pub addr: SocketAddr,
    pub authority: Authority,
    pub counters: Arc<TrafficCounters>,
}

#[derive(Debug)]
enum CompiledTarget {
    Backend(Arc<Backend>),
    Split { stable: Arc<Backend>, candidate: Arc<Backend>, percent: u8, pins: HashMap<String, Arc<Backend>> },
    SiteDown,
}

#[derive(Debug)]
struct Address {
    site: usize,
    counters: Arc<TrafficCounters>,
    target: CompiledTarget,
}

#[derive(Debug)]
struct Site {
    page: Arc<PreparedPage>,
    maintenance: bool,
    hold_deadline: Option<Instant>,
}

/// What to do with one request.
#[derive(Debug)]
pub(crate) enum Route {
    Proxy {
        backend: Arc<Backend>,
        address: Arc<TrafficCounters>,
        page: Arc<PreparedPage>,
    },
    SiteDown {
        address: Arc<TrafficCounters>,
        page: Arc<PreparedPage>,
    },
    /// Wait for the next route change, at most until `deadline`, then resolve again.
    Hold {
        deadline: Instant,
        address: Arc<TrafficCounters>,
        page: Arc<PreparedPage>,
    },
    Unrouted,
}

#[derive(Debug, Default)]
pub(crate) struct CompiledTable {
    hosts: HostMatcher<usize>,
    addresses: Vec<Address>,
    sites: Vec<Site>,
    /// When each held site's hold runs out; carried into the next compiled table so a route
    /// change during a hold does not extend it.
    pub hold_deadlines: HashMap<String, Instant>,
}

impl CompiledTable {
    /// Validates `table` and builds its lookup structures. `previous_deadlines` are the holds
    /// already running; a site newly held gets `now + timeout`.
    pub(crate) fn compile(
        table: &RouteTable,
        registry: &CounterRegistry,
        previous_deadlines: &HashMap<String, Instant>,
        now: Instant,
    ) -> Result<CompiledTable, RouterError> {
        let mut compiled = CompiledTable::default();
        let mut claimed: HashMap<String, &str> = HashMap::new();
        for (site_name, routes) in &table.sites {
            let site_index = compiled.sites.len();
            let hold_deadline = routes.hold.map(|hold| {
                let deadline = previous_deadlines.get(site_name).copied().unwrap_or_else(|| now + Duration::from_millis(hold.timeout_ms));
                compiled.hold_deadlines.insert(site_name.clone(), deadline);
                deadline
            });
            compiled.sites.push(Site {
                page: Arc::new(PreparedPage::new(&routes.site_down)),
                maintenance: routes.maintenance,
                hold_deadline,
            });

            let site_arc: Arc<str> = Arc::from(site_name.as_str());
            let backends: HashMap<&str, Arc<Backend>> = routes
                .environments
                .iter()
                .map(|(environment, addr)| {
                    let backend = Backend {
                        site: site_arc.clone(),
                        environment: Arc::from(environment.as_str()),
                        addr: *addr,
                        authority: Authority::try_from(addr.to_string()).expect("a socket address is a valid authority"),
                        counters: registry.environment(site_name, environment),
                    };
                    (environment.as_str(), Arc::new(backend))
                })
                .collect();
            let backend = |environment: &str| {
                backends
                    .get(environment)
                    .cloned()
                    .ok_or_else(|| RouterError::UnknownEnvironment { site: site_name.clone(), environment: environment.to_string() })
            };

            for (address, target) in &routes.addresses {
                let pattern = HostPattern::parse(address).map_err(|reason| RouterError::InvalidAddress {
                    site: site_name.clone(),
                    address: address.clone(),
                    reason,
                })?;
                let canonical = pattern.to_string();
                if let Some(first) = claimed.insert(canonical.clone(), site_name) {
                    return Err(RouterError::DuplicateAddress { address: canonical, first: first.to_string(), second: site_name.clone() });
                }
                let target = match target {
                    Target::Environment { environment } => CompiledTarget::Backend(backend(environment)?),
                    Target::SiteDown => CompiledTarget::SiteDown,
                    Target::Split(split) => {
                        if split.candidate_percent > 100 {
                            return Err(RouterError::InvalidPercent {
                                site: site_name.clone(),
                                address: address.clone(),
                                percent: split.candidate_percent,
                            });
                        }
                        let pins = split
                            .pins
                            .iter()
                            .map(|(account, environment)| Ok((account.to_ascii_lowercase(), backend(environment)?)))
                            .collect::<Result<_, RouterError>>()?;
                        CompiledTarget::Split {
                            stable: backend(&split.stable)?,
                            candidate: backend(&split.candidate)?,
                            percent: split.candidate_percent,
                            pins,
                        }
                    }
                };
                let index = compiled.addresses.len();
                compiled.addresses.push(Address { site: site_index, counters: registry.address(site_name, &canonical), target });
                // Duplicates were refused above, so the insert cannot collide.
                let _ = compiled.hosts.insert(pattern, index);
            }
        }
        Ok(compiled)
    }

    /// Decides what serves a request for `host` (already normalised) at `now`.
    pub(crate) fn resolve(&self, host: &str, now: Instant) -> Route {
        let Some(found) = self.hosts.lookup(host) else {
            return Route::Unrouted;
        };
        let address = &self.addresses[*found.value];
        let site = &self.sites[address.site];
        let counters = address.counters.clone();
        let page = site.page.clone();
        if site.maintenance {
            return Route::SiteDown { address: counters, page };
        }
        if let Some(deadline) = site.hold_deadline {
            return if now < deadline {
                Route::Hold { deadline, address: counters, page }
            } else {
                // The cutover overran its hold: answer with the page rather than guess which
                // environment is safe to serve from.
                Route::SiteDown { address: counters, page }
            };
        }
        let backend = match &address.target {
            CompiledTarget::SiteDown => return Route::SiteDown { address: counters, page },
            CompiledTarget::Backend(backend) => backend,
            CompiledTarget::Split { stable, candidate, percent, pins } => match found.account {
                None => stable,
                Some(account) => match pins.get(account) {
                    Some(pinned) => pinned,
                    None => match split::cohort_of(account, *percent) {
                        Cohort::Stable => stable,
                        Cohort::Candidate => candidate,
                    },
                },
            },
        };
        Route::Proxy { backend: backend.clone(), address: counters, page }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{AccountSplit, Hold, SiteRoutes};

    fn table(split_percent: u8) -> RouteTable {
        let mut site = SiteRoutes::default();
        site.environments.insert("blue".into(), "127.0.0.1:9001".parse().unwrap());
        site.environments.insert("green".into(), "127.0.0.1:9002".parse().unwrap());
        site.addresses.insert("shop.example.com".into(), Target::environment("blue"));
        site.addresses.insert(
            "*.shop.example.com".into(),
            Target::Split(AccountSplit {
                stable: "blue".into(),
                candidate: "green".into(),
                candidate_percent: split_percent,
                pins: [("Tester".to_string(), "green".to_string())].into(),
            }),
        );
        let mut table = RouteTable::default();
        table.sites.insert("shop".into(), site);
        table
    }

    fn compile(table: &RouteTable) -> Result<CompiledTable, RouterError> {
        CompiledTable::compile(table, &CounterRegistry::default(), &HashMap::new(), Instant::now())
    }

    fn environment_for(compiled: &CompiledTable, host: &str) -> String {
        match compiled.resolve(host, Instant::now()) {
            Route::Proxy { backend, .. } => backend.environment.to_string(),
            other => panic!("{host} should be proxied, got {other:?}"),
        }
    }

    #[test]
    fn pins_win_over_the_hash_and_match_case_insensitively() {
        let compiled = compile(&table(0)).unwrap();
        assert_eq!(environment_for(&compiled, "tester.shop.example.com"), "green");
        assert_eq!(environment_for(&compiled, "someone.shop.example.com"), "blue");
        let compiled = compile(&table(100)).unwrap();
        assert_eq!(environment_for(&compiled, "someone.shop.example.com"), "green");
        assert_eq!(environment_for(&compiled, "shop.example.com"), "blue");
    }

    #[test]
    fn maintenance_and_site_down_targets_serve_the_page() {
        let mut t = table(0);
        t.sites.get_mut("shop").unwrap().addresses.insert("old.example.com".into(), Target::SiteDown);
        let compiled = compile(&t).unwrap();
        assert!(matches!(compiled.resolve("old.example.com", Instant::now()), Route::SiteDown { .. }));
        t.sites.get_mut("shop").unwrap().maintenance = true;
        let compiled = compile(&t).unwrap();
        assert!(matches!(compiled.resolve("shop.example.com", Instant::now()), Route::SiteDown { .. }));
        assert!(matches!(compiled.resolve("nobody.example.org", Instant::now()), Route::Unrouted));
    }

    #[test]
    fn hold_waits_until_its_deadline_then_serves_the_page() {
        let mut t = table(0);
        t.sites.get_mut("shop").unwrap().hold = Some(Hold { timeout_ms: 1_000 });
        let now = Instant::now();
        let compiled = CompiledTable::compile(&t, &CounterRegistry::default(), &HashMap::new(), now).unwrap();
        let deadline = now + Duration::from_secs(1);
        assert!(matches!(compiled.resolve("shop.example.com", now), Route::Hold { deadline: d, .. } if d == deadline));
        assert!(matches!(compiled.resolve("shop.example.com", deadline), Route::SiteDown { .. }));
        // Recompiling during the hold keeps its deadline.
        let later = now + Duration::from_millis(500);
        let again = CompiledTable::compile(&t, &CounterRegistry::default(), &compiled.hold_deadlines, later).unwrap();
        assert_eq!(again.hold_deadlines["shop"], deadline);
    }

    #[test]
    fn refuses_broken_tables() {
        let mut t = table(0);
        t.sites.get_mut("shop").unwrap().addresses.insert("x.example.com".into(), Target::environment("red"));
        assert!(matches!(compile(&t), Err(RouterError::UnknownEnvironment { .. })));

        let mut t = table(101);
        assert!(matches!(compile(&t), Err(RouterError::InvalidPercent { percent: 101, .. })));
        t = table(0);
        t.sites.get_mut("shop").unwrap().addresses.insert("bad host".into(), Target::SiteDown);
        assert!(matches!(compile(&t), Err(RouterError::InvalidAddress { .. })));

        let mut t = table(0);
        let mut blog = SiteRoutes::default();
        blog.addresses.insert("SHOP.example.com".into(), Target::SiteDown);
        t.sites.insert("blog".into(), blog);
        let err = compile(&t).unwrap_err();
        assert!(matches!(&err, RouterError::DuplicateAddress { address, .. } if address == "shop.example.com"), "{err}");
    }
}
