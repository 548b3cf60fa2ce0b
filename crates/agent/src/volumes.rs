//! Data volumes: a site's live data kept outside its environments (`<root>/volumes/<name>/`),
//! so two environments can serve from one database; consistent copies of them for private
//! clones, syncs and snapshots, and restoring a snapshot. A snapshot also holds copies of the
//! server databases the volume's environments are bound to (`databases::snapshot`).
//!
//! A copy takes every SQLite database in the volume (found by its file header) through the
//! online backup API, because a raw copy of a database being written can be torn; other files
//! are copied as they are. Copies are built beside their target and renamed into place.

use std::path::{Path, PathBuf};

use crate::api::{SiteUser, SnapshotReport};
use crate::copytree::copy_tree;
use crate::databases::{Consistency, DatabaseBinding};
use crate::envs::{list, load_config};
use crate::error::{io_context, AgentError, Result};
use crate::layout::{check_volume_name, random_suffix, sync_dir, Layout};
use crate::sync::{backup_sqlite, database_files};

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

fn is_sqlite(path: &Path) -> bool {
    use std::io::Read;
    let mut header = [0u8; 16];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut header)).is_ok() && &header == SQLITE_HEADER
}

/// The SQLite databases under `dir`, as paths relative to it.
pub(crate) fn databases(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        for entry in std::fs::read_dir(dir.join(&rel))? {
            let entry = entry?;
            let path = rel.join(entry.file_name());
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() && is_sqlite(&dir.join(&path)) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Makes `dst` a consistent copy of the directory `src`, replacing what `dst` held, handed to
/// `owner` (a site's user) before it appears. Returns the databases copied.
pub async fn copy_replacing(src: &Path, dst: &Path, owner: Option<&SiteUser>) -> Result<Vec<String>> {
    // An adopted site's volume is a link to its own data directory: the copy replaces what the
    // link points at, in its place, and the link stays.
    let linked;
    let dst = if dst.is_symlink() {
        linked = std::fs::canonicalize(dst).map_err(io_context(format!("cannot follow the data volume link {}", dst.display())))?;
        linked.as_path()
    } else {
        dst
    };
    let parent = dst.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io_context(format!("cannot create {}", parent.display())))?;
    let name = dst.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let staging = parent.join(format!(".staging-{name}-{}", random_suffix()));
    let result = build_copy(src, &staging).await.and_then(|databases| {
        crate::site_users::settle_volume(&staging, owner)?;
        Ok(databases)
    });
    let databases = match result {
        Ok(databases) => databases,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    if dst.exists() {
        let trash = parent.join(format!(".trash-{name}-{}", random_suffix()));
        std::fs::rename(dst, &trash).map_err(io_context(format!("cannot replace {}", dst.display())))?;
        let _ = std::fs::remove_dir_all(&trash);
    }
    std::fs::rename(&staging, dst).map_err(io_context(format!("cannot move the copy into place at {}", dst.display())))?;
    sync_dir(parent).map_err(io_context(format!("cannot sync {}", parent.display())))?;
    Ok(databases)
}

async fn build_copy(src: &Path, staging: &Path) -> Result<Vec<String>> {
    let (src_owned, staging_owned) = (src.to_path_buf(), staging.to_path_buf());
    let dbs = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<PathBuf>> {
        let dbs = databases(&src_owned)?;
        let skip: Vec<PathBuf> = dbs.iter().flat_map(|db| database_files(&db.to_string_lossy())).map(PathBuf::from).collect();
        copy_tree(&src_owned, &staging_owned, &|rel: &Path| skip.iter().any(|s| s == rel))?;
        Ok(dbs)
    })
    .await
    .map_err(|e| AgentError::Internal(format!("the copy task failed: {e}")))?
    .map_err(io_context(format!("cannot copy {}", src.display())))?;
    let mut copied = Vec::new();
    for db in dbs {
        let target = staging.join(&db);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io_context(format!("cannot create {}", parent.display())))?;
        }
        // Found by a walk of a live volume: checked again just before the agent opens it.
        backup_sqlite(&crate::sync::inside(src, &db.to_string_lossy())?, &target).await?;
        copied.push(db.to_string_lossy().into_owned());
    }
    Ok(copied)
}

/// The site user of the environments on `volume` (one site's, see `envs::create`).
pub fn owner(layout: &Layout, volume: &str) -> Result<Option<SiteUser>> {
    for env in users(layout, volume)? {
        if let Some(user) = load_config(layout, &env)?.run_as {
            return Ok(Some(user));
        }
    }
    Ok(None)
}

/// The environments whose site uses `volume`.
pub fn users(layout: &Layout, volume: &str) -> Result<Vec<String>> {
    Ok(list(layout)?.into_iter().filter(|env| load_config(layout, env).is_ok_and(|c| c.volume.as_deref() == Some(volume))).collect())
}

/// Where `volume`'s files are: the volume's directory, or what an adopted site's volume link
/// points at.
pub fn contents(layout: &Layout, volume: &str) -> Result<PathBuf> {
    let dir = layout.volume(volume);
    if dir.is_symlink() {
        return std::fs::canonicalize(&dir).map_err(io_context(format!("cannot follow the data volume link {}", dir.display())));
    }
    Ok(dir)
}

