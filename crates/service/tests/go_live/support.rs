//! Helpers: a real agent process (killed and restarted at will) registered as the host of a
//! fresh site in a store on disk, candidates built from the workspace's sample site, and what
//! the host really runs and serves, printed with the agent's log when a test fails.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::Duration;
use switchyard_agent::{AgentClient, Registration};
use switchyard_api::{AddressDraft, CustomerDraft, EnvironmentDraft, EnvironmentKind, HostDraft, SiteDraft};
use switchyard_service::{Caller, Service};
use switchyard_store::Store;

pub const PUBLIC: &str = "notes.test";

/// A site with a production environment on a real agent, in a store of its own.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub service: Service,
    pub site_id: i64,
    pub host_id: i64,
    agent: Option<Child>,
    pub registration: Registration,
}

impl Fixture {
    pub async fn start() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("switchyard.db")).await.expect("store");
        let service = Service::new(store);
        let (agent, registration) = spawn_agent(dir.path());
        std::fs::write(dir.path().join("agent.token"), &registration.token).unwrap();
        let me = Caller::system();
        let customer =
            service.create_customer(&me, CustomerDraft { name: "Acme".into(), contact_email: "ops@acme.example".into() }).await.unwrap();
        let site = SiteDraft { name: "Notes".into(), customer_id: customer.id, description: String::new() };
        let site = service.create_site(&me, site).await.unwrap();
        let host = service.create_host(&me, host_draft(dir.path(), &registration)).await.unwrap();
        let env = EnvironmentDraft { name: "production".into(), kind: EnvironmentKind::Production, host_id: host.id };
        let env = service.create_environment(&me, site.id, env).await.unwrap();
        let address = AddressDraft { value: PUBLIC.into(), environment_id: Some(env.id) };
        service.create_address(&me, site.id, address).await.unwrap();
        Fixture { dir, service, site_id: site.id, host_id: host.id, agent: Some(agent), registration }
    }

    pub fn client(&self) -> AgentClient {
        let r = &self.registration;
        AgentClient::new(&r.url, &r.token, &r.fingerprint).expect("agent client")
    }

    /// Uploads a candidate through the service, as a user would; returns its sha256.
    pub async fn upload(&self, name: &str, bytes: Vec<u8>) -> String {
        self.try_upload(name, bytes).await.unwrap().sha256
    }

    /// Uploads a candidate through the service; returns what the service answered.
    pub async fn try_upload(&self, name: &str, bytes: Vec<u8>) -> Result<switchyard_api::Candidate, switchyard_service::ServiceError> {
        let body = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
        self.service.upload_candidate(&Caller::system(), self.site_id, name, body).await
    }

    /// The agent environments on the host.
    pub async fn environments(&self) -> Vec<String> {
        self.client().list_envs().await.expect("list the agent's environments")
    }

    /// SIGKILLs the agent; the sites it started end with it.
    pub fn kill_agent(&mut self) {
        if let Some(mut child) = self.agent.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the agent again on the same root (new ports) and points the host at it.
    pub async fn restart_agent(&mut self) {
        self.kill_agent();
        let (agent, registration) = spawn_agent(self.dir.path());
        self.agent = Some(agent);
        self.registration = registration;
        let draft = host_draft(self.dir.path(), &self.registration);
        self.service.update_host(&Caller::system(), self.host_id, draft).await.unwrap();
    }

    /// The version the public address serves through the agent's router.
    pub async fn served_version(&self) -> String {
        self.version_at(PUBLIC).await
    }

    /// The version `host` serves through the agent's router.
    pub async fn version_at(&self, host: &str) -> String {
        let public: SocketAddr = self.registration.public_addresses[0];
        let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
        let reply = http.get(format!("http://{public}/version")).header("host", host).send().await.expect("the router answers");
        let body: serde_json::Value = reply.json().await.expect("the site answers JSON");
        body["version"].as_str().unwrap_or_else(|| panic!("no version in {body}")).to_owned()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.kill_agent();
        if std::thread::panicking() {
            eprintln!("---- agent log ----\n{}", self.log());
        }
    }
}

fn host_draft(dir: &Path, registration: &Registration) -> HostDraft {
    HostDraft {
        name: "web-1".into(),
        agent_url: registration.url.clone(),
        token_ref: String::new(),
        token: Some(std::fs::read_to_string(dir.join("agent.token")).expect("the agent wrote its token").trim().to_owned()),
        cert_fingerprint: registration.fingerprint.clone(),
    }
}

fn spawn_agent(dir: &Path) -> (Child, Registration) {
    let spawned = switchyard_agent::spawn::spawn_agent(&binary("switchyard-agent"), dir, &["--public-listen", "127.0.0.1:0"])
        .unwrap_or_else(|e| panic!("{e}"));
    (spawned.child, spawned.registration)
}

/// A `.tar.gz` of `files` (path, contents, mode).
pub fn tarball(files: &[(&str, &str, u32)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(*mode);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, data.as_bytes()).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&builder.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

/// A release of the sample site at `version`: `bin/site` runs `before` (shell), then starts
/// the workspace's sample site with this release's `site.toml`.
pub fn sample_site(version: &str, before: &str) -> Vec<u8> {
    let script = format!(
        "#!/bin/sh\n{before}\nhere=$(cd \"$(dirname \"$0\")/..\" && pwd)\nSITE_CONFIG=\"$here/site.toml\" exec '{}' \"$@\"\n",
        binary("sample-site").display()
    );
    let site_toml = format!("version = \"{version}\"\nschema = 1\n");
    tarball(&[("bin/site", &script, 0o755), ("site.toml", &site_toml, 0o644)])
}

/// The agent and sample-site executables, built once per test process.
pub fn binary(name: &str) -> PathBuf {
    static PROFILE_DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = PROFILE_DIR.get_or_init(|| {
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
    dir.join(name)
}
