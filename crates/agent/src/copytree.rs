//! Copies a directory tree with copy-on-write reflinks where the filesystem supports them
//! (XFS, Btrfs) and a kernel-side fast copy where it does not (ext4). Callers copy into a
//! staging directory and rename it into place, because neither kind of copy is atomic.
//!
//! The agent copies a running site's files as root, so the site may be changing the tree as
//! it is read: every directory and file is opened without following links and then read
//! through the handle (`/proc/self/fd/N`), never by its name again, so a directory swapped
//! for a link to the agent's token mid-copy fails the copy instead of copying the token.

use std::fs::File;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// Copies `src` to `dst` (which must not exist), skipping relative paths for which `skip`
/// returns true. Symlinks are copied as links, not followed.
pub fn copy_tree(src: &Path, dst: &Path, skip: &dyn Fn(&Path) -> bool) -> std::io::Result<CopyStats> {
    let mut stats = CopyStats::default();
    copy_dir(&open_no_follow(src, libc::O_DIRECTORY)?, dst, Path::new(""), skip, &mut stats)?;
    Ok(stats)
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CopyStats {
    pub files: u64,
    pub bytes: u64,
}

/// Opens `path` itself: a link there fails (ELOOP) instead of being followed. Non-blocking, so
/// a fifo put in a file's place cannot hang the copy.
fn open_no_follow(path: &Path, flags: i32) -> std::io::Result<File> {
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | flags).open(path)
}

/// A path naming exactly the file `file` holds, whatever its name now points to.
fn held(file: &File) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

fn copy_dir(src: &File, dst: &Path, rel: &Path, skip: &dyn Fn(&Path) -> bool, stats: &mut CopyStats) -> std::io::Result<()> {
    std::fs::create_dir(dst)?;
    let base = held(src);
    for entry in std::fs::read_dir(&base)? {
        let entry = entry?;
        let name = entry.file_name();
        let entry_rel = rel.join(&name);
        if skip(&entry_rel) {
            continue;
        }
        let (from, to) = (base.join(&name), dst.join(&name));
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else if kind.is_dir() {
            copy_dir(&open_no_follow(&from, libc::O_DIRECTORY)?, &to, &entry_rel, skip, stats)?;
        } else if kind.is_file() {
            let file = open_no_follow(&from, 0)?;
            let meta = file.metadata()?;
            // Replaced by something else since it was listed: copied as nothing.
            if meta.is_file() {
                copy_file(&held(&file), &to)?;
                stats.files += 1;
                stats.bytes += meta.len();
            }
        }
        // Sockets and fifos are runtime artefacts of a running site; a clone starts without them.
    }
    let mode = src.metadata()?.permissions().mode();
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

    #[test]
    fn a_directory_that_is_a_link_at_the_top_is_refused_not_followed() {
        let secret = tempfile::tempdir().unwrap();
        std::fs::write(secret.path().join("token"), "agent token").unwrap();
        let src = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(secret.path(), src.path().join("data")).unwrap();
        let out = tempfile::tempdir().unwrap();
        let refused = copy_tree(&src.path().join("data"), &out.path().join("copy"), &|_| false).unwrap_err();
        // ENOTDIR: a link opened as a directory without following it is not one.
        assert!(matches!(refused.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)), "{refused}");
        assert!(!out.path().join("copy/token").exists());
    }
}
