//! Environments on disk: `envs/<env>/` with its `env.toml` (how to run the site), `state.json`
//! (unpacked releases and activation history), `releases/`, `shared/` and `current`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::api::{EnvConfig, EnvInfo, ReleaseInfo};
use crate::error::{io_context, AgentError, Result};
use crate::layout::{check_env_name, read_json, sync_dir, write_atomic, write_json, Layout};

/// What the agent remembers about an environment's releases.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvState {
    /// Unpacked releases, oldest first.
    pub releases: Vec<ReleaseInfo>,
    /// Activated release ids, oldest first; the last one is `current`.
    pub history: Vec<String>,
}

impl EnvState {
    pub fn current(&self) -> Option<&str> {
        self.history.last().map(String::as_str)
    }

    /// The release that was active before the current one and still exists: the rollback target.
    pub fn previous(&self) -> Option<&str> {
        let current = self.current()?;
        self.history.iter().rev().map(String::as_str).find(|id| *id != current && self.has_release(id))
    }

    pub fn has_release(&self, id: &str) -> bool {
        self.releases.iter().any(|r| r.id == id)
    }
}

pub fn validate_config(config: &EnvConfig) -> Result<()> {
    if config.command.is_empty() || config.command[0].is_empty() {
        return Err(AgentError::Invalid("env.toml command is empty: give the program to start, e.g. [\"bin/site\", \"serve\"]".into()));
    }
    if config.port == 0 {
        return Err(AgentError::Invalid("env.toml port is 0: give the port the site listens on".into()));
    }
    if !config.health_path.starts_with('/') {
        return Err(AgentError::Invalid(format!("health path {:?} must start with '/'", config.health_path)));
    }
    if let Some(volume) = &config.volume {
        crate::layout::check_volume_name(volume)?;
    }
    if let Some(site) = &config.site {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if site.is_empty() || site.len() > 100 || !site.chars().all(allowed) {
            return Err(AgentError::Invalid(format!(
                "site key {site:?} is not allowed: give the site's stable key, 1 to 100 letters, digits, '-', '_' or '.'"
            )));
        }
    }
    crate::manifest::default_manifest(config)?;
    for binding in &config.databases {
        crate::databases::check_identifier("database", &binding.database)?;
        crate::databases::check_identifier("user", &binding.user)?;
        crate::databases::check_identifier("database binding", &binding.name)?;
    }
    for db in &config.sqlite {
        let path = Path::new(db);
        let escapes = path.is_absolute() || path.components().any(|c| !matches!(c, std::path::Component::Normal(_)));
        if db.is_empty() || escapes || db.contains(['\'', '"', '\n']) {
            return Err(AgentError::Invalid(format!("sqlite path {db:?} must be a plain relative path inside shared/, e.g. \"site.db\"")));
        }
    }
    Ok(())
}

pub fn load_config(layout: &Layout, name: &str) -> Result<EnvConfig> {
    check_env_name(name)?;
    let path = layout.env(name).config();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(AgentError::NotFound(format!("environment {name} does not exist: create it first")))
        }
        Err(e) => return Err(AgentError::Io { context: format!("cannot read {}", path.display()), source: e }),
    };
    toml::from_str(&text).map_err(|e| AgentError::Invalid(format!("{} is not valid ({e}): fix the file by hand", path.display())))
}

/// The environment's config for starting one of its processes. An environment made before
/// site users (or by an agent that was not root then) gets its user now, and its files handed
/// over, so an upgraded agent never runs an old site as root.
pub fn load_runnable(layout: &Layout, name: &str) -> Result<EnvConfig> {
    let mut config = load_config(layout, name)?;
    if crate::site_users::assign(name, &mut config)? && config.run_as.is_some() {
        crate::site_users::settle_env(layout, &layout.env(name).dir, name, &config)?;
        save_config(&layout.env(name).dir, &config)?;
        tracing::info!("environment {name} now runs as its own user {}", config.run_as.as_ref().map(|u| u.name.as_str()).unwrap_or(""));
    }
    Ok(config)
}

pub fn save_config(dir: &Path, config: &EnvConfig) -> Result<()> {
    let text = toml::to_string_pretty(config).map_err(|e| AgentError::Internal(format!("cannot encode env.toml: {e}")))?;
    write_atomic(&dir.join("env.toml"), text.as_bytes())
}

pub fn load_state(layout: &Layout, name: &str) -> Result<EnvState> {
    read_json(&layout.env(name).state())
}

pub fn save_state(layout: &Layout, name: &str, state: &EnvState) -> Result<()> {
    write_json(&layout.env(name).state(), state)
}

