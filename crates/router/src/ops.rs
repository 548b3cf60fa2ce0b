//! Route changes as pure edits of a [`RouteTable`]: swap, move to a temporary address, route back.
//!
//! Each edit works on a copy; the router compiles and validates the result before publishing
//! it, so a refused change never leaves a half-edited table behind.

use crate::api::{RouteTable, SiteRoutes, Target};
use crate::error::RouterError;

/// Exchanges two environments everywhere in the site: what served `first` now serves from
/// `second` and the other way round, in plain targets, both sides of splits, and pins.
pub fn swap_environments(table: &mut RouteTable, site: &str, first: &str, second: &str) -> Result<(), RouterError> {
    let routes = site_mut(table, site)?;
    for environment in [first, second] {
        if !routes.environments.contains_key(environment) {
            return Err(RouterError::UnknownEnvironment { site: site.into(), environment: environment.into() });
        }
    }
    let swap = |name: &mut String| {
        if name == first {
            *name = second.to_string();
        } else if name == second {
            *name = first.to_string();
        }
    };
    for target in routes.addresses.values_mut() {
        match target {
            Target::Environment { environment } => swap(environment),
            Target::Split(split) => {
                swap(&mut split.stable);
                swap(&mut split.candidate);
                split.pins.values_mut().for_each(swap);
            }
            Target::SiteDown => {}
        }
    }
    Ok(())
}

/// `temporary_address` takes over what `public_address` served; `public_address` shows the
/// site-down page. This is the first step of a release with a database migration.
pub fn move_to_temporary_address(
    table: &mut RouteTable,
    site: &str,
    public_address: &str,
    temporary_address: &str,
) -> Result<(), RouterError> {
    if address_in_use(table, temporary_address) {
        return Err(RouterError::AddressInUse { site: site.into(), address: temporary_address.into() });
    }
    let routes = site_mut(table, site)?;
    let target = address_mut(routes, site, public_address)?;
    let moved = std::mem::replace(target, Target::SiteDown);
    routes.addresses.insert(temporary_address.to_string(), moved);
    Ok(())
}

/// The reverse of [`move_to_temporary_address`]: `public_address` serves what the temporary
/// address serves (typically the migrated production), and the temporary address goes away.
pub fn route_back(table: &mut RouteTable, site: &str, temporary_address: &str, public_address: &str) -> Result<(), RouterError> {
    let routes = site_mut(table, site)?;
    address_mut(routes, site, public_address)?;
    let target = routes
        .addresses
        .remove(temporary_address)
        .ok_or_else(|| RouterError::UnknownAddress { site: site.into(), address: temporary_address.into() })?;
    routes.addresses.insert(public_address.to_string(), target);
    Ok(())
}

/// Sets one address's target, adding the address if the site does not have it yet.
pub fn point_address(table: &mut RouteTable, site: &str, address: &str, target: Target) -> Result<(), RouterError> {
    site_mut(table, site)?.addresses.insert(address.to_string(), target);
    Ok(())
}

pub fn site_mut<'t>(table: &'t mut RouteTable, site: &str) -> Result<&'t mut SiteRoutes, RouterError> {
    table.sites.get_mut(site).ok_or_else(|| RouterError::UnknownSite { site: site.into() })
}

fn address_mut<'r>(routes: &'r mut SiteRoutes, site: &str, address: &str) -> Result<&'r mut Target, RouterError> {
    routes.addresses.get_mut(address).ok_or_else(|| RouterError::UnknownAddress { site: site.into(), address: address.into() })
}

fn address_in_use(table: &RouteTable, address: &str) -> bool {
    let wanted = address.trim_end_matches('.').to_ascii_lowercase();
    table.sites.values().flat_map(|s| s.addresses.keys()).any(|a| a.trim_end_matches('.').eq_ignore_ascii_case(&wanted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::AccountSplit;

    fn table() -> RouteTable {
        let mut site = SiteRoutes::default();
        site.environments.insert("blue".into(), "127.0.0.1:9001".parse().unwrap());
        site.environments.insert("green".into(), "127.0.0.1:9002".parse().unwrap());
        site.addresses.insert("shop.example.com".into(), Target::environment("blue"));
        site.addresses.insert("test.shop.example.com".into(), Target::environment("green"));
        site.addresses.insert(
            "*.shop.example.com".into(),
            Target::Split(AccountSplit {
                stable: "blue".into(),
                candidate: "green".into(),
                candidate_percent: 5,
                pins: [("beta".to_string(), "green".to_string())].into(),
            }),
        );
        let mut table = RouteTable::default();
        table.sites.insert("shop".into(), site);
        table
    }

    #[test]
    fn swap_exchanges_targets_splits_and_pins() {
        let mut t = table();
        swap_environments(&mut t, "shop", "blue", "green").unwrap();
        let site = &t.sites["shop"];
        assert_eq!(site.addresses["shop.example.com"], Target::environment("green"));
        assert_eq!(site.addresses["test.shop.example.com"], Target::environment("blue"));
        let Target::Split(split) = &site.addresses["*.shop.example.com"] else { panic!("split expected") };
        assert_eq!((split.stable.as_str(), split.candidate.as_str()), ("green", "blue"));
        assert_eq!(split.pins["beta"], "blue");
        swap_environments(&mut t, "shop", "green", "blue").unwrap();
        assert_eq!(t, table(), "swapping back restores the table exactly");
    }

    #[test]
    fn swap_refuses_unknown_site_or_environment() {
        let mut t = table();
        assert!(matches!(swap_environments(&mut t, "blog", "blue", "green"), Err(RouterError::UnknownSite { .. })));
        let err = swap_environments(&mut t, "shop", "blue", "red").unwrap_err();
        assert!(matches!(&err, RouterError::UnknownEnvironment { environment, .. } if environment == "red"));
        assert_eq!(t, table());
    }

    #[test]
    fn temporary_address_round_trip() {
        let mut t = table();
        move_to_temporary_address(&mut t, "shop", "shop.example.com", "tmp.shop.example.com").unwrap();
        let site = &t.sites["shop"];
        assert_eq!(site.addresses["shop.example.com"], Target::SiteDown);
        assert_eq!(site.addresses["tmp.shop.example.com"], Target::environment("blue"));

        let err = move_to_temporary_address(&mut t, "shop", "shop.example.com", "TEST.shop.example.com").unwrap_err();
        assert!(matches!(err, RouterError::AddressInUse { .. }), "{err}");

        route_back(&mut t, "shop", "tmp.shop.example.com", "shop.example.com").unwrap();
        assert_eq!(t, table());
        assert!(matches!(route_back(&mut t, "shop", "tmp.shop.example.com", "shop.example.com"), Err(RouterError::UnknownAddress { .. })));
    }
}
