//! Building the command for a site or a step: it runs in the environment's current release
//! with the environment's variables, in its own process group so it can be signalled as a
//! whole, and dies with the agent instead of outliving it unsupervised.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tokio::process::Command;

use crate::api::EnvConfig;
use crate::error::{AgentError, Result};
use crate::layout::Layout;

/// The release directory `current` points to, resolved now: a running process keeps its
/// release even when `current` is switched under it.
pub fn current_release(layout: &Layout, env: &str) -> Result<PathBuf> {
    let current = layout.env(env).current();
    std::fs::canonicalize(&current).map_err(|_| {
        AgentError::Conflict(format!("environment {env} has no active release: unpack and activate one first"))
    })
}

pub fn command_in_current(layout: &Layout, env: &str, config: &EnvConfig, argv: &[String], extra_env: &BTreeMap<String, String>) -> Result<(Command, PathBuf)> {
    let Some(program) = argv.first().filter(|p| !p.is_empty()) else {
        return Err(AgentError::Invalid("the command is empty: give a program and its arguments".into()));
    };
    let release = current_release(layout, env)?;
    // `bin/site` means the release's own program; a bare name is looked up in PATH.
    let program = if program.contains('/') && !program.starts_with('/') { release.join(program) } else { PathBuf::from(program) };
    let mut command = Command::new(program);
    command
        .args(&argv[1..])
        .current_dir(&release)
        .env("PORT", config.port.to_string())
        .env("SHARED_DIR", layout.env(env).shared())
        .env("RELEASE_DIR", &release)
        .env("SWITCHYARD_ENV", env)
        .envs(config.volume.as_ref().map(|v| ("DATA_DIR", layout.volume(v))))
        .envs(&config.env)
        .envs(extra_env)
        .stdin(std::process::Stdio::null())
        .process_group(0);
    // SAFETY: prctl is async-signal-safe and touches only the child being set up.
    unsafe {
        command.pre_exec(|| {
            // Children of a dead agent would run unsupervised and hold their ports.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok((command, release))
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
