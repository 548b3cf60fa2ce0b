//! Looking inside an uploaded candidate before anything is created on a host: the tarball must
//! read to its end as gzip + tar, keep every entry inside the release directory, and say how
//! the site starts (`switchyard.toml` or `Procfile` at its root, or the legacy executable
//! `bin/site`), in a form core's manifest parser accepts, the way the agent will read it. A
//! go-live refused here leaves the host untouched.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use switchyard_core::manifest::{ManifestSource, ReleaseManifest, MANIFEST_FILE, PROCFILE};

/// The legacy start program, run as `bin/site serve`.
pub const LEGACY_START: &str = "bin/site";

/// A manifest or Procfile larger than this is not a start description but a mistake.
const MAX_START_FILE_BYTES: u64 = 1 << 20;

/// What a candidate holds that decides how it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CandidateContents {
    /// The text of `switchyard.toml` at the root, if any.
    pub manifest: Option<String>,
    /// The text of `Procfile` at the root, if any.
    pub procfile: Option<String>,
    /// Whether `bin/site` is an executable regular file.
    pub has_bin_site: bool,
    /// How many entries the archive holds.
    pub entries: u64,
    /// The manifest the agent will run it by (`switchyard.toml` before a `Procfile`), parsed.
    pub declared: Option<(ManifestSource, ReleaseManifest)>,
}

impl CandidateContents {
    /// Whether the agent has a way to start this candidate.
    pub fn can_start(&self) -> bool {
        self.manifest.is_some() || self.procfile.is_some() || self.has_bin_site
    }
}

/// Why a candidate cannot go live; each message names the file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum CandidateRefusal {
    #[error("cannot open candidate {path}: {source}; upload it again")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("candidate {file} is not a readable .tar.gz ({source}); build the archive again (tar czf) and upload it")]
    Corrupt { file: String, source: std::io::Error },
    #[error("candidate {file}: entry {entry} {why}; pack the release with paths relative to its root")]
    Escapes { file: String, entry: String, why: &'static str },
    #[error(
        "candidate {file} unpacks to more than {limit}, the limit on a candidate's unpacked size; make the release smaller, \
         or raise it for the site (switchyard site limits --max-unpacked SIZE) or every site (switchyard serve --candidate-max-unpacked-bytes)"
    )]
    TooLarge { file: String, limit: String },
    #[error(
        "candidate {file} holds more than {limit} files and directories, the limit per candidate; pack fewer files, \
         or raise it for the site (switchyard site limits --max-entries N) or every site (switchyard serve --candidate-max-entries)"
    )]
    TooManyEntries { file: String, limit: u64 },
    #[error("candidate {file}: {name} is larger than 1 MiB; it should only describe how the site starts")]
    StartFileTooLarge { file: String, name: &'static str },
    #[error("candidate {file}: {name} is not UTF-8 text; save it as UTF-8")]
    NotText { file: String, name: &'static str },
    #[error(
        "candidate {file} does not say how to start the site: add switchyard.toml (with [web] command = \"...\") \
         or a Procfile (web: <command>) at the root of the archive and upload it again, or give the site a runtime \
         manifest (switchyard site runtime)"
    )]
    NoStartCommand { file: String },
    /// `problems` holds `switchyard.toml:LINE: message` lines.
    #[error("candidate {file} cannot start as it is:\n{problems}\nfix the file, build the archive again and upload it")]
    BadManifest { file: String, problems: String },
}

/// How far a candidate may unpack: bytes of regular files and entries in the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackBudget {
    pub max_bytes: u64,
    pub max_entries: u64,
}

impl UnpackBudget {
    /// What the decompressed stream may hold in all: the files plus tar's headers and padding
    /// (about 1 KiB an entry at most) and some slack. Past it the read stops, so zeros after the
    /// end marker or in long-name or pax headers cannot make the check read on for gigabytes.
    fn stream_bytes(self) -> u64 {
        self.max_bytes.saturating_add(self.max_entries.saturating_mul(1024)).saturating_add(16 << 20)
    }
}

/// Counts the decompressed bytes and fails the read past `limit`.
struct Budgeted<R> {
    inner: R,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
    limit: u64,
}

impl<R: Read> Read for Budgeted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::sync::atomic::Ordering;
        if self.read.load(Ordering::Relaxed) > self.limit {
            return Err(std::io::Error::other("the unpacked-size limit was reached"));
        }
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A size in the unit people configure it in.
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b => format!("{b} bytes"),
    }
}

