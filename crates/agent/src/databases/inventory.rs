//! The host's databases as support sees them (`GET /v1/databases`): per server, those the
//! environments bind and those the agent made, each with its size, which environments use it
//! and whether it is a leftover; and removing a leftover (`POST
//! /v1/databases/{server}/{database}/remove`). Only a database of the agent's register can be
//! removed, and only while nothing keeps it: a declared database never is.
//!
//! Sizes come from the servers' catalogs (size on disk, number of tables), not from
//! [`super::Server::stats`], which reads every row of every table to checksum it: fine for
//! verifying a copy once, far too slow for a page that lists a host's databases.

use std::collections::BTreeMap;

use super::{Catalog, DatabaseBinding, MadeDatabase, MadeFor};
use crate::api::{DatabaseList, DatabaseOrigin, DatabaseUse, ListedDatabase, RemovedDatabase, ServerDatabases};
use crate::error::{AgentError, Result};
use crate::layout::Layout;

/// Every environment's database bindings, with the environment's name and site key.
fn bindings(layout: &Layout) -> Result<Vec<(String, String, DatabaseBinding)>> {
    let mut all = Vec::new();
    for env in crate::envs::list(layout)? {
        // An environment whose env.toml does not read binds nothing this page can show.
        let Ok(config) = crate::envs::load_config(layout, &env) else { continue };
        let site = crate::site_users::site_key(&env, &config).to_owned();
        for binding in config.databases {
            all.push((env.clone(), site.clone(), binding));
        }
    }
    Ok(all)
}

fn uses_of(bound: &[(String, String, DatabaseBinding)], server: &str, database: &str) -> Vec<DatabaseUse> {
    bound
        .iter()
        .filter(|(_, _, b)| b.server == server && b.database == database)
        .map(|(env, site, b)| DatabaseUse { env: env.clone(), site: site.clone(), binding: b.name.clone() })
        .collect()
}

/// Whether what `made` was made for still keeps it (besides an environment binding it).
fn kept_by_snapshot(layout: &Layout, made: &MadeDatabase) -> bool {
    match &made.made_for {
        MadeFor::Environment { .. } => false,
        MadeFor::Snapshot { volume, snapshot } => layout.snapshots_dir(volume).join(snapshot).exists(),
    }
}

pub async fn list(layout: &Layout) -> Result<DatabaseList> {
    let catalog = Catalog::load(layout.root())?;
    let bound = bindings(layout)?;
    let mut list = DatabaseList::default();
    for server in catalog.servers() {
        // Each database once: those bound, then those made, in name order.
        let mut names: BTreeMap<&str, (Option<&MadeDatabase>, bool)> = BTreeMap::new();
        for (_, _, binding) in bound.iter().filter(|(_, _, b)| b.server == server.name) {
            names.entry(&binding.database).or_default().1 |= binding.owned;
        }
        for made in catalog.made_databases().iter().filter(|m| m.server == server.name) {
            names.entry(&made.database).or_default().0 = Some(made);
        }
        let mut problem = None;
        let mut databases = Vec::new();
        for (database, (made, owned_binding)) in names {
            let used_by = uses_of(&bound, server.name, database);
            let origin = match made.map(|m| &m.made_for) {
                Some(MadeFor::Snapshot { .. }) => DatabaseOrigin::Snapshot,
                // A bound copy from before the register is still the agent's.
                Some(MadeFor::Environment { .. }) => DatabaseOrigin::Clone,
                None if owned_binding => DatabaseOrigin::Clone,
                None => DatabaseOrigin::Declared,
            };
            let leftover = made.is_some_and(|m| used_by.is_empty() && !kept_by_snapshot(layout, m));
            // One server that does not answer is asked once, not once per database.
            let size = match problem {
                Some(_) => None,
                None => server.size(database).await.unwrap_or_else(|e| {
                    problem = Some(format!("cannot read the sizes on database server {}: {e}", server.name));
                    None
                }),
            };
            databases.push(ListedDatabase {
                database: database.to_owned(),
                origin,
                site: made.map(|m| m.site.clone()),
                made_for: made.map(|m| m.made_for.clone()),
                made_at: made.map(|m| m.made_at.clone()),
                used_by,
                leftover,
                size,
            });
        }
        list.servers.push(ServerDatabases { server: server.name.to_owned(), kind: server.kind(), databases, problem });
    }
    Ok(list)
}

/// The lock key of whatever a made database belongs to (its environment, its volume), so its
/// removal never runs beside the clone or snapshot making it.
pub fn lock_key(layout: &Layout, server: &str, database: &str) -> Option<String> {
    let catalog = Catalog::load(layout.root()).ok()?;
    Some(match &catalog.made(server, database)?.made_for {
        MadeFor::Environment { env } => env.clone(),
        MadeFor::Snapshot { volume, .. } => format!("volume:{volume}"),
    })
}

/// Drops a leftover the agent made, and the login it made for it.
pub async fn remove(layout: &Layout, server_name: &str, database: &str) -> Result<RemovedDatabase> {
    super::check_identifier("database", database)?;
    let mut catalog = Catalog::load(layout.root())?;
    catalog.server(server_name)?;
    let used_by = uses_of(&bindings(layout)?, server_name, database);
    let Some(made) = catalog.made(server_name, database).cloned() else {
        return Err(match used_by.first() {
            Some(user) => AgentError::Invalid(format!(
                "database {database} on server {server_name} is not one the agent made (environment {} is bound to it): \
                 Switchyard never removes a database the host's operator declared",
                user.env
            )),
            None => AgentError::NotFound(format!(
                "the agent made no database {database} on server {server_name}: see GET /v1/databases for those it can remove"
            )),
        });
    };
    if let Some(user) = used_by.first() {
        return Err(AgentError::Conflict(format!(
            "database {database} on server {server_name} is in use by environment {}: it goes when that environment is removed",
            user.env
        )));
    }
    if kept_by_snapshot(layout, &made) {
        return Err(AgentError::Conflict(format!(
            "database {database} on server {server_name} holds the {}, which still exists: it goes with that snapshot",
            made.made_for
        )));
    }
    // Two databases of one clone may share the login made for it: it goes with the last.
    let login = made.login.clone().filter(|login| {
        !catalog.made_databases().iter().any(|m| m.server == server_name && m.database != database && m.login.as_ref() == Some(login))
    });
    {
        let server = catalog.server(server_name)?;
        server.drop_database(database).await?;
        if let Some(login) = &login {
            server.drop_login(login).await?;
        }
    }
    // Forgotten last: a removal broken off is listed, and removed, again.
    if let Some(login) = &login {
        catalog.forget_login(server_name, login)?;
    }
    catalog.forget_database(server_name, database)?;
    tracing::info!("removed leftover database {database} on server {server_name} ({})", made.made_for);
    Ok(RemovedDatabase { server: server_name.to_owned(), database: database.to_owned(), login_removed: login.is_some() })
}
