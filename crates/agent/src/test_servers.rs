//! Real PostgreSQL and MariaDB servers for tests, from the host's Debian packages: each runs
//! from a temporary directory on a free port of 127.0.0.1 as the package's unprivileged user
//! (`postgres`, `mysql`; the servers refuse root), with password logins so credentials are
//! really checked, and is stopped when dropped. Requires root (to hand the directory over).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::databases::{DatabaseKind, ServerConfig};

/// The administrator's password on every test server.
pub const ADMIN_PASSWORD: &str = "switchyardtest";

/// A running database server; stopped and its files removed when dropped.
pub struct TestServer {
    pub config: ServerConfig,
    child: Child,
    dir: tempfile::TempDir,
}

impl TestServer {
    pub fn kind(&self) -> DatabaseKind {
        self.config.kind
    }

    /// The server's log, for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Starts a server of `kind`, ready for connections; the error says what is missing.
    pub fn start(kind: DatabaseKind) -> Result<TestServer, String> {
        match kind {
            DatabaseKind::Postgresql => start_postgres(),
            DatabaseKind::Mariadb => start_mariadb(),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // PostgreSQL's fast shutdown is SIGINT; MariaDB stops cleanly on SIGTERM.
        let signal = match self.config.kind {
            DatabaseKind::Postgresql => libc::SIGINT,
            DatabaseKind::Mariadb => libc::SIGTERM,
        };
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) on the child this struct started and has not reaped.
            unsafe { libc::kill(pid, signal) };
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0)
}

/// A temporary directory handed to `user`, with their uid and gid.
fn owned_dir(user: &str) -> Result<(tempfile::TempDir, u32, u32), String> {
    let (uid, gid) = user_ids(user)?;
    let dir = tempfile::Builder::new().prefix("switchyard-db-").tempdir().map_err(|e| e.to_string())?;
    std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
        .map_err(|e| format!("cannot hand {} to {user} (tests with database servers run as root): {e}", dir.path().display()))?;
    Ok((dir, uid, gid))
}

fn user_ids(user: &str) -> Result<(u32, u32), String> {
    let out = Command::new("id").args(["-u", user]).output().map_err(|e| e.to_string())?;
    let gid = Command::new("id").args(["-g", user]).output().map_err(|e| e.to_string())?;
    let parse = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).trim().parse::<u32>().ok();
    match (parse(&out), parse(&gid)) {
        (Some(u), Some(g)) => Ok((u, g)),
        _ => Err(format!("there is no user {user}: install the database server's Debian package (cargo xtask test does)")),
    }
}

/// `program` to run as `uid`/`gid` with its output in `log`.
fn as_user(program: &Path, uid: u32, gid: u32, log: &Path) -> Result<Command, String> {
    let mut command = Command::new(program);
    let file = std::fs::File::create(log).map_err(|e| e.to_string())?;
    std::os::unix::fs::chown(log, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
    command.uid(uid).gid(gid).stdin(Stdio::null()).stdout(file.try_clone().map_err(|e| e.to_string())?).stderr(file);
    Ok(command)
}

fn postgres_bin() -> Result<PathBuf, String> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "PostgreSQL is not installed (/usr/lib/postgresql is missing): install the postgresql package".to_owned())?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("postgres").is_file())
        .collect();
    found.sort();
    found.pop().ok_or_else(|| "no PostgreSQL server binaries under /usr/lib/postgresql".to_owned())
}

fn wait_until(what: &str, log: &Path, child: &mut Child, ready: impl Fn() -> bool) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if ready() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{what} exited ({status}) while starting:\n{}", std::fs::read_to_string(log).unwrap_or_default()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("{what} did not accept connections within 60 s:\n{}", std::fs::read_to_string(log).unwrap_or_default()))
}

