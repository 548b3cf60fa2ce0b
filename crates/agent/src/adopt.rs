//! Adopting a site that already runs on the host: an environment that describes the running
//! process (its port and directory) instead of starting one, so the router can send the
//! public address to it and the next release can follow from it, with nothing restarted.
//!
//! The process stays the operator's: start, stop and restart leave it as it is (start only
//! checks it answers), its health is a TCP connect to its port, and its data directory becomes
//! the environment's data volume in place (`volumes/<name>` is a link to it), so a private
//! clone copies it, a shared-volume clone serves from the same files, and removing the
//! environment removes the link, never the data.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::api::{AdoptEnv, EnvConfig, EnvInfo, ExternalProcess, ProcessState, ProcessStatus};
use crate::envs;
use crate::error::{io_context, AgentError, Result};
use crate::layout::{check_volume_name, Layout};

/// Whether something accepts connections on the host's loopback at `port`.
pub fn answers(port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_secs(2)).is_ok()
}

/// The process status of an adopted environment: running while its port answers.
pub fn status(config: &EnvConfig) -> ProcessStatus {
    let up = answers(config.port);
    ProcessStatus {
        state: if up { ProcessState::Running } else { ProcessState::Stopped },
        pid: None,
        port: config.port,
        restarts: 0,
        healthy: up,
        release: config.external.as_ref().map(|e| e.dir.clone()),
    }
}

/// `start` of an adopted environment: nothing is started, the process must already answer.
pub fn check_started(env: &str, config: &EnvConfig) -> Result<ProcessStatus> {
    let status = status(config);
    if status.state == ProcessState::Running {
        return Ok(status);
    }
    let external = config.external.as_ref();
    let dir = external.map(|e| e.dir.as_str()).unwrap_or("its directory");
    let how = external.and_then(|e| e.command.as_deref()).map(|c| format!(" with `{c}`")).unwrap_or_default();
    Err(AgentError::Conflict(format!(
        "environment {env} is an adopted site the agent does not run, and nothing answers on port {}: start it in {dir}{how} and retry",
        config.port
    )))
}

fn resolved(dir: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        dir.join(path)
    }
}

/// Creates the adopted environment. Blocking. A retry of the same request finds it created.
pub fn adopt(layout: &Layout, req: &AdoptEnv) -> Result<EnvInfo> {
    let dir = Path::new(&req.dir);
    if !dir.is_absolute() {
        return Err(AgentError::Invalid(format!("the site's directory {:?} must be an absolute path on the host", req.dir)));
    }
    if !dir.is_dir() {
        return Err(AgentError::Invalid(format!(
            "the site's directory {} does not exist on this host: give the directory the running site is in",
            dir.display()
        )));
    }
    if req.port == 0 || !answers(req.port) {
        return Err(AgentError::Invalid(format!(
            "nothing answers on port {} of this host: give the port the running site listens on (127.0.0.1:{0})",
            req.port
        )));
    }
    let mut config = EnvConfig::new(vec!["bin/site".into(), "serve".into()], req.port);
    config.production = true;
    config.default_manifest = req.default_manifest.clone();
    config.site = req.site.clone();
    config.external = Some(ExternalProcess { dir: req.dir.clone(), command: req.command.clone() });
    if let Some(data) = &req.data_dir {
        let volume = req.volume.clone().unwrap_or_else(|| req.name.clone());
        check_volume_name(&volume)?;
        let data = resolved(dir, data);
        if !data.is_dir() {
            return Err(AgentError::Invalid(format!(
                "the site's data directory {} does not exist on this host: give the directory it keeps its data in",
                data.display()
            )));
        }
        // Copies into the volume replace this directory's content, so it must be the site's
        // own: never the root, nor the agent's directory or one holding it.
        let data = data.canonicalize().map_err(io_context(format!("cannot resolve {}", data.display())))?;
        let root = layout.root().canonicalize().unwrap_or_else(|_| layout.root().to_path_buf());
        if data.parent().is_none() || root.starts_with(&data) || data.starts_with(&root) {
            return Err(AgentError::Invalid(format!(
                "{} cannot be the site's data directory: give the directory only the site keeps its data in",
                data.display()
            )));
        }
        link_volume(layout, &volume, &data)?;
        config.volume = Some(volume);
    }
    envs::create(layout, &req.name, &config)
}

/// Makes `volumes/<volume>` a link to `data`; an existing link to the same place is kept.
fn link_volume(layout: &Layout, volume: &str, data: &Path) -> Result<()> {
    let link = layout.volume(volume);
    match std::fs::read_link(&link) {
        Ok(target) if target == data => return Ok(()),
        Ok(target) => {
            return Err(AgentError::Conflict(format!(
                "data volume {volume} already links to {}: adopt the site under another name",
                target.display()
            )))
        }
        Err(_) if link.exists() => {
            return Err(AgentError::Conflict(format!(
                "data volume {volume} already exists on this host: a site with this name is already deployed here"
            )))
        }
        Err(_) => {}
    }
    std::fs::create_dir_all(layout.volumes_dir()).map_err(io_context("cannot create the volumes directory"))?;
    std::os::unix::fs::symlink(data, &link).map_err(io_context(format!("cannot link data volume {volume} to {}", data.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adoption_refuses_a_missing_directory_and_a_silent_port_and_keeps_the_data_when_removed() {
        let root = tempfile::tempdir().unwrap();
        let layout = Layout::new(root.path().join("agent"));
        layout.prepare().unwrap();
        let site = root.path().join("site");
        std::fs::create_dir_all(site.join("data")).unwrap();
        std::fs::write(site.join("data/notes.txt"), "kept").unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let request = |dir: &Path, port: u16| AdoptEnv {
            op_id: "a".into(),
            name: "notes-blue".into(),
            port,
            dir: dir.display().to_string(),
            data_dir: Some("data".into()),
            volume: Some("notes".into()),
            command: Some("php -S 127.0.0.1:8000".into()),
            default_manifest: None,
            site: None,
        };
        let missing = adopt(&layout, &request(&root.path().join("nowhere"), port)).unwrap_err().to_string();
        assert!(missing.contains("does not exist on this host"), "{missing}");
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let refused = adopt(&layout, &request(&site, silent)).unwrap_err().to_string();
        assert!(refused.contains(&format!("nothing answers on port {silent}")), "{refused}");

        let mut everything = request(&site, port);
        everything.data_dir = Some("/".into());
        let refused = adopt(&layout, &everything).unwrap_err().to_string();
        assert!(refused.contains("cannot be the site's data directory"), "{refused}");

        let info = adopt(&layout, &request(&site, port)).unwrap();
        assert_eq!((info.config.port, info.config.volume.as_deref()), (port, Some("notes")));
        assert_eq!(adopt(&layout, &request(&site, port)).unwrap(), info, "a retry finds it adopted");
        assert_eq!(std::fs::read_to_string(layout.volume("notes").join("notes.txt")).unwrap(), "kept");
        assert_eq!(status(&info.config).state, ProcessState::Running);

        envs::destroy(&layout, "notes-blue", true).unwrap();
        assert!(!layout.volume("notes").exists(), "the link goes with the environment");
        assert_eq!(std::fs::read_to_string(site.join("data/notes.txt")).unwrap(), "kept", "the site's own data stays");
        drop(listener);
    }
}
