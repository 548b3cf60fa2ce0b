//! Releases of an environment: unpacking a stored candidate into `releases/<id>`, switching
//! `current` with an atomic rename, rolling back, and keeping the last N releases.

use std::collections::HashSet;

use crate::api::{ActivateResult, ReleaseInfo};
use crate::envs::{load_config, load_state, save_state};
use crate::error::{io_context, AgentError, Result};
use crate::layout::{check_release_id, check_sha256, random_suffix, sync_dir, Layout};
use crate::unpack::{unpack, UnpackLimits};

/// Unpacks candidate `sha256` as release `id`. Unpacking the same candidate under the same id
/// again returns the existing release; a different candidate under a used id is refused.
pub fn unpack_release(layout: &Layout, env: &str, id: &str, sha256: &str, limits: UnpackLimits) -> Result<ReleaseInfo> {
    check_release_id(id)?;
    check_sha256(sha256)?;
    let config = crate::envs::load_runnable(layout, env)?;
    let mut state = load_state(layout, env)?;
    if let Some(existing) = state.releases.iter().find(|r| r.id == id) {
        if existing.sha256 == sha256 {
            return Ok(existing.clone());
        }
        return Err(AgentError::Conflict(format!(
            "release {id} of environment {env} already holds candidate {}: choose a new release id",
            existing.sha256
        )));
    }
    let archive = layout.artifact(sha256);
    if !archive.exists() {
        return Err(AgentError::NotFound(format!("no candidate with sha256 {sha256} has been uploaded to this agent: upload it first")));
    }
    let target = layout.env(env).release(id);
    if target.exists() {
        // Unpacked before a crash but never recorded, so never activated: safe to redo.
        std::fs::remove_dir_all(&target).map_err(io_context(format!("cannot remove the unrecorded {}", target.display())))?;
    }
    let unpacked = unpack(&archive, &target, limits).map_err(|e| match e {
        AgentError::Invalid(why) => AgentError::Invalid(format!("cannot unpack release {id} for environment {env}: {why}")),
        AgentError::TooLarge(why) => AgentError::TooLarge(format!("cannot unpack release {id} for environment {env}: {why}")),
        other => other,
    })?;
    // Readable and runnable by the site, never changed by it.
    crate::site_users::seal_release(&target, config.run_as.as_ref())?;
    let info = ReleaseInfo {
        id: id.to_owned(),
        sha256: sha256.to_owned(),
        files: unpacked.files,
        bytes: unpacked.bytes,
        unpacked_at: chrono::Utc::now().to_rfc3339(),
    };
    state.releases.push(info.clone());
    save_state(layout, env, &state)?;
    tracing::info!("unpacked release {id} ({sha256}) into environment {env}");
    Ok(info)
}

/// Points `current` at release `id` (a relative symlink, replaced by rename so readers always
/// see one release or the other) and prunes old releases.
pub fn activate(layout: &Layout, env: &str, id: &str) -> Result<ActivateResult> {
    check_release_id(id)?;
    let config = load_config(layout, env)?;
    let mut state = load_state(layout, env)?;
    if !state.has_release(id) {
        return Err(AgentError::NotFound(format!("environment {env} has no release {id}: unpack it first")));
    }
    let paths = layout.env(env);
    let tmp = paths.dir.join(format!(".current-{}", random_suffix()));
    std::os::unix::fs::symlink(format!("releases/{id}"), &tmp).map_err(io_context(format!("cannot create a link to release {id}")))?;
    if let Err(e) = std::fs::rename(&tmp, paths.current()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(AgentError::Io { context: format!("cannot switch environment {env} to release {id}"), source: e });
    }
    sync_dir(&paths.dir).map_err(io_context(format!("cannot sync {}", paths.dir.display())))?;
    if state.current() != Some(id) {
        state.history.push(id.to_owned());
    }
    let pruned = prune(layout, env, &mut state, config.keep_releases)?;
    save_state(layout, env, &state)?;
    tracing::info!("environment {env} now runs release {id}");
    Ok(ActivateResult { current: id.to_owned(), previous: state.previous().map(str::to_owned), pruned })
}

/// Switches back to the release that was active before the current one.
pub fn rollback(layout: &Layout, env: &str) -> Result<ActivateResult> {
    let state = load_state(layout, env)?;
    let previous = state
        .previous()
        .map(str::to_owned)
        .ok_or_else(|| AgentError::Conflict(format!("environment {env} has no previous release to roll back to")))?;
    activate(layout, env, &previous)
}

/// Deletes the oldest releases beyond `keep`, never the current or the previous one.
fn prune(layout: &Layout, env: &str, state: &mut crate::envs::EnvState, keep: usize) -> Result<Vec<String>> {
    let mut protected: HashSet<String> = state.releases.iter().rev().take(keep).map(|r| r.id.clone()).collect();
    protected.extend(state.current().map(str::to_owned));
    protected.extend(state.previous().map(str::to_owned));
    let doomed: Vec<String> = state.releases.iter().filter(|r| !protected.contains(&r.id)).map(|r| r.id.clone()).collect();
    for id in &doomed {
        let dir = layout.env(env).release(id);
        // Forget it first: a crash mid-delete leaves an unrecorded directory, which the next
        // unpack under that id clears, rather than a recorded release with missing files.
        state.releases.retain(|r| &r.id != id);
        save_state(layout, env, state)?;
        std::fs::remove_dir_all(&dir).map_err(io_context(format!("cannot delete old release {}", dir.display())))?;
        tracing::info!("pruned release {id} of environment {env}");
    }
    Ok(doomed)
}
