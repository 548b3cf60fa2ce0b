//! One unix user per site, and who owns what under the agent's root: an agent running as root
//! gives each site (by its stable key, never a display name) its own system user, runs the
//! site's processes and steps as that user, and hands it exactly its own writable places
//! (`shared/`, its data volume, its home); releases stay root's, readable by the site's group;
//! everything of the agent's stays root's alone.
//!
//! ```text
//! <root>                       0711 root           (search only: sites reach their own dirs)
//! <root>/{agent,ops,steps,artifacts,router,snapshots}   0700 root
//! <root>/envs, volumes, homes  0711 root
//! <root>/envs/<env>            0750 root:<site>    other sites cannot enter
//!   releases/<id>/             root:<site>, group-readable, never writable by the site
//!   shared/                    0700 <site>
//!   logs/                      0700 root           the agent writes the site's output there
//! <root>/volumes/<volume>      0700 <site>
//! <root>/homes/<user>          0700 <site>         the site's HOME
//! ```

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::api::{EnvConfig, SiteUser};
use crate::error::{io_context, AgentError, Result};
use crate::layout::Layout;

/// Whether this process can create users and hand files to them.
pub fn agent_is_root() -> bool {
    // SAFETY: geteuid has no side effects and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The unix user name of the site with key `site_key`: `sy-`, a readable part of the key and
/// 8 hex digits of its sha256, at most 30 characters, so two keys never share a user.
pub fn user_name(site_key: &str) -> String {
    let hash = hex::encode(Sha256::digest(site_key.as_bytes()));
    let readable: String =
        site_key.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).take(18).collect();
    let readable = readable.trim_matches('-');
    if readable.is_empty() {
        format!("sy-{}", &hash[..8])
    } else {
        format!("sy-{readable}-{}", &hash[..8])
    }
}

/// The site key an environment runs under: its configured `site`, else its own name.
pub fn site_key<'a>(env: &'a str, config: &'a EnvConfig) -> &'a str {
    config.site.as_deref().unwrap_or(env)
}

/// Two creations racing for one site must not both run `useradd`.
static CREATING: Mutex<()> = Mutex::new(());

