//! Helpers for the end-to-end tests: start the real `switchyard` binary, a real Chromium through
//! chromedriver, and the real desktop app through tauri-driver under Xvfb, each in temporary
//! directories, killed when dropped, and describing everything useful when they fail.

pub mod apps;
pub mod browser;
pub mod database;
pub mod desktop;
pub mod paced;
pub mod process;
pub mod release;
pub mod server;
pub mod traffic;

use std::path::PathBuf;

/// A binary built from this workspace (`cargo xtask test` builds them all before testing).
pub fn workspace_binary(name: &str) -> PathBuf {
    // Test binaries live in target/<profile>/deps; the workspace's binaries one level up.
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("test binary is in target/<profile>/deps");
    let path = dir.join(name);
    assert!(path.is_file(), "{} is not built; run `cargo xtask test` (or `cargo build --workspace --bins`) first", path.display());
    path
}

/// Where `cargo install` put a tool.
pub fn cargo_bin(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("HOME or CARGO_HOME is set");
    home.join("bin").join(name)
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A system tool the tests need; a clear message when it is missing.
pub fn system_tool(path: &str, package: &str) -> PathBuf {
    let path = PathBuf::from(path);
    assert!(path.exists(), "{} is missing; install the Debian package {package} (cargo xtask test does)", path.display());
    path
}
