//! Running the `switchyard-agent` program as a child process on 127.0.0.1 and reading the
//! registration it writes: how the agent's and the engine's integration tests get a real agent.

use crate::layout::Layout;
use crate::Registration;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A started agent process.
pub struct SpawnedAgent {
    pub child: Child,
    pub registration: Registration,
    /// What the agent printed first (`switchyard-agent listening on …`).
    pub first_line: String,
}

/// Starts `program` with its root at `<dir>/root`, its log in `<dir>/agent.log`, listening on
/// a free port of 127.0.0.1, plus `extra_args`; waits up to 30 s for it to report it listens.
/// `dir` is made searchable by others (0711), as every directory above an agent's root must
/// be for site users to reach their releases (a temporary directory starts out 0700).
/// The error carries the agent's log.
pub fn spawn_agent(program: &Path, dir: &Path, extra_args: &[&str]) -> Result<SpawnedAgent, String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).map_err(|e| format!("cannot open up {}: {e}", dir.display()))?;
    let log_path = dir.join("agent.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let root = dir.join("root");
    let mut child = Command::new(program)
        .arg("--root")
        .arg(&root)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra_args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let stdout = child.stdout.take().ok_or("the agent's output is not piped")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        // Keep draining so the agent never blocks on a full pipe.
        for _ in lines {}
    });
    let Ok(first_line) = rx.recv_timeout(Duration::from_secs(30)) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!(
            "the agent did not report it was listening within 30 s; log:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        ));
    };
    let path = Layout::new(root).identity_dir().join("registration.json");
    let registration = std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(SpawnedAgent { child, registration, first_line })
}
