//! Moving live data between environments: rsync for the files under `shared/`, and the SQLite
//! online backup API for databases, because a raw copy of a database that is being written can
//! be torn.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

use crate::api::SyncReport;
use crate::envs::load_config;
use crate::error::{AgentError, Result};
use crate::layout::{random_suffix, Layout};

/// Files that belong to a SQLite database `db` (relative to `shared/`).
pub fn database_files(db: &str) -> [String; 4] {
    [db.to_owned(), format!("{db}-wal"), format!("{db}-shm"), format!("{db}-journal")]
}

/// `base/rel`, refused unless it is a plain file (or nothing yet) inside `base`. The agent
/// reads and writes databases as root, so a site that made its database path, or a directory
/// on the way, a link to the agent's token or the server's database would otherwise get that
/// copied to where it can read it.
pub fn inside(base: &Path, rel: &str) -> Result<PathBuf> {
    let path = base.join(rel);
    let refused = || {
        AgentError::Invalid(format!(
            "the database {rel} under {} is a link or leads out of the site's directory: make it a plain file in the site's data",
            base.display()
        ))
    };
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(refused());
    }
    let base =
        std::fs::canonicalize(base).map_err(|e| AgentError::Io { context: format!("cannot resolve {}", base.display()), source: e })?;
    if let Some(Ok(parent)) = path.parent().map(std::fs::canonicalize) {
        if !parent.starts_with(&base) {
            return Err(refused());
        }
    }
    Ok(path)
}

/// Copies a consistent snapshot of the SQLite database `src` to `dst`, replacing `dst`
/// atomically (backup into a temporary file, then rename). A missing `src` copies nothing.
pub async fn backup_sqlite(src: &Path, dst: &Path) -> Result<bool> {
    if !src.exists() {
        return Ok(false);
    }
    let (src, dst) = (src.to_path_buf(), dst.to_path_buf());
    tokio::task::spawn_blocking(move || backup_blocking(&src, &dst))
        .await
        .map_err(|e| AgentError::Internal(format!("the backup task failed: {e}")))??;
    Ok(true)
}

fn backup_blocking(src: &Path, dst: &Path) -> Result<()> {
    let dir = dst.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.backup-{}", dst.file_name().unwrap_or_default().to_string_lossy(), random_suffix()));
    let copy = || -> rusqlite::Result<bool> {
        let source = rusqlite::Connection::open(src)?;
        source.busy_timeout(Duration::from_secs(10))?;
        let mut target = rusqlite::Connection::open(&tmp)?;
        let mut done = false;
        {
            let backup = rusqlite::backup::Backup::new(&source, &mut target)?;
            // All pages in one step, inside one read transaction: a consistent snapshot that
            // the site's concurrent writes (WAL) cannot force to restart, as page-by-page
            // steps would be on a busy database. Busy or locked: wait, 10 s at most.
            for _ in 0..100 {
                if backup.step(-1)? == rusqlite::backup::StepResult::Done {
                    done = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        target.close().map_err(|(_, e)| e)?;
        source.close().map_err(|(_, e)| e)?;
        Ok(done)
    };
    let failure = match copy() {
        Ok(true) => None,
        Ok(false) => Some("it stayed locked for 10 s".to_owned()),
        Err(e) => Some(e.to_string()),
    };
    if let Some(why) = failure {
        let _ = std::fs::remove_file(&tmp);
        return Err(AgentError::CommandFailed(format!(
            "cannot back up the SQLite database {} ({why}): check that it is a SQLite database and not held by a long write transaction, then retry",
            src.display()
        )));
    }
    // The old WAL belongs to the old file; left in place it would be replayed into the new one.
    for stale in [format!("{}-wal", dst.display()), format!("{}-shm", dst.display())] {
        let _ = std::fs::remove_file(stale);
    }
    std::fs::rename(&tmp, dst)
        .map_err(|e| AgentError::Io { context: format!("cannot put the database backup in place at {}", dst.display()), source: e })
}

/// Makes `to`'s shared data equal to `from`'s. The caller stops `to` first: its site must not
/// hold the database open while the file is replaced.
pub async fn sync_env(layout: &Layout, from: &str, to: &str) -> Result<SyncReport> {
    if from == to {
        return Err(AgentError::Invalid(format!("cannot sync environment {from} into itself: name two environments")));
    }
    let from_config = load_config(layout, from)?;
    let current = crate::launch::current_release(layout, from).ok();
    let sqlite = crate::manifest::shared_databases(current.as_deref(), &from_config)?;
    let (src, dst) = (layout.env(from).shared(), layout.env(to).shared());
    let to_config = load_config(layout, to)?;
    let mut rsync = Command::new("rsync");
    // As the site's user: rsync then can do nothing in the site's directories the site could
    // not, whatever links the site left there.
    if let Some(user) = &to_config.run_as {
        rsync.uid(user.uid).gid(user.gid);
    }
    // Nanosecond mtimes: the default whole-second quick check misses a same-size file
    // rewritten within the second of the last sync, which here would be lost data.
    rsync.arg("-a").arg("--delete").arg("--modify-window=-1");
    for db in &sqlite {
        for file in database_files(db) {
            // Anchored so only that path is excluded; excluded files are also kept on the receiver.
            rsync.arg(format!("--exclude=/{file}"));
        }
    }
    rsync.arg(format!("{}/", src.display())).arg(format!("{}/", dst.display()));
    let output = rsync
        .output()
        .await
        .map_err(|e| AgentError::CommandFailed(format!("cannot run rsync ({e}): install the Debian package rsync on this host")))?;
    if !output.status.success() {
        return Err(AgentError::CommandFailed(format!(
            "rsync from environment {from} to {to} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let mut databases = Vec::new();
    for db in &sqlite {
        let (db_src, db_dst): (PathBuf, PathBuf) = (inside(&src, db)?, inside(&dst, db)?);
        if let Some(parent) = db_dst.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| AgentError::Io { context: format!("cannot create {}", parent.display()), source: e })?;
        }
        if backup_sqlite(&db_src, &db_dst).await? {
            crate::site_users::own_tree(&db_dst, to_config.run_as.as_ref().map(|u| (u.uid, u.gid)))?;
            databases.push(db.clone());
        }
    }
    // Environments on one volume already see the same data; separate ones are copied.
    if let (Some(src), Some(dst)) = (&from_config.volume, &to_config.volume) {
        if src != dst {
            let copied =
                crate::volumes::copy_replacing(&crate::volumes::contents(layout, src)?, &layout.volume(dst), to_config.run_as.as_ref())
                    .await?;
            databases.extend(copied.into_iter().map(|db| format!("{dst}/{db}")));
        }
    }
    databases.extend(crate::databases::env::replace_from(layout, &from_config.databases, &to_config.databases).await?);
    tracing::info!("synced shared data from environment {from} to {to}");
    Ok(SyncReport { databases })
}
