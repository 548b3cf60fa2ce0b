//! Safe unpacking of a release candidate (a gzip-compressed tar) into `releases/<id>`.
//!
//! Everything is written into a staging directory that is renamed into place only when the
//! whole archive passed; a refused archive leaves nothing behind. Refused: absolute paths,
//! `..`, symlinks or hardlinks that resolve outside the release, device nodes and fifos,
//! writing through a symlink, more bytes or entries than the limits, and truncated or corrupt
//! archives (the gzip checksum is verified to the end), and releases whose `switchyard.toml`
//! or `Procfile` does not parse.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

use crate::error::{AgentError, Result};
use crate::layout::random_suffix;

#[derive(Debug, Clone, Copy)]
pub struct UnpackLimits {
    pub max_bytes: u64,
    pub max_entries: u64,
}

impl UnpackLimits {
    /// The agent's own limits tightened by what the request asks for; never loosened, so the
    /// agent holds its limits whatever a server sends.
    pub fn tightened_by(self, asked: Option<crate::api::UnpackCaps>) -> Self {
        match asked {
            None => self,
            Some(asked) => Self { max_bytes: self.max_bytes.min(asked.max_bytes), max_entries: self.max_entries.min(asked.max_entries) },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unpacked {
    pub files: u64,
    pub bytes: u64,
}

/// Unpacks `archive` into `target` (which must not exist) through a sibling staging directory.
pub fn unpack(archive: &Path, target: &Path, limits: UnpackLimits) -> Result<Unpacked> {
    let parent = target.parent().ok_or_else(|| AgentError::Internal(format!("{} has no parent directory", target.display())))?;
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let staging = parent.join(format!(".unpack-{name}-{}", random_suffix()));
    std::fs::create_dir(&staging).map_err(|e| AgentError::Io { context: format!("cannot create {}", staging.display()), source: e })?;
    // A release whose manifest does not parse would only fail later, at its start.
    let result =
        extract(archive, &staging, limits).and_then(|unpacked| crate::manifest::shipped(&staging).map(|_| unpacked)).and_then(|unpacked| {
            std::fs::rename(&staging, target)
                .map_err(|e| AgentError::Io { context: format!("cannot move the release into {}", target.display()), source: e })?;
            Ok(unpacked)
        });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

fn refused(message: String) -> AgentError {
    AgentError::Invalid(message)
}

fn corrupt(e: std::io::Error) -> AgentError {
    refused(format!("the archive is truncated or corrupt ({e}): build and upload it again"))
}

fn extract(archive: &Path, root: &Path, limits: UnpackLimits) -> Result<Unpacked> {
    let file = File::open(archive).map_err(|e| AgentError::Io { context: format!("cannot open {}", archive.display()), source: e })?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file)));
    let mut totals = Unpacked { files: 0, bytes: 0 };
    let mut entries_seen: u64 = 0;
    let mut symlinks: Vec<PathBuf> = Vec::new();
    for entry in tar.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        entries_seen += 1;
        if entries_seen > limits.max_entries {
            return Err(AgentError::TooLarge(format!(
                "the archive has more than {} entries, the limit for this site: pack fewer files, or raise the site's limit (server) or the agent's --max-unpacked-entries",
                limits.max_entries
            )));
        }
        let raw = entry.path().map_err(corrupt)?.into_owned();
        let shown = raw.display().to_string();
        let rel = relative_inside(&raw).map_err(|why| refused(format!("entry {shown} {why}")))?;
        let kind = entry.header().entry_type();
        if rel.as_os_str().is_empty() {
            if kind.is_dir() {
                continue;
            }
            return Err(refused(format!("entry {shown} has no name: the archive is malformed")));
        }
        let dest = root.join(&rel);
        match kind {
            EntryType::Directory => {
                make_dirs(root, &rel, &shown)?;
            }
            EntryType::Regular | EntryType::Continuous => {
                make_parent(root, &rel, &shown)?;
                let size = entry.size();
                if totals.bytes.saturating_add(size) > limits.max_bytes {
                    return Err(AgentError::TooLarge(format!(
                        "entry {shown} takes the release past {} bytes unpacked, the limit for this site: shrink the release, or raise the site's limit (server) or the agent's --max-unpacked-bytes",
                        limits.max_bytes
                    )));
                }
                let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
                let mut out = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(mode)
                    .open(&dest)
                    .map_err(|e| already_there(&shown, e))?;
                let copied = std::io::copy(&mut (&mut entry).take(size), &mut out).map_err(corrupt)?;
                if copied != size {
                    return Err(refused(format!(
                        "entry {shown} is cut short ({copied} of {size} bytes): the archive is truncated, upload it again"
                    )));
                }
                totals.bytes += size;
                totals.files += 1;
            }
            EntryType::Symlink => {
                let target =
                    entry.link_name().map_err(corrupt)?.ok_or_else(|| refused(format!("symlink {shown} has no target")))?.into_owned();
                if target.is_absolute() {
                    return Err(refused(format!(
                        "symlink {shown} points to the absolute path {}, outside the release directory",
                        target.display()
                    )));
                }
                make_parent(root, &rel, &shown)?;
                std::os::unix::fs::symlink(&target, &dest).map_err(|e| already_there(&shown, e))?;
                symlinks.push(rel);
            }
            EntryType::Link => {
                let target =
                    entry.link_name().map_err(corrupt)?.ok_or_else(|| refused(format!("hardlink {shown} has no target")))?.into_owned();
                let target_rel = relative_inside(&target)
                    .map_err(|why| refused(format!("hardlink {shown} points to {}, which {why}", target.display())))?;
                check_no_symlink_in(root, &target_rel)
                    .map_err(|why| refused(format!("hardlink {shown} points to {}, which {why}", target.display())))?;
                let source = root.join(&target_rel);
                if !std::fs::symlink_metadata(&source).map(|m| m.is_file()).unwrap_or(false) {
                    return Err(refused(format!(
                        "hardlink {shown} points to {}, which is not a file earlier in the archive",
                        target.display()
                    )));
                }
                make_parent(root, &rel, &shown)?;
                std::fs::hard_link(&source, &dest).map_err(|e| already_there(&shown, e))?;
                totals.files += 1;
            }
            EntryType::Char | EntryType::Block => {
                return Err(refused(format!("entry {shown} is a device node: releases may only hold files, directories and links")));
            }
            EntryType::Fifo => {
                return Err(refused(format!("entry {shown} is a fifo: releases may only hold files, directories and links")));
            }
            EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName | EntryType::GNULongLink => {}
            other => {
                return Err(refused(format!("entry {shown} has the unsupported type {other:?}: pack plain files, directories and links")));
            }
        }
    }
    // The tar end marker can come before a cut; reading the gzip stream to its end checks the
    // trailer's CRC and length, which catches truncation anywhere.
    let mut rest = tar.into_inner();
    let trailing = std::io::copy(&mut (&mut rest).take(16 << 20), &mut std::io::sink()).map_err(corrupt)?;
    if trailing >= 16 << 20 {
        return Err(refused("the archive has more than 16 MiB of data after its end marker: build it again with tar".into()));
    }
    // Links are checked once everything exists, so chains through other links are followed.
    for link in &symlinks {
        if resolve_inside(root, link).is_none() {
            return Err(refused(format!("symlink {} escapes the release directory", link.display())));
        }
    }
    Ok(totals)
}

