//! The server databases of a data-volume snapshot: a migration's snapshot of a site's data is
//! its volume's files *and* the databases the volume's environments are bound to, so a
//! rollback brings back both. Each database is copied on its own server into one named from
//! the volume and the snapshot (so a retry after a crash makes the very same one, replacing a
//! half-made copy), and the copies are listed in `snapshots/<volume>/<snapshot>.databases.toml`
//! before they are made, so nothing the agent creates is ever unknown to it.
//!
//! A restore copies the snapshot back (the snapshot stays, so a restore broken off or asked
//! again starts over from the same data) and checks the result table by table against it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::env::derived;
use super::{Catalog, Consistency, DatabaseBinding, DatabaseStats, MadeDatabase, MadeFor};
use crate::error::{io_context, AgentError, Result};
use crate::layout::{write_atomic, Layout};

/// One database of a snapshot: the live one and the copy that holds its snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Copied {
    server: String,
    database: String,
    /// The login the site uses it with: the copy's objects belong to it.
    user: String,
    copy: String,
    /// What the copy held when it was taken: a restore is checked against it without reading
    /// the snapshot again while requests are held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    taken: Option<DatabaseStats>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    #[serde(default)]
    databases: Vec<Copied>,
}

fn record_path(layout: &Layout, volume: &str, snapshot: &str) -> PathBuf {
    layout.snapshots_dir(volume).join(format!("{snapshot}.databases.toml"))
}

