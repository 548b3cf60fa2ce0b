//! Where Switchyard keeps its data when the user does not say (the XDG data directory), and
//! who may look inside it: nobody but Switchyard's own user.

use anyhow::{Context, Result};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// `--data DIR` when given, else `$XDG_DATA_HOME/switchyard` (usually `~/.local/share/switchyard`).
pub fn resolve(explicit: Option<PathBuf>) -> Result<PathBuf> {
    let dir = match explicit {
        Some(dir) => dir,
        None => switchyard_store::default_data_dir().context("cannot find a home directory for Switchyard's data; pass --data DIR")?,
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    protect(&dir)?;
    Ok(dir)
}

/// The data directory is searchable but not listable by others (0711): the local agent's root
/// (`agent/`) lives in it, and the sites' users must pass through to their own directories.
/// Everything else in it is Switchyard's alone: the database files are 0600 (the store makes
/// them so), the uploaded candidates' directory 0700.
fn protect(dir: &Path) -> Result<()> {
    let set = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set the mode of {} to {mode:o}; check who owns it", path.display()))
    };
    set(dir, 0o711)?;
    let candidates = dir.join("candidates");
    std::fs::create_dir_all(&candidates).with_context(|| format!("cannot create {}", candidates.display()))?;
    set(&candidates, 0o700)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_directory_is_closed_to_others_but_for_passing_through() {
        let parent = tempfile::tempdir().unwrap();
        let dir = resolve(Some(parent.path().join("data"))).unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o711);
        assert_eq!(mode(&dir.join("candidates")), 0o700);
    }
}
