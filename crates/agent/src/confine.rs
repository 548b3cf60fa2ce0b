//! What a site's process may reach: its user (see `site_users`), a clean environment (nothing
//! of the agent's, above all not its token), and its resource limits, enforced by a cgroup v2
//! per environment when the host lets the agent make one, by rlimits otherwise. The host's
//! mechanism is found once per process and reported in the agent's status.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::api::{EnvConfig, Isolation, LimitsMechanism};
use crate::error::{io_context, AgentError, Result};
use crate::layout::Layout;
use crate::site_users::{self, agent_is_root};

/// Where cgroup v2 is mounted on a systemd-era host.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// Variables of the agent's own environment a site still gets: where programs are and how to
/// speak. Everything else (tokens, the operator's shell, RUST_LOG) stays with the agent.
const PASSED_THROUGH: &[&str] = &["PATH", "LANG", "LC_ALL", "TZ"];
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// Added to a refused start: the usual cause is a directory a site's user cannot pass.
pub const REACH_HINT: &str = "; the site's own user may not reach its release or program: every directory above the agent's root and the program's must be searchable by others (chmod o+x; the agent's host status names them)";

/// The host's isolation facts, found once.
struct Host {
    agent_is_root: bool,
    /// `<cgroup root>/switchyard` with memory and pids controllers for its children, or why not.
    cgroups: std::result::Result<PathBuf, String>,
}

fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| Host { agent_is_root: agent_is_root(), cgroups: switchyard_cgroup(Path::new(CGROUP_ROOT)) })
}

/// Makes (or finds) the `switchyard` cgroup under `root` with the memory and pids controllers
/// enabled for the environments' cgroups below it.
fn switchyard_cgroup(root: &Path) -> std::result::Result<PathBuf, String> {
    let controllers =
        std::fs::read_to_string(root.join("cgroup.controllers")).map_err(|_| format!("{} is not a cgroup v2 hierarchy", root.display()))?;
    let has = |name: &str| controllers.split_whitespace().any(|c| c == name);
    if !has("memory") || !has("pids") {
        return Err(format!("the cgroup v2 hierarchy at {} offers no memory and pids controllers", root.display()));
    }
    let enable = |dir: &Path| {
        std::fs::write(dir.join("cgroup.subtree_control"), "+memory +pids")
            .map_err(|e| format!("cannot enable the memory and pids controllers in {} ({e})", dir.display()))
    };
    enable(root)?;
    let ours = root.join("switchyard");
    std::fs::create_dir_all(&ours).map_err(|e| format!("cannot create the cgroup {} ({e})", ours.display()))?;
    enable(&ours)?;
    Ok(ours)
}

/// What the agent's status says about isolation on this host.
pub fn report(layout: &Layout) -> Isolation {
    let host = host();
    let mut warnings = Vec::new();
    if !host.agent_is_root {
        warnings.push(format!(
            "the agent does not run as root, so every site runs as the agent's own user ({}) and can read what the agent can, its token included: run the agent as root to give each site its own user",
            whoami()
        ));
    }
    if let Err(why) = &host.cgroups {
        warnings.push(format!(
            "{why}, so site limits are rlimits of each process: memory only where a site declares memory_bytes, and then per process, not per site"
        ));
    }
    if host.agent_is_root {
        for dir in site_users::unreachable_ancestors(layout.root()) {
            warnings.push(format!(
                "{} is not searchable by others, so no site user can reach its release under {}: run chmod o+x {}",
                dir.display(),
                layout.root().display(),
                dir.display()
            ));
        }
    }
    Isolation {
        agent_is_root: host.agent_is_root,
        site_users: host.agent_is_root,
        limits: if host.cgroups.is_ok() { LimitsMechanism::CgroupV2 } else { LimitsMechanism::Rlimits },
        warnings,
    }
}

fn whoami() -> String {
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    format!("uid {uid}")
}

/// The environment's cgroup, named after the agent's root too so two agents on one host (as
/// in tests) never share one.
fn cgroup_dir(base: &Path, layout: &Layout, env: &str) -> PathBuf {
    use sha2::{Digest, Sha256};
    let root = hex::encode(Sha256::digest(layout.root().as_os_str().as_encoded_bytes()));
    base.join(format!("{env}-{}", &root[..8]))
}

/// Removes the environment's cgroup once it is destroyed (it is empty by then).
pub fn forget(layout: &Layout, env: &str) {
    if let Ok(base) = &host().cgroups {
        let _ = std::fs::remove_dir(cgroup_dir(base, layout, env));
    }
}

