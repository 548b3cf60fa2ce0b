//! A child process that is killed when dropped and whose output can be shown on failure.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Running {
    pub name: String,
    child: Child,
    log: std::path::PathBuf,
}

impl Running {
    /// Starts `command` with stdout and stderr in `log_dir/<name>.log`.
    pub fn spawn(name: &str, mut command: Command, log_dir: &Path) -> Self {
        let log = log_dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("create log file");
        command.stdout(file.try_clone().expect("clone log handle")).stderr(file).stdin(Stdio::null());
        // Its own process group, so that dropping it also ends what it started (chromedriver's
        // Chromium, tauri-driver's WebKitWebDriver and app), even when a test panics.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        Self { name: name.to_owned(), child, log }
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `ready` holds for the output, or panics with the output so far.
    pub fn wait_for_output(&mut self, what: &str, timeout: Duration, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let output = self.output();
            if ready(&output) {
                return output;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}) before {what}; its output:\n{output}", self.name);
            }
            if start.elapsed() > timeout {
                panic!("{} did not show {what} within {timeout:?}; its output:\n{output}", self.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Asks the process to stop (SIGTERM) and waits for it.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = self.child.kill();
                return self.child.wait().expect("wait after kill");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // SIGTERM first: drivers (tauri-driver) stop the processes they started on it, which a
        // SIGKILL would leave running.
        let group = format!("-{}", self.child.id());
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(3) {
                if let Ok(Some(_)) = self.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- output of {} ---\n{}\n--- end of {} ---", self.name, self.output(), self.name);
        }
    }
}

/// Polls until a TCP port accepts connections.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
