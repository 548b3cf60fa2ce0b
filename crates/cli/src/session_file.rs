//! The saved login: `{url, token, username}` in `$XDG_CONFIG_HOME/switchyard/session.json`
//! (usually `~/.config/switchyard/session.json`), readable by its owner only.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedSession {
    pub url: String,
    pub token: String,
    pub username: String,
}

/// `$XDG_CONFIG_HOME/switchyard/session.json`, else `$HOME/.config/switchyard/session.json`.
pub fn path() -> Result<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
        .context("cannot find where to keep the session: neither XDG_CONFIG_HOME nor HOME is set; set SWITCHYARD_TOKEN instead")?;
    Ok(config.join("switchyard").join("session.json"))
}

/// The saved session, or `None` when nobody logged in on this account.
pub fn load() -> Result<Option<SavedSession>> {
    let path = path()?;
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read the saved session {}", path.display())),
    };
    let session = serde_json::from_str(&text)
        .with_context(|| format!("the saved session {} does not read; delete it and run `switchyard login` again", path.display()))?;
    Ok(Some(session))
}

/// Writes the session with mode 0600 (in a 0700 directory), replacing any earlier one whole.
pub fn save(session: &SavedSession) -> Result<PathBuf> {
    let path = path()?;
    let dir = path.parent().context("the session path has a directory")?;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let staging = dir.join(".session.json.new");
    let _ = std::fs::remove_file(&staging);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&staging)
        .with_context(|| format!("cannot write {}", staging.display()))?;
    let text = serde_json::to_string_pretty(session)?;
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).with_context(|| format!("cannot write {}", staging.display()))?;
    std::fs::rename(&staging, &path).with_context(|| format!("cannot save the session as {}", path.display()))?;
    Ok(path)
}

/// Deletes the saved session; `false` when there was none.
pub fn remove() -> Result<bool> {
    let path = path()?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot delete the saved session {}", path.display())),
    }
}
