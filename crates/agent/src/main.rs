//! `switchyard-agent`: the host daemon binary; all behaviour lives in the library.

use clap::Parser;

#[derive(Parser)]
#[command(name = "switchyard-agent", version, about = "The Switchyard host agent")]
struct Cli {
    #[command(flatten)]
    agent: switchyard_agent::AgentArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    switchyard_agent::run_until(cli.agent, shutdown(), |registration| {
        // One line on stdout for scripts and tests; the token stays in registration.json.
        println!("switchyard-agent listening on {} fingerprint {}", registration.url, registration.fingerprint);
    })
    .await?;
    Ok(())
}

async fn shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