fn existing(layout: &Layout, volume: &str) -> Result<PathBuf> {
    check_volume_name(volume)?;
    let dir = layout.volume(volume);
    if !dir.is_dir() {
        return Err(AgentError::NotFound(format!("data volume {volume} does not exist: create an environment that names it first")));
    }
    // An adopted site's volume is the agent's own link (in `volumes/`, which no site can
    // write) to the data directory its operator handed over: copies read what it points at.
    contents(layout, volume)
}

/// Copies `volume` into a fresh private volume for the clone `target`, named after it and
/// owned by the same site user.
pub async fn private_copy(layout: &Layout, volume: &str, target: &str, owner: Option<&SiteUser>) -> Result<String> {
    let src = existing(layout, volume)?;
    let name = format!("{target}-{}", &random_suffix()[..8]);
    copy_replacing(&src, &layout.volume(&name), owner).await?;
    Ok(name)
}

/// The server databases the environments using `volume` are bound to: the site's data beside
/// the volume's files.
pub fn bound_databases(layout: &Layout, volume: &str) -> Result<Vec<DatabaseBinding>> {
    let mut bound = Vec::new();
    for env in users(layout, volume)? {
        bound.extend(load_config(layout, &env)?.databases);
    }
    Ok(bound)
}

/// Takes (or, for a retried operation, takes again) the snapshot `snapshot` of `volume`: its
/// files, and the databases its environments are bound to (`quiet` when none of them runs, so
/// those copies are exact and checked).
pub async fn snapshot(layout: &Layout, volume: &str, snapshot: &str, quiet: bool) -> Result<SnapshotReport> {
    check_volume_name(snapshot)?;
    let src = existing(layout, volume)?;
    // Snapshots are the agent's: no site reaches them.
    let mut databases = copy_replacing(&src, &layout.snapshots_dir(volume).join(snapshot), None).await?;
    let consistency = if quiet { Consistency::Quiesced } else { Consistency::Live };
    let bound = bound_databases(layout, volume)?;
    databases.extend(crate::databases::snapshot::take(layout, volume, snapshot, &bound, consistency).await?);
    tracing::info!("took snapshot {snapshot} of data volume {volume}");
    Ok(SnapshotReport { volume: volume.to_owned(), snapshot: snapshot.to_owned(), databases })
}

/// Puts the snapshot back as the volume's content and its databases' data. The caller has
/// stopped every environment using the volume: a site must not hold a database open while
/// it is replaced.
pub async fn restore(layout: &Layout, volume: &str, snapshot: &str) -> Result<SnapshotReport> {
    check_volume_name(snapshot)?;
    let dst = existing(layout, volume)?;
    let src = layout.snapshots_dir(volume).join(snapshot);
    if !src.is_dir() {
        return Err(AgentError::NotFound(format!("data volume {volume} has no snapshot {snapshot}: take it before restoring it")));
    }
    let owner = owner(layout, volume)?;
    // The live files' id counters, so the restored ones hand out no id given since.
    let mut reached = Vec::new();
    for db in databases(&dst).map_err(io_context(format!("cannot list the data volume {volume}")))? {
        let path = dst.join(&db);
        let counters = tokio::task::spawn_blocking({
            let path = path.clone();
            move || crate::capture::counters::read_sqlite(&path)
        })
        .await
        .map_err(|e| AgentError::Internal(format!("reading id counters failed: {e}")))??;
        reached.push((path, counters));
    }
    let mut databases = copy_replacing(&src, &dst, owner.as_ref()).await?;
    let ids = owner.as_ref().map(|o| (o.uid, o.gid));
    for (path, counters) in reached {
        tokio::task::spawn_blocking(move || {
            crate::capture::counters::restore_sqlite(&path, &counters)?;
            crate::capture::give_back(&path, ids)
        })
        .await
        .map_err(|e| AgentError::Internal(format!("moving id counters failed: {e}")))??;
    }
    databases.extend(crate::databases::snapshot::restore(layout, volume, snapshot).await?);
    tracing::info!("restored data volume {volume} from snapshot {snapshot}");
    Ok(SnapshotReport { volume: volume.to_owned(), snapshot: snapshot.to_owned(), databases })
}

/// Deletes `volume` and its snapshots once no environment uses it any more.
pub fn remove_if_unused(layout: &Layout, volume: &str) -> Result<()> {
    if !users(layout, volume)?.is_empty() {
        return Ok(());
    }
    for dir in [layout.volume(volume), layout.snapshots_dir(volume)] {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io_context(format!("cannot delete {}", dir.display())))?;
        }
    }
    tracing::info!("deleted data volume {volume}: no environment uses it");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_copy_takes_databases_by_backup_and_other_files_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("uploads")).unwrap();
        std::fs::write(src.join("uploads/a.txt"), "a").unwrap();
        let db = rusqlite::Connection::open(src.join("site.db")).unwrap();
        db.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES (42);").unwrap();
        let dst = dir.path().join("dst");
        std::fs::create_dir_all(&dst).unwrap();
        std::fs::write(dst.join("stale.txt"), "old").unwrap();

        let copied = copy_replacing(&src, &dst, None).await.unwrap();
        drop(db);
        assert_eq!(copied, ["site.db"]);
        assert_eq!(std::fs::read_to_string(dst.join("uploads/a.txt")).unwrap(), "a");
        assert!(!dst.join("stale.txt").exists(), "the copy replaces the old content");
        assert!(!dst.join("site.db-wal").exists());
        let copy = rusqlite::Connection::open(dst.join("site.db")).unwrap();
        let x: i64 = copy.query_row("SELECT x FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(x, 42, "the write still in the WAL is in the copy");
    }
}
