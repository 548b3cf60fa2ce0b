//! `switchyard`: the command-line entry point. Thin: parse arguments, call the libraries.

mod data_dir;
mod demo_site;
mod patch;
mod serve;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "switchyard", version, about = "Recorded, rehearsed, reversible releases of customers' web sites")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web UI and the JSON API on this machine, with a local host agent.
    Serve(serve::ServeArgs),
    /// Run the host agent: the HTTPS daemon through which Switchyard manages this host's sites.
    Agent(switchyard_agent::AgentArgs),
    /// Work with patch documents offline: validate one, or print a workflow's template.
    #[command(subcommand)]
    Patch(patch::PatchCommand),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SWITCHYARD_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve::run(args)),
        Command::Agent(args) => Ok(runtime.block_on(switchyard_agent::run(args))?),
        Command::Patch(command) => {
            if !patch::run(command)? {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
