//! Supervising each environment's site process: start with a health check, graceful stop
//! (SIGTERM, or the release manifest's stop signal, to the process group; SIGKILL after the
//! stop timeout), restart, and automatic restart with exponential back-off when it crashes.
//! How a process is checked and stopped ([`SitePlan`]) is fixed when it starts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{EnvConfig, ProcessState, ProcessStatus};
use crate::envs::load_config;
use crate::error::{io_context, AgentError, Result};
use crate::health::SitePlan;
use crate::launch::{signal_group, site_command};
use crate::layout::{read_json, write_json, Layout};
use crate::manifest::signal_number;

#[derive(serde::Serialize, serde::Deserialize)]
struct ProcessWish {
    running: bool,
}

/// How crashes are handled: delays double from `first_delay` up to `max_delay`; a process
/// that stayed up for `stable_after` counts as healthy again; after `max_crashes` crashes in a
/// row the site is left stopped as `failed`.
#[derive(Debug, Clone, Copy)]
pub struct RestartPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    pub stable_after: Duration,
    pub max_crashes: u32,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            stable_after: Duration::from_secs(10),
            max_crashes: 8,
        }
    }
}

struct Site {
    status: Mutex<ProcessStatus>,
    plan: Mutex<SitePlan>,
    stop: watch::Sender<bool>,
    monitor: Mutex<Option<JoinHandle<()>>>,
}

pub struct Supervisor {
    layout: Layout,
    policy: RestartPolicy,
    sites: Mutex<HashMap<String, Arc<Site>>>,
    probe: reqwest::Client,
}

impl Supervisor {
    pub fn new(layout: Layout, policy: RestartPolicy) -> Self {
        let probe =
            reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(2)).build().expect("a plain HTTP client always builds");
        Supervisor { layout, policy, sites: Mutex::new(HashMap::new()), probe }
    }

    fn plan(site: &Site) -> SitePlan {
        site.plan.lock().expect("plan lock").clone()
    }

    fn site(&self, env: &str) -> Option<Arc<Site>> {
        self.sites.lock().expect("sites lock poisoned").get(env).cloned()
    }

    pub fn is_running(&self, env: &str) -> bool {
        self.site(env)
            .map(|s| matches!(s.status.lock().expect("status lock").state, ProcessState::Running | ProcessState::Backoff))
            .unwrap_or(false)
    }

    /// The process's state, with a fresh health probe when it runs.
    pub async fn status(&self, env: &str) -> Result<ProcessStatus> {
        let config = load_config(&self.layout, env)?;
        let Some(site) = self.site(env) else {
            return Ok(ProcessStatus {
                state: ProcessState::Stopped,
                pid: None,
                port: config.port,
                restarts: 0,
                healthy: false,
                release: None,
            });
        };
        let mut status = site.status.lock().expect("status lock").clone();
        status.healthy = status.state == ProcessState::Running && Self::plan(&site).probe(&self.probe, &self.layout, env, &config).await;
        Ok(status)
    }

    /// Starts the site and waits until its health check passes. Starting a running site is a
    /// no-op; a site that never turns healthy is stopped again and its log tail reported.
    pub async fn start(&self, env: &str) -> Result<ProcessStatus> {
        if self.is_running(env) {
            return self.status(env).await;
        }
        let config = crate::envs::load_runnable(&self.layout, env)?;
        if std::net::TcpListener::bind(("127.0.0.1", config.port)).is_err() {
            return Err(AgentError::Conflict(format!(
                "port {} of environment {env} is already in use by another process: stop it or give the environment another port",
                config.port
            )));
        }
        let (child, release, plan) = spawn_site(&self.layout, env, &config)?;
        let (stop, stop_rx) = watch::channel(false);
        let status = ProcessStatus {
            state: ProcessState::Running,
            pid: child.id(),
            port: config.port,
            restarts: 0,
            healthy: false,
            release: Some(release.display().to_string()),
        };
        let site = Arc::new(Site { status: Mutex::new(status), plan: Mutex::new(plan), stop, monitor: Mutex::new(None) });
        let monitor = tokio::spawn(monitor(self.layout.clone(), env.to_owned(), self.policy, Arc::clone(&site), child, stop_rx));
        *site.monitor.lock().expect("monitor lock") = Some(monitor);
        self.sites.lock().expect("sites lock poisoned").insert(env.to_owned(), Arc::clone(&site));
        let started = Instant::now();
        let plan = Self::plan(&site);
        let mut tries = 0;
        loop {
            let crashed = site.status.lock().expect("status lock").restarts > 0;
            if !crashed && plan.probe(&self.probe, &self.layout, env, &config).await {
                tracing::info!("site of environment {env} is healthy after {:?}", started.elapsed());
                self.remember_wanted(env, true)?;
                return self.status(env).await;
            }
            tries += 1;
            if crashed || !plan.keep_waiting(tries, started) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(config.health_interval_ms)).await;
        }
        self.stop(env).await?;
        Err(AgentError::CommandFailed(format!(
            "the site of environment {env} {} within {:.1} s, so it was stopped; last lines of logs/site.log:\n{}",
            plan.describe(config.port),
            started.elapsed().as_secs_f64(),
            log_tail(&self.layout.env(env).site_log())
        )))
    }

    pub async fn stop(&self, env: &str) -> Result<ProcessStatus> {
        let config = load_config(&self.layout, env)?;
        self.remember_wanted(env, false)?;
        let site = self.sites.lock().expect("sites lock poisoned").remove(env);
        if let Some(site) = site {
            let _ = site.stop.send(true);
            let monitor = site.monitor.lock().expect("monitor lock").take();
            if let Some(monitor) = monitor {
                let _ = monitor.await;
            }
            tracing::info!("stopped the site of environment {env}");
        }
        Ok(ProcessStatus { state: ProcessState::Stopped, pid: None, port: config.port, restarts: 0, healthy: false, release: None })
    }

    pub async fn restart(&self, env: &str) -> Result<ProcessStatus> {
        self.stop(env).await?;
        self.start(env).await
    }

    /// Stops every site for an orderly agent shutdown, remembering which ones ran so the next
    /// start brings them back.
    pub async fn stop_all(&self) {
        let envs: Vec<String> = self.sites.lock().expect("sites lock poisoned").keys().cloned().collect();
        for env in envs {
            let wanted = self.is_running(&env);
            if let Err(e) = self.stop(&env).await {
                tracing::warn!("cannot stop the site of environment {env}: {e}");
            }
            if let Err(e) = self.remember_wanted(&env, wanted) {
                tracing::warn!("cannot record that environment {env} should run: {e}");
            }
        }
    }

    /// Whether the operator wants the site running, kept in `envs/<env>/process.json` so that
    /// a restarted agent (after a crash, an upgrade, a reboot) brings the site back.
    fn remember_wanted(&self, env: &str, running: bool) -> Result<()> {
        write_json(&self.layout.env(env).process_wish(), &ProcessWish { running })
    }

    /// Starts the sites that were running when the agent last stopped.
    pub async fn restore(&self, env: &str) -> Result<()> {
        let path = self.layout.env(env).process_wish();
        if path.exists() && read_json::<ProcessWish>(&path)?.running {
            tracing::info!("restarting the site of environment {env}, which ran before the agent stopped");
            self.start(env).await?;
        }
        Ok(())
    }
}

