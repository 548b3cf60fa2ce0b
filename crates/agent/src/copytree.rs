//! Copies a directory tree with copy-on-write reflinks where the filesystem supports them
//! (XFS, Btrfs) and a kernel-side fast copy where it does not (ext4). Callers copy into a
//! staging directory and rename it into place, because neither kind of copy is atomic.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Copies `src` to `dst` (which must not exist), skipping relative paths for which `skip`
/// returns true. Symlinks are copied as links, not followed.
pub fn copy_tree(src: &Path, dst: &Path, skip: &dyn Fn(&Path) -> bool) -> std::io::Result<CopyStats> {
    let mut stats = CopyStats::default();
    copy_dir(src, dst, Path::new(""), skip, &mut stats)?;
    Ok(stats)
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CopyStats {
    pub files: u64,
    pub bytes: u64,
}

fn copy_dir(src: &Path, dst: &Path, rel: &Path, skip: &dyn Fn(&Path) -> bool, stats: &mut CopyStats) -> std::io::Result<()> {
    std::fs::create_dir(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        let entry_rel = rel.join(&name);
        if skip(&entry_rel) {
            continue;
        }
        let (from, to) = (entry.path(), dst.join(&name));
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else if kind.is_dir() {
            copy_dir(&from, &to, &entry_rel, skip, stats)?;
        } else if kind.is_file() {
            copy_file(&from, &to)?;
            stats.files += 1;
            stats.bytes += entry.metadata()?.len();
        }
        // Sockets and fifos are runtime artefacts of a running site; a clone starts without them.
    }
    let mode = std::fs::metadata(src)?.permissions().mode();
    std::fs::set_permissions(dst, std::fs::Permissions::from_mode(mode))
}

/// One file: reflink if possible, else `copy_file_range` via `std::fs::copy`.
/// Keeps the modification time so a later rsync of the same tree skips unchanged files.
pub fn copy_file(from: &Path, to: &Path) -> std::io::Result<()> {
    reflink_copy::reflink_or_copy(from, to)?;
    let meta = std::fs::metadata(from)?;
    // A read-only handle is enough for the owner to set times, even on a read-only file.
    let copy = std::fs::File::open(to)?;
    copy.set_modified(meta.modified()?)?;
    copy.set_permissions(std::fs::Permissions::from_mode(meta.permissions().mode()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_files_links_and_modes_and_skips_what_it_is_told_to() {
        let src = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(src.path().join("bin")).unwrap();
        std::fs::write(src.path().join("bin/run"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(src.path().join("bin/run"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(src.path().join("site.db"), "live").unwrap();
        std::os::unix::fs::symlink("bin/run", src.path().join("link")).unwrap();
        let dst = out.path().join("copy");
        let stats = copy_tree(src.path(), &dst, &|rel| rel == Path::new("site.db")).unwrap();
        assert_eq!(stats.files, 1);
        assert_eq!(std::fs::read_to_string(dst.join("bin/run")).unwrap(), "#!/bin/sh\n");
        assert_eq!(std::fs::metadata(dst.join("bin/run")).unwrap().permissions().mode() & 0o777, 0o755);
        assert_eq!(std::fs::read_link(dst.join("link")).unwrap(), Path::new("bin/run"));
        assert!(!dst.join("site.db").exists());
    }
}
