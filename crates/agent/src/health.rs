//! When a site counts as healthy and how it is stopped: the legacy `env.toml` check (2xx at
//! `health_path`, `health_retries` tries) or the release manifest's (an HTTP status, a
//! command exiting 0, or a TCP connect, polled until its `timeout_secs`), and its stop signal.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use switchyard_core::manifest::{HealthProbe, ReleaseManifest, StopSignal};

use crate::api::EnvConfig;
use crate::launch::{shell_command, signal_group};
use crate::layout::Layout;

/// A single health-check command may take this long before it counts as failed.
const COMMAND_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// How one running site is checked and stopped, fixed when its process starts: switching
/// `current` under a running site does not change how that process is judged.
#[derive(Debug, Clone)]
pub struct SitePlan {
    check: Check,
    wait: Wait,
    pub stop_signal: StopSignal,
    pub stop_grace: Duration,
}

#[derive(Debug, Clone)]
enum Check {
    /// Any 2xx at the path: the legacy convention.
    Success {
        path: String,
    },
    Status {
        path: String,
        expect_status: u16,
    },
    /// Run in the site's release with the site's variables.
    Command {
        command: String,
        release: PathBuf,
        manifest: Box<ReleaseManifest>,
    },
    Tcp,
}

#[derive(Debug, Clone, Copy)]
enum Wait {
    Tries(u32),
    Within(Duration),
}

impl SitePlan {
    pub fn new(config: &EnvConfig, manifest: Option<&ReleaseManifest>, release: PathBuf) -> SitePlan {
        let Some(m) = manifest else {
            return SitePlan {
                check: Check::Success { path: config.health_path.clone() },
                wait: Wait::Tries(config.health_retries.max(1)),
                stop_signal: StopSignal::Term,
                stop_grace: Duration::from_secs(config.stop_timeout_secs),
            };
        };
        let check = match &m.health.probe {
            HealthProbe::Http { path, expect_status } => Check::Status { path: path.clone(), expect_status: *expect_status },
            HealthProbe::Command { command } => Check::Command { command: command.clone(), release, manifest: Box::new(m.clone()) },
            HealthProbe::Tcp => Check::Tcp,
        };
        SitePlan {
            check,
            wait: Wait::Within(Duration::from_secs(m.health.timeout_secs.into())),
            stop_signal: m.web.stop_signal,
            stop_grace: Duration::from_secs(m.web.stop_timeout_secs.into()),
        }
    }

    /// Whether to keep waiting for health after `tries` failed probes since `started`.
    pub fn keep_waiting(&self, tries: u32, started: Instant) -> bool {
        match self.wait {
            Wait::Tries(limit) => tries < limit,
            Wait::Within(limit) => started.elapsed() < limit,
        }
    }

    /// The check in words, for the error when a site never turns healthy.
    pub fn describe(&self, port: u16) -> String {
        match &self.check {
            Check::Success { path } => {
                format!("did not answer 2xx at http://127.0.0.1:{port}{path}")
            }
            Check::Status { path, expect_status } => {
                format!("did not pass its health check (HTTP GET http://127.0.0.1:{port}{path} expecting status {expect_status})")
            }
            Check::Command { command, .. } => {
                format!("did not pass its health check (the command `{command}` exiting 0)")
            }
            Check::Tcp => {
                format!("did not pass its health check (a TCP connection to 127.0.0.1:{port})")
            }
        }
    }

    /// Probes the site once.
    pub async fn probe(&self, http: &reqwest::Client, layout: &Layout, env: &str, config: &EnvConfig) -> bool {
        let url = |path: &str| format!("http://127.0.0.1:{}{path}", config.port);
        match &self.check {
            Check::Success { path } => {
                matches!(http.get(url(path)).send().await, Ok(r) if r.status().is_success())
            }
            Check::Status { path, expect_status } => {
                matches!(http.get(url(path)).send().await, Ok(r) if r.status().as_u16() == *expect_status)
            }
            Check::Tcp => tokio::net::TcpStream::connect(("127.0.0.1", config.port)).await.is_ok(),
            Check::Command { command, release, manifest } => {
                let Ok(mut check) = shell_command(layout, env, config, release, manifest, command) else {
                    return false;
                };
                check.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).kill_on_drop(true);
                let Ok(mut child) = check.spawn() else {
                    return false;
                };
                match tokio::time::timeout(COMMAND_CHECK_TIMEOUT, child.wait()).await {
                    Ok(status) => status.is_ok_and(|s| s.success()),
                    Err(_) => {
                        // Whatever the check started goes too, not only its shell.
                        if let Some(pid) = child.id() {
                            signal_group(pid, libc::SIGKILL);
                        }
                        let _ = child.wait().await;
                        false
                    }
                }
            }
        }
    }
}