fn spawn_site(layout: &Layout, env: &str, config: &EnvConfig) -> Result<(tokio::process::Child, std::path::PathBuf, SitePlan)> {
    let launch = site_command(layout, env, config)?;
    let (mut command, release) = (launch.command, launch.release);
    let what = match &launch.manifest {
        Some(m) => format!("{:?} from the release manifest", m.web.command),
        None => format!("{:?}; check command in env.toml", config.command),
    };
    let log_path = layout.env(env).site_log();
    std::fs::create_dir_all(layout.env(env).logs()).map_err(io_context("cannot create the logs directory"))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(io_context(format!("cannot open {}", log_path.display())))?;
    let log_err = log.try_clone().map_err(io_context("cannot share the site log"))?;
    command.stdout(log).stderr(log_err);
    let child = command.spawn().map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::PermissionDenied { crate::confine::REACH_HINT } else { "" };
        AgentError::CommandFailed(format!("cannot start the site of environment {env}: {e}; the command is {what}{hint}"))
    })?;
    tracing::info!("started the site of environment {env} (pid {:?}) from {}", child.id(), release.display());
    let plan = SitePlan::new(config, launch.manifest.as_ref(), release.clone());
    Ok((child, release, plan))
}

async fn terminate(child: &mut tokio::process::Child, plan: &SitePlan) {
    let Some(pid) = child.id() else { return };
    let grace = plan.stop_grace;
    signal_group(pid, signal_number(plan.stop_signal));
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        tracing::warn!("process {pid} ignored {} for {grace:?}; killing it", plan.stop_signal);
        signal_group(pid, libc::SIGKILL);
        let _ = child.wait().await;
    }
}

async fn monitor(
    layout: Layout,
    env: String,
    policy: RestartPolicy,
    site: Arc<Site>,
    mut child: tokio::process::Child,
    mut stop: watch::Receiver<bool>,
) {
    let mut crashes: u32 = 0;
    let mut since = Instant::now();
    let set = |state: ProcessState, pid: Option<u32>| {
        let mut status = site.status.lock().expect("status lock");
        status.state = state;
        status.pid = pid;
    };
    loop {
        tokio::select! {
            _ = stop.changed() => {
                terminate(&mut child, &Supervisor::plan(&site)).await;
                break;
            }
            exit = child.wait() => {
                if since.elapsed() >= policy.stable_after {
                    crashes = 0;
                }
                crashes += 1;
                site.status.lock().expect("status lock").restarts += 1;
                tracing::warn!("the site of environment {env} exited ({exit:?}); crash {crashes} in a row");
                if crashes > policy.max_crashes {
                    tracing::error!("the site of environment {env} crashed {crashes} times in a row; giving up until it is started again");
                    set(ProcessState::Failed, None);
                    return;
                }
                set(ProcessState::Backoff, None);
                let delay = policy.first_delay.saturating_mul(1 << (crashes - 1).min(16)).min(policy.max_delay);
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.changed() => break,
                }
                let config = match crate::envs::load_runnable(&layout, &env) {
                    Ok(config) => config,
                    Err(e) => { tracing::error!("cannot restart the site of environment {env}: {e}"); set(ProcessState::Failed, None); return; }
                };
                match spawn_site(&layout, &env, &config) {
                    Ok((next, release, plan)) => {
                        let pid = next.id();
                        child = next;
                        since = Instant::now();
                        *site.plan.lock().expect("plan lock") = plan;
                        site.status.lock().expect("status lock").release = Some(release.display().to_string());
                        set(ProcessState::Running, pid);
                    }
                    Err(e) => {
                        tracing::error!("cannot restart the site of environment {env}: {e}");
                        set(ProcessState::Failed, None);
                        return;
                    }
                }
            }
        }
    }
    set(ProcessState::Stopped, None);
}

/// The last lines of a log file, for error messages.
pub fn log_tail(path: &std::path::Path) -> String {
    let text = std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
