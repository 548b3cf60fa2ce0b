//! A site's databases on its hosts (`GET /sites/{id}/databases`): what each host's agent lists
//! for the site's key, the databases its environments use and the copies the agent made for
//! it, with sizes and leftovers; and removing a leftover copy (`POST
//! /sites/{id}/databases/remove`, support staff, audited). The agent decides what may go (it
//! refuses a database in use, a snapshot's copy while the snapshot exists, anything the
//! operator declared); this layer only ever asks about the site's own.

use sha2::{Digest, Sha256};
use switchyard_agent::api::{DatabaseOrigin as AgentOrigin, ListedDatabase};
use switchyard_api::{DatabaseOrigin, Host, RemoveSiteDatabase, SiteDatabaseEntry, SiteDatabases};
use switchyard_core::access::Action;
use switchyard_core::Invalid;

use crate::auth::Caller;
use crate::hosts::{agent_client, agent_failure};
use crate::{Service, ServiceError};

type Result<T> = std::result::Result<T, ServiceError>;

/// A listed database as the site's page shows it, if it is the site's: made for its key or
/// used by one of its environments. Other sites' environments are left out.
fn entry_of(host: &Host, server: &str, kind: &str, db: &ListedDatabase, key: &str) -> Option<SiteDatabaseEntry> {
    let used_by: Vec<String> = db.used_by.iter().filter(|u| u.site == key).map(|u| u.env.clone()).collect();
    if db.site.as_deref() != Some(key) && used_by.is_empty() {
        return None;
    }
    Some(SiteDatabaseEntry {
        host_id: host.id,
        host_name: host.name.clone(),
        server: server.to_owned(),
        kind: kind.to_owned(),
        database: db.database.clone(),
        origin: match db.origin {
            AgentOrigin::Declared => DatabaseOrigin::Declared,
            AgentOrigin::Clone => DatabaseOrigin::Clone,
            AgentOrigin::Snapshot => DatabaseOrigin::Snapshot,
        },
        made_for: db.made_for.as_ref().map(ToString::to_string),
        made_at: db.made_at.clone(),
        used_by,
        leftover: db.leftover,
        size_bytes: db.size.map(|s| s.size_bytes),
        tables: db.size.map(|s| s.tables),
    })
}

impl Service {
    /// The site's databases on every host its environments are on. An unreachable host is a
    /// problem in the answer, not a failure: the others are still listed.
    pub async fn site_databases(&self, caller: &Caller, site_id: i64) -> Result<SiteDatabases> {
        let detail = self.store.site_detail(site_id).await?;
        caller.may(Action::ReadSite { owner: detail.site.customer_id })?;
        let mut host_ids: Vec<i64> = detail.environments.iter().map(|e| e.host_id).collect();
        host_ids.sort_unstable();
        host_ids.dedup();
        let mut answer = SiteDatabases { site_id, ..SiteDatabases::default() };
        for host_id in host_ids {
            let host = self.store.host(host_id).await?;
            let client = match agent_client(&self.store, &self.secrets, &host).await {
                Ok(client) => client,
                Err(problem) => {
                    answer.problems.push(problem);
                    continue;
                }
            };
            let list = match client.databases().await {
                Ok(list) => list,
                Err(e) => {
                    answer.problems.push(agent_failure(&host, "list the databases", e).to_string());
                    continue;
                }
            };
            for server in &list.servers {
                if let Some(problem) = &server.problem {
                    answer.problems.push(format!("host {}: {problem}", host.name));
                }
                let kind = server.kind.as_str();
                answer
                    .databases
                    .extend(server.databases.iter().filter_map(|db| entry_of(&host, &server.server, kind, db, &detail.site.key)));
            }
        }
        Ok(answer)
    }

    /// Removes a leftover copy the agent made for the site, and its login (support staff).
    /// Retried after a lost answer, the same leftover is asked under the same operation id,
    /// so the agent answers what it did instead of refusing a database that is gone.
    pub async fn remove_site_database(&self, caller: &Caller, site_id: i64, request: RemoveSiteDatabase) -> Result<SiteDatabases> {
        caller.may(Action::ChangeInventory)?;
        let site = self.store.site(site_id).await?;
        let listed = self.site_databases(caller, site_id).await?;
        let named = format!("{}/{}", request.server, request.database);
        let mut matching: Vec<&SiteDatabaseEntry> = listed
            .databases
            .iter()
            .filter(|d| d.server == request.server && d.database == request.database)
            .filter(|d| request.host_id.is_none_or(|id| d.host_id == id))
            .collect();
        let entry = match matching.len() {
            0 => {
                let unasked = if listed.problems.is_empty() { String::new() } else { format!(" ({})", listed.problems.join("; ")) };
                return Err(ServiceError::NotFound(format!(
                    "site {} has no database {named} on its hosts{unasked}: list them with `switchyard site databases --site {}`",
                    site.name, site.id
                )));
            }
            1 => matching.remove(0),
            _ => {
                return Err(ServiceError::Invalid(Invalid::single(
                    "host_id",
                    format!("more than one of site {}'s hosts has a database {named}: say which host", site.name),
                )))
            }
        };
        let host = self.store.host(entry.host_id).await?;
        let client = agent_client(&self.store, &self.secrets, &host).await.map_err(ServiceError::Unavailable)?;
        // One operation id per leftover (its registration time tells a remade copy of the same
        // name from the one removed before).
        let made = format!("{}/{}/{}", entry.server, entry.database, entry.made_at.as_deref().unwrap_or(""));
        let op_id = format!("site-{site_id}-remove-db-{}", &hex::encode(Sha256::digest(made.as_bytes()))[..16]);
        let doing = format!("remove database {named}");
        client.remove_database(&entry.server, &entry.database, &op_id).await.map_err(|e| agent_failure(&host, &doing, e))?;
        let detail = format!("removed leftover database {named} on host {} ({})", host.name, entry.made_for.as_deref().unwrap_or("copy"));
        self.audit(caller, "site.database.remove", &format!("site {site_id}"), &detail).await;
        self.site_databases(caller, site_id).await
    }
}