#[derive(Debug, Clone, Copy)]
enum Resource {
    AddressSpace,
    Processes,
    OpenFiles,
}

/// Everything a child does between fork and exec to become the site's process.
#[derive(Debug)]
pub struct Confinement {
    user: Option<(u32, u32)>,
    rlimits: Vec<(Resource, u64)>,
    cgroup_procs: Option<CString>,
}

/// How a process of `env` is confined, and the variables it starts from.
pub fn confinement(layout: &Layout, env: &str, config: &EnvConfig) -> Result<(Confinement, BTreeMap<String, String>)> {
    let host = host();
    let user = if host.agent_is_root {
        Some(config.run_as.as_ref().ok_or_else(|| {
            AgentError::Internal(format!("environment {env} has no site user recorded in env.toml: restart the agent to assign one"))
        })?)
    } else {
        None
    };
    let limits = &config.limits;
    let mut rlimits = vec![(Resource::OpenFiles, limits.open_files())];
    let cgroup_procs = match &host.cgroups {
        Ok(base) => {
            let dir = cgroup_dir(base, layout, env);
            std::fs::create_dir_all(&dir).map_err(io_context(format!("cannot create the cgroup {}", dir.display())))?;
            for (file, value) in [("memory.max", limits.memory_bytes()), ("pids.max", limits.max_processes())] {
                std::fs::write(dir.join(file), value.to_string())
                    .map_err(io_context(format!("cannot set {file} of the cgroup {}", dir.display())))?;
            }
            Some(CString::new(dir.join("cgroup.procs").into_os_string().into_encoded_bytes()).expect("paths have no NUL"))
        }
        Err(_) => {
            // Address space is not memory: V8 and the JVM reserve far more than they use, so
            // only a memory limit the site declares becomes one, never the default.
            if let Some(memory) = limits.memory_bytes {
                rlimits.push((Resource::AddressSpace, memory));
            }
            // RLIMIT_NPROC counts every process of the user: only a site's own user makes it a
            // per-site limit; for the agent's user it would count the agent's threads too.
            if user.is_some() {
                rlimits.push((Resource::Processes, limits.max_processes()));
            }
            None
        }
    };
    let mut vars: BTreeMap<String, String> =
        PASSED_THROUGH.iter().filter_map(|name| std::env::var(name).ok().map(|value| (name.to_string(), value))).collect();
    vars.entry("PATH".into()).or_insert_with(|| DEFAULT_PATH.into());
    vars.insert("HOME".into(), site_users::home(layout, env, config).display().to_string());
    if let Some(user) = user {
        vars.insert("USER".into(), user.name.clone());
        vars.insert("LOGNAME".into(), user.name.clone());
    }
    Ok((Confinement { user: user.map(|u| (u.uid, u.gid)), rlimits, cgroup_procs }, vars))
}

impl Confinement {
    /// Runs in the forked child before exec: join the cgroup and lower the limits while still
    /// root, then drop every group and become the site's user, then ask to die with the agent
    /// (a change of user clears that request, so it comes last).
    ///
    /// Only async-signal-safe calls: no allocation, no locks.
    pub fn enter(&self) -> std::io::Result<()> {
        let fail = || Err(std::io::Error::last_os_error());
        // SAFETY: plain syscalls on memory owned by `self`, which outlives the call.
        unsafe {
            if let Some(procs) = &self.cgroup_procs {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return fail();
                }
                let written = libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
                if written != 1 {
                    return fail();
                }
            }
            for (resource, value) in &self.rlimits {
                let which = match resource {
                    Resource::AddressSpace => libc::RLIMIT_AS,
                    Resource::Processes => libc::RLIMIT_NPROC,
                    Resource::OpenFiles => libc::RLIMIT_NOFILE,
                };
                let mut current = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
                if libc::getrlimit(which, &mut current) != 0 {
                    return fail();
                }
                // Never above the hard limit the agent itself has: only root could raise it.
                let value = (*value as libc::rlim_t).min(current.rlim_max);
                if libc::setrlimit(which, &libc::rlimit { rlim_cur: value, rlim_max: value }) != 0 {
                    return fail();
                }
            }
            if let Some((uid, gid)) = self.user {
                if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                    return fail();
                }
            }
            // Children of a dead agent would run unsupervised and hold their ports.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return fail();
            }
        }
        Ok(())
    }
}