/// Reads the whole archive at `path` once, to its gzip trailer, stopping as soon as it would
/// unpack past `budget`. Blocking: call it off the async threads.
pub fn inspect_candidate(path: &Path, budget: UnpackBudget) -> Result<CandidateContents, CandidateRefusal> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let too_large = || CandidateRefusal::TooLarge { file: file_name.clone(), limit: human_bytes(budget.max_bytes) };
    let corrupt = |source| {
        if read.load(std::sync::atomic::Ordering::Relaxed) > budget.stream_bytes() {
            too_large()
        } else {
            CandidateRefusal::Corrupt { file: file_name.clone(), source }
        }
    };
    let file = std::fs::File::open(path).map_err(|source| CandidateRefusal::Open { path: path.to_owned(), source })?;
    let decompressed =
        Budgeted { inner: flate2::read::GzDecoder::new(std::io::BufReader::new(file)), read: read.clone(), limit: budget.stream_bytes() };
    let mut archive = tar::Archive::new(decompressed);
    let mut contents = CandidateContents::default();
    let mut file_bytes: u64 = 0;
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        contents.entries += 1;
        if contents.entries > budget.max_entries {
            return Err(CandidateRefusal::TooManyEntries { file: file_name, limit: budget.max_entries });
        }
        // The header says how much the entry unpacks to: a bomb is refused before it is inflated.
        file_bytes = file_bytes.saturating_add(entry.size());
        if file_bytes > budget.max_bytes {
            return Err(too_large());
        }
        let raw = entry.path().map_err(corrupt)?.into_owned();
        let escapes = |why| CandidateRefusal::Escapes { file: file_name.clone(), entry: raw.display().to_string(), why };
        let relative = inside_root(&raw).map_err(escapes)?;
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry.link_name().map_err(corrupt)?.unwrap_or_default().into_owned();
            let base = if kind.is_symlink() { relative.parent().map(Path::to_path_buf).unwrap_or_default() } else { PathBuf::new() };
            inside_root(&base.join(&target)).map_err(|_| escapes("links outside the release directory"))?;
        }
        let start_file = match relative.to_str() {
            Some(MANIFEST_FILE) if kind.is_file() => Some(MANIFEST_FILE),
            Some(PROCFILE) if kind.is_file() => Some(PROCFILE),
            Some(LEGACY_START) if kind.is_file() || kind.is_hard_link() => {
                contents.has_bin_site |= entry.header().mode().map(|m| m & 0o111 != 0).unwrap_or(false);
                None
            }
            _ => None,
        };
        if let Some(name) = start_file {
            let text = read_start_file(&mut entry, &file_name, name)?;
            if name == MANIFEST_FILE {
                contents.manifest = Some(text);
            } else {
                contents.procfile = Some(text);
            }
        } else {
            // Reading every byte is what checks the gzip stream of a truncated upload.
            std::io::copy(&mut entry, &mut std::io::sink()).map_err(corrupt)?;
        }
    }
    // The tar end marker can come before a broken gzip trailer: read to the very end.
    std::io::copy(&mut archive.into_inner(), &mut std::io::sink()).map_err(corrupt)?;
    if !contents.can_start() {
        return Err(CandidateRefusal::NoStartCommand { file: file_name });
    }
    if let Some((source, parsed)) = ReleaseManifest::from_release_files(contents.manifest.as_deref(), contents.procfile.as_deref()) {
        let manifest =
            parsed.map_err(|problems| CandidateRefusal::BadManifest { file: file_name, problems: problems.in_file(source.file_name()) })?;
        contents.declared = Some((source, manifest));
    }
    Ok(contents)
}

fn read_start_file(entry: &mut impl Read, file: &str, name: &'static str) -> Result<String, CandidateRefusal> {
    let mut bytes = Vec::new();
    entry
        .take(MAX_START_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| CandidateRefusal::Corrupt { file: file.to_owned(), source })?;
    if bytes.len() as u64 > MAX_START_FILE_BYTES {
        return Err(CandidateRefusal::StartFileTooLarge { file: file.to_owned(), name });
    }
    String::from_utf8(bytes).map_err(|_| CandidateRefusal::NotText { file: file.to_owned(), name })
}

