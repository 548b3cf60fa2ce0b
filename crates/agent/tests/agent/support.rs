//! Helpers that start a real agent process in a temporary root, build sample-site releases,
//! and print the agent's log when a test fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use switchyard_agent::api::EnvConfig;
use switchyard_agent::{AgentClient, Registration};

pub struct TestAgent {
    pub dir: tempfile::TempDir,
    pub client: AgentClient,
    pub registration: Registration,
    child: Option<Child>,
    extra_args: Vec<String>,
}

impl TestAgent {
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("agent.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts an agent with small limits, so hostile archives hit them quickly.
    pub fn start() -> TestAgent {
        Self::start_with(&["--max-upload-bytes", "67108864", "--max-unpacked-bytes", "8388608"])
    }

    pub fn start_with(extra: &[&str]) -> TestAgent {
        let dir = tempfile::tempdir().expect("temp dir");
        let extra_args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (child, registration) = spawn(dir.path(), &extra_args);
        let client = AgentClient::new(&registration.url, &registration.token, &registration.fingerprint).expect("client");
        TestAgent { dir, client, registration, child: Some(child), extra_args }
    }

    /// SIGKILLs the agent, as a crash or power loss would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the agent and starts it again on the same root (it gets a new port).
    pub fn restart(&mut self) {
        self.kill();
        let (child, registration) = spawn(self.dir.path(), &self.extra_args);
        assert_eq!(registration.fingerprint, self.registration.fingerprint, "the identity must survive a restart");
        self.client = AgentClient::new(&registration.url, &registration.token, &registration.fingerprint).expect("client");
        self.registration = registration;
        self.child = Some(child);
    }

    /// Files under the root other than the agent's own bookkeeping, for "nothing was written".
    pub fn env_tree(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(self.dir.path(), self.dir.path(), &mut out);
        out.retain(|p| !p.starts_with("root/ops") && !p.starts_with("root/artifacts") && !p.starts_with("root/agent") && p != "agent.log");
        out.sort();
        out
    }
}

impl Drop for TestAgent {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("---- agent log ({}) ----\n{}", self.log_path().display(), self.log());
            let mut tree = Vec::new();
            walk(self.dir.path(), self.dir.path(), &mut tree);
            eprintln!("---- files ----\n{}", tree.join("\n"));
        }
    }
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        out.push(path.strip_prefix(base).unwrap().display().to_string());
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            walk(base, &path, out);
        }
    }
}

fn spawn(dir: &Path, extra: &[String]) -> (Child, Registration) {
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let spawned = switchyard_agent::spawn::spawn_agent(agent_binary(), dir, &extra).unwrap_or_else(|e| panic!("{e}"));
    let (line, registration) = (&spawned.first_line, &spawned.registration);
    assert!(line.starts_with("switchyard-agent listening on https://127.0.0.1:"), "unexpected first line {line:?}");
    assert!(line.contains(&registration.fingerprint));
    assert!(!line.contains(&registration.token), "the token must not be printed");
    (spawned.child, spawned.registration)
}

/// The sample-site executable, built once per test process (a no-op when cargo test built it).
pub fn sample_site_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let test_exe = std::env::current_exe().expect("test exe");
        // target/<profile>/deps/<test> -> target/<profile>
        let profile_dir = test_exe.parent().and_then(Path::parent).expect("target profile dir").to_path_buf();
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut build = Command::new(option_env!("CARGO").unwrap_or("cargo"));
        build.current_dir(&workspace).args(["build", "--quiet", "-p", "sample-site"]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build -p sample-site");
        assert!(status.success(), "cargo build -p sample-site failed");
        let built = profile_dir.join("sample-site");
        assert!(built.exists(), "no sample-site binary at {}", built.display());
        private_copy(&built)
    })
}

