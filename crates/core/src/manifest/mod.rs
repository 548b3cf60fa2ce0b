//! The release manifest: one file, `switchyard.toml` at the root of a release tarball (or a
//! Heroku-style `Procfile`), that says how the host agent runs a stock application (Django
//! under gunicorn, PHP, Node...) instead of Switchyard's private conventions.
//!
//! ```toml
//! [web]
//! command = "gunicorn --bind 127.0.0.1:$PORT notes.wsgi"  # required; run by /bin/sh -c "exec ..." in the release directory
//! port_variable = "PORT"      # optional, default "PORT": the variable that carries the port (PORT is always set as well)
//! stop_signal = "SIGTERM"     # optional: SIGTERM (default), SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2
//! stop_timeout_secs = 10      # optional, default 10, 1..=3600
//!
//! [health]                    # optional table; default: tcp connect to the port
//! http_path = "/version"      # exactly one of http_path, command, tcp = true
//! expect_status = 200         # only with http_path; default 200 (100..=599)
//! # command = "curl -fsS localhost:$PORT/"   # healthy when it exits 0
//! # tcp = true                # healthy once the port accepts a connection
//! timeout_secs = 30           # optional, default 30, 1..=3600: how long the site may take to turn healthy
//!
//! [migrate]                   # optional
//! command = "python3 manage.py migrate --noinput"   # required in the table
//! down = "python3 manage.py migrate notes 0001"     # optional: undoes the migration (rollback)
//! timeout_secs = 600          # optional, default 600
//!
//! [data]                      # optional: what the site keeps, relative to $DATA_DIR (the site's data volume)
//! sqlite = ["notes.sqlite3"]  # SQLite database files
//! paths = ["uploads"]         # other files or directories
//!
//! [env]                       # optional: variables for the site and its steps; "${NAME}" expands
//! NOTES_DB = "${DATA_DIR}/notes.sqlite3"   # NAME one of PORT, DATA_DIR, SHARED_DIR, RELEASE_DIR, SWITCHYARD_ENV
//! ```
//!
//! A `Procfile` gives `web: <command>` (required) and `release: <command>` (the migration);
//! other process types are ignored and health is a TCP connect.

mod parse;
mod procfile;
mod render;
mod source;

pub use source::ManifestSource;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The manifest's file name at the root of a release.
pub const MANIFEST_FILE: &str = "switchyard.toml";
/// The Heroku-style alternative, read when there is no [`MANIFEST_FILE`].
pub const PROCFILE: &str = "Procfile";

/// Variables the agent sets itself: `${NAME}` in `[env]` may name them, `[env]` may not set them.
pub const PROVIDED_VARIABLES: [&str; 5] = ["PORT", "DATA_DIR", "SHARED_DIR", "RELEASE_DIR", "SWITCHYARD_ENV"];

/// How to run one release: its web process, when it counts as healthy, its migration, what
/// data it keeps and the variables it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseManifest {
    pub web: WebProcess,
    pub health: HealthCheck,
    pub migrate: Option<Migration>,
    pub data: DataPaths,
    /// Values may hold `${NAME}` for a [`PROVIDED_VARIABLES`] name; see [`expand_env`].
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebProcess {
    /// A shell command line, run as `/bin/sh -c "exec <command>"` in the release directory.
    pub command: String,
    /// The variable that carries the port, besides `PORT` itself.
    pub port_variable: String,
    pub stop_signal: StopSignal,
    /// How long the process may take to exit after `stop_signal` before it is killed.
    pub stop_timeout_secs: u32,
}

/// The signal that asks the web process to stop (then SIGKILL after the stop timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopSignal {
    Term,
    Int,
    Quit,
    Hup,
    Usr1,
    Usr2,
}

impl StopSignal {
    pub const ALL: [StopSignal; 6] =
        [StopSignal::Term, StopSignal::Int, StopSignal::Quit, StopSignal::Hup, StopSignal::Usr1, StopSignal::Usr2];