fn start_postgres() -> Result<TestServer, String> {
    let bin = postgres_bin()?;
    let (dir, uid, gid) = owned_dir("postgres")?;
    let pwfile = dir.path().join("pw");
    std::fs::write(&pwfile, ADMIN_PASSWORD).map_err(|e| e.to_string())?;
    std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
    let data = dir.path().join("data");
    let log = dir.path().join("server.log");
    let init = as_user(&bin.join("initdb"), uid, gid, &dir.path().join("initdb.log"))?
        .args(["--no-sync", "--auth=scram-sha-256", "-U", "postgres", "--pwfile"])
        .arg(&pwfile)
        .arg("-D")
        .arg(&data)
        .status()
        .map_err(|e| format!("cannot run initdb: {e}"))?;
    if !init.success() {
        return Err(format!("initdb failed:\n{}", std::fs::read_to_string(dir.path().join("initdb.log")).unwrap_or_default()));
    }
    let port = free_port();
    let mut child = as_user(&bin.join("postgres"), uid, gid, &log)?
        .arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-k", "", "-c", "listen_addresses=127.0.0.1", "-c", "wal_level=logical", "-c", "fsync=off"])
        .spawn()
        .map_err(|e| format!("cannot start postgres: {e}"))?;
    let isready = bin.join("pg_isready");
    let ready = || Command::new(&isready).args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()]).status().is_ok_and(|s| s.success());
    if let Err(e) = wait_until("postgres", &log, &mut child, ready) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    let config = ServerConfig {
        kind: DatabaseKind::Postgresql,
        host: "127.0.0.1".into(),
        port,
        admin_user: "postgres".into(),
        admin_password: ADMIN_PASSWORD.into(),
    };
    Ok(TestServer { config, child, dir })
}

fn start_mariadb() -> Result<TestServer, String> {
    if !Path::new("/usr/sbin/mariadbd").is_file() {
        return Err("MariaDB is not installed (/usr/sbin/mariadbd is missing): install mariadb-server".into());
    }
    let (dir, uid, gid) = owned_dir("mysql")?;
    let data = dir.path().join("data");
    let log = dir.path().join("server.log");
    let init = Command::new("mariadb-install-db")
        .args(["--no-defaults", "--user=mysql", "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"])
        .arg(format!("--datadir={}", data.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run mariadb-install-db: {e}"))?;
    if !init.status.success() {
        return Err(format!("mariadb-install-db failed: {}", String::from_utf8_lossy(&init.stderr)));
    }
    let port = free_port();
    let socket = dir.path().join("sock");
    let mut command = Command::new("/usr/sbin/mariadbd");
    let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    std::os::unix::fs::chown(&log, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
    command
        .arg("--no-defaults")
        .arg("--user=mysql")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--port={port}"))
        .args([
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--binlog-format=ROW",
            "--server-id=1",
            "--innodb-flush-log-at-trx-commit=2",
        ])
        .arg(format!("--log-bin={}", dir.path().join("binlog").display()))
        .arg(format!("--pid-file={}", dir.path().join("pid").display()))
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file);
    let mut child = command.spawn().map_err(|e| format!("cannot start mariadbd: {e}"))?;
    let client = |sql: &str| {
        Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}", socket.display()))
            .args(["-uroot", "-e", sql])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if let Err(e) = wait_until("mariadbd", &log, &mut child, || client("SELECT 1")) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    let admin = format!(
        "CREATE USER 'switchyard'@'%' IDENTIFIED BY '{ADMIN_PASSWORD}'; GRANT ALL PRIVILEGES ON *.* TO 'switchyard'@'%' WITH GRANT OPTION"
    );
    if !client(&admin) {
        let _ = child.kill();
        let _ = child.wait();
        return Err("cannot create the administrator on the MariaDB test server".into());
    }
    let config = ServerConfig {
        kind: DatabaseKind::Mariadb,
        host: "127.0.0.1".into(),
        port,
        admin_user: "switchyard".into(),
        admin_password: ADMIN_PASSWORD.into(),
    };
    Ok(TestServer { config, child, dir })
}
