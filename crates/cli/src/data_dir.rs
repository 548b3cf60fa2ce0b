//! Where Switchyard keeps its data when the user does not say: the XDG data directory.

use anyhow::{Context, Result};
use std::path::PathBuf;

/// `--data DIR` when given, else `$XDG_DATA_HOME/switchyard` (usually `~/.local/share/switchyard`).
pub fn resolve(explicit: Option<PathBuf>) -> Result<PathBuf> {
    let dir = match explicit {
        Some(dir) => dir,
        None => switchyard_store::default_data_dir().context("cannot find a home directory for Switchyard's data; pass --data DIR")?,
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    Ok(dir)
}
