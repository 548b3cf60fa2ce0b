//! `switchyard-engine-run`: drives one release with the engine from a shell, as its own OS
//! process (the SIGKILL tests kill it mid-release and start a fresh one to resume).
//!
//! ```text
//! switchyard-engine-run --store PATH --agent-url URL --agent-fingerprint HEX --candidates DIR
//!     [--hold-timeout-secs N] COMMAND
//! COMMAND: status ID | resume ID | resume-all
//!        | approve ID USER:ROLE COMMENT | confirm ID USER:ROLE COMMENT
//!        | reject ID USER:ROLE COMMENT | rollback ID USER:ROLE REASON
//! ```
//!
//! The agent's bearer token is read from `SWITCHYARD_AGENT_TOKEN`, never from the command line
//! (other users can read a process's arguments). Prints the release's status as one line and
//! exits 0, or prints the error on stderr and exits 1 (2 for a usage error).

use std::path::PathBuf;
use std::time::Duration;

use switchyard_agent::AgentClient;
use switchyard_core::workflow::Actor;
use switchyard_core::Role;
use switchyard_engine::{Engine, ExecConfig, ReleaseStatus};
use switchyard_store::Store;

const USAGE: &str = "usage: switchyard-engine-run --store PATH --agent-url URL --agent-fingerprint HEX --candidates DIR [--hold-timeout-secs N] (status ID | resume ID | resume-all | approve|confirm|reject|rollback ID USER:ROLE COMMENT); the token comes from SWITCHYARD_AGENT_TOKEN";

struct Options {
    store: PathBuf,
    agent_url: String,
    fingerprint: String,
    candidates: PathBuf,
    hold_timeout: Option<Duration>,
    command: Vec<String>,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let (mut store, mut agent_url, mut fingerprint, mut candidates, mut hold_timeout) = (None, None, None, None, None);
    let mut command = Vec::new();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--store" => store = Some(PathBuf::from(value()?)),
            "--agent-url" => agent_url = Some(value()?),
            "--agent-fingerprint" => fingerprint = Some(value()?),
            "--candidates" => candidates = Some(PathBuf::from(value()?)),
            "--hold-timeout-secs" => {
                let secs = value()?;
                let secs: u64 = secs.parse().map_err(|_| format!("--hold-timeout-secs takes whole seconds, not {secs:?}"))?;
                hold_timeout = Some(Duration::from_secs(secs));
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            _ => command.push(arg),
        }
    }
    let missing = |name: &str| format!("{name} is required");
    Ok(Options {
        store: store.ok_or_else(|| missing("--store"))?,
        agent_url: agent_url.ok_or_else(|| missing("--agent-url"))?,
        fingerprint: fingerprint.ok_or_else(|| missing("--agent-fingerprint"))?,
        candidates: candidates.ok_or_else(|| missing("--candidates"))?,
        hold_timeout,
        command,
    })
}

fn actor(text: &str) -> Result<Actor, String> {
    let (user, role) = text.split_once(':').ok_or_else(|| format!("{text:?} is not USER:ROLE, e.g. sam:support"))?;
    let role = Role::ALL
        .into_iter()
        .find(|r| r.as_str() == role)
        .ok_or_else(|| format!("unknown role {role:?}: use customer, support or manager"))?;
    // The shell tool knows people by name only: id 0 makes the approval rule compare names.
    Ok(Actor::new(0, user, role))
}

fn id(text: &str) -> Result<i64, String> {
    text.parse().map_err(|_| format!("{text:?} is not a release id"))
}

fn line(status: &ReleaseStatus) -> String {
    format!("release {}: {} ({})", status.id, status.outcome.as_deref().unwrap_or("running"), status.waiting_for)
}

async fn run(options: Options) -> Result<String, String> {
    let token = std::env::var("SWITCHYARD_AGENT_TOKEN")
        .map_err(|_| "SWITCHYARD_AGENT_TOKEN is not set: export the agent's bearer token".to_owned())?;
    let agent = AgentClient::new(&options.agent_url, &token, &options.fingerprint).map_err(|e| e.to_string())?;
    let store = Store::open(&options.store).await.map_err(|e| format!("cannot open the store {}: {e}", options.store.display()))?;
    let mut config = ExecConfig::new(options.candidates);
    if let Some(hold) = options.hold_timeout {
        config.hold_timeout = hold;
    }
    let engine = Engine::new(store, agent, config);
    let words: Vec<&str> = options.command.iter().map(String::as_str).collect();
    let status = match words.as_slice() {
        ["status", release] => engine.status(id(release)?).await,
        ["resume", release] => engine.resume(id(release)?).await,
        ["resume-all"] => {
            let mut lines = Vec::new();
            for (release, result) in engine.resume_all().await {
                lines.push(match result {
                    Ok(status) => line(&status),
                    Err(e) => format!("release {release}: {e}"),
                });
            }
            return Ok(lines.join("\n"));
        }
        [decision, release, by, comment] => {
            let (release, by) = (id(release)?, actor(by)?);
            match *decision {
                "approve" => engine.approve(release, &by, comment).await,
                "confirm" => engine.confirm(release, &by, comment).await,
                "reject" => engine.reject(release, &by, comment).await,
                "rollback" => engine.rollback(release, &by, comment).await,
                other => return Err(format!("unknown command {other:?}\n{USAGE}")),
            }
        }
        _ => return Err(USAGE.to_owned()),
    };
    status.map(|s| line(&s)).map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(options).await {
        Ok(out) => {
            println!("{out}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("switchyard-engine-run: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
