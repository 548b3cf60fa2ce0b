//! An environment's databases on database servers, as its clones, syncs and removal treat
//! them: a private clone gets a database and a login of its own (named from the source's and
//! a hash of the clone's environment, so a retry after a crash makes the very same ones and
//! replaces a half-made copy); a clone that shares its source's data (blue-green, rollout)
//! keeps its source's bindings; a sync replaces the target's databases with copies of the
//! source's and checks them table by table; removing an environment drops only what the
//! agent made for it, never a database the operator declared.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::{random_password, Catalog, Consistency, DatabaseBinding, Login, MadeDatabase, MadeFor};
use crate::error::{AgentError, Result};
use crate::layout::Layout;

/// `name` with a short hash of `env`, within the 63 bytes both kinds allow.
pub(super) fn derived(name: &str, env: &str) -> String {
    let hash = hex::encode(Sha256::digest(env.as_bytes()));
    let stem: String = name.chars().take(50).collect();
    format!("{stem}_{}", &hash[..8])
}

/// The bindings of a clone named `target` of an environment bound to `bindings`: the same ones
/// when it shares its source's data, else a copy of each database under a login of its own,
/// registered as made for `target` of site `site` (its key).
pub async fn clone_for(
    layout: &Layout,
    bindings: &[DatabaseBinding],
    target: &str,
    site: &str,
    share: bool,
) -> Result<Vec<DatabaseBinding>> {
    if share || bindings.is_empty() {
        // A sharing clone uses its source's databases but owns none of them: removing it must
        // never drop a copy its source still runs on.
        return Ok(bindings.iter().map(|b| DatabaseBinding { owned: false, ..b.clone() }).collect());
    }
    let mut catalog = Catalog::load(layout.root())?;
    let mut cloned = Vec::new();
    for binding in bindings {
        let (database, user, password) = (derived(&binding.database, target), derived(&binding.user, target), random_password());
        // Remembered first: a login that exists on the server is never one the agent forgot.
        catalog.remember_login(Login { server: binding.server.clone(), user: user.clone(), password: password.clone() })?;
        let made_for = MadeFor::Environment { env: target.to_owned() };
        catalog.remember_database(MadeDatabase::new(&binding.server, &database, Some(&user), site, made_for))?;
        let server = catalog.server(&binding.server)?;
        server.ensure_login(&user, &password).await?;
        server.copy(&binding.database, &database, &user, Consistency::Live).await?;
        cloned.push(DatabaseBinding { name: binding.name.clone(), server: binding.server.clone(), database, user, owned: true });
    }
    Ok(cloned)
}

/// Makes each of `to`'s databases a checked copy of `from`'s of the same name; those both
/// name already (a shared database) are left alone. Returns what was copied, for the report.
pub async fn replace_from(layout: &Layout, from: &[DatabaseBinding], to: &[DatabaseBinding]) -> Result<Vec<String>> {
    if to.is_empty() {
        return Ok(Vec::new());
    }
    let mut catalog = Catalog::load(layout.root())?;
    let mut copied = Vec::new();
    for target in to {
        let Some(source) = from.iter().find(|b| b.name == target.name) else {
            return Err(AgentError::Invalid(format!(
                "the source environment has no database {:?} to copy into {}: both environments must declare it",
                target.name, target.database
            )));
        };
        if source.server == target.server && source.database == target.database {
            continue;
        }
        if source.server != target.server {
            return Err(AgentError::Invalid(format!(
                "database {:?} lives on server {} in one environment and {} in the other: copy between servers by hand",
                target.name, source.server, target.server
            )));
        }
        // The copies made beside an agent-made target are registered with it, so a sync broken
        // off leaves no database the agent does not know of (owned by the target's login).
        let made = catalog.made(&target.server, &target.database).map(|m| (m.site.clone(), m.made_for.clone()));
        let transient = super::replacement_names(&target.database);
        if let Some((site, made_for)) = &made {
            for name in &transient {
                catalog.remember_database(MadeDatabase::new(&target.server, name, None, site, made_for.clone()))?;
            }
        }
        catalog.server(&target.server)?.replace(&source.database, &target.database, &target.user).await?;
        if made.is_some() {
            for name in &transient {
                catalog.forget_database(&target.server, name)?;
            }
        }
        let server = catalog.server(&target.server)?;
        let (expected, got) = (server.stats(&source.database).await?, server.stats(&target.database).await?);
        got.verify_copy_of(&expected).map_err(|difference| {
            AgentError::CommandFailed(format!(
                "the copy of database {} into {} does not match it ({difference}); was something still writing? retry with writes held",
                source.database, target.database
            ))
        })?;
        copied.push(format!("{}:{} ({} rows checked)", target.server, target.database, got.rows()));
    }
    Ok(copied)
}

/// Drops the databases and logins the agent made for an environment (its private clones).
pub async fn drop_owned(layout: &Layout, bindings: &[DatabaseBinding]) -> Result<()> {
    let owned: Vec<&DatabaseBinding> = bindings.iter().filter(|b| b.owned).collect();
    if owned.is_empty() {
        return Ok(());
    }
    let mut catalog = Catalog::load(layout.root())?;
    for binding in owned {
        {
            let server = catalog.server(&binding.server)?;
            server.drop_database(&binding.database).await?;
            server.drop_login(&binding.user).await?;
        }
        catalog.forget_login(&binding.server, &binding.user)?;
        catalog.forget_database(&binding.server, &binding.database)?;
    }
    Ok(())
}

/// The variables a site of an environment bound to `bindings` connects with.
pub fn connection_env(layout: &Layout, bindings: &[DatabaseBinding]) -> Result<BTreeMap<String, String>> {
    let mut vars = BTreeMap::new();
    if bindings.is_empty() {
        return Ok(vars);
    }
    let catalog = Catalog::load(layout.root())?;
    for binding in bindings {
        let password = catalog.password(&binding.server, &binding.user)?;
        vars.extend(catalog.server(&binding.server)?.connection_env(binding, password));
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clones_names_are_fixed_by_its_environment_and_fit_the_servers_limits() {
        assert_eq!(derived("shop", "shop-green"), derived("shop", "shop-green"));
        assert_ne!(derived("shop", "shop-green"), derived("shop", "shop-candidate"));
        let long = derived(&"d".repeat(63), "env");
        assert!(long.len() <= 63 && super::super::check_identifier("database", &long).is_ok(), "{long}");
    }
}
