//! Change capture on a live environment's databases: every insert, update and delete made
//! from the moment capture starts, in commit order, so a later step can replay them into a
//! copy (a migrated clone, a rollback's snapshot). One seam over the kinds, so the engine
//! never names a brand: SQLite files in `shared/` or the data volume get triggers into a
//! change table (`sqlite.rs`), PostgreSQL databases a logical replication slot drained into
//! the agent's own log (`postgres.rs`, `log.rs`), MariaDB databases the server's row binary
//! log, drained into that log too (`mariadb.rs`). `replay.rs` applies one environment's
//! captured changes to another's copy of the database; `schema.rs` says what one
//! environment's schema has that another's lacks (what a migration changed).
//!
//! What is in force is recorded in `<root>/captures/<env>.json` before a start answers, and
//! the changes live in the databases (triggers, slot) and in the agent's log, never in memory:
//! an agent restarted mid-capture loses nothing. Start, read and stop are all safe to repeat.
//!
//! The change format (see docs/databases.md): `key` is the row's key before the change (its
//! primary key columns, or `rowid` for a SQLite table without one; every column for a
//! PostgreSQL table without one), `row` the whole row after it (absent for a delete). Each
//! change sets its key to an absolute state, so replaying the changes in order as "upsert
//! `row`" / "delete `key`" converges on the live data from any copy taken after the start.

pub mod counters;
mod log;
pub mod mariadb;
pub mod postgres;
pub mod replay;
pub mod schema;
pub mod sqlite;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::databases::{Catalog, DatabaseBinding, DatabaseKind};
use crate::envs::load_config;
use crate::error::{io_context, AgentError, Result};
use crate::layout::{read_json, write_json, Layout};

/// What a change did to its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    Insert,
    Update,
    Delete,
}

/// One captured change, numbered in commit order within its database's capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub seq: u64,
    /// The table as the database names it (`notes`; `public.notes` on PostgreSQL).
    pub table: String,
    pub op: ChangeOp,
    /// The row's key before the change: column name → value.
    pub key: serde_json::Map<String, serde_json::Value>,
    /// The whole row after the change (not for a delete). A SQLite BLOB is `{"$hex": "..."}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Where one database's capture keeps its changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum CaptureSource {
    /// Triggers in the file itself.
    Sqlite,
    /// A replication slot on the server, drained into the agent's log.
    Postgresql {
        server: String,
        database: String,
        slot: String,
        /// Tables without a primary key set to `REPLICA IDENTITY FULL` by the start, put back
        /// by the stop.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        replica_identity_full: Vec<String>,
    },
    /// The server's row binary log from `starts_at` (`file:offset`), drained into the agent's
    /// log; nothing is installed on the server.
    Mariadb { server: String, database: String },
}

/// One database under capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    /// The database as `GET .../capture?database=` names it: `shared/<path>` or
    /// `volume/<path>` for a SQLite file, the binding's name (`default`) for a server's.
    pub database: String,
    pub source: CaptureSource,
    /// Where capture starts: the last change number already logged (SQLite), the WAL
    /// position of the slot (PostgreSQL), the binary log's `file:offset` (MariaDB). Every
    /// change after it is captured.
    pub starts_at: String,
    pub started_at: String,
    /// For each environment replayed into: the last change it holds, where a replay with
    /// `resume` goes on (a cutover replays most changes while production still serves, then
    /// only the rest under its hold).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replayed: BTreeMap<String, u64>,
}

/// The captures in force on an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureState {
    pub env: String,
    pub captures: Vec<Capture>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartCapture {
    pub op_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopCapture {
    pub op_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureStopped {
    pub env: String,
    /// The databases whose capture was removed (triggers and change table, or slot).
    pub removed: Vec<String>,
}

/// `GET /v1/envs/{env}/capture?database=&after=&limit=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureQuery {
    /// Needed when the environment has more than one database under capture.
    #[serde(default)]
    pub database: Option<String>,
    /// Changes numbered after this one (0: from the start).
    #[serde(default)]
    pub after: u64,
    /// At most this many (1000 unless said, 10,000 at most).
    #[serde(default)]
    pub limit: Option<u64>,
}

/// A page of one database's captured changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapturePage {
    pub database: String,
    pub changes: Vec<Change>,
    /// Where the next page starts (`after=`): the last change's number, or the one asked.
    pub next_after: u64,
    /// Whether more changes follow this page now.
    pub more: bool,
    /// The highest id captured per table (single integer keys), over the whole capture: a
    /// replay moves each table's id counter past it so no id is handed out twice.
    pub highest_ids: BTreeMap<String, i64>,
}

