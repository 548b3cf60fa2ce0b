//! The release manifest on the host: which one applies to a release (its `switchyard.toml`,
//! else its `Procfile`, else the environment's `default_manifest`, else none and the legacy
//! `env.toml` command), refusing releases whose manifest does not parse, and the variables a
//! manifest-run site and its steps get.

use std::collections::BTreeMap;
use std::path::Path;

use switchyard_core::manifest::{expand_env, ReleaseManifest, StopSignal, MANIFEST_FILE, PROCFILE};

use crate::api::EnvConfig;
use crate::error::{AgentError, Result};

/// Reads `file` in `release`; `None` when the release has no such file.
fn read(release: &Path, file: &str) -> Result<Option<String>> {
    match std::fs::read_to_string(release.join(file)) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AgentError::Invalid(format!("cannot read {file} of the release ({e}): ship it as a UTF-8 text file"))),
    }
}

/// The manifest a release ships: `switchyard.toml`, else `Procfile`, else `None`. A manifest
/// that does not parse is refused with `<file>:LINE: message` lines.
pub fn shipped(release: &Path) -> Result<Option<ReleaseManifest>> {
    if let Some(text) = read(release, MANIFEST_FILE)? {
        return ReleaseManifest::parse(&text).map(Some).map_err(|e| refused(MANIFEST_FILE, &e));
    }
    if let Some(text) = read(release, PROCFILE)? {
        return ReleaseManifest::from_procfile(&text).map(Some).map_err(|e| refused(PROCFILE, &e));
    }
    Ok(None)
}

fn refused(file: &str, errors: &switchyard_core::manifest::ManifestErrors) -> AgentError {
    AgentError::Invalid(format!(
        "the release's {file} is not valid; fix these lines and build the release again:\n{}",
        errors.in_file(file)
    ))
}

/// The environment's `default_manifest`, checked; `None` when it has none.
pub fn default_manifest(config: &EnvConfig) -> Result<Option<ReleaseManifest>> {
    let Some(text) = &config.default_manifest else {
        return Ok(None);
    };
    ReleaseManifest::parse(text).map(Some).map_err(|e| {
        AgentError::Invalid(format!(
            "the environment's default_manifest is not valid; fix these lines of it:\n{}",
            e.in_file("default_manifest")
        ))
    })
}

/// The manifest that runs `release` in an environment with `config`.
pub fn for_release(release: &Path, config: &EnvConfig) -> Result<Option<ReleaseManifest>> {
    match shipped(release)? {
        Some(manifest) => Ok(Some(manifest)),
        None => default_manifest(config),
    }
}

pub fn signal_number(signal: StopSignal) -> i32 {
    match signal {
        StopSignal::Term => libc::SIGTERM,
        StopSignal::Int => libc::SIGINT,
        StopSignal::Quit => libc::SIGQUIT,
        StopSignal::Hup => libc::SIGHUP,
        StopSignal::Usr1 => libc::SIGUSR1,
        StopSignal::Usr2 => libc::SIGUSR2,
    }
}

/// What a manifest adds to the variables the agent provides (`provided`: PORT, DATA_DIR...):
/// the port under its `port_variable` and `[env]` with `${NAME}` expanded.
pub fn variables(manifest: &ReleaseManifest, provided: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut vars: BTreeMap<String, String> = manifest.env.iter().map(|(k, v)| (k.clone(), expand_env(v, provided))).collect();
    if let Some(port) = provided.get("PORT") {
        vars.insert(manifest.web.port_variable.clone(), port.clone());
    }
    vars
}

/// SQLite databases under `shared/` of an environment: `env.toml`'s `sqlite` plus, for a site
/// without a data volume (whose `$DATA_DIR` is `shared/`), those its current manifest keeps.
pub fn shared_databases(current_release: Option<&Path>, config: &EnvConfig) -> Result<Vec<String>> {
    let mut dbs = config.sqlite.clone();
    if config.volume.is_none() {
        if let Some(release) = current_release {
            for db in for_release(release, config)?.map(|m| m.data.sqlite).unwrap_or_default() {
                if !dbs.contains(&db) {
                    dbs.push(db);
                }
            }
        }
    }
    Ok(dbs)
}
