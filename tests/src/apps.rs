//! The stock test applications in `tests/apps/`: a Django project served by gunicorn and a PHP
//! guestbook on PHP's own server, neither written to Switchyard's conventions (no `bin/site`,
//! no `/health`), each with only a `switchyard.toml` added. A release is the application's
//! `base/` tree, with the `v2/` tree laid over it for version 2 (a schema migration and the
//! code that needs it), packed with the system's `tar` in a fixed order so equal trees give
//! equal sha256s.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One test application: where its trees are and how its API reads and writes.
#[derive(Debug, Clone, Copy)]
pub struct App {
    /// The folder under `tests/apps/`.
    pub folder: &'static str,
    /// The path a write is POSTed to (form-encoded) and the list is read from.
    pub collection: &'static str,
    /// The form field a write carries, and the key of each listed item that holds it.
    pub field: &'static str,
}

pub const DJANGO_NOTES: App = App { folder: "django-notes", collection: "/notes", field: "text" };
pub const PHP_GUESTBOOK: App = App { folder: "php-guestbook", collection: "/entries", field: "message" };

fn apps_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("apps")
}

/// The `bin` directory of the Python test applications' virtualenv, which `cargo xtask test`
/// installs from PyPI (gunicorn, Django); prepend it to `PATH` for the agent that runs them.
pub fn python_apps_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the workspace").join("target/python-apps/bin");
    assert!(bin.join("gunicorn").is_file(), "{} has no gunicorn; run `cargo xtask test` (or `cargo xtask setup`) first", bin.display());
    bin
}

/// `PATH` with the test applications' tools first.
pub fn path_with_apps() -> String {
    format!("{}:{}", python_apps_bin().display(), std::env::var("PATH").unwrap_or_default())
}

impl App {
    /// Packs version 1 (`with_v2 == false`) or 2 of the application into `dir`, with
    /// `manifest` replacing its `switchyard.toml` when given (`Some("")` leaves it out).
    /// Returns the tarball and its sha256 from `sha256sum`.
    pub fn release(&self, dir: &Path, with_v2: bool, manifest: Option<&str>) -> (PathBuf, String) {
        self.pack(dir, with_v2, manifest, None)
    }

    /// Version 1's code and schema under another version number (`1.1.0`): a release with no
    /// migration, for blue-green.
    pub fn relabelled(&self, dir: &Path, version: &str) -> (PathBuf, String) {
        self.pack(dir, false, None, Some(version))
    }

    fn pack(&self, dir: &Path, with_v2: bool, manifest: Option<&str>, version: Option<&str>) -> (PathBuf, String) {
        let label = version.unwrap_or(if with_v2 { "2.0.0" } else { "1.0.0" });
        let build = dir.join(format!("build-{}", rand_suffix()));
        let tree = build.join("tree");
        copy_tree(&apps_dir().join(self.folder).join("base"), &tree);
        if with_v2 {
            copy_tree(&apps_dir().join(self.folder).join("v2"), &tree);
        }
        if let Some(version) = version {
            std::fs::write(tree.join("VERSION"), format!("{version}\n")).unwrap();
        }
        match manifest {
            Some("") => std::fs::remove_file(tree.join("switchyard.toml")).unwrap(),
            Some(text) => std::fs::write(tree.join("switchyard.toml"), text).unwrap(),
            None => {}
        }
        let tarball = build.join(format!("{}-{label}.tar.gz", self.folder));
        let tar = Command::new("tar")
            .args([
                "--sort=name",
                "--owner=0",
                "--group=0",
                "--numeric-owner",
                "--mtime=2026-01-01 00:00Z",
                "--exclude=__pycache__",
                "-czf",
            ])
            .arg(&tarball)
            .arg("-C")
            .arg(&tree)
            .arg(".")
            .output()
            .unwrap();
        assert!(tar.status.success(), "tar failed: {}", String::from_utf8_lossy(&tar.stderr));
        let sum = Command::new("sha256sum").arg(&tarball).output().unwrap();
        let sha = String::from_utf8_lossy(&sum.stdout).split_whitespace().next().unwrap().to_owned();
        (tarball, sha)
    }

    /// The application's own manifest, for tests that change one line of it.
    pub fn manifest(&self) -> String {
        std::fs::read_to_string(apps_dir().join(self.folder).join("base/switchyard.toml")).unwrap()
    }
}

fn rand_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{nanos:x}")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let copy = Command::new("cp").arg("-a").arg(format!("{}/.", from.display())).arg(to).output().unwrap();
    assert!(copy.status.success(), "cp {} failed: {}", from.display(), String::from_utf8_lossy(&copy.stderr));
}