/// A database of an environment, as capture finds it.
enum Found {
    Sqlite(PathBuf),
    Server(DatabaseBinding),
}

fn captures_dir(layout: &Layout) -> PathBuf {
    layout.root().join("captures")
}

fn state_path(layout: &Layout, env: &str) -> PathBuf {
    captures_dir(layout).join(format!("{env}.json"))
}

fn log_path(layout: &Layout, env: &str, database: &str) -> PathBuf {
    captures_dir(layout).join(env).join(format!("{database}.sqlite"))
}

pub(crate) fn private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).map_err(io_context(format!("cannot create {}", dir.display())))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io_context(format!("cannot protect {}", dir.display())))
}

/// The capture in force on `env`, if any.
pub fn state(layout: &Layout, env: &str) -> Result<Option<CaptureState>> {
    let path = state_path(layout, env);
    if !path.exists() {
        return Ok(None);
    }
    read_json(&path).map(Some)
}

/// Every capture in force on this host (each one holds data: triggers, a slot, a log).
pub fn in_force(layout: &Layout) -> Result<Vec<CaptureState>> {
    let dir = captures_dir(layout);
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(found) };
    for entry in entries {
        let name = entry.map_err(io_context(format!("cannot list {}", dir.display())))?.file_name();
        if let Some(env) = name.to_str().and_then(|n| n.strip_suffix(".json")) {
            found.extend(state(layout, env)?);
        }
    }
    found.sort_by(|a, b| a.env.cmp(&b.env));
    Ok(found)
}

/// The databases of `env`: its SQLite files (in `shared/` or on its volume) and its servers'.
fn databases_of(layout: &Layout, env: &str) -> Result<Vec<(String, Found)>> {
    let config = load_config(layout, env)?;
    let current = crate::launch::current_release(layout, env).ok();
    let shared = layout.env(env).shared();
    let mut found = Vec::new();
    for db in crate::manifest::shared_databases(current.as_deref(), &config)? {
        let path = crate::sync::inside(&shared, &db)?;
        if path.exists() {
            found.push((format!("shared/{db}"), Found::Sqlite(path)));
        }
    }
    if let Some(volume) = &config.volume {
        let dir = crate::volumes::contents(layout, volume)?;
        let listed = crate::volumes::databases(&dir).map_err(io_context(format!("cannot list the data volume {volume}")))?;
        for db in listed {
            let rel = db.to_string_lossy().into_owned();
            found.push((format!("volume/{rel}"), Found::Sqlite(crate::sync::inside(&dir, &rel)?)));
        }
    }
    found.extend(config.databases.into_iter().map(|b| (b.name.clone(), Found::Server(b))));
    Ok(found)
}

fn owner(layout: &Layout, env: &str) -> Option<(u32, u32)> {
    load_config(layout, env).ok().and_then(|c| c.run_as).map(|u| (u.uid, u.gid))
}

/// The agent opens a site's SQLite file as root: any journal or WAL file that made must stay
/// the site's, or the site could no longer write its own database.
pub(crate) fn give_back(path: &Path, owner: Option<(u32, u32)>) -> Result<()> {
    let name = path.to_string_lossy();
    for file in [format!("{name}-wal"), format!("{name}-shm"), format!("{name}-journal")] {
        crate::site_users::own_tree(Path::new(&file), owner)?;
    }
    Ok(())
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| AgentError::Internal(format!("a capture task failed: {e}")))?
}

/// Removes from copies of SQLite files (a clone's) what their source's capture installed: a
/// copy is not under capture, whatever its source is. Files that are absent are skipped. The
/// caller hands the copies to the site's user afterwards.
pub(crate) async fn clear_from_copies(copies: Vec<PathBuf>) -> Result<()> {
    blocking(move || copies.iter().try_for_each(|path| sqlite::stop(path))).await
}