/// The site's user, created when it does not exist yet. `None` when the agent is not root:
/// then sites run as the agent's own user.
pub fn ensure_user(site_key: &str) -> Result<Option<SiteUser>> {
    if !agent_is_root() {
        return Ok(None);
    }
    let name = user_name(site_key);
    let _one = CREATING.lock().expect("user creation lock poisoned");
    if let Some((uid, gid)) = lookup(&name) {
        return Ok(Some(SiteUser { name, uid, gid }));
    }
    let output = std::process::Command::new("useradd")
        .args(["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin"])
        .arg("--comment")
        .arg(format!("Switchyard site {site_key}"))
        .arg(&name)
        .output()
        .map_err(|e| {
            AgentError::CommandFailed(format!("cannot run useradd to create the site user {name} ({e}): install the Debian package passwd"))
        })?;
    // Exit 9: created meanwhile by another agent on this host; the lookup below finds it.
    if !output.status.success() && output.status.code() != Some(9) {
        return Err(AgentError::CommandFailed(format!(
            "cannot create the unix user {name} for site {site_key} ({}): {}; check /etc/passwd and free system uids",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let (uid, gid) = lookup(&name)
        .ok_or_else(|| AgentError::Internal(format!("useradd created {name} but the user cannot be found: check /etc/nsswitch.conf")))?;
    tracing::info!("created unix user {name} (uid {uid}) for site {site_key}");
    Ok(Some(SiteUser { name, uid, gid }))
}

/// The uid and gid of user `name` from the passwd database.
pub fn lookup(name: &str) -> Option<(u32, u32)> {
    let cname = CString::new(name).ok()?;
    // SAFETY: getpwnam_r writes only into the buffers we pass, sized by `buf.len()`.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 16 * 1024];
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwnam_r(cname.as_ptr(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found);
        (rc == 0 && !found.is_null()).then_some((pwd.pw_uid, pwd.pw_gid))
    }
}

/// The site's HOME: its own directory under `<root>/homes/`.
pub fn home(layout: &Layout, env: &str, config: &EnvConfig) -> PathBuf {
    let name = config.run_as.as_ref().map(|u| u.name.clone()).unwrap_or_else(|| user_name(site_key(env, config)));
    layout.homes_dir().join(name)
}

/// Sets who owns what in the environment directory `dir` (the environment itself or its
/// staging copy), its data volume and its home, as the module doc lays out. Without a site
/// user only the modes are set. Run while no process of the site can change the tree under
/// it (a staging copy, a stopped environment), because it walks the tree as root.
pub fn settle_env(layout: &Layout, dir: &Path, env: &str, config: &EnvConfig) -> Result<()> {
    let user = config.run_as.as_ref();
    let root_and_site = user.map(|u| (0, u.gid));
    let site = user.map(|u| (u.uid, u.gid));
    set(dir, root_and_site, 0o750)?;
    set(&dir.join("logs"), Some((0, 0)).filter(|_| user.is_some()), 0o700)?;
    let releases = dir.join("releases");
    set(&releases, root_and_site, 0o750)?;
    if let Ok(entries) = std::fs::read_dir(&releases) {
        for entry in entries.flatten() {
            seal_release(&entry.path(), user)?;
        }
    }
    own_tree(&dir.join("shared"), site)?;
    set(&dir.join("shared"), site, 0o700)?;
    if let Some(volume) = &config.volume {
        settle_volume(&layout.volume(volume), user)?;
    }
    let home = home(layout, env, config);
    std::fs::create_dir_all(&home).map_err(io_context(format!("cannot create the site's home {}", home.display())))?;
    set(&home, site, 0o700)
}

/// A data volume belongs to its site's user alone.
pub fn settle_volume(dir: &Path, user: Option<&SiteUser>) -> Result<()> {
    let site = user.map(|u| (u.uid, u.gid));
    own_tree(dir, site)?;
    set(dir, site, 0o700)
}

/// A release the site may read and run but never change: owned by root, group the site's,
/// with the owner's read (and execute) bits given to the group. The customer's modes are kept
/// otherwise (unpacking already dropped setuid, setgid and sticky bits).
pub fn seal_release(dir: &Path, user: Option<&SiteUser>) -> Result<()> {
    let Some(user) = user else { return Ok(()) };
    walk(dir, &mut |path, meta| {
        std::os::unix::fs::lchown(path, Some(0), Some(user.gid))
            .map_err(io_context(format!("cannot hand {} to its site", path.display())))?;
        if !meta.file_type().is_symlink() {
            let mode = meta.permissions().mode() & 0o7777 & !0o7000;
            let group = (mode & 0o500) >> 3;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode | group))
                .map_err(io_context(format!("cannot make {} readable by its site", path.display())))?;
        }
        Ok(())
    })
}

/// Hands every entry under `dir` (links themselves, never what they point to) to `owner`.
pub fn own_tree(dir: &Path, owner: Option<(u32, u32)>) -> Result<()> {
    let Some((uid, gid)) = owner else { return Ok(()) };
    if !dir.exists() {
        return Ok(());
    }
    walk(dir, &mut |path, _| {
        std::os::unix::fs::lchown(path, Some(uid), Some(gid)).map_err(io_context(format!("cannot hand {} to its site", path.display())))
    })
}

/// Visits `dir` and everything under it without following symlinks.
fn walk(dir: &Path, visit: &mut dyn FnMut(&Path, &std::fs::Metadata) -> Result<()>) -> Result<()> {
    let meta = std::fs::symlink_metadata(dir).map_err(io_context(format!("cannot read {}", dir.display())))?;
    visit(dir, &meta)?;
    if meta.is_dir() {
        let entries = std::fs::read_dir(dir).map_err(io_context(format!("cannot list {}", dir.display())))?;
        for entry in entries {
            let entry = entry.map_err(io_context(format!("cannot list {}", dir.display())))?;
            walk(&entry.path(), visit)?;
        }
    }
    Ok(())
}

/// Sets the owner (when given) and mode of one path that exists; a missing one is skipped.
fn set(path: &Path, owner: Option<(u32, u32)>, mode: u32) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::lchown(path, Some(uid), Some(gid))
            .map_err(io_context(format!("cannot change the owner of {}", path.display())))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io_context(format!("cannot change the mode of {}", path.display())))
}

/// Gives `config` its site user (and its site key) if it has none and the agent can make one.
/// Returns whether anything changed.
pub fn assign(env: &str, config: &mut EnvConfig) -> Result<bool> {
    let mut changed = false;
    if config.site.is_none() {
        config.site = Some(env.to_owned());
        changed = true;
    }
    if config.run_as.is_none() {
        if let Some(user) = ensure_user(site_key(env, config))? {
            config.run_as = Some(user);
            changed = true;
        }
    }
    Ok(changed)
}

/// Directories above the agent's root that a site user cannot pass through, so no site could
/// reach its own release: each needs the search bit for others (`chmod o+x`).
pub fn unreachable_ancestors(root: &Path) -> Vec<PathBuf> {
    let Ok(root) = std::fs::canonicalize(root) else { return Vec::new() };
    root.ancestors()
        .skip(1)
        .filter(|dir| std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o001 == 0))
        .map(Path::to_path_buf)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_short_valid_and_distinct_per_key() {
        let names: Vec<String> = ["acme", "Acme", "a-very-long-site-key-of-a-big-customer-indeed", "...", "shop.example"]
            .iter()
            .map(|key| user_name(key))
            .collect();
        for name in &names {
            assert!(name.len() <= 32, "{name}");
            assert!(name.starts_with("sy-"), "{name}");
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{name}");
        }
        assert_ne!(names[0], names[1], "keys differing only in case are different sites");
        assert_eq!(user_name("acme"), names[0], "the same key always gives the same user");
    }
}