/// The target directory is shared with other builds that may replace `sample-site` while
/// tests run it, so tests run a copy named after the build it came from.
fn private_copy(built: &Path) -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let name = built.file_name().unwrap().to_string_lossy().into_owned();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("agent-test-binaries");
    std::fs::create_dir_all(&dir).expect("copy dir");
    // Bounded retries: cargo replaces a binary by unlinking it first, so it can be briefly absent.
    for _ in 0..100 {
        let Ok(meta) = std::fs::metadata(built) else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        let copy = dir.join(format!("{name}-{}-{}-{}", meta.size(), meta.mtime(), meta.mtime_nsec()));
        if copy.exists() {
            return copy;
        }
        let tmp = dir.join(format!(".{name}-{}", std::process::id()));
        if std::fs::copy(built, &tmp).is_ok() && std::fs::metadata(&tmp).map(|m| m.size()).ok() == Some(meta.size()) {
            std::fs::rename(&tmp, &copy).expect("put the binary copy in place");
            return copy;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("cannot copy {} for the tests: it kept changing or vanishing", built.display())
}

/// The agent binary, copied like the sample site so a concurrent build cannot swap it mid-test.
pub fn agent_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| private_copy(Path::new(env!("CARGO_BIN_EXE_switchyard-agent"))))
}

/// A release of the sample site: `bin/site` starts the shared sample-site binary with this
/// release's `site.toml` (version and schema), so test archives stay a few hundred bytes.
pub fn site_release(version: &str, schema: u32) -> (Vec<u8>, String) {
    let script = format!(
        "#!/bin/sh\nhere=$(cd \"$(dirname \"$0\")/..\" && pwd)\nSITE_CONFIG=\"$here/site.toml\" exec '{}' \"$@\"\n",
        sample_site_binary().display()
    );
    let site_toml = format!("version = \"{version}\"\nschema = {schema}\n");
    tar_gz(&[("bin/site", script.as_bytes(), 0o755), ("site.toml", site_toml.as_bytes(), 0o644)])
}

/// A well-formed archive of regular files.
pub fn tar_gz(files: &[(&str, &[u8], u32)]) -> (Vec<u8>, String) {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(*mode);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, *data).expect("append");
    }
    gzip(builder.into_inner().expect("tar"))
}

pub fn gzip(tar: Vec<u8>) -> (Vec<u8>, String) {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let bytes = gz.finish().unwrap();
    let sha = sha256(&bytes);
    (bytes, sha)
}

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn site_config(port: u16) -> EnvConfig {
    let mut config = EnvConfig::new(vec!["bin/site".into(), "serve".into()], port);
    config.sqlite = vec!["site.db".into()];
    // A developer's RUST_BACKTRACE would bury the site's one-line errors under frames.
    config.env.insert("RUST_BACKTRACE".into(), "0".into());
    config.env.insert("RUST_LIB_BACKTRACE".into(), "0".into());
    config.stop_timeout_secs = 5;
    config
}

/// Plain HTTP to a site on 127.0.0.1.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build().unwrap()
}

pub async fn site_version(port: u16) -> String {
    let v: serde_json::Value = http().get(format!("http://127.0.0.1:{port}/version")).send().await.unwrap().json().await.unwrap();
    v["version"].as_str().unwrap().to_owned()
}

pub async fn add_record(port: u16, body: &str) {
    let r = http().post(format!("http://127.0.0.1:{port}/records")).json(&serde_json::json!({ "body": body })).send().await.unwrap();
    assert_eq!(r.status(), 201, "POST /records");
}

pub async fn record_bodies(port: u16) -> Vec<String> {
    let v: Vec<serde_json::Value> = http().get(format!("http://127.0.0.1:{port}/records")).send().await.unwrap().json().await.unwrap();
    v.iter().map(|r| r["body"].as_str().unwrap().to_owned()).collect()
}

/// Waits (bounded) until `check` holds.
pub async fn eventually<F: std::future::Future<Output = bool>>(what: &str, timeout: Duration, mut check: impl FnMut() -> F) {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after {timeout:?} waiting until {what}");
}

pub fn process_alive(pid: u32) -> bool {
    // Signal 0 checks existence; a zombie would still count, but the agent reaps its children.
    unsafe { libc::kill(pid as i32, 0) == 0 }
}