    /// The name as written in the manifest, e.g. `SIGTERM`.
    pub fn as_str(self) -> &'static str {
        match self {
            StopSignal::Term => "SIGTERM",
            StopSignal::Int => "SIGINT",
            StopSignal::Quit => "SIGQUIT",
            StopSignal::Hup => "SIGHUP",
            StopSignal::Usr1 => "SIGUSR1",
            StopSignal::Usr2 => "SIGUSR2",
        }
    }
}

impl fmt::Display for StopSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub probe: HealthProbe,
    /// How long the site may take after its start to turn healthy.
    pub timeout_secs: u32,
}

/// What makes a running site healthy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HealthProbe {
    /// `GET http://127.0.0.1:$PORT<path>` answers exactly `expect_status`.
    Http { path: String, expect_status: u16 },
    /// A shell command run in the release directory exits 0.
    Command { command: String },
    /// The port accepts a TCP connection.
    Tcp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migration {
    pub command: String,
    /// Undoes the migration, for a rollback.
    pub down: Option<String>,
    pub timeout_secs: u32,
}

/// What the site keeps, as paths relative to `$DATA_DIR`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataPaths {
    /// SQLite database files, copied with the online backup API.
    pub sqlite: Vec<String>,
    /// Other files or directories.
    pub paths: Vec<String>,
}

pub const DEFAULT_PORT_VARIABLE: &str = "PORT";
pub const DEFAULT_STOP_TIMEOUT_SECS: u32 = 10;
pub const DEFAULT_HEALTH_TIMEOUT_SECS: u32 = 30;
pub const DEFAULT_EXPECT_STATUS: u16 = 200;
pub const DEFAULT_MIGRATE_TIMEOUT_SECS: u32 = 600;

/// One problem in a manifest, at the line where it can be fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestError {
    /// 1-based line in the source.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Every problem found in a manifest, in line order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("the release manifest has {} problem(s):\n{}", .0.len(), lines(.0))]
pub struct ManifestErrors(pub Vec<ManifestError>);

fn lines(errors: &[ManifestError]) -> String {
    errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
}

impl ManifestErrors {
    /// The messages as `line N: ...` strings.
    pub fn messages(&self) -> Vec<String> {
        self.0.iter().map(|e| e.to_string()).collect()
    }

    /// The problems as `<file>:LINE: message` lines, the way compilers point into a file.
    pub fn in_file(&self, file: &str) -> String {
        self.0.iter().map(|e| format!("{file}:{}: {}", e.line, e.message)).collect::<Vec<_>>().join("\n")
    }
}

impl ReleaseManifest {
    /// A manifest that runs `command` with every default: health is a TCP connect to the port.
    pub fn for_command(command: &str) -> ReleaseManifest {
        ReleaseManifest {
            web: WebProcess {
                command: command.to_owned(),
                port_variable: DEFAULT_PORT_VARIABLE.to_owned(),
                stop_signal: StopSignal::Term,
                stop_timeout_secs: DEFAULT_STOP_TIMEOUT_SECS,
            },
            health: HealthCheck { probe: HealthProbe::Tcp, timeout_secs: DEFAULT_HEALTH_TIMEOUT_SECS },
            migrate: None,
            data: DataPaths::default(),
            env: BTreeMap::new(),
        }
    }

    /// Reads and checks `switchyard.toml`: every problem with its line and what to write instead.
    pub fn parse(source: &str) -> Result<ReleaseManifest, ManifestErrors> {
        parse::read(source)
    }

    /// Reads a `Procfile`: `web:` is the web process, `release:` the migration.
    pub fn from_procfile(source: &str) -> Result<ReleaseManifest, ManifestErrors> {
        procfile::read(source)
    }

    /// The canonical TOML text; [`ReleaseManifest::parse`] reads it back to the same manifest.
    pub fn render(&self) -> String {
        render::toml(self)
    }

    /// Human lines for review screens: what starts, how health is judged, the migration, the
    /// data kept and the variables set.
    pub fn summary(&self) -> Vec<String> {
        render::summary(self)
    }
}

/// Replaces each `${NAME}` in `value` by `vars[NAME]` (empty when `vars` has no such name).
/// Anything else, `$PORT` included, is left for the shell.
pub fn expand_env(value: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                out.push_str(vars.get(&after[..end]).map_or("", String::as_str));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