/// Starts capture on every database of `env` not yet captured, recording each as soon as it
/// is in force, and answers where each capture starts.
///
/// A start on an environment already under capture (a new release's start while the previous
/// one's still runs, under another op id) keeps what is in force: each database's capture
/// goes on from where it started (`starts_at` unchanged, nothing captured since is dropped),
/// and the answer is that state. Only a SQLite file's triggers are made again, from its
/// schema as it is now, so columns a migration added since are captured too (a server's
/// capture reads the schema as it goes).
pub async fn start(layout: &Layout, env: &str) -> Result<CaptureState> {
    let mut state = state(layout, env)?.unwrap_or(CaptureState { env: env.to_owned(), captures: Vec::new() });
    let owner = owner(layout, env);
    for (database, found) in databases_of(layout, env)? {
        if state.captures.iter().any(|c| c.database == database) {
            if let Found::Sqlite(path) = found {
                blocking(move || {
                    sqlite::start(&path)?;
                    give_back(&path, owner)
                })
                .await?;
            }
            continue;
        }
        let (source, starts_at) = match found {
            Found::Sqlite(path) => {
                let seq = blocking(move || {
                    let seq = sqlite::start(&path);
                    give_back(&path, owner)?;
                    seq
                })
                .await?;
                (CaptureSource::Sqlite, seq.to_string())
            }
            Found::Server(binding) => {
                let catalog = Catalog::load(layout.root())?;
                let server = catalog.server(&binding.server)?;
                if server.kind() == DatabaseKind::Mariadb {
                    let at = mariadb::start(server.config, &binding.database).await?;
                    (CaptureSource::Mariadb { server: binding.server.clone(), database: binding.database.clone() }, at)
                } else {
                    let slot = postgres::slot_name(env, &binding.name);
                    let (lsn, keyless) = postgres::start(server.config, &binding.database, &slot).await?;
                    let source = CaptureSource::Postgresql {
                        server: binding.server.clone(),
                        database: binding.database.clone(),
                        slot,
                        replica_identity_full: keyless,
                    };
                    (source, lsn)
                }
            }
        };
        state.captures.push(Capture {
            database,
            source,
            starts_at,
            started_at: chrono::Utc::now().to_rfc3339(),
            replayed: BTreeMap::new(),
        });
        private_dir(&captures_dir(layout))?;
        write_json(&state_path(layout, env), &state)?;
    }
    if state.captures.is_empty() {
        return Err(AgentError::Invalid(format!(
            "environment {env} has no database to capture: declare its SQLite files (sqlite, [data]) or its server databases"
        )));
    }
    Ok(state)
}

/// Records that `target` holds `source`'s captured changes of `database` up to `seq`.
fn remember_replayed(layout: &Layout, source: &str, database: &str, target: &str, seq: u64) -> Result<()> {
    let Some(mut state) = state(layout, source)? else { return Ok(()) };
    if let Some(capture) = state.captures.iter_mut().find(|c| c.database == database) {
        capture.replayed.insert(target.to_owned(), seq);
    }
    write_json(&state_path(layout, source), &state)
}

/// A page of the changes captured on one of `env`'s databases after `query.after`.
pub async fn page(layout: &Layout, env: &str, query: &CaptureQuery) -> Result<CapturePage> {
    let state = state(layout, env)?.ok_or_else(|| {
        AgentError::NotFound(format!(
            "no change capture is in force on environment {env}: start one with POST /v1/envs/{env}/capture/start"
        ))
    })?;
    let names = || state.captures.iter().map(|c| c.database.as_str()).collect::<Vec<_>>().join(", ");
    let capture = match &query.database {
        Some(name) => state.captures.iter().find(|c| &c.database == name).ok_or_else(|| {
            AgentError::NotFound(format!("environment {env} has no capture of database {name:?}: choose one of {}", names()))
        })?,
        None if state.captures.len() == 1 => &state.captures[0],
        None => {
            return Err(AgentError::Invalid(format!(
                "environment {env} captures several databases: say which with database= ({})",
                names()
            )))
        }
    };
    let limit = query.limit.unwrap_or(1000).clamp(1, 10_000);
    let after = query.after;
    let (changes, highest_ids) = match &capture.source {
        CaptureSource::Sqlite => {
            let path = sqlite_path(layout, env, &capture.database)?;
            let owner = owner(layout, env);
            blocking(move || {
                let page = sqlite::page(&path, after, limit);
                give_back(&path, owner)?;
                page
            })
            .await?
        }
        CaptureSource::Postgresql { server, database, slot, .. } => {
            let mut log = log::ChangeLog::open(&log_path(layout, env, &capture.database))?;
            let catalog = Catalog::load(layout.root())?;
            postgres::drain(catalog.server(server)?.config, database, slot, &mut log).await?;
            log.page(after, limit)?
        }
        CaptureSource::Mariadb { server, database } => {
            let mut log = log::ChangeLog::open(&log_path(layout, env, &capture.database))?;
            let catalog = Catalog::load(layout.root())?;
            mariadb::drain(catalog.server(server)?.config, database, &capture.starts_at, &mut log).await?;
            log.page(after, limit)?
        }
    };
    let next_after = changes.last().map_or(after, |c| c.seq);
    let more = changes.len() as u64 == limit;
    Ok(CapturePage { database: capture.database.clone(), changes, next_after, more, highest_ids })
}