/// The entry path as a plain relative path, or why it is refused.
fn relative_inside(path: &Path) -> std::result::Result<PathBuf, &'static str> {
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("escapes the release directory"),
            Component::RootDir | Component::Prefix(_) => return Err("is an absolute path, outside the release directory"),
        }
    }
    Ok(clean)
}

fn already_there(shown: &str, e: std::io::Error) -> AgentError {
    if e.kind() == std::io::ErrorKind::AlreadyExists {
        refused(format!("entry {shown} appears twice in the archive: pack each path once"))
    } else {
        AgentError::Io { context: format!("cannot write entry {shown}"), source: e }
    }
}

fn check_no_symlink_in(root: &Path, rel: &Path) -> std::result::Result<(), &'static str> {
    let mut path = root.to_path_buf();
    for part in rel.components() {
        path.push(part);
        if std::fs::symlink_metadata(&path).map(|m| m.file_type().is_symlink()).unwrap_or(false) {
            return Err("goes through a symlink");
        }
    }
    Ok(())
}

fn make_parent(root: &Path, rel: &Path, shown: &str) -> Result<()> {
    match rel.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => make_dirs(root, parent, shown),
        _ => Ok(()),
    }
}

/// Creates directories one level at a time, refusing to descend through a symlink: otherwise
/// `link -> /etc` followed by `link/passwd` would write outside the release.
fn make_dirs(root: &Path, rel: &Path, shown: &str) -> Result<()> {
    let mut path = root.to_path_buf();
    for part in rel.components() {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(refused(format!(
                    "entry {shown} would be written through the symlink {}: the archive is refused",
                    path.strip_prefix(root).unwrap_or(&path).display()
                )));
            }
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(refused(format!(
                    "entry {shown} needs {} to be a directory, but it is a file",
                    path.strip_prefix(root).unwrap_or(&path).display()
                )))
            }
            Err(_) => {
                std::fs::create_dir(&path)
                    .map_err(|e| AgentError::Io { context: format!("cannot create {}", path.display()), source: e })?;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                    .map_err(|e| AgentError::Io { context: format!("cannot set permissions of {}", path.display()), source: e })?;
            }
        }
    }
    Ok(())
}

