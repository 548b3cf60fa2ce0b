//! One release engine per host, created on first use and kept for the life of the process:
//! an engine serialises the work on each release it drives, so two engines for one host
//! would race. A site's releases run on the host of its production environment, at the
//! site's public address (the address bound to production, else its first address; see
//! [`site_home`]).

use crate::hosts::agent_client;
use crate::secrets::Secrets;
use crate::ServiceError;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use switchyard_agent::api::UnpackCaps;
use switchyard_api::{EnvironmentKind, Site};
use switchyard_engine::{Engine, ExecConfig};
use switchyard_store::Store;

type Result<T> = std::result::Result<T, ServiceError>;

/// The engines of this process and where release candidates are kept.
pub(crate) struct Engines {
    pub candidates_dir: PathBuf,
    unpack_limits: Option<UnpackCaps>,
    /// Held by a go-live or its abandon while it works, so two never race for one environment.
    pub go_live_lock: tokio::sync::Mutex<()>,
    by_host: Mutex<HashMap<i64, Arc<Engine>>>,
    /// Opens the hosts' sealed agent tokens.
    pub secrets: Arc<Secrets>,
    /// Each host's public listeners as its agent last reported them, so a release page polled
    /// every second links its test address without asking the agent each time.
    public_listeners: Mutex<HashMap<i64, Vec<std::net::SocketAddr>>>,
}

impl std::fmt::Debug for Engines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engines").field("candidates_dir", &self.candidates_dir).finish_non_exhaustive()
    }
}

/// Where a site's releases run.
pub(crate) struct SiteEngine {
    pub engine: Arc<Engine>,
    pub public_address: String,
}

impl std::fmt::Debug for SiteEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteEngine").field("public_address", &self.public_address).finish()
    }
}

impl Engines {
    /// `unpack_limits` go with every unpack a release sends (the site's candidate limits).
    pub fn new(candidates_dir: PathBuf, secrets: Arc<Secrets>, unpack_limits: Option<UnpackCaps>) -> Self {
        Self {
            candidates_dir,
            unpack_limits,
            go_live_lock: tokio::sync::Mutex::new(()),
            by_host: Mutex::new(HashMap::new()),
            secrets,
            public_listeners: Mutex::new(HashMap::new()),
        }
    }

    /// The engine for `site`'s production host, and the address its releases swap.
    pub async fn for_site(&self, store: &Store, site: &Site) -> Result<SiteEngine> {
        let home = site_home(store, site).await?;
        let engine = self.for_host(store, home.host_id).await?;
        Ok(SiteEngine { engine, public_address: home.public_address })
    }

    async fn for_host(&self, store: &Store, host_id: i64) -> Result<Arc<Engine>> {
        if let Some(engine) = self.lock().get(&host_id) {
            return Ok(Arc::clone(engine));
        }
        let host = store.host(host_id).await?;
        let client = agent_client(store, &self.secrets, &host).await.map_err(ServiceError::Conflict)?;
        let config = ExecConfig { unpack_limits: self.unpack_limits, ..ExecConfig::new(self.candidates_dir.clone()) };
        let engine = Arc::new(Engine::new(store.clone(), client, config));
        Ok(Arc::clone(self.lock().entry(host_id).or_insert(engine)))
    }

    /// Forgets a host's engine, e.g. after the host's agent address or certificate changed.
    pub fn forget(&self, host_id: i64) {
        self.lock().remove(&host_id);
        self.listeners().remove(&host_id);
    }

    /// The host's public listeners as last reported, if its agent was asked.
    pub fn known_listeners(&self, host_id: i64) -> Option<Vec<std::net::SocketAddr>> {
        self.listeners().get(&host_id).cloned()
    }

    pub fn remember_listeners(&self, host_id: i64, listeners: Vec<std::net::SocketAddr>) {
        self.listeners().insert(host_id, listeners);
    }

    fn listeners(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Vec<std::net::SocketAddr>>> {
        self.public_listeners.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Engine>>> {
        self.by_host.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Where a site lives: the host of its production environment, its own public address, and
/// its other production addresses (wildcards included), which go-live routes to production
/// beside the public one.
pub(crate) struct SiteHome {
    pub host_id: i64,
    pub public_address: String,
    pub production_addresses: Vec<String>,
}

pub(crate) async fn site_home(store: &Store, site: &Site) -> Result<SiteHome> {
    let environments = store.list_environments(site.id).await?;
    let production = environments.iter().find(|e| e.kind == EnvironmentKind::Production).ok_or_else(|| {
        ServiceError::Conflict(format!(
            "site {} has no production environment, so there is nothing to release to; add one on the site's page",
            site.name
        ))
    })?;
    let addresses = store.list_addresses(site.id).await?;
    // Wildcards (`*.shop.example`) are the accounts' addresses, not the site's own.
    let own = |a: &&switchyard_api::Address| !a.value.starts_with("*.");
    let public_address = addresses
        .iter()
        .filter(own)
        .find(|a| a.environment_id == Some(production.id))
        .or_else(|| addresses.iter().find(own))
        .map(|a| a.value.clone())
        .ok_or_else(|| {
            ServiceError::Conflict(format!("site {} has no address to release at; add its domain on the site's page", site.name))
        })?;
    let production_addresses = addresses
        .iter()
        .filter(|a| a.environment_id == Some(production.id) && a.value != public_address)
        .map(|a| a.value.clone())
        .collect();
    Ok(SiteHome { host_id: production.host_id, public_address, production_addresses })
}
