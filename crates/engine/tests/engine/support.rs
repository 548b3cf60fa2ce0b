//! Helpers: build and start a real agent with a public listener, put the sample site's v1 in
//! production behind the router on a data volume, build candidates, and print the agent's log
//! and the release journal when a test fails. Traffic during a release is in `traffic.rs`.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::Ordering;
use std::sync::OnceLock;
use std::time::Duration;

use sha2::{Digest, Sha256};
use switchyard_agent::api::{Activate, CreateEnv, EnvConfig, UnpackRelease};
use switchyard_agent::{AgentClient, Registration};
use switchyard_core::patch::{Action, PatchDocument, WorkflowKind};
use switchyard_core::workflow::{Actor, Submitter};
use switchyard_core::Role;
use switchyard_engine::{initial_site_routes, Engine, ExecConfig, ReleaseSite};
use switchyard_router::api::PointAddress;
use switchyard_router::{RouteTable, Target};
use switchyard_store::Store;

pub use crate::traffic::{assert_nothing_failed_or_lost, assert_outage_recorded, Load, PublicReader};

pub const SITE: &str = "shop";
pub const PUBLIC: &str = "shop.test";

/// The site as the engine sees it, with no inventory behind it.
pub const SHOP: ReleaseSite<'static> = ReleaseSite { id: None, key: SITE, public_address: PUBLIC, unpack_limits: None };

pub fn sue() -> Actor {
    Actor::new(1, "sue", Role::Support)
}
/// Sue, who submits the tests' releases.
pub fn by_sue() -> Submitter {
    Submitter::new(1, "sue")
}
pub fn sam() -> Actor {
    Actor::new(2, "sam", Role::Support)
}
pub fn carl() -> Actor {
    Actor::new(3, "carl", Role::Customer)
}

/// A host: a real agent process with a public listener, the sample site's v1 in production
/// (`shop-blue`) and the engine's store and candidates directory.
pub struct Host {
    pub dir: tempfile::TempDir,
    pub client: AgentClient,
    pub registration: Registration,
    pub public: SocketAddr,
    child: Option<Child>,
}