pub fn info(layout: &Layout, name: &str) -> Result<EnvInfo> {
    let config = load_config(layout, name)?;
    let state = load_state(layout, name)?;
    Ok(EnvInfo {
        name: name.to_owned(),
        config,
        current: state.current().map(str::to_owned),
        previous: state.previous().map(str::to_owned),
        releases: state.releases,
    })
}

pub fn list(layout: &Layout) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(layout.envs_dir()).map_err(io_context("cannot list environments"))?;
    let mut names: Vec<String> =
        entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| !n.starts_with('.')).collect();
    names.sort();
    Ok(names)
}

/// Creates an environment; creating one that exists with the same config is a no-op, so a
/// retry after a lost answer succeeds. Port 0 means a free port the agent chooses.
pub fn create(layout: &Layout, name: &str, requested: &EnvConfig) -> Result<EnvInfo> {
    check_env_name(name)?;
    let mut config = requested.clone();
    // The agent chooses who the site runs as; a request cannot name a user (root, say).
    config.run_as = None;
    config.site.get_or_insert_with(|| name.to_owned());
    // Only the agent marks a database its own (to drop it with its clone): a request that
    // did could make the agent drop a live database.
    if let Some(binding) = config.databases.iter().find(|b| b.owned) {
        return Err(AgentError::Invalid(format!(
            "database {} is marked as the agent's own: leave `owned` out, the agent sets it on the copies it makes",
            binding.database
        )));
    }
    let dir = layout.env(name).dir;
    if dir.exists() {
        let existing = load_config(layout, name)?;
        // A retry of a port-0 creation whose answer was lost finds the port chosen then.
        if requested.port == 0 {
            config.port = existing.port;
        }
        config.run_as.clone_from(&existing.run_as);
        if existing == config {
            return info(layout, name);
        }
        return Err(AgentError::Conflict(format!(
            "environment {name} already exists with a different configuration: pick another name or destroy it first"
        )));
    }
    if config.port == 0 {
        config.port = crate::clone::pick_port(layout)?;
    }
    validate_config(&config)?;
    if let Some(volume) = &config.volume {
        // A volume is one site's data: another site's environment may not name it.
        for user in crate::volumes::users(layout, volume)? {
            let other = load_config(layout, &user)?;
            if crate::site_users::site_key(&user, &other) != crate::site_users::site_key(name, &config) {
                return Err(AgentError::Conflict(format!(
                    "data volume {volume} belongs to environment {user} of another site: give this environment its own volume"
                )));
            }
        }
    }
    crate::site_users::assign(name, &mut config)?;
    let config = &config;
    let staging = layout.staging_dir(name);
    let build = || -> Result<()> {
        for sub in ["releases", "shared", "logs"] {
            std::fs::create_dir_all(staging.join(sub)).map_err(io_context(format!("cannot create {}", staging.join(sub).display())))?;
        }
        save_config(&staging, config)?;
        write_json(&staging.join("state.json"), &EnvState::default())?;
        if let Some(volume) = &config.volume {
            let dir = layout.volume(volume);
            std::fs::create_dir_all(&dir).map_err(io_context(format!("cannot create the data volume {}", dir.display())))?;
        }
        crate::site_users::settle_env(layout, &staging, name, config)?;
        std::fs::rename(&staging, &dir).map_err(io_context(format!("cannot move environment {name} into place")))?;
        sync_dir(&layout.envs_dir()).map_err(io_context("cannot sync the environments directory"))
    };
    if let Err(e) = build() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    tracing::info!("created environment {name}");
    info(layout, name)
}

/// Removes an environment. Production needs `force`, so a wrong name in a script cannot take
/// the live site away.
pub fn destroy(layout: &Layout, name: &str, force: bool) -> Result<()> {
    let config = load_config(layout, name)?;
    if config.production && !force {
        return Err(AgentError::Conflict(format!("environment {name} is production: destroy it with force=true if you really mean to")));
    }
    let dir = layout.env(name).dir;
    // Renaming first makes the environment disappear at once; the slow delete comes after.
    let trash = layout.envs_dir().join(format!(".trash-{name}-{}", crate::layout::random_suffix()));
    std::fs::rename(&dir, &trash).map_err(io_context(format!("cannot remove environment {name}")))?;
    std::fs::remove_dir_all(&trash).map_err(io_context(format!("cannot delete {}", trash.display())))?;
    crate::confine::forget(layout, name);
    tracing::info!("destroyed environment {name}");
    if let Some(volume) = &config.volume {
        crate::volumes::remove_if_unused(layout, volume)?;
    }
    Ok(())
}