fn sqlite_path(layout: &Layout, env: &str, database: &str) -> Result<PathBuf> {
    if let Some(rel) = database.strip_prefix("shared/") {
        return crate::sync::inside(&layout.env(env).shared(), rel);
    }
    if let Some(rel) = database.strip_prefix("volume/") {
        let volume = load_config(layout, env)?.volume.ok_or_else(|| {
            AgentError::Conflict(format!("environment {env} no longer has the data volume its capture of {database} was started on"))
        })?;
        return crate::sync::inside(&crate::volumes::contents(layout, &volume)?, rel);
    }
    Err(AgentError::Internal(format!("the capture record of environment {env} names database {database:?}, which is no SQLite file")))
}

/// Removes every capture of `env`: those recorded and any a start broken off before
/// recording left (found again from the environment's databases), then the record and logs.
pub async fn stop(layout: &Layout, env: &str) -> Result<CaptureStopped> {
    let recorded = state(layout, env)?.map(|s| s.captures).unwrap_or_default();
    let mut removed = Vec::new();
    let present = if layout.env(env).config().exists() { databases_of(layout, env)? } else { Vec::new() };
    for (database, found) in present {
        if recorded.iter().any(|c| c.database == database) {
            continue;
        }
        match found {
            Found::Sqlite(path) => {
                let owner = owner(layout, env);
                if blocking(move || {
                    let had = !sqlite::traces(&path)?.is_empty();
                    sqlite::stop(&path)?;
                    give_back(&path, owner)?;
                    Ok(had)
                })
                .await?
                {
                    removed.push(database);
                }
            }
            Found::Server(binding) => {
                let catalog = Catalog::load(layout.root())?;
                let server = catalog.server(&binding.server)?;
                let slot = postgres::slot_name(env, &binding.name);
                if server.kind() == DatabaseKind::Postgresql && postgres::slot_exists(server.config, &slot).await? {
                    postgres::stop(server.config, &binding.database, &slot, &[]).await?;
                    removed.push(database);
                }
            }
        }
    }
    for capture in recorded {
        match &capture.source {
            CaptureSource::Sqlite => {
                let path = sqlite_path(layout, env, &capture.database)?;
                let owner = owner(layout, env);
                blocking(move || {
                    sqlite::stop(&path)?;
                    give_back(&path, owner)
                })
                .await?;
            }
            CaptureSource::Postgresql { server, database, slot, replica_identity_full } => {
                let catalog = Catalog::load(layout.root())?;
                postgres::stop(catalog.server(server)?.config, database, slot, replica_identity_full).await?;
            }
            // The binary log is the server's own: only the agent's log (below) goes.
            CaptureSource::Mariadb { .. } => {}
        }
        removed.push(capture.database);
    }
    let logs = captures_dir(layout).join(env);
    if logs.exists() {
        std::fs::remove_dir_all(&logs).map_err(io_context(format!("cannot remove the change logs {}", logs.display())))?;
    }
    let record = state_path(layout, env);
    if record.exists() {
        std::fs::remove_file(&record).map_err(io_context(format!("cannot remove {}", record.display())))?;
    }
    Ok(CaptureStopped { env: env.to_owned(), removed })
}