impl Host {
    pub async fn start() -> Host {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("candidates")).unwrap();
        let (child, registration) = spawn_agent(dir.path());
        let client = AgentClient::new(&registration.url, &registration.token, &registration.fingerprint).expect("client");
        let public = registration.public_addresses[0];
        let host = Host { dir, client, registration, public, child: Some(child) };
        host.put_v1_in_production().await;
        host
    }

    async fn put_v1_in_production(&self) {
        let (v1, sha) = self.candidate("1.0.0", 1);
        drop(v1);
        let (blue, green) = (free_port(), free_port());
        let env = format!("{SITE}-blue");
        let mut config = site_config(blue);
        config.production = true;
        self.client.create_env(&CreateEnv { op_id: "setup-create".into(), name: env.clone(), config }).await.unwrap();
        self.client.upload_candidate(&self.candidates().join(format!("{sha}.tar.gz")), &sha).await.unwrap();
        let release_id = format!("r-{}", &sha[..16]);
        let unpack = UnpackRelease { op_id: "setup-unpack".into(), release_id: release_id.clone(), sha256: sha.clone(), limits: None };
        self.client.unpack_release(&env, &unpack).await.unwrap();
        self.client.activate(&env, &Activate { op_id: "setup-activate".into(), release_id }).await.unwrap();
        self.client.start(&env, "setup-start").await.unwrap();
        let local = |port| SocketAddr::from(([127, 0, 0, 1], port));
        let table = RouteTable { sites: [(SITE.to_owned(), initial_site_routes(SITE, PUBLIC, local(blue), local(green)))].into() };
        self.client.replace_routes("setup-routes", table).await.unwrap();
        assert_eq!(self.version().await, "1.0.0");
    }

    pub fn candidates(&self) -> PathBuf {
        self.dir.path().join("candidates")
    }

    /// Builds a sample-site release and puts it where the engine finds candidates.
    pub fn candidate(&self, version: &str, schema: u32) -> (Vec<u8>, String) {
        let (bytes, sha) = site_release(version, schema);
        std::fs::write(self.candidates().join(format!("{sha}.tar.gz")), &bytes).unwrap();
        (bytes, sha)
    }

    /// A release with more `site.toml` lines, e.g. `fail_percent = 50` for one that fails
    /// half its `GET /version` requests.
    pub fn candidate_with(&self, version: &str, schema: u32, site_toml: &str) -> String {
        let (bytes, sha) = site_release_with(version, schema, site_toml);
        std::fs::write(self.candidates().join(format!("{sha}.tar.gz")), &bytes).unwrap();
        sha
    }

    /// Serves the customer accounts at `*.shop.test` from production, as a site released by
    /// rollouts is set up.
    pub async fn route_accounts(&self) {
        let change =
            PointAddress { site: SITE.into(), address: format!("*.{PUBLIC}"), target: Target::environment(format!("{SITE}-blue")) };
        self.client.point("setup-accounts", change).await.unwrap();
    }

    /// The version `address` serves.
    pub async fn version_at(&self, address: &str) -> String {
        let reply = http().get(format!("http://{}/version", self.public)).header("host", address).send().await.unwrap();
        let v: serde_json::Value = reply.json().await.unwrap();
        v["version"].as_str().unwrap().to_owned()
    }

    pub async fn engine(&self) -> Engine {
        self.engine_with(|_| {}).await
    }

    /// An engine whose configuration `tune` changes, e.g. to check watch windows more often.
    pub async fn engine_with(&self, tune: impl FnOnce(&mut ExecConfig)) -> Engine {
        let store = Store::open(&self.dir.path().join("switchyard.db")).await.expect("store");
        // Releases name their submitter by user id; Sue (`by_sue`, id 1) must exist. A store
        // reopened by a resumed engine already has her.
        let sue = switchyard_core::UserDraft {
            username: "sue".into(),
            display_name: "Sue".into(),
            role: Role::Support,
            customer_id: None,
            admin: false,
            password: None,
        };
        let _ = store.create_user(&sue).await;
        let mut config = ExecConfig::new(self.candidates());
        config.hold_timeout = Duration::from_secs(20);
        tune(&mut config);
        Engine::new(store, self.client.clone(), config)
    }

    /// The version the public address serves.
    pub async fn version(&self) -> String {
        let reply = http().get(format!("http://{}/version", self.public)).header("host", PUBLIC).send().await.unwrap();
        let v: serde_json::Value = reply.json().await.unwrap();
        v["version"].as_str().unwrap().to_owned()
    }

    /// Every record body the public address serves.
    pub async fn records(&self) -> BTreeSet<String> {
        let reply = http().get(format!("http://{}/records", self.public)).header("host", PUBLIC).send().await.unwrap();
        let v: Vec<serde_json::Value> = reply.json().await.unwrap();
        v.iter().map(|r| r["body"].as_str().unwrap().to_owned()).collect()
    }

    pub async fn add_record(&self, body: &str) {
        let reply = http()
            .post(format!("http://{}/records", self.public))
            .header("host", PUBLIC)
            .json(&serde_json::json!({ "body": body }))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 201);
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default()
    }

    /// SIGKILLs the agent (its sites end with it) and starts it again over the same root, its
    /// public listener on the same port so visitors keep their address; its API gets a new
    /// port, so `client` and `registration` change.
    pub fn restart_agent(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let public = self.public.to_string();
        let extra = ["--public-listen", public.as_str()];
        let spawned =
            switchyard_agent::spawn::spawn_agent(&binary("switchyard-agent"), self.dir.path(), &extra).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spawned.registration.fingerprint, self.registration.fingerprint, "the agent's identity survives a restart");
        self.client =
            AgentClient::new(&spawned.registration.url, &spawned.registration.token, &spawned.registration.fingerprint).expect("client");
        self.registration = spawned.registration;
        self.child = Some(spawned.child);
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The agent starts its sites with a parent-death signal, so they end with it.
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("---- agent log ----\n{}", self.log());
        }
    }
}

/// A patch document for `kind` from the workflow's template, with watch windows shortened to
/// one second so tests stay quick.
pub fn document(kind: WorkflowKind, target_version: &str, sha: &str) -> PatchDocument {
    let mut doc = PatchDocument::template(kind, SITE, target_version, sha);
    for step in &mut doc.steps {
        if let Action::WaitAndWatch { duration_secs, .. } = &mut step.action {
            *duration_secs = 1;
        }
    }
    doc.validate().expect("the test document validates");
    doc
}

