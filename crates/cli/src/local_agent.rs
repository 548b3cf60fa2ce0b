//! The host agent `switchyard serve` fronts its sites with, run as a process of its own so
//! that the sites keep serving when the server stops, crashes or restarts: the agent is
//! started in its own process group (a Ctrl-C or a `kill` of the server's group does not reach
//! it) and a later `serve` over the same data directory finds it by the lock it holds on its
//! root and re-attaches instead of starting another. `switchyard local-agent stop` ends it.

use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use switchyard_agent::root_lock::{self, RootHolder};
use switchyard_agent::{AgentClient, Registration};

/// How long a starting agent may take to listen and a stopping one to let go of its root.
const PATIENCE: Duration = Duration::from_secs(30);

/// The local agent as `serve` found or started it.
pub struct LocalAgentProcess {
    pub registration: Registration,
    pub pid: u32,
    /// Whether this `serve` started it (rather than re-attaching to one already running).
    pub started: bool,
}

#[derive(clap::Args)]
pub struct LocalAgentArgs {
    #[command(subcommand)]
    command: LocalAgentCommand,
}

#[derive(clap::Subcommand)]
enum LocalAgentCommand {
    /// Whether the local agent of a data directory runs, and where.
    Status(DataDirArg),
    /// Stop the local agent of a data directory, and with it the sites it serves.
    Stop(DataDirArg),
}

#[derive(clap::Args)]
struct DataDirArg {
    /// The data directory `switchyard serve` uses (default: the XDG data directory).
    #[arg(long, env = "SWITCHYARD_DATA")]
    data: Option<PathBuf>,
}

pub fn agent_root(data_dir: &Path) -> PathBuf {
    data_dir.join("agent")
}

pub async fn run(args: LocalAgentArgs) -> Result<i32> {
    match args.command {
        LocalAgentCommand::Status(dir) => {
            let root = agent_root(&crate::data_dir::resolve(dir.data)?);
            match root_lock::holder(&root)? {
                RootHolder::Free => {
                    println!("No local agent runs over {}.", root.display());
                    Ok(1)
                }
                RootHolder::Running { pid } => {
                    let registration = read_registration(&root)?;
                    println!("The local agent (process {pid}) serves {} from {}.", registration.url, root.display());
                    for address in &registration.public_addresses {
                        println!("Its router serves public traffic at http://{address}/");
                    }
                    Ok(0)
                }
            }
        }
        LocalAgentCommand::Stop(dir) => {
            let root = agent_root(&crate::data_dir::resolve(dir.data)?);
            match stop(&root)? {
                Some(pid) => println!("Stopped the local agent (process {pid}) and the sites it served."),
                None => println!("No local agent runs over {}.", root.display()),
            }
            Ok(0)
        }
    }
}

/// Re-attaches to the agent already running over `<data_dir>/agent`, or starts one listening
/// on `listen` with its router on `public_listen`, and waits until it answers.
pub async fn attach_or_start(data_dir: &Path, listen: SocketAddr, public_listen: &[SocketAddr]) -> Result<LocalAgentProcess> {
    let root = agent_root(data_dir);
    std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    if let RootHolder::Running { pid } = root_lock::holder(&root)? {
        let registration = read_registration(&root)?;
        wait_until_answering(&registration, || Ok(())).await.with_context(|| {
            format!(
                "the local agent (process {pid}) holds {} but does not answer; stop it with `switchyard local-agent stop`",
                root.display()
            )
        })?;
        return Ok(LocalAgentProcess { registration, pid, started: false });
    }
    // What an earlier agent registered is stale: the new one writes its own once it listens.
    let registration_path = registration_path(&root);
    match std::fs::remove_file(&registration_path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot remove the stale {}", registration_path.display())),
    }
    let log_path = root.join("agent.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open the agent's log {}", log_path.display()))?;
    let program = std::env::current_exe().context("cannot find the switchyard program to start the local agent with")?;
    let mut command = Command::new(program);
    command.arg("agent").arg("--root").arg(&root).arg("--listen").arg(listen.to_string());
    for address in public_listen {
        command.arg("--public-listen").arg(address.to_string());
    }
    command.stdin(Stdio::null()).stdout(log.try_clone().context("cannot share the agent's log")?).stderr(log);
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().context("cannot start the local agent")?;
    let pid = child.id();
    let early_exit = std::sync::Arc::new(std::sync::Mutex::new(None));
    let exited = std::sync::Arc::clone(&early_exit);
    // Reaps the agent should it end while this server runs; it is not this process's to wait for otherwise.
    std::thread::spawn(move || {
        if let Ok(status) = child.wait() {
            *exited.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(status);
        }
    });
    let gone = || match *early_exit.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
        Some(status) => bail!("the local agent exited ({status}) while starting; its log {}:\n{}", log_path.display(), log_tail(&log_path)),
        None => Ok(()),
    };
    let start = Instant::now();
    let registration = loop {
        gone()?;
        if let Ok(registration) = read_registration(&root) {
            break registration;
        }
        if start.elapsed() > PATIENCE {
            bail!("the local agent did not start listening within {PATIENCE:?}; its log {}:\n{}", log_path.display(), log_tail(&log_path));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    wait_until_answering(&registration, gone).await?;
    Ok(LocalAgentProcess { registration, pid, started: true })
}

/// Stops the agent running over `root` (SIGTERM: it stops its sites first) and waits until it
/// let go of the root; `None` when none runs.
pub fn stop(root: &Path) -> Result<Option<u32>> {
    let RootHolder::Running { pid } = root_lock::holder(root)? else {
        return Ok(None);
    };
    let Ok(signalled) = i32::try_from(pid) else { bail!("{} names no process", root_lock::lock_path(root).display()) };
    if signalled <= 0 {
        bail!("{} names no process; stop the agent by hand", root_lock::lock_path(root).display());
    }
    // SAFETY: kill(2) with a positive pid read from the lock its holder wrote.
    if unsafe { libc::kill(signalled, libc::SIGTERM) } != 0 {
        bail!("cannot signal the local agent (process {pid}): {}", std::io::Error::last_os_error());
    }
    let start = Instant::now();
    while root_lock::holder(root)? != RootHolder::Free {
        if start.elapsed() > PATIENCE {
            bail!("the local agent (process {pid}) did not stop within {PATIENCE:?}; `kill -9 {pid}` ends it and its sites");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Some(pid))
}

fn registration_path(root: &Path) -> PathBuf {
    switchyard_agent::layout::Layout::new(root.to_owned()).identity_dir().join("registration.json")
}

fn read_registration(root: &Path) -> Result<Registration> {
    let path = registration_path(root);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read the local agent's registration {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("cannot read the local agent's registration {}", path.display()))
}

/// Waits until the agent answers an authenticated request, checking `gone` between tries.
async fn wait_until_answering(registration: &Registration, gone: impl Fn() -> Result<()>) -> Result<()> {
    let client = AgentClient::new(&registration.url, &registration.token, &registration.fingerprint)?;
    let start = Instant::now();
    loop {
        gone()?;
        match client.agent_info().await {
            Ok(_) => return Ok(()),
            Err(error) if start.elapsed() > PATIENCE => {
                return Err(error).with_context(|| format!("the local agent at {} does not answer", registration.url))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
