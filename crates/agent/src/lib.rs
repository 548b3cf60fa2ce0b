//! The Switchyard host agent: an HTTPS daemon that manages environments under a root directory
//! (releases, shared data, the site's process) for the engine, plus the typed client the
//! engine drives it with.
//!
//! Invariant: every operation leaves either its whole effect or none (staging directories and
//! temp files renamed into place), and every state-changing request carries an operation id
//! whose first result is replayed on retry.

pub mod adopt;
pub mod api;
pub mod artifacts;
pub mod capture;
pub mod client;
pub mod clone;
pub mod confine;
pub mod copytree;
pub mod databases;
pub mod envs;
pub mod error;
pub mod health;
pub mod identity;
pub mod launch;
pub mod layout;
pub mod manifest;
pub mod openapi;
pub mod ops;
pub mod releases;
pub mod root_lock;
pub mod routing;
pub mod server;
pub mod site_users;
pub mod spawn;
pub mod steps;
pub mod supervisor;
pub mod sync;
pub mod test_servers;
pub mod unpack;
pub mod volumes;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use client::AgentClient;
pub use error::AgentError;

use crate::layout::Layout;
use crate::ops::{KeyedLocks, Ops};
use crate::server::AgentState;
use crate::steps::Steps;
use crate::supervisor::{RestartPolicy, Supervisor};
use crate::unpack::UnpackLimits;

/// Command-line settings of `switchyard agent` / `switchyard-agent`.
#[derive(Debug, Clone, clap::Args)]
pub struct AgentArgs {
    /// Directory holding environments, uploads and the agent's identity.
    #[arg(long, env = "SWITCHYARD_AGENT_ROOT")]
    pub root: PathBuf,
    /// Address to serve HTTPS on (port 0 picks a free port).
    #[arg(long, env = "SWITCHYARD_AGENT_LISTEN", default_value = "127.0.0.1:7443")]
    pub listen: SocketAddr,
    /// Largest candidate upload accepted, in bytes.
    #[arg(long, default_value_t = 4 << 30)]
    pub max_upload_bytes: u64,
    /// Largest total size a release may unpack to, in bytes (stops gzip bombs). A server may
    /// ask for less for a site, never more.
    #[arg(long, default_value_t = 2 << 30)]
    pub max_unpacked_bytes: u64,
    /// Most entries a release archive may hold (a server may ask for fewer, never more).
    #[arg(long, default_value_t = 100_000)]
    pub max_unpacked_entries: u64,
    /// Extra DNS names or IPs for the self-signed certificate (made on first start only).
    #[arg(long = "tls-name")]
    pub tls_names: Vec<String>,
    /// Where the router serves the sites' public traffic (repeatable; port 0 picks one).
    #[arg(long = "public-listen")]
    pub public_listen: Vec<SocketAddr>,
}

/// What a client needs to talk to this agent; also written to `<root>/agent/registration.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Registration {
    pub url: String,
    pub fingerprint: String,
    pub token: String,
    /// The addresses the router serves public traffic on (as bound, so port 0 is resolved).
    #[serde(default)]
    pub public_addresses: Vec<SocketAddr>,
}

/// Runs the agent until SIGTERM or Ctrl-C, then stops the sites it supervises.
pub async fn run(args: AgentArgs) -> Result<(), AgentError> {
    run_until(args, shutdown_signal(), |_| {}).await
}

/// Runs the agent until `shutdown` completes; `on_ready` gets the registration once it listens.
pub async fn run_until(
    args: AgentArgs,
    shutdown: impl Future<Output = ()>,
    on_ready: impl FnOnce(&Registration),
) -> Result<(), AgentError> {
    launch::ensure_standard_fds();
    let layout = Layout::new(args.root.clone());
    std::fs::create_dir_all(layout.root()).map_err(error::io_context(format!("cannot create {}", layout.root().display())))?;
    // Taken before `prepare` clears half-done work, which must never be another live agent's;
    // held until this function returns, and let go by the kernel should the process die.
    let _root_lock = root_lock::acquire(layout.root())?;
    layout.prepare()?;
    let identity = identity::load_or_create(&layout, &args.tls_names)?;
    let isolation = confine::report(&layout);
    if isolation.site_users {
        tracing::info!("sites run as their own unix users; limits by {:?}", isolation.limits);
    }
    for warning in &isolation.warnings {
        tracing::warn!("{warning}");
    }
    let listener = std::net::TcpListener::bind(args.listen).map_err(|e| AgentError::Io {
        context: format!("cannot listen on {}: is another agent running there? pick another --listen", args.listen),
        source: e,
    })?;
    listener.set_nonblocking(true).map_err(error::io_context("cannot configure the listening socket"))?;
    let addr = listener.local_addr().map_err(error::io_context("cannot read the listening address"))?;
    let routing = routing::Routing::load(layout.root().join("router").join("table.json"))?;
    let mut public = Vec::new();
    for public_addr in &args.public_listen {
        public.push(routing.listen(*public_addr).await?);
    }
    let registration = Registration {
        url: format!("https://{addr}"),
        fingerprint: identity.fingerprint.clone(),
        token: identity.token.clone(),
        public_addresses: public.iter().map(|listening| listening.local_addr()).collect(),
    };
    write_registration(&layout, &registration)?;

    let state = Arc::new(AgentState {
        layout: layout.clone(),
        token: identity.token.clone(),
        max_upload_bytes: args.max_upload_bytes,
        unpack_limits: UnpackLimits { max_bytes: args.max_unpacked_bytes, max_entries: args.max_unpacked_entries },
        ops: Ops::new(layout.ops_dir()),
        env_locks: KeyedLocks::default(),
        steps: Steps::new(layout.clone()),
        supervisor: Supervisor::new(layout.clone(), RestartPolicy::default()),
        routing,
        public_addresses: registration.public_addresses.clone(),
    });
    let restoring = Arc::clone(&state);
    tokio::spawn(async move {
        for env in envs::list(&restoring.layout).unwrap_or_default() {
            let _env = restoring.env_locks.lock(&env).await;
            if let Err(e) = restoring.supervisor.restore(&env).await {
                tracing::error!("cannot bring back the site of environment {env}: {e}");
            }
        }
    });
    let app = server::app(Arc::clone(&state));
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(listener, axum_server::tls_rustls::RustlsConfig::from_config(identity.tls.clone()))
        .handle(handle.clone())
        .serve(app.into_make_service_with_connect_info::<SocketAddr>());
    tracing::info!("switchyard-agent serving {} from {}", registration.url, layout.root().display());
    on_ready(&registration);
    tokio::pin!(server);
    tokio::select! {
        served = &mut server => served.map_err(error::io_context("the HTTPS server stopped"))?,
        () = shutdown => {
            tracing::info!("shutting down: stopping supervised sites");
            handle.graceful_shutdown(Some(Duration::from_secs(5)));
            // Stop taking public traffic (letting open requests finish) before the sites stop.
            for listening in public {
                listening.shutdown().await;
            }
            state.supervisor.stop_all().await;
            let _ = server.await;
        }
    }
    Ok(())
}

fn write_registration(layout: &Layout, registration: &Registration) -> Result<(), AgentError> {
    use std::os::unix::fs::PermissionsExt;
    let path = layout.identity_dir().join("registration.json");
    layout::write_json(&path, registration)?;
    // It holds the token.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(error::io_context(format!("cannot protect {}", path.display())))
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            tracing::warn!("cannot watch for SIGTERM ({e}); only Ctrl-C stops the agent");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