/// The entry's path relative to the release root, or why it would land outside it.
fn inside_root(path: &Path) -> Result<PathBuf, &'static str> {
    let mut inside = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => inside.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !inside.pop() {
                    return Err("escapes the release directory with ..");
                }
            }
            Component::RootDir | Component::Prefix(_) => return Err("is an absolute path"),
        }
    }
    Ok(inside)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn inspect(path: &Path) -> Result<CandidateContents, CandidateRefusal> {
        inspect_candidate(path, UnpackBudget { max_bytes: 1 << 30, max_entries: 1000 })
    }

    fn tarball(dir: &Path, entries: &[(&str, &[u8], u32)]) -> PathBuf {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data, mode) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(*mode);
            header.set_entry_type(tar::EntryType::Regular);
            // Written by hand so hostile paths reach the archive as they are.
            header.as_gnu_mut().unwrap().name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&builder.into_inner().unwrap()).unwrap();
        let path = dir.join("candidate.tar.gz");
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        path
    }

    #[test]
    fn a_manifest_a_procfile_or_an_executable_bin_site_says_how_to_start() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = inspect(&tarball(dir.path(), &[("./switchyard.toml", b"[web]\ncommand = \"x\"\n", 0o644)])).unwrap();
        assert_eq!(manifest.manifest.as_deref(), Some("[web]\ncommand = \"x\"\n"));
        let procfile = inspect(&tarball(dir.path(), &[("app.py", b"", 0o644), ("Procfile", b"web: python3 app.py\n", 0o644)])).unwrap();
        assert_eq!((procfile.procfile.as_deref(), procfile.entries), (Some("web: python3 app.py\n"), 2));
        let legacy = inspect(&tarball(dir.path(), &[("bin/site", b"#!/bin/sh\n", 0o755)])).unwrap();
        assert!(legacy.has_bin_site && legacy.manifest.is_none());
    }

    #[test]
    fn a_candidate_without_a_start_command_is_refused_with_what_to_add() {
        let dir = tempfile::tempdir().unwrap();
        for entries in
            [&[("index.php", &b"<?php"[..], 0o644)][..], &[("bin/site", b"#!/bin/sh\n", 0o644)], &[("sub/switchyard.toml", b"", 0o644)]]
        {
            let error = inspect(&tarball(dir.path(), entries)).unwrap_err().to_string();
            assert!(
                error.contains("does not say how to start") && error.contains("switchyard.toml") && error.contains("Procfile"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_manifest_or_procfile_core_refuses_is_refused_with_its_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = b"[web]\ncommand = \"gunicorn app\"\nport = 8000\n";
        let error = inspect(&tarball(dir.path(), &[("switchyard.toml", manifest, 0o644)])).unwrap_err().to_string();
        assert!(error.contains("switchyard.toml:3: ") && error.contains("fix the file"), "{error}");
        let error = inspect(&tarball(dir.path(), &[("Procfile", b"worker: celery\n", 0o644)])).unwrap_err().to_string();
        assert!(error.contains("Procfile:") && error.contains("web"), "{error}");
    }

    #[test]
    fn entries_escaping_the_release_directory_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let error = inspect(&tarball(dir.path(), &[("Procfile", b"web: x\n", 0o644), ("a/../../etc/passwd", b"", 0o644)])).unwrap_err();
        assert!(error.to_string().contains("entry a/../../etc/passwd escapes the release directory"), "{error}");
        let error = inspect(&tarball(dir.path(), &[("/etc/cron.d/x", b"", 0o644)])).unwrap_err();
        assert!(error.to_string().contains("is an absolute path"), "{error}");
    }

    #[test]
    fn not_gzip_or_broken_off_archives_are_refused_as_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let good = tarball(dir.path(), &[("Procfile", b"web: x\n", 0o644), ("big", &vec![7u8; 200_000], 0o644)]);
        let bytes = std::fs::read(&good).unwrap();
        let cut = dir.path().join("cut.tar.gz");
        std::fs::write(&cut, &bytes[..bytes.len() - 9]).unwrap();
        let plain = dir.path().join("plain.tar.gz");
        std::fs::write(&plain, b"just text, not gzip").unwrap();
        for path in [cut, plain] {
            let error = inspect(&path).unwrap_err().to_string();
            assert!(error.contains("is not a readable .tar.gz") && error.contains("upload it"), "{error}");
        }
    }
}