fn read(layout: &Layout, volume: &str, snapshot: &str) -> Result<Option<Record>> {
    let path = record_path(layout, volume, snapshot);
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map(Some).map_err(|e| AgentError::Internal(format!("{} does not read: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_context(format!("cannot read {}", path.display()))(e)),
    }
}

fn write(layout: &Layout, volume: &str, snapshot: &str, record: &Record) -> Result<()> {
    let path = record_path(layout, volume, snapshot);
    let dir = layout.snapshots_dir(volume);
    std::fs::create_dir_all(&dir).map_err(io_context(format!("cannot create {}", dir.display())))?;
    let text = toml::to_string(record).map_err(|e| AgentError::Internal(format!("cannot encode a snapshot's databases: {e}")))?;
    write_atomic(&path, text.as_bytes())
}

/// The site key of the environments using `volume` (one site's, as they share its user).
fn site_of(layout: &Layout, volume: &str) -> Result<String> {
    let Some(env) = crate::volumes::users(layout, volume)?.into_iter().next() else { return Ok(volume.to_owned()) };
    let config = crate::envs::load_config(layout, &env)?;
    Ok(crate::site_users::site_key(&env, &config).to_owned())
}

/// Copies every database of `bindings` (those of the volume's environments) into the
/// snapshot. `consistency` is `Quiesced` when no environment using them runs: the copy is
/// then exact and checked against its source; a live one is a consistent dump, not compared
/// (the site went on writing). Returns a line per database for the release's timeline.
pub async fn take(
    layout: &Layout,
    volume: &str,
    snapshot: &str,
    bindings: &[DatabaseBinding],
    consistency: Consistency,
) -> Result<Vec<String>> {
    let mut unique: Vec<&DatabaseBinding> = Vec::new();
    for binding in bindings {
        if !unique.iter().any(|b| b.server == binding.server && b.database == binding.database) {
            unique.push(binding);
        }
    }
    if unique.is_empty() {
        return Ok(Vec::new());
    }
    let label = format!("snapshot:{volume}:{snapshot}");
    let mut record = Record {
        databases: unique
            .iter()
            .map(|b| Copied {
                server: b.server.clone(),
                database: b.database.clone(),
                user: b.user.clone(),
                copy: derived(&b.database, &label),
                taken: None,
            })
            .collect(),
    };
    write(layout, volume, snapshot, &record)?;
    let mut catalog = Catalog::load(layout.root())?;
    // Registered too, so support sees them beside the site's databases (kept while the
    // snapshot exists); they belong to the site's own login, which stays when they go.
    let site = site_of(layout, volume)?;
    for entry in &record.databases {
        let made_for = MadeFor::Snapshot { volume: volume.to_owned(), snapshot: snapshot.to_owned() };
        catalog.remember_database(MadeDatabase::new(&entry.server, &entry.copy, None, &site, made_for))?;
    }
    let mut lines = Vec::new();
    for entry in &mut record.databases {
        let server = catalog.server(&entry.server)?;
        server.copy(&entry.database, &entry.copy, &entry.user, consistency).await?;
        let taken = server.stats(&entry.copy).await?;
        let checked = match consistency {
            Consistency::Quiesced => {
                let source = server.stats(&entry.database).await?;
                taken.verify_copy_of(&source).map_err(|difference| {
                    AgentError::CommandFailed(format!(
                        "the snapshot of database {} does not match it ({difference}); was something still writing? retry with the site stopped",
                        entry.database
                    ))
                })?;
                "checked against it"
            }
            Consistency::Live => "taken while the site ran",
        };
        lines.push(format!(
            "{}:{} in {} ({} tables, {} rows, {checked})",
            entry.server,
            entry.database,
            entry.copy,
            taken.tables.len(),
            taken.rows()
        ));
        entry.taken = Some(taken);
    }
    write(layout, volume, snapshot, &record)?;
    tracing::info!("took the snapshot {snapshot} of the databases of volume {volume}");
    Ok(lines)
}

/// Puts each database of the snapshot back: every environment using them is stopped (the
/// caller checks). A snapshot taken before its volume's sites had databases restores none.
pub async fn restore(layout: &Layout, volume: &str, snapshot: &str) -> Result<Vec<String>> {
    let Some(record) = read(layout, volume, snapshot)? else {
        return Ok(Vec::new());
    };
    let catalog = Catalog::load(layout.root())?;
    let mut lines = Vec::new();
    for entry in &record.databases {
        let server = catalog.server(&entry.server)?;
        if !server.exists(&entry.copy).await? {
            return Err(AgentError::NotFound(format!(
                "the snapshot {snapshot} of database {} ({} on server {}) is gone: restore the data by hand",
                entry.database, entry.copy, entry.server
            )));
        }
        let reached = crate::capture::counters::read_server(&server, &entry.database).await?;
        server.copy(&entry.copy, &entry.database, &entry.user, Consistency::Quiesced).await?;
        let expected = match &entry.taken {
            Some(taken) => taken.clone(),
            None => server.stats(&entry.copy).await?,
        };
        let got = server.stats(&entry.database).await?;
        got.verify_copy_of(&expected).map_err(|difference| {
            AgentError::CommandFailed(format!(
                "database {} restored from its snapshot does not match it ({difference}); retry the restore with the site stopped",
                entry.database
            ))
        })?;
        // No id handed out since the snapshot is handed out again.
        crate::capture::counters::restore_server(&server, &entry.database, &reached).await?;
        lines.push(format!("{}:{} from {} ({} rows checked)", entry.server, entry.database, entry.copy, got.rows()));
    }
    tracing::info!("restored the databases of volume {volume} from snapshot {snapshot}");
    Ok(lines)
}

/// Drops the databases of every snapshot of `volume` (its files are removed by the caller).
pub async fn drop_all(layout: &Layout, volume: &str) -> Result<()> {
    let dir = layout.snapshots_dir(volume);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(());
    };
    let mut catalog = Catalog::load(layout.root())?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(snapshot) = name.strip_suffix(".databases.toml") else {
            continue;
        };
        for copied in read(layout, volume, snapshot)?.unwrap_or_default().databases {
            catalog.server(&copied.server)?.drop_database(&copied.copy).await?;
            catalog.forget_database(&copied.server, &copied.copy)?;
        }
    }
    Ok(())
}
