//! Standalone mode: the store, the service with its release engine (which resumes unfinished
//! releases on start), and a local host agent, all inside the desktop process, as
//! `switchyard serve` runs them. The window's requests reach the very same axum routes
//! in-process.

use std::net::SocketAddr;
use std::path::PathBuf;
use switchyard_service::{LocalAgent, Service};
use switchyard_store::Store;

/// Everything standalone mode runs.
pub struct Standalone {
    pub api: axum::Router,
    data_dir: PathBuf,
    store: Store,
    /// The local agent's address, or why there is none: releases need a host whose agent answers.
    agent_url: Result<String, String>,
    /// Taken when the app exits, to stop the agent and the sites it supervises.
    agent: std::sync::Mutex<Option<LocalAgent>>,
}

/// `SWITCHYARD_DATA` when set, else the same XDG data directory `switchyard serve` uses, so
/// both see one store.
pub fn data_dir() -> Result<PathBuf, String> {
    match std::env::var_os("SWITCHYARD_DATA") {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => switchyard_store::default_data_dir()
            .ok_or_else(|| "cannot find a home directory; set SWITCHYARD_DATA to a writable directory".to_owned()),
    }
}

/// Where the local agent listens: `SWITCHYARD_AGENT_LISTEN` or the same default as `serve`.
/// When a `switchyard serve` on this machine already runs its agent there, the desktop app
/// leaves that one in charge instead of running a second agent over the same directory.
fn agent_listen() -> Result<SocketAddr, String> {
    let text = std::env::var("SWITCHYARD_AGENT_LISTEN").unwrap_or_else(|_| "127.0.0.1:7443".into());
    text.parse().map_err(|e| format!("SWITCHYARD_AGENT_LISTEN={text:?} is not HOST:PORT ({e})"))
}

impl Standalone {
    pub async fn open() -> Result<Self, String> {
        let dir = data_dir()?;
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
        let store = Store::open(&dir.join("switchyard.db")).await.map_err(|e| e.to_string())?;
        let service = Service::new(store.clone());
        let seeded = service.seed_demo_if_empty().await.map_err(|e| format!("cannot seed the demo: {e}"))?;
        let agent = match agent_listen() {
            Ok(listen) => LocalAgent::start(&dir, listen, Vec::new(), &service)
                .await
                .map_err(|e| format!("{e}; is `switchyard serve` running its agent there?")),
            Err(error) => Err(error),
        };
        match &agent {
            Ok(agent) => tracing::info!("local host agent at {}", agent.registration.url),
            Err(why) => tracing::warn!("no local host agent: {why}"),
        }
        // As `serve` does on first start: the demo's site goes live on the local agent.
        if seeded && agent.is_ok() {
            match service.put_demo_live().await {
                Ok(Some(live)) => tracing::info!("the demo site is live at {}", live.public_address),
                Ok(None) => tracing::info!("the sample site is not built beside the app; the demo site stays offline"),
                Err(e) => tracing::warn!("the demo site could not be put live: {e}"),
            }
        }
        // As `serve` does: releases left unfinished when the app last closed go on, driven by
        // the service's engine in the background.
        match service.resume_releases().await {
            Ok(0) => {}
            Ok(resumed) => tracing::info!("resuming {resumed} unfinished release(s)"),
            Err(error) => tracing::warn!("cannot resume unfinished releases: {error}"),
        }
        service.sweep_capture_windows();
        let agent_url = agent.as_ref().map(|agent| agent.registration.url.clone()).map_err(Clone::clone);
        let agent = std::sync::Mutex::new(agent.ok());
        Ok(Self { api: switchyard_server::api_router(service), data_dir: dir, store, agent_url, agent })
    }

    /// Stops the agent (and the sites it supervises) and closes the store cleanly. Requests
    /// still in flight then fail, which is fine as the app is exiting.
    pub async fn shut_down(&self) {
        let agent = self.agent.lock().expect("agent slot poisoned").take();
        if let Some(agent) = agent {
            agent.stop().await;
        }
        self.store.close().await;
    }

    /// One line for the settings panel: whether releases can run here and, if not, why.
    pub fn agent_summary(&self) -> String {
        let data = self.data_dir.display();
        match &self.agent_url {
            Ok(url) => format!("Data in {data}; a local host agent runs at {url} (host \"local\")."),
            Err(why) => format!(
                "Data in {data}; no local host agent: {why}. Releases need a host whose agent answers: add one \
                 under Hosts, or set SWITCHYARD_AGENT_LISTEN to a free address and restart."
            ),
        }
    }
}
