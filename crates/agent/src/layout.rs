//! Where the agent keeps things under its root directory, name rules, and the small file
//! primitives (atomic write, staging names) every operation builds on.
//!
//! ```text
//! <root>/agent/{cert.pem,key.pem,token,registration.json}
//! <root>/ops/<op_id>.json              results of finished operations
//! <root>/artifacts/<sha256>.tar.gz     uploaded candidates, once per hash
//! <root>/artifacts/tmp/                uploads in progress
//! <root>/steps/<op_id>.ndjson          step output, as streamed
//! <root>/envs/<env>/{env.toml,state.json,process.json,releases/<id>/,shared/,current,logs/}
//! <root>/envs/.staging-*               half-built environments, renamed into place when done
//! <root>/volumes/<volume>/             live data shared by the environments naming it
//! <root>/snapshots/<volume>/<name>/    consistent copies of a volume, for restoring
//! <root>/router/table.json             the route table
//! <root>/homes/<site user>/            each site's HOME
//! ```
//!
//! Who owns what, and with which mode, is `site_users`' business; `prepare` sets the modes of
//! the agent's own directories on every start, so an upgraded agent tightens an old root.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::Rng;

use crate::error::{io_context, AgentError, Result};

/// Paths under the agent's root directory.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: PathBuf) -> Self {
        Layout { root }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn identity_dir(&self) -> PathBuf {
        self.root.join("agent")
    }
    pub fn ops_dir(&self) -> PathBuf {
        self.root.join("ops")
    }
    pub fn artifacts_dir(&self) -> PathBuf {
        self.root.join("artifacts")
    }
    pub fn artifact(&self, sha256: &str) -> PathBuf {
        self.artifacts_dir().join(format!("{sha256}.tar.gz"))
    }
    pub fn upload_tmp_dir(&self) -> PathBuf {
        self.artifacts_dir().join("tmp")
    }
    pub fn steps_dir(&self) -> PathBuf {
        self.root.join("steps")
    }
    pub fn envs_dir(&self) -> PathBuf {
        self.root.join("envs")
    }
    pub fn env(&self, name: &str) -> EnvPaths {
        EnvPaths { dir: self.envs_dir().join(name) }
    }
    pub fn volumes_dir(&self) -> PathBuf {
        self.root.join("volumes")
    }
    pub fn volume(&self, name: &str) -> PathBuf {
        self.volumes_dir().join(name)
    }
    pub fn homes_dir(&self) -> PathBuf {
        self.root.join("homes")
    }
    pub fn snapshots_dir(&self, volume: &str) -> PathBuf {
        self.root.join("snapshots").join(volume)
    }
    /// A fresh name for a directory that is built in place and then renamed into `envs/`.
    pub fn staging_dir(&self, purpose: &str) -> PathBuf {
        self.envs_dir().join(format!(".staging-{purpose}-{}", random_suffix()))
    }

    /// Creates the directory skeleton and removes what an interrupted run left half-done:
    /// staged environments, partial uploads and partial unpacks never become visible, so
    /// deleting them is always safe.
    pub fn prepare(&self) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        // Sites pass through the root, envs/, volumes/ and homes/ to their own directories
        // (search only: they cannot list them); the rest is the agent's alone.
        let private = 0o700;
        let passage = 0o711;
        for (dir, mode) in [
            (self.root.clone(), passage),
            (self.identity_dir(), private),
            (self.ops_dir(), private),
            (self.artifacts_dir(), private),
            (self.upload_tmp_dir(), private),
            (self.steps_dir(), private),
            (self.root.join("router"), private),
            (self.root.join("snapshots"), private),
            (self.envs_dir(), passage),
            (self.volumes_dir(), passage),
            (self.homes_dir(), passage),
        ] {
            std::fs::create_dir_all(&dir).map_err(io_context(format!("cannot create {}", dir.display())))?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode))
                .map_err(io_context(format!("cannot set the mode of {}", dir.display())))?;
        }
        remove_children(&self.upload_tmp_dir(), |_| true)?;
        remove_children(&self.envs_dir(), |name| name.starts_with(".staging-") || name.starts_with(".trash-"))?;
        remove_children(&self.volumes_dir(), |name| name.starts_with('.'))?;
        if let Ok(volumes) = std::fs::read_dir(self.root.join("snapshots")) {
            for volume in volumes.flatten() {
                remove_children(&volume.path(), |name| name.starts_with('.'))?;
            }
        }
        let entries = std::fs::read_dir(self.envs_dir()).map_err(io_context("cannot list environments"))?;
        for entry in entries.flatten() {
            // Half-made `current` links and temp files of atomic writes.
            remove_children(&entry.path(), |name| name.starts_with(".current-") || name.contains(".tmp-"))?;
            let releases = entry.path().join("releases");
            if releases.is_dir() {
                remove_children(&releases, |name| name.starts_with('.'))?;
            }
        }
        Ok(())
    }
}

