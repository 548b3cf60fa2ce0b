//! Adopting a live site: a site already running on its host, deployed by someone else, is
//! taken over so the next release follows from it, without reinstalling or restarting it.
//!
//! The agent creates environment `<key>-blue` describing the running process (`AdoptEnv`: its
//! port and directory, its data directory as the site's data volume in place), the second
//! environment's port is reserved as at a go-live, and the public address is routed through
//! the agent's router to the process. Visitors who reach the process directly keep reaching
//! it; the public address serves from the moment its route exists. The attempt is journaled
//! in `go_lives` (kind `adoption`) with operation ids `golive-<id>-<step>`, so a retry of the
//! same request continues it and abandoning it removes the environments and routes (the
//! process and its data stay).

use crate::auth::Caller;
use crate::engines::{site_home, SiteHome};
use crate::go_live::{agent_ip, site_names};
use crate::hosts::{agent_client, agent_failure};
use crate::{Service, ServiceError};
use std::net::SocketAddr;
use switchyard_agent::api::{AdoptEnv, CreateEnv, EnvConfig};
use switchyard_api::{AdoptSite, WentLive};
use switchyard_core::access::Action;
use switchyard_core::Invalid;
use switchyard_engine::initial_site_routes_serving;
use switchyard_store::{GoLiveKind, GoLiveState, NewGoLive};

type Result<T> = std::result::Result<T, ServiceError>;

fn checked(request: &AdoptSite) -> std::result::Result<(), Invalid> {
    let mut problems = Vec::new();
    if !request.dir.starts_with('/') {
        problems.push(switchyard_core::FieldError::new("dir", "give the absolute directory the running site is in, e.g. /srv/notes"));
    }
    if request.port == 0 {
        problems.push(switchyard_core::FieldError::new("port", "give the port the running site listens on (1 to 65535)"));
    }
    if request.data_dir.as_deref().is_some_and(|d| d.trim().is_empty() || d.split('/').any(|part| part == "..")) {
        problems
            .push(switchyard_core::FieldError::new("data_dir", "give the site's data directory inside its directory, or an absolute path"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Invalid(problems))
    }
}

impl Service {
    /// Takes over the site running on its host as described, or continues its unfinished
    /// adoption.
    pub async fn adopt_site(&self, caller: &Caller, site_id: i64, request: AdoptSite) -> Result<WentLive> {
        caller.may(Action::RunRelease)?;
        checked(&request)?;
        let site = self.store.site(site_id).await?;
        let SiteHome { host_id, public_address, production_addresses } = site_home(&self.store, &site).await?;
        let host = self.store.host(host_id).await?;
        let client = agent_client(&self.store, &self.engines.secrets, &host).await.map_err(ServiceError::Conflict)?;
        let names = site_names(&site);
        let host = &host;
        let failed = |doing: &'static str| move |e| agent_failure(host, doing, e);
        let _one_at_a_time = self.engines.go_live_lock.lock().await;
        let record = match self.store.latest_go_live(site.id).await? {
            Some(unfinished) if unfinished.state.is_unfinished() => {
                if unfinished.kind != GoLiveKind::Adoption {
                    return Err(ServiceError::Conflict(format!(
                        "site {} has an unfinished go-live from a candidate (go-live {}): continue it, or abandon it before adopting",
                        site.name, unfinished.id
                    )));
                }
                self.store.retry_go_live(unfinished.id, "").await?
            }
            latest => {
                if latest.is_some_and(|g| g.state == GoLiveState::Live)
                    || client.routes().await.map_err(failed("read the route table"))?.sites.contains_key(&names.route_key)
                {
                    return Err(ServiceError::Conflict(format!(
                        "site {} is already live on host {}; release a new version instead of adopting it",
                        site.name, host.name
                    )));
                }
                let new = NewGoLive {
                    site_id: site.id,
                    kind: GoLiveKind::Adoption,
                    candidate_sha256: "",
                    environment: &names.environments[0],
                    ports: [request.port, 0],
                    started_by: &caller.me.username,
                };
                self.store.start_go_live(new).await?
            }
        };
        let id = record.id;
        let op = |step: &str| format!("golive-{id}-{step}");
        let steps = async {
            // A retry that describes another process than the one adopted is refused here,
            // with what to do, rather than by the agent's operation record.
            if let Ok(existing) = client.env(&names.environments[0]).await {
                let same = existing.config.port == request.port
                    && existing.config.external.as_ref().is_some_and(|e| e.dir == request.dir && e.command == request.command);
                if !same {
                    return Err(ServiceError::Conflict(format!(
                        "go-live {id} of site {} already adopted the site on port {} of host {}; continue it with the same directory and port, or abandon it to adopt differently",
                        site.name, existing.config.port, host.name
                    )));
                }
            }
            let default_manifest = self.store.site_runtime_manifest(site.id).await?;
            let adopt = AdoptEnv {
                op_id: op("adopt"),
                name: names.environments[0].clone(),
                port: request.port,
                dir: request.dir.clone(),
                data_dir: request.data_dir.clone(),
                volume: Some(names.volume.clone()),
                command: request.command.clone(),
                default_manifest: default_manifest.clone(),
                site: Some(site.key.clone()),
            };
            client.adopt_env(&adopt).await.map_err(failed("adopt the running site"))?;
            self.store.go_live_step_done(id, "adopt").await?;

            // The second environment's slot, as at a go-live: an empty environment on a port
            // the agent chooses, replaced by the first release's clone.
            let green = &names.environments[1];
            let sent = record.ports[1];
            let mut config = EnvConfig::new(vec!["bin/site".into(), "serve".into()], sent);
            config.default_manifest = default_manifest;
            config.site = Some(site.key.clone());
            let create = CreateEnv { op_id: op(&format!("create-{green}-{sent}")), name: green.clone(), config };
            let green_port = client.create_env(&create).await.map_err(failed("create the second environment"))?.config.port;
            if green_port != sent {
                self.store.go_live_ports(id, [request.port, green_port]).await?;
            }
            self.store.go_live_step_done(id, "create").await?;

            let mut table = client.routes().await.map_err(failed("read the route table"))?;
            if !table.sites.contains_key(&names.route_key) {
                let ip = agent_ip(&host.agent_url);
                let (blue, green) = (SocketAddr::new(ip, request.port), SocketAddr::new(ip, green_port));
                let routes = initial_site_routes_serving(&site.key, &public_address, &production_addresses, blue, green);
                table.sites.insert(names.route_key.clone(), routes);
                client.replace_routes(&op("routes"), table).await.map_err(failed("route the site's address"))?;
            }
            self.store.go_live_step_done(id, "routes").await?;
            Ok(())
        };
        match steps.await {
            Ok(()) => {
                self.store.go_live_ended(id, GoLiveState::Live, None).await?;
                let detail = format!(
                    "{} adopted at {public_address}: the process on port {} in {} on host {} (go-live {id})",
                    site.name, request.port, request.dir, host.name
                );
                self.audit(caller, "site.adopt", &format!("site {site_id}"), &detail).await;
                Ok(WentLive { go_live_id: id, public_address, environment: names.environments[0].clone() })
            }
            Err(error) => {
                self.store.go_live_ended(id, GoLiveState::Failed, Some(&error.to_string())).await?;
                Err(error)
            }
        }
    }
}