/// Follows `rel` inside `root` the way the kernel would (symlink by symlink, `..` after the
/// link is followed) and returns the path it reaches, or `None` if it leaves `root` or loops.
/// A purely lexical check is not enough: `d/l -> .` plus `d/m -> l/../..` looks inside but
/// lands outside.
pub fn resolve_inside(root: &Path, rel: &Path) -> Option<PathBuf> {
    let mut stack: Vec<OsString> = Vec::new();
    let mut pending: Vec<OsString> = Vec::new();
    // `pending` is a stack of components still to walk, last = next.
    let push_path = |pending: &mut Vec<OsString>, path: &Path| -> Option<()> {
        let mut parts = Vec::new();
        for c in path.components() {
            match c {
                Component::Normal(p) => parts.push(p.to_os_string()),
                Component::ParentDir => parts.push(OsString::from("..")),
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => return None,
            }
        }
        pending.extend(parts.into_iter().rev());
        Some(())
    };
    push_path(&mut pending, rel)?;
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            stack.pop()?;
            continue;
        }
        stack.push(part);
        let here: PathBuf = stack.iter().fold(root.to_path_buf(), |p, c| p.join(c));
        if std::fs::symlink_metadata(&here).map(|m| m.file_type().is_symlink()).unwrap_or(false) {
            hops += 1;
            if hops > 40 {
                return None;
            }
            let target = std::fs::read_link(&here).ok()?;
            stack.pop();
            push_path(&mut pending, &target)?;
        }
    }
    Some(stack.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_chain_that_looks_inside_but_lands_outside_is_caught() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("d")).unwrap();
        std::os::unix::fs::symlink(".", root.path().join("d/l")).unwrap();
        std::os::unix::fs::symlink("l/../..", root.path().join("d/m")).unwrap();
        std::os::unix::fs::symlink("../d/l", root.path().join("d/ok")).unwrap();
        assert_eq!(resolve_inside(root.path(), Path::new("d/m")), None);
        assert_eq!(resolve_inside(root.path(), Path::new("d/ok")), Some(PathBuf::from("d")));
        std::os::unix::fs::symlink("loop", root.path().join("loop")).unwrap();
        assert_eq!(resolve_inside(root.path(), Path::new("loop")), None);
    }

    fn archive(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        use std::io::Write;
        let mut builder = tar::Builder::new(Vec::new());
        build(&mut builder);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&builder.into_inner().unwrap()).unwrap();
        gz.finish().unwrap()
    }

    fn header(kind: EntryType, size: u64, mode: u32) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(mode);
        header
    }

    #[test]
    fn a_well_formed_release_with_links_inside_unpacks_whole() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = archive(|b| {
            b.append_data(&mut header(EntryType::Directory, 0, 0o755), "app/", std::io::empty()).unwrap();
            b.append_data(&mut header(EntryType::Regular, 3, 0o755), "app/run", &b"abc"[..]).unwrap();
            b.append_link(&mut header(EntryType::Symlink, 0, 0o777), "app/latest", "run").unwrap();
            b.append_link(&mut header(EntryType::Symlink, 0, 0o777), "top", "app/../app/run").unwrap();
            b.append_link(&mut header(EntryType::Link, 0, 0o644), "app/copy", "app/run").unwrap();
        });
        let archive_path = dir.path().join("r.tar.gz");
        std::fs::write(&archive_path, bytes).unwrap();
        let target = dir.path().join("releases/r1");
        std::fs::create_dir(dir.path().join("releases")).unwrap();
        let limits = UnpackLimits { max_bytes: 1 << 20, max_entries: 100 };
        let unpacked = unpack(&archive_path, &target, limits).unwrap();
        assert_eq!(unpacked, Unpacked { files: 2, bytes: 3 });
        assert_eq!(std::fs::read(target.join("app/latest")).unwrap(), b"abc");
        assert_eq!(std::fs::read(target.join("top")).unwrap(), b"abc");
        assert_eq!(std::fs::read(target.join("app/copy")).unwrap(), b"abc");
        assert_eq!(std::fs::metadata(target.join("app/run")).unwrap().permissions().mode() & 0o777, 0o755);
        // Nothing but the release itself is left in releases/.
        assert_eq!(std::fs::read_dir(dir.path().join("releases")).unwrap().count(), 1);
    }

    #[test]
    fn too_many_entries_are_refused_and_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = archive(|b| {
            for i in 0..5 {
                b.append_data(&mut header(EntryType::Regular, 1, 0o644), format!("f{i}"), &b"x"[..]).unwrap();
            }
        });
        let archive_path = dir.path().join("r.tar.gz");
        std::fs::write(&archive_path, bytes).unwrap();
        let err = unpack(&archive_path, &dir.path().join("r1"), UnpackLimits { max_bytes: 1 << 20, max_entries: 3 }).unwrap_err();
        assert!(err.to_string().contains("more than 3 entries"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "only the archive remains");
    }

    #[test]
    fn entry_paths_are_cleaned_or_refused() {
        assert_eq!(relative_inside(Path::new("./a/./b")).unwrap(), PathBuf::from("a/b"));
        assert_eq!(relative_inside(Path::new("../etc/passwd")).unwrap_err(), "escapes the release directory");
        assert!(relative_inside(Path::new("/etc/passwd")).unwrap_err().contains("absolute"));
    }
}
