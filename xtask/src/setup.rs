//! Installs what is missing: Debian packages (when root), the wasm32 target, trunk, the
//! wasm-bindgen CLI at the lockfile's version, and tauri-driver for the desktop tests.

use crate::run;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Run,
    Test,
    Bench,
}

/// Debian packages to build the desktop app (WebKitGTK) and to run the app.
/// `brotli` compresses the UI bundle (`bundle.rs`).
const RUN_PACKAGES: &[&str] = &["build-essential", "pkg-config", "libssl-dev", "libwebkit2gtk-4.1-dev", "librsvg2-dev", "brotli"];
/// Extra packages the tests use: a real browser and its driver, X for the desktop app and
/// WebKit's driver, tools the agent calls.
const TEST_PACKAGES: &[&str] = &[
    "chromium",
    "chromium-driver",
    "xvfb",
    "xauth",
    "webkit2gtk-driver",
    "rsync",
    "sqlite3",
    // The PHP test application runs on PHP's own server with PDO SQLite.
    "php-cli",
    "php-sqlite3",
    // The Python test application's virtualenv.
    "python3-venv",
    // Customers' database servers, started by the tests from temporary directories, and the
    // client tools the agent copies and checks their databases with.
    "postgresql",
    "postgresql-client",
    // Change capture on PostgreSQL decodes the WAL with this output plugin.
    "postgresql-15-wal2json",
    "mariadb-server",
    "mariadb-client",
    "php-pgsql",
    "php-mysql",
];
/// What the benchmarks compare against: nginx as the proxy baseline, wrk as a second load tool.
const BENCH_PACKAGES: &[&str] = &["nginx", "wrk", "rsync"];

/// Pinned because newer trunk needs a newer rustc than this machine has.
const TRUNK_VERSION: &str = "0.21.14";
const TAURI_DRIVER_VERSION: &str = "2.1.0";

pub fn ensure(root: &Path, purpose: Purpose) -> Result<()> {
    let mut packages: Vec<&str> = RUN_PACKAGES.to_vec();
    match purpose {
        Purpose::Run => {}
        Purpose::Test => packages.extend(TEST_PACKAGES),
        Purpose::Bench => packages.extend(BENCH_PACKAGES),
    }
    // npm fetches binaryen's wasm-opt for the UI bundle; a Node installed outside Debian's
    // packages is as good, so Debian's npm is only installed when none runs.
    if !Command::new("npm").arg("--version").output().is_ok_and(|o| o.status.success()) {
        packages.push("npm");
    }
    ensure_debian_packages(&packages)?;
    if purpose == Purpose::Bench {
        return Ok(());
    }
    ensure_wasm_target()?;
    ensure_cargo_tool("trunk", TRUNK_VERSION, true)?;
    ensure_cargo_tool("wasm-bindgen-cli", &locked_version(root, "wasm-bindgen")?, false)?;
    if purpose == Purpose::Test {
        ensure_cargo_tool("tauri-driver", TAURI_DRIVER_VERSION, true)?;
        ensure_python_apps(root)?;
    }
    Ok(())
}

/// The virtualenv the Python test applications run in (`target/python-apps`), with the
/// packages `tests/apps/requirements.txt` pins, installed from PyPI. Reinstalled only when the
/// requirements change: a copy of them inside the virtualenv says what it holds.
fn ensure_python_apps(root: &Path) -> Result<()> {
    let requirements = root.join("tests/apps/requirements.txt");
    // Debian's interpreter, not one under a user's home: the applications run as their sites'
    // own users, who cannot reach /root (a virtualenv links its interpreter, it does not copy it).
    let python = if Path::new("/usr/bin/python3").is_file() { "/usr/bin/python3" } else { "python3" };
    let listed = std::fs::read_to_string(&requirements).with_context(|| format!("cannot read {}", requirements.display()))?;
    let wanted = format!("{listed}# interpreter: {python}\n");
    let venv = python_apps_dir(root);
    let stamp = venv.join("requirements.txt");
    if std::fs::read_to_string(&stamp).is_ok_and(|held| held == wanted) && venv.join("bin/gunicorn").is_file() {
        return Ok(());
    }
    eprintln!("xtask: installing the Python test applications' packages into {}", venv.display());
    let _ = std::fs::remove_dir_all(&venv);
    run(Command::new(python).args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--no-cache-dir", "--disable-pip-version-check", "-r"])
        .arg(&requirements))?;
    std::fs::write(&stamp, wanted).with_context(|| format!("cannot write {}", stamp.display()))
}

/// Where the Python test applications' virtualenv lives; the e2e tests look for it here too.
fn python_apps_dir(root: &Path) -> PathBuf {
    root.join("target/python-apps")
}

fn ensure_debian_packages(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !debian_package_installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !is_root {
        bail!(
            "missing Debian packages: {}; install them with: sudo apt-get install -y --no-install-recommends {}",
            missing.join(" "),
            missing.join(" ")
        );
    }
    eprintln!("xtask: installing Debian packages {}", missing.join(" "));
    run(Command::new("apt-get").args(["update", "-q"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn debian_package_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed to add the wasm32 target; install Rust with rustup")?;
    if String::from_utf8_lossy(&installed.stdout).lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// Where `cargo install` puts binaries.
pub fn cargo_bin(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    home.join("bin").join(name)
}

/// Installs `krate` at exactly `version` unless cargo already installed that version (and its
/// binary is still there). `cargo install --list` is asked because not every tool answers
/// `--version` (tauri-driver does not).
fn ensure_cargo_tool(krate: &str, version: &str, locked: bool) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let listed = Command::new(&cargo).args(["install", "--list"]).output().context("cannot run cargo install --list")?;
    let wanted = format!("{krate} v{version}:");
    let mut lines = String::from_utf8_lossy(&listed.stdout).into_owned();
    lines.push('\n');
    let mut installed = false;
    let mut in_entry = false;
    for line in lines.lines() {
        if !line.starts_with(' ') {
            in_entry = line.trim() == wanted;
        } else if in_entry && cargo_bin(line.trim()).is_file() {
            installed = true;
        }
    }
    if installed {
        return Ok(());
    }
    eprintln!("xtask: installing {krate} {version} (a few minutes, once)");
    let mut install = Command::new(cargo);
    install.args(["install", krate, "--version", version, "--force"]);
    // wasm-bindgen-cli's own lockfile names a crate release the registry mirror lacks, so it
    // resolves fresh; the others install exactly as their authors locked them.
    if locked {
        install.arg("--locked");
    }
    run(&mut install)
}

/// The version of `package` that Cargo.lock pins.
fn locked_version(root: &Path, package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("cannot read Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == format!("name = \"{package}\"") {
            if let Some(version) = lines.next().and_then(|l| l.trim().strip_prefix("version = \"")) {
                return Ok(version.trim_end_matches('"').to_owned());
            }
        }
    }
    bail!("Cargo.lock has no {package}; run `cargo generate-lockfile`")
}
