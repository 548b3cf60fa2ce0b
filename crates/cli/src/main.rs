//! `switchyard`: the command-line entry point. Thin: parse arguments, call the libraries.

mod audit;
mod candidate;
mod data_dir;
mod follow;
mod limits;
mod local_agent;
mod login;
mod patch;
mod release;
mod release_show;
mod remote;
mod serve;
mod session_file;
mod site;
mod site_capture_window;
mod site_databases;
mod site_limits;
mod table;

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
    /// The host agent `switchyard serve` starts beside itself: whether it runs; stop it.
    LocalAgent(local_agent::LocalAgentArgs),
    /// Work with patch documents: validate one or print a workflow's template (offline), or save
    /// one to a site on the server.
    #[command(subcommand)]
    Patch(patch::PatchCommand),
    /// Log in to a Switchyard server; the session is saved for the commands below.
    Login(login::LoginArgs),
    /// End the saved session, on the server and here.
    Logout(login::LogoutArgs),
    /// Upload and list release candidates (the tarballs releases deploy).
    Candidate(candidate::CandidateArgs),
    /// Rehearse, run, decide on, roll back and follow releases; show and list them.
    Release(release::ReleaseArgs),
    /// Sites: put one live for the first time, adopt a running one, its runtime manifest, list and show.
    Site(site::SiteArgs),
    /// Check the tamper-evident record: the hash chains of the audit log and release journal.
    Audit(audit::AuditArgs),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SWITCHYARD_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve::run(args)),
        Command::Agent(args) => Ok(runtime.block_on(switchyard_agent::run(args))?),
        Command::LocalAgent(args) => exit_with(runtime.block_on(local_agent::run(args))),
        Command::Patch(command) => exit_with(runtime.block_on(patch::run(command))),
        Command::Login(args) => exit_with(runtime.block_on(login::login(args))),
        Command::Logout(args) => exit_with(runtime.block_on(login::logout(args))),
        Command::Candidate(args) => exit_with(runtime.block_on(candidate::run(args))),
        Command::Release(args) => exit_with(runtime.block_on(release::run(args))),
        Command::Site(args) => exit_with(runtime.block_on(site::run(args))),
        Command::Audit(args) => exit_with(runtime.block_on(audit::run(args))),
    }
}

/// The API commands' exit codes: what the command returned (0, or 1 for a release that ended
/// rolled back unasked), and 2 for any error, which is printed with its causes.
fn exit_with(result: anyhow::Result<i32>) -> ! {
    let code = match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            2
        }
    };
    use std::io::Write;
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}
