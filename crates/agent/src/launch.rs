//! Building the command for a site or a step: it runs in the environment's current release
//! with the environment's variables and nothing of the agent's, as the site's own user within
//! its limits (`confine`), in its own process group so it can be signalled as a whole, and
//! dies with the agent instead of outliving it unsupervised.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use switchyard_core::manifest::ReleaseManifest;
use tokio::process::Command;

use crate::api::EnvConfig;
use crate::error::{AgentError, Result};
use crate::layout::Layout;
use crate::manifest;

/// The release directory `current` points to, resolved now: a running process keeps its
/// release even when `current` is switched under it.
pub fn current_release(layout: &Layout, env: &str) -> Result<PathBuf> {
    let current = layout.env(env).current();
    std::fs::canonicalize(&current)
        .map_err(|_| AgentError::Conflict(format!("environment {env} has no active release: unpack and activate one first")))
}

/// A site's command, ready to spawn, with the release it runs and the manifest it follows
/// (`None`: the legacy `env.toml` command).
pub struct SiteLaunch {
    pub command: Command,
    pub release: PathBuf,
    pub manifest: Option<ReleaseManifest>,
}

/// The site's command in the current release: the manifest's `[web] command` through
/// `/bin/sh -c "exec ..."`, or `env.toml`'s command when no manifest applies.
pub fn site_command(layout: &Layout, env: &str, config: &EnvConfig) -> Result<SiteLaunch> {
    let release = current_release(layout, env)?;
    let manifest = manifest::for_release(&release, config)?;
    let command = match &manifest {
        Some(m) => shell_command(layout, env, config, &release, m, &m.web.command)?,
        None => program_command(layout, env, config, &release, None, &config.command, &BTreeMap::new())?,
    };
    Ok(SiteLaunch { command, release, manifest })
}

/// A step's command in the current release, with the variables of the manifest that applies.
pub fn command_in_current(
    layout: &Layout,
    env: &str,
    config: &EnvConfig,
    argv: &[String],
    extra_env: &BTreeMap<String, String>,
) -> Result<(Command, PathBuf)> {
    let release = current_release(layout, env)?;
    let manifest = manifest::for_release(&release, config)?;
    let command = program_command(layout, env, config, &release, manifest.as_ref(), argv, extra_env)?;
    Ok((command, release))
}

/// `line` run by `/bin/sh -c "exec <line>"` in `release` with the manifest's variables: how
/// a manifest's web command and health command run.
pub fn shell_command(
    layout: &Layout,
    env: &str,
    config: &EnvConfig,
    release: &Path,
    manifest: &ReleaseManifest,
    line: &str,
) -> Result<Command> {
    let mut command = Command::new("/bin/sh");
    command.arg("-c").arg(format!("exec {line}"));
    prepare(&mut command, layout, env, config, release, Some(manifest), &BTreeMap::new())?;
    Ok(command)
}

fn program_command(
    layout: &Layout,
    env: &str,
    config: &EnvConfig,
    release: &Path,
    manifest: Option<&ReleaseManifest>,
    argv: &[String],
    extra_env: &BTreeMap<String, String>,
) -> Result<Command> {
    let Some(program) = argv.first().filter(|p| !p.is_empty()) else {
        return Err(AgentError::Invalid("the command is empty: give a program and its arguments".into()));
    };
    // `bin/site` means the release's own program; a bare name is looked up in PATH.
    let program = if program.contains('/') && !program.starts_with('/') { release.join(program) } else { PathBuf::from(program) };
    let mut command = Command::new(program);
    command.args(&argv[1..]);
    prepare(&mut command, layout, env, config, release, manifest, extra_env)?;
    Ok(command)
}

/// The variables the agent provides to every process of an environment. A manifest-run site
/// without a data volume keeps its data in `shared/`, so its `DATA_DIR` is that.
fn provided(
    layout: &Layout,
    env: &str,
    config: &EnvConfig,
    release: &Path,
    manifest: Option<&ReleaseManifest>,
) -> BTreeMap<String, String> {
    let paths = layout.env(env);
    let mut vars = BTreeMap::from([
        ("PORT".to_owned(), config.port.to_string()),
        ("SHARED_DIR".to_owned(), paths.shared().display().to_string()),
        ("RELEASE_DIR".to_owned(), release.display().to_string()),
        ("SWITCHYARD_ENV".to_owned(), env.to_owned()),
    ]);
    let data_dir = match (&config.volume, manifest) {
        (Some(volume), _) => Some(layout.volume(volume)),
        (None, Some(_)) => Some(paths.shared()),
        (None, None) => None,
    };
    if let Some(dir) = data_dir {
        vars.insert("DATA_DIR".to_owned(), dir.display().to_string());
    }
    vars
}

fn prepare(
    command: &mut Command,
    layout: &Layout,
    env: &str,
    config: &EnvConfig,
    release: &Path,
    manifest: Option<&ReleaseManifest>,
    extra_env: &BTreeMap<String, String>,
) -> Result<()> {
    let mut provided = provided(layout, env, config, release, manifest);
    provided.extend(crate::databases::env::connection_env(layout, &config.databases)?);
    let from_manifest = manifest.map(|m| manifest::variables(m, &provided)).unwrap_or_default();
    let (confinement, base) = crate::confine::confinement(layout, env, config)?;
    // Nothing of the agent's environment but `base`: the agent may hold secrets there. The
    // manifest's [env] first, so the operator's env.toml and the step's own variables can
    // override it on this host.
    command
        .current_dir(release)
        .env_clear()
        .envs(&base)
        .envs(&provided)
        .envs(&from_manifest)
        .envs(&config.env)
        .envs(extra_env)
        .stdin(std::process::Stdio::null())
        .process_group(0);
    // SAFETY: `enter` makes only async-signal-safe calls and touches only the child.
    unsafe {
        command.pre_exec(move || confinement.enter());
    }
    Ok(())
}

/// Sends `signal` to the process group led by `pid`.
pub fn signal_group(pid: u32, signal: i32) {
    // SAFETY: kill has no memory effects; a stale group id fails with ESRCH, which is fine.
    unsafe {
        libc::kill(-(pid as i32), signal);
    }
}

/// Opens /dev/null on any of fds 0, 1, 2 that are closed (an agent started with no stdin, as
/// CI and some init systems do). Otherwise the next file the agent opens, such as a site's
/// log, takes fd 0 and is then replaced by the child's /dev/null stdin, so the site's output
/// silently goes nowhere.
pub fn ensure_standard_fds() {
    for fd in 0..3 {
        // SAFETY: fcntl(F_GETFD) only queries; open returns the lowest free fd, which is `fd`.
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) == -1 {
                libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            }
        }
    }
}
