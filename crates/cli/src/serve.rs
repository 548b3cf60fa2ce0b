//! `switchyard serve`: the web UI and API on 127.0.0.1 over the embedded SQLite store, with a
//! local host agent in a process of its own (`local_agent.rs`).

use anyhow::{Context, Result};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use switchyard_service::Service;
use switchyard_store::Store;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Directory for the database and other state (default: the XDG data directory).
    #[arg(long, env = "SWITCHYARD_DATA")]
    data: Option<PathBuf>,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 7878, env = "SWITCHYARD_PORT")]
    port: u16,
    /// Address to listen on. Keep the loopback default unless a proxy with TLS fronts it.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// The built web UI (trunk's dist directory).
    #[arg(long, env = "SWITCHYARD_UI_DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../frontend/dist"))]
    ui_dir: PathBuf,
    /// Start with an empty store instead of seeding the demo on first start.
    #[arg(long)]
    no_demo: bool,
    /// Where the local host agent listens (HTTPS); port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:7443", env = "SWITCHYARD_AGENT_LISTEN")]
    agent_listen: SocketAddr,
    /// Do not start a local host agent (when this machine hosts no sites).
    #[arg(long)]
    no_agent: bool,
    #[command(flatten)]
    candidate_limits: crate::limits::CandidateLimitArgs,
    /// Where the local agent's router serves the sites' public traffic (repeatable).
    #[arg(long = "public-listen")]
    public_listen: Vec<SocketAddr>,
    /// Also stop the local agent, and the sites it serves, when Switchyard stops. Without it
    /// the agent outlives the server, so a restart fails no public request.
    #[arg(long)]
    stop_agent: bool,
    /// Mark the session cookie Secure: set this when users reach Switchyard over HTTPS (a TLS
    /// proxy in front), since `serve` itself speaks plain HTTP.
    #[arg(long)]
    secure_cookies: bool,
    /// A proxy (address or CIDR range, repeatable) whose X-Forwarded-For names the client;
    /// from any other peer the header is ignored.
    #[arg(long = "trusted-proxy")]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// An origin (https://switchyard.example.com, repeatable) Switchyard's pages are served
    /// from besides the request's Host, e.g. behind a proxy that rewrites Host.
    #[arg(long = "public-origin")]
    public_origins: Vec<String>,
}

pub async fn run(args: ServeArgs) -> Result<()> {
    let data_dir = crate::data_dir::resolve(args.data)?;
    let ui_dir = args.ui_dir;
    if !ui_dir.join("index.html").is_file() {
        anyhow::bail!("the web UI is not built: {} has no index.html; run `cargo xtask run`, or pass --ui-dir", ui_dir.display());
    }
    let store = Store::open(&data_dir.join("switchyard.db")).await?;
    let service = Service::new(store.clone()).with_candidate_limits(args.candidate_limits.clone().into());
    let seeded = !args.no_demo && service.seed_demo_if_empty().await?;
    if seeded {
        println!("First start: seeded a demo customer, site and environments.");
    }

    let local_agent = if args.no_agent {
        None
    } else {
        let agent = crate::local_agent::attach_or_start(&data_dir, args.agent_listen, &args.public_listen)
            .await
            .context("pass --agent-listen HOST:PORT for another address, or --no-agent")?;
        let registration = &agent.registration;
        if agent.started {
            println!("Started the local host agent (process {}); it keeps serving the sites when Switchyard stops.", agent.pid);
        } else {
            println!("Re-attached to the local host agent already running (process {}), with the addresses it has.", agent.pid);
        }
        let token_file = switchyard_agent::layout::Layout::new(crate::local_agent::agent_root(&data_dir)).identity_dir().join("token");
        service
            .register_local_agent(&registration.url, &registration.fingerprint, &token_file)
            .await
            .context("cannot register the local agent as host \"local\"")?;
        println!("Local host agent at {} (certificate sha256 {})", registration.url, registration.fingerprint);
        for address in &registration.public_addresses {
            println!("Its router serves public traffic at http://{address}/");
        }
        Some(agent)
    };
    if seeded && local_agent.is_some() {
        match service.put_demo_live().await {
            Ok(Some(live)) => {
                println!("The demo site is live at {} (version 1.0.0); a release to 1.1.0 is ready to rehearse.", live.public_address)
            }
            Ok(None) => println!("The sample site is not built beside switchyard, so the demo site stays offline; run `cargo xtask run`."),
            Err(e) => println!("The demo site could not be put live ({e}); the rest of Switchyard works without it."),
        }
    }
    let resumed = service.resume_releases().await?;
    if resumed > 0 {
        println!("Resuming {resumed} unfinished release(s).");
    }
    service.sweep_capture_windows();

    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.bind, args.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}; is another Switchyard running? try --port", args.bind, args.port))?;
    let address = listener.local_addr()?;
    println!("Switchyard is serving at http://{address}/ (data in {})", data_dir.display());
    let http = switchyard_server::HttpConfig {
        secure_cookies: args.secure_cookies,
        trusted_proxies: args.trusted_proxies,
        public_origins: args.public_origins,
    };
    axum::serve(listener, switchyard_server::app_with(service, &ui_dir, http).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the web server stopped with an error")?;
    if let Some(agent) = local_agent {
        if args.stop_agent {
            crate::local_agent::stop(&crate::local_agent::agent_root(&data_dir))?;
            println!("Stopped the local host agent (process {}) and the sites it served.", agent.pid);
        } else {
            println!(
                "The local host agent (process {}) keeps serving the sites; `switchyard local-agent stop --data {}` stops it.",
                agent.pid,
                data_dir.display()
            );
        }
    }
    store.close().await;
    println!("Switchyard stopped.");
    Ok(())
}

/// Ctrl-C or SIGTERM: stop accepting, finish in-flight requests, close the database cleanly.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
