//! Putting a site live on its host for the first time: the first environment is created from
//! an uploaded candidate, started, and routed at the site's public address, with the second
//! environment's slot ready behind the candidate address. From then on releases take over.
//!
//! Each agent call carries an operation id derived from the site and candidate, so repeating
//! a go-live that broke off part way replays what already happened instead of failing.

use crate::auth::Caller;
use crate::hosts::agent_client;
use crate::{Service, ServiceError};
use std::net::{IpAddr, SocketAddr};
use switchyard_agent::api::{Activate, CreateEnv, EnvConfig, UnpackRelease};
use switchyard_agent::AgentError;
use crate::engines::{site_home, SiteHome};
use switchyard_api::{GoLive, WentLive};
use switchyard_core::access::Action;
use switchyard_engine::{environment_names, initial_site_routes};

type Result<T> = std::result::Result<T, ServiceError>;

fn agent_failed(what: &'static str) -> impl FnOnce(AgentError) -> ServiceError {
    move |e| ServiceError::Unavailable(format!("cannot {what} on the host: {e}"))
}

fn free_local_port() -> Result<u16> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| ServiceError::Internal(format!("cannot find a free port: {e}")))
}

impl Service {
    pub async fn go_live(&self, caller: &Caller, site_id: i64, request: GoLive) -> Result<WentLive> {
        caller.may(Action::RunRelease)?;
        let site = self.store.site(site_id).await?;
        let SiteHome { host_id, public_address } = site_home(&self.store, &site).await?;
        let host = self.store.host(host_id).await?;
        let client = agent_client(&host).map_err(ServiceError::Conflict)?;
        let sha = request.candidate_sha256.trim().to_owned();
        let tarball = self.engines.candidates_dir.join(format!("{sha}.tar.gz"));
        if self.store.candidate(site.id, &sha).await?.is_none() || !tarball.is_file() {
            return Err(ServiceError::Conflict(format!("candidate {sha} was not uploaded for site {}; upload it first", site.name)));
        }
        let [blue, green] = match request.ports {
            Some(ports) => ports,
            None if is_this_machine(&host.agent_url) => [free_local_port()?, free_local_port()?],
            None => {
                return Err(switchyard_core::Invalid::single("ports", "the host is another machine: choose two free ports on it for the site").into())
            }
        };
        let table = client.routes().await.map_err(agent_failed("read the route table"))?;
        if table.sites.contains_key(&site.key) {
            return Err(ServiceError::Conflict(format!("site {} is already live on host {}; release a new version instead", site.name, host.name)));
        }
        let [env, _] = environment_names(&site.key);
        let op = |step: &str| format!("golive-{}-{}-{step}", site.key, &sha[..16]);
        let mut config = EnvConfig::new(vec!["bin/site".into(), "serve".into()], blue);
        config.production = true;
        // The live data sits on a volume named by the site's key, outside its environments.
        config.volume = Some(site.key.clone());
        client.create_env(&CreateEnv { op_id: op("create"), name: env.clone(), config }).await.map_err(agent_failed("create the environment"))?;
        client.upload_candidate(&tarball, &sha).await.map_err(agent_failed("upload the candidate"))?;
        let release_id = format!("r-{}", &sha[..16]);
        let unpack = UnpackRelease { op_id: op("unpack"), release_id: release_id.clone(), sha256: sha.clone() };
        client.unpack_release(&env, &unpack).await.map_err(agent_failed("unpack the candidate"))?;
        client.activate(&env, &Activate { op_id: op("activate"), release_id }).await.map_err(agent_failed("activate the candidate"))?;
        client.start(&env, &op("start")).await.map_err(agent_failed("start the site"))?;
        let agent_ip = agent_ip(&host.agent_url);
        let mut table = client.routes().await.map_err(agent_failed("read the route table"))?;
        table.sites.insert(
            site.key.clone(),
            initial_site_routes(&site.key, &public_address, SocketAddr::new(agent_ip, blue), SocketAddr::new(agent_ip, green)),
        );
        client.replace_routes(&op("routes"), table).await.map_err(agent_failed("route the site's address"))?;
        self.audit(caller, "site.go-live", &format!("site {site_id}"), &format!("{} live at {public_address} from candidate {sha}", site.name)).await;
        Ok(WentLive { public_address, environment: env })
    }
}

/// The address of the agent's host as its router reaches the site: the agent URL's host.
fn agent_ip(agent_url: &str) -> IpAddr {
    agent_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .and_then(|host| host.parse().ok())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

fn is_this_machine(agent_url: &str) -> bool {
    agent_ip(agent_url).is_loopback()
}