/// Checks that a release ended completed, printing its journal when it did not.
pub async fn assert_completed(engine: &Engine, status: &switchyard_engine::ReleaseStatus) {
    assert_eq!(status.outcome.as_deref(), Some("completed"), "{}", journal(engine, status.id).await);
}

/// Checks that a release ended rolled back, printing its journal when it did not.
pub async fn assert_rolled_back(engine: &Engine, status: &switchyard_engine::ReleaseStatus) {
    assert!(matches!(status.state, switchyard_core::workflow::State::RolledBack { .. }), "{}", journal(engine, status.id).await);
}

/// Prints the release's journal, one transition a line, for failing tests.
pub async fn journal(engine: &Engine, id: i64) -> String {
    let journal = engine.store().transitions(id).await.unwrap_or_default();
    journal
        .iter()
        .map(|t| format!("{} {} | {} | {}", t.seq, t.event.as_deref().unwrap_or("start"), t.state, t.commands))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The sample site keeps its database on the data volume `shop`, outside its environments:
/// a rehearsal's clone gets a private copy, the new version of a blue-green or rollout
/// release serves from the same database as the old one.
pub fn site_config(port: u16) -> EnvConfig {
    let mut config = EnvConfig::new(vec!["bin/site".into(), "serve".into()], port);
    config.volume = Some(SITE.into());
    config.env.insert("RUST_BACKTRACE".into(), "0".into());
    config.stop_timeout_secs = 5;
    config
}

fn spawn_agent(dir: &Path) -> (Child, Registration) {
    let extra = ["--public-listen", "127.0.0.1:0"];
    let spawned = switchyard_agent::spawn::spawn_agent(&binary("switchyard-agent"), dir, &extra).unwrap_or_else(|e| panic!("{e}"));
    (spawned.child, spawned.registration)
}

/// The agent and sample-site executables, built once per test process and copied, so a
/// concurrent build in the shared target directory cannot replace them mid-test.
fn binary(name: &'static str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let profile_dir = BUILT.get_or_init(|| {
        let test_exe = std::env::current_exe().expect("test exe");
        let profile_dir = test_exe.parent().and_then(Path::parent).expect("target profile dir").to_path_buf();
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let status = Command::new(option_env!("CARGO").unwrap_or("cargo"))
            .current_dir(&workspace)
            .args(["build", "--quiet", "-p", "switchyard-agent", "--bin", "switchyard-agent", "-p", "sample-site", "--bin", "sample-site"])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build of the agent and the sample site failed");
        profile_dir
    });
    private_copy(&profile_dir.join(name))
}

pub fn private_copy(built: &Path) -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let name = built.file_name().unwrap().to_string_lossy().into_owned();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("engine-test-binaries");
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
        // One temporary name per copier: two test threads writing one file would leave it
        // open for writing in the other when it is executed ("text file busy").
        static COPIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COPIES.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}-{}-{n}", std::process::id()));
        if std::fs::copy(built, &tmp).is_ok() && std::fs::metadata(&tmp).map(|m| m.size()).ok() == Some(meta.size()) {
            std::fs::rename(&tmp, &copy).expect("put the binary copy in place");
            return copy;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("cannot copy {} for the tests: it kept changing or vanishing", built.display())
}

/// A release of the sample site: `bin/site` starts the shared sample-site binary with this
/// release's `site.toml` (version and schema), so archives stay a few hundred bytes.
pub fn site_release(version: &str, schema: u32) -> (Vec<u8>, String) {
    site_release_with(version, schema, "")
}

/// [`site_release`] with more lines for its `site.toml`.
pub fn site_release_with(version: &str, schema: u32, extra: &str) -> (Vec<u8>, String) {
    let script = format!(
        "#!/bin/sh\nhere=$(cd \"$(dirname \"$0\")/..\" && pwd)\nSITE_CONFIG=\"$here/site.toml\" exec '{}' \"$@\"\n",
        binary("sample-site").display()
    );
    let site_toml = format!("version = \"{version}\"\nschema = {schema}\n{extra}");
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data, mode) in [("bin/site", script.as_bytes(), 0o755), ("site.toml", site_toml.as_bytes(), 0o644)] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, data).expect("append");
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&builder.into_inner().expect("tar")).unwrap();
    let bytes = gz.finish().unwrap();
    let sha = hex::encode(Sha256::digest(&bytes));
    (bytes, sha)
}
