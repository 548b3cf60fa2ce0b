//! Debian's nginx as the bench's reference proxy: started on loopback with a temporary config.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One nginx master (and its workers) proxying to one of two backends.
pub struct Nginx {
    pub addr: SocketAddr,
    child: Child,
    dir: tempfile::TempDir,
    backends: [SocketAddr; 2],
    current: usize,
}

impl Nginx {
    /// Starts nginx in front of `backends[0]`. The error says why nginx is not available.
    pub fn start(backends: [SocketAddr; 2], workers: usize) -> Result<Nginx, String> {
        let binary = find_nginx().ok_or(
            "nginx is not installed (looked for `nginx` on PATH and in /usr/sbin); \
             run `apt-get install -y nginx` to get the nginx comparison",
        )?;
        let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory for nginx: {e}"))?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("cannot find a free port for nginx: {e}"))?
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        write_config(dir.path(), addr, backends[0], workers)?;
        let child = Command::new(&binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let mut nginx = Nginx { addr, child, dir, backends, current: 0 };
        let started = Instant::now();
        while TcpStream::connect(addr).is_err() {
            if started.elapsed() > Duration::from_secs(5) || nginx.child.try_wait().ok().flatten().is_some() {
                let log = std::fs::read_to_string(nginx.dir.path().join("error.log")).unwrap_or_default();
                return Err(format!("nginx did not start listening on {addr} within 5 s; its error log:\n{log}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(nginx)
    }

    /// The nginx way to change a route: rewrite the config and reload (SIGHUP). New workers
    /// take over; old ones close their keep-alive connections.
    pub fn swap(&mut self, workers: usize) {
        self.current = 1 - self.current;
        if let Err(error) = write_config(self.dir.path(), self.addr, self.backends[self.current], workers) {
            panic!("{error}");
        }
        let status = Command::new("kill").arg("-HUP").arg(self.child.id().to_string()).status();
        assert!(matches!(status, Ok(s) if s.success()), "sending SIGHUP to nginx failed: {status:?}");
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its workers; SIGKILL alone would orphan them.
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_nginx() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).chain([PathBuf::from("/usr/sbin")]).map(|dir| dir.join("nginx")).find(|candidate| candidate.is_file())
}

/// Tuned as an operator would for a fair fight: upstream keep-alive, no access log.
fn write_config(dir: &Path, listen: SocketAddr, backend: SocketAddr, workers: usize) -> Result<(), String> {
    let d = dir.display();
    let config = format!(
        "daemon off;
worker_processes {workers};
pid {d}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    keepalive_requests 1000000;
    upstream production {{
        server {backend};
        keepalive 128;
        keepalive_requests 1000000;
    }}
    server {{
        listen {listen};
        location / {{
            proxy_pass http://production;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $host;
        }}
    }}
}}
"
    );
    std::fs::write(dir.join("nginx.conf"), config).map_err(|e| format!("cannot write the nginx config in {d}: {e}"))
}
