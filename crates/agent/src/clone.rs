//! Cloning environment A into B: code, config, shared files and databases, with B on its own
//! port. Built in a staging directory and renamed into place, so B appears whole or not at all.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::api::EnvInfo;
use crate::copytree::copy_tree;
use crate::envs::{info, list, load_config, save_config};
use crate::error::{io_context, AgentError, Result};
use crate::layout::{check_env_name, sync_dir, Layout};
use crate::sync::{backup_sqlite, database_files};

/// A port for a new environment: free right now and not configured for another environment.
pub fn pick_port(layout: &Layout) -> Result<u16> {
    let taken: HashSet<u16> = list(layout)?.iter().filter_map(|env| load_config(layout, env).ok()).map(|c| c.port).collect();
    for _ in 0..50 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(io_context("cannot find a free port"))?;
        let port = listener.local_addr().map_err(io_context("cannot find a free port"))?.port();
        if !taken.contains(&port) {
            return Ok(port);
        }
    }
    Err(AgentError::Internal("no free port found in 50 tries: give the clone a port explicitly".into()))
}

/// Clones `source` into `target`. A site with a data volume keeps using it when
/// `share_volume` is set; otherwise the clone gets a private copy of it.
pub async fn clone_env(layout: &Layout, source: &str, target: &str, port: u16, share_volume: bool) -> Result<EnvInfo> {
    check_env_name(target)?;
    // A source from before site users gets its user first, so the clone shares it.
    let mut config = crate::envs::load_runnable(layout, source)?;
    if layout.env(target).dir.exists() {
        return Err(AgentError::Conflict(format!("environment {target} already exists: destroy it or clone into another name")));
    }
    let private = match &config.volume {
        Some(volume) if !share_volume => Some(crate::volumes::private_copy(layout, volume, target, config.run_as.as_ref()).await?),
        _ => None,
    };
    if let Some(private) = &private {
        config.volume = Some(private.clone());
    }
    // Its databases: the source's when the two share their data, else copies of its own.
    let site = crate::site_users::site_key(source, &config).to_owned();
    let bindings = crate::databases::env::clone_for(layout, &config.databases, target, &site, share_volume).await;
    let bindings = match bindings {
        Ok(bindings) => bindings,
        Err(e) => {
            if let Some(private) = &private {
                let _ = std::fs::remove_dir_all(layout.volume(private));
            }
            return Err(e);
        }
    };
    let made_databases = bindings != config.databases;
    config.databases = bindings;
    let staging = layout.staging_dir(target);
    let result = build_clone(layout, source, &staging, &mut config, port, private.as_deref()).await.and_then(|()| {
        std::fs::rename(&staging, layout.env(target).dir).map_err(io_context(format!("cannot move the clone {target} into place")))?;
        sync_dir(&layout.envs_dir()).map_err(io_context("cannot sync the environments directory"))
    });
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        if let Some(private) = &private {
            let _ = std::fs::remove_dir_all(layout.volume(private));
        }
        if made_databases {
            let _ = crate::databases::env::drop_owned(layout, &config.databases).await;
        }
        return Err(e);
    }
    tracing::info!("cloned environment {source} into {target}");
    info(layout, target)
}

async fn build_clone(
    layout: &Layout,
    source: &str,
    staging: &Path,
    config: &mut crate::api::EnvConfig,
    port: u16,
    private_volume: Option<&str>,
) -> Result<()> {
    let src = layout.env(source).dir;
    let current = crate::launch::current_release(layout, source).ok();
    let sqlite = crate::manifest::shared_databases(current.as_deref(), config)?;
    let skip_dbs: HashSet<PathBuf> = sqlite.iter().flat_map(|db| database_files(db)).map(|f| Path::new("shared").join(f)).collect();
    let (src_copy, staging_copy) = (src.clone(), staging.to_path_buf());
    // Logs and the wish to be running describe the source's own process; the clone starts
    // stopped with empty logs.
    tokio::task::spawn_blocking(move || {
        copy_tree(&src_copy, &staging_copy, &|rel: &Path| {
            rel == Path::new("logs") || rel == Path::new("process.json") || skip_dbs.contains(rel)
        })
    })
    .await
    .map_err(|e| AgentError::Internal(format!("the copy task failed: {e}")))?
    .map_err(io_context(format!("cannot copy environment {source}")))?;
    std::fs::create_dir_all(staging.join("logs")).map_err(io_context("cannot create the clone's logs directory"))?;
    for db in &sqlite {
        let dst = staging.join("shared").join(db);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).map_err(io_context(format!("cannot create {}", parent.display())))?;
        }
        backup_sqlite(&crate::sync::inside(&src.join("shared"), db)?, &dst).await?;
    }
    // A copy of a source under change capture carries its triggers and change table: the
    // clone's migration must run on the site's own schema only, and the clone's own capture,
    // if it gets one, must start clean. A shared volume is the source's own and keeps them.
    let mut copies: Vec<PathBuf> = sqlite.iter().map(|db| crate::sync::inside(&staging.join("shared"), db)).collect::<Result<_>>()?;
    if let Some(volume) = private_volume {
        let dir = layout.volume(volume);
        let listed = crate::volumes::databases(&dir).map_err(io_context(format!("cannot list the data volume {volume}")))?;
        copies.extend(listed.into_iter().map(|db| dir.join(db)));
    }
    crate::capture::clear_from_copies(copies).await?;
    config.port = port;
    // A clone is a test environment until an address swap makes it production.
    config.production = false;
    // A clone of an adopted site is the agent's own: it runs the releases put into it.
    config.external = None;
    // Copied as root: its files go back to the site's user (the same as the source's) before
    // anything of the site can see the clone.
    crate::site_users::settle_env(layout, staging, source, config)?;
    save_config(staging, config)
}
