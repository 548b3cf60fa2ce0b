//! The register of every database the agent made on a database server (a private clone's copy,
//! a snapshot's copy), with what and which site it was made for, kept in
//! `<root>/secrets/made-databases.json`. An entry is written before the database is created
//! and removed only after it was dropped, so a database the agent made is never one it forgot:
//! a copy broken off by a crash shows as a leftover support can remove, and a database the
//! operator declared is never taken for the agent's own.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::{io_context, AgentError, Result};

/// What the agent made a database for: its lifetime is that thing's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MadeFor {
    /// The private copy of environment `env` (a rehearsal or a no-migration candidate): it
    /// goes with the environment.
    Environment { env: String },
    /// The copy a snapshot `snapshot` of data volume `volume` keeps of a database its
    /// environments bind: it goes with the snapshot.
    Snapshot { volume: String, snapshot: String },
}

impl std::fmt::Display for MadeFor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MadeFor::Environment { env } => write!(f, "copy for environment {env}"),
            MadeFor::Snapshot { volume, snapshot } => write!(f, "snapshot of {volume} ({snapshot})"),
        }
    }
}

/// One database the agent made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MadeDatabase {
    pub server: String,
    pub database: String,
    /// The login the agent made to own it, removed with it; `None` when it belongs to a login
    /// the agent did not make (a snapshot keeps its source's owner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// The key of the site it holds data of (`EnvConfig.site`), never a display name.
    pub site: String,
    pub made_for: MadeFor,
    /// When it was registered (RFC 3339, UTC).
    pub made_at: String,
}

impl MadeDatabase {
    pub fn new(server: &str, database: &str, login: Option<&str>, site: &str, made_for: MadeFor) -> MadeDatabase {
        MadeDatabase {
            server: server.to_owned(),
            database: database.to_owned(),
            login: login.map(str::to_owned),
            site: site.to_owned(),
            made_for,
            made_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

#[derive(Default, Serialize, Deserialize)]
struct RegisterFile {
    #[serde(default)]
    databases: Vec<MadeDatabase>,
}

/// Clones of different environments run at once: each change re-reads the file under this
/// lock, so one never writes back a register without another's entry (one agent per root).
static CHANGING: Mutex<()> = Mutex::new(());

pub(super) fn register_file(root: &Path) -> PathBuf {
    root.join("secrets").join("made-databases.json")
}

pub(super) fn read(root: &Path) -> Result<Vec<MadeDatabase>> {
    let path = register_file(root);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_context(format!("cannot read {}", path.display()))(e)),
    };
    let file: RegisterFile = serde_json::from_slice(&text).map_err(|e| {
        AgentError::Internal(format!(
            "{} does not read ({e}): restore it from a backup; it lists the databases the agent made",
            path.display()
        ))
    })?;
    Ok(file.databases)
}

/// Applies `change` to the register on disk and answers the register as written.
pub(super) fn change(root: &Path, change: impl FnOnce(&mut Vec<MadeDatabase>)) -> Result<Vec<MadeDatabase>> {
    let _changing = CHANGING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut databases = read(root)?;
    change(&mut databases);
    let text = serde_json::to_vec_pretty(&RegisterFile { databases: databases.clone() })
        .map_err(|e| AgentError::Internal(format!("cannot encode the register of made databases: {e}")))?;
    super::catalog::write_private(&register_file(root), &text)?;
    Ok(databases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_register_keeps_every_entry_of_changes_made_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let root = root.clone();
                std::thread::spawn(move || {
                    let made =
                        MadeDatabase::new("main", &format!("shop_{i}"), Some("u"), "shop", MadeFor::Environment { env: format!("e{i}") });
                    change(&root, |all| all.push(made)).unwrap();
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(read(&root).unwrap().len(), 8);
        let snapshot = MadeFor::Snapshot { volume: "shop".into(), snapshot: "r1".into() };
        assert_eq!(snapshot.to_string(), "snapshot of shop (r1)");
    }
}