/// Paths inside one environment.
#[derive(Debug, Clone)]
pub struct EnvPaths {
    pub dir: PathBuf,
}

impl EnvPaths {
    pub fn config(&self) -> PathBuf {
        self.dir.join("env.toml")
    }
    pub fn state(&self) -> PathBuf {
        self.dir.join("state.json")
    }
    pub fn releases(&self) -> PathBuf {
        self.dir.join("releases")
    }
    pub fn release(&self, id: &str) -> PathBuf {
        self.releases().join(id)
    }
    pub fn shared(&self) -> PathBuf {
        self.dir.join("shared")
    }
    pub fn current(&self) -> PathBuf {
        self.dir.join("current")
    }
    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }
    pub fn process_wish(&self) -> PathBuf {
        self.dir.join("process.json")
    }
    pub fn site_log(&self) -> PathBuf {
        self.logs().join("site.log")
    }
}

fn remove_children(dir: &Path, matches: impl Fn(&str) -> bool) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if matches(&name) {
            let path = entry.path();
            tracing::info!("removing leftover {} from an interrupted operation", path.display());
            let removed = if path.is_dir() && !path.is_symlink() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            removed.map_err(io_context(format!("cannot remove leftover {}", path.display())))?;
        }
    }
    Ok(())
}

pub fn random_suffix() -> String {
    let bytes: [u8; 8] = rand::thread_rng().gen();
    hex::encode(bytes)
}

/// Checks an environment name: it becomes a directory name and part of URLs.
pub fn check_env_name(name: &str) -> Result<()> {
    check_name("environment name", name, 63)
}

/// Checks a data volume or snapshot name: it becomes a directory name.
pub fn check_volume_name(name: &str) -> Result<()> {
    check_name("volume or snapshot name", name, 100)
}

/// Checks a release id: it becomes a directory under `releases/`.
pub fn check_release_id(id: &str) -> Result<()> {
    check_name("release id", id, 100)
}

/// Checks an operation id: it becomes a file name under `ops/` and `steps/`.
pub fn check_op_id(id: &str) -> Result<()> {
    check_name("operation id", id, 128)
}

fn check_name(what: &str, name: &str, max: usize) -> Result<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > max || !name.chars().all(allowed) || name.starts_with('.') {
        return Err(AgentError::Invalid(format!(
            "{what} {name:?} is not allowed: use 1 to {max} letters, digits, '-', '_' or '.', not starting with '.'"
        )));
    }
    Ok(())
}

pub fn check_sha256(sha256: &str) -> Result<()> {
    if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) {
        return Err(AgentError::Invalid(format!("{sha256:?} is not a sha256: give 64 lowercase hex digits")));
    }
    Ok(())
}

/// Writes a file so readers see the old or the new content, never a mix: temp file, fsync,
/// rename over the target. The file is the agent's alone (0600): records, configs, the
/// route table.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.tmp-{}", path.file_name().unwrap_or_default().to_string_lossy(), random_suffix()));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    };
    write().map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        AgentError::Io { context: format!("cannot write {}", path.display()), source }
    })
}

/// Makes a rename in `dir` durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read(path).map_err(io_context(format!("cannot read {}", path.display())))?;
    serde_json::from_slice(&text).map_err(|e| {
        AgentError::Internal(format!("{} is corrupt ({e}): restore it from a backup or remove the environment", path.display()))
    })
}

pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_vec_pretty(value).map_err(|e| AgentError::Internal(format!("cannot encode {}: {e}", path.display())))?;
    write_atomic(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_a_directory_are_refused() {
        for bad in ["", "..", ".hidden", "a/b", "a b", "../etc", &"x".repeat(64)] {
            let err = check_env_name(bad).unwrap_err().to_string();
            assert!(err.contains("is not allowed"), "{bad}: {err}");
        }
        check_env_name("prod-1.blue_2").unwrap();
    }

    #[test]
    fn sha256_must_be_lowercase_hex() {
        check_sha256(&"a".repeat(64)).unwrap();
        assert!(check_sha256(&"A".repeat(64)).is_err());
        assert!(check_sha256("abc").is_err());
    }
}
