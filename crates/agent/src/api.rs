//! Wire types of the agent's HTTP API: plain serde structs with no IO, so they can move into
//! the shared API-types crate unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::capture::replay::{MovedCounter, Refusal, ReplayChanges, Replayed};
pub use crate::capture::schema::SchemaQuery;
pub use crate::capture::{CapturePage, CaptureQuery, CaptureState, CaptureStopped, Change, ChangeOp, StartCapture, StopCapture};
pub use switchyard_core::schema_change::{DatabaseDifference, SchemaDifference, TableDifference};

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub kind: ErrorKind,
    pub message: String,
    /// Whether repeating the same request (same operation id) may succeed.
    pub retry_safe: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    NotFound,
    Conflict,
    InvalidInput,
    TooLarge,
    Unauthorized,
    CommandFailed,
    Internal,
}

/// How to run a site in an environment; stored as `envs/<env>/env.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvConfig {
    /// Program and arguments; a relative program path with a `/` is taken inside the release.
    pub command: Vec<String>,
    /// The port the site listens on (passed to it as `PORT`). In `CreateEnv`, 0 asks the agent
    /// to choose a free port on its host: the chosen one is stored in `env.toml` and answered
    /// in `EnvInfo.config.port`, and a retry under the same operation id answers the same one.
    pub port: u16,
    #[serde(default = "default_health_path")]
    pub health_path: String,
    /// Extra environment variables for the site and for steps.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Production environments can only be destroyed with `force`.
    #[serde(default)]
    pub production: bool,
    /// How many releases to keep; the active and the previous one are always kept.
    #[serde(default = "default_keep_releases")]
    pub keep_releases: usize,
    /// SQLite databases under `shared/` (relative paths) copied with the online backup API.
    #[serde(default)]
    pub sqlite: Vec<String>,
    #[serde(default = "default_stop_timeout")]
    pub stop_timeout_secs: u64,
    #[serde(default = "default_health_retries")]
    pub health_retries: u32,
    #[serde(default = "default_health_interval")]
    pub health_interval_ms: u64,
    /// The data volume (`<root>/volumes/<name>/`) the site keeps its live data in, passed to
    /// it and to steps as `DATA_DIR`. Unlike `shared/`, a volume lives outside the
    /// environment, so two environments can serve from one database, as two versions of a
    /// site pointed at one MySQL would.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    /// The site's release manifest (`switchyard.toml` text) for releases that ship neither a
    /// `switchyard.toml` nor a `Procfile`, e.g. a tarball the customer did not change. Without
    /// any manifest the site runs by `command` and `health_path` as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_manifest: Option<String>,
    /// The stable key of the site this environment belongs to: environments of one site run as
    /// one unix user, so they can share a data volume. Taken from the environment's name when
    /// absent at creation; a clone keeps its source's. Never a display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The unix user the site's processes and steps run as, chosen by the agent at creation
    /// (a request's value is ignored) and kept here so the uid never changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<SiteUser>,
    /// How much of the host the site may use; absent limits take the agent's defaults.
    #[serde(default, skip_serializing_if = "SiteLimits::is_unset")]
    pub limits: SiteLimits,
    /// Set for an adopted environment (`AdoptEnv`): the site runs as a process the agent did
    /// not start, on `port`, from this directory. The agent health-checks it, routes to it and
    /// never starts, stops or restarts it; clones of it are ordinary environments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalProcess>,
    /// The databases the site keeps its data in on database servers (declared in the host's
    /// `databases.toml`): it gets each one's connection as `DATABASE_URL` (and the kind's own
    /// variables); a private clone gets copies under logins of its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<crate::databases::DatabaseBinding>,
}

/// A site's own unix user, created by an agent that runs as root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// Resource limits of a site (`[limits]` in env.toml). Enforced by a cgroup v2 per
/// environment where the agent can make one, by rlimits of each process otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteLimits {
    /// Memory the site may use (cgroup `memory.max`; as an rlimit, the address space of each
    /// process, applied only when declared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// Processes and threads (cgroup `pids.max`; `RLIMIT_NPROC` of the site's user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_processes: Option<u64>,
    /// Open files per process (`RLIMIT_NOFILE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_files: Option<u64>,
}

impl SiteLimits {
    pub const DEFAULT_MEMORY_BYTES: u64 = 4 << 30;
    pub const DEFAULT_MAX_PROCESSES: u64 = 512;
    pub const DEFAULT_OPEN_FILES: u64 = 4096;

    pub fn is_unset(&self) -> bool {
        *self == SiteLimits::default()
    }
    pub fn memory_bytes(&self) -> u64 {
        self.memory_bytes.unwrap_or(Self::DEFAULT_MEMORY_BYTES)
    }
    pub fn max_processes(&self) -> u64 {
        self.max_processes.unwrap_or(Self::DEFAULT_MAX_PROCESSES)
    }
    pub fn open_files(&self) -> u64 {
        self.open_files.unwrap_or(Self::DEFAULT_OPEN_FILES)
    }
}

/// A site process already running on the host when Switchyard took it over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalProcess {
    /// The absolute directory the site runs from.
    pub dir: String,
    /// How it is started, as the operator told it, for the record (the agent does not run it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// Takes over a site that already runs on the host: environment `name` describes the running
/// process (its port, its directory) without restarting it; `data_dir` (absolute, or relative
/// to `dir`) becomes the environment's data volume `volume` in place, a link to that
/// directory, so clones copy it and a shared-volume clone serves from the very same files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdoptEnv {
    pub op_id: String,
    pub name: String,
    pub port: u16,
    pub dir: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The manifest releases cloned from it run by when they ship none (`EnvConfig::default_manifest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_manifest: Option<String>,
    /// The site's stable key (`EnvConfig::site`): the releases that follow run as its user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

fn default_health_path() -> String {
    "/health".to_owned()
}
fn default_keep_releases() -> usize {
    5
}
fn default_stop_timeout() -> u64 {
    10
}
fn default_health_retries() -> u32 {
    // 30 s at the default interval: slow starters (JVMs, cold caches) still come up.
    300
}
fn default_health_interval() -> u64 {
    100
}

impl EnvConfig {
    /// A config with defaults for everything but the command and port.
    pub fn new(command: Vec<String>, port: u16) -> Self {
        EnvConfig {
            command,
            port,
            health_path: default_health_path(),
            env: BTreeMap::new(),
            production: false,
            keep_releases: default_keep_releases(),
            sqlite: Vec::new(),
            stop_timeout_secs: default_stop_timeout(),
            health_retries: default_health_retries(),
            health_interval_ms: default_health_interval(),
            volume: None,
            default_manifest: None,
            site: None,
            run_as: None,
            limits: SiteLimits::default(),
            external: None,
            databases: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentInfo {
    pub version: String,
    pub environments: Vec<String>,
    /// How sites are kept apart on this host (absent from agents older than isolation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<Isolation>,
    /// Where the agent's router serves the sites' public traffic, so links to a site's
    /// addresses carry the listener's port (absent from older agents, or without a listener).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_addresses: Vec<std::net::SocketAddr>,
    /// The change captures in force (each holds triggers, a replication slot or a log until
    /// stopped), absent from older agents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub captures: Vec<CaptureState>,
}

/// How the agent keeps sites from each other and from itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Isolation {
    /// Whether the agent runs as root, and so can give each site its own unix user.
    pub agent_is_root: bool,
    /// Whether each site runs as its own unix user (false: as the agent's user).
    pub site_users: bool,
    /// What enforces `[limits]`.
    pub limits: LimitsMechanism,
    /// What an operator should fix, in words; none when sites are fully isolated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitsMechanism {
    /// A cgroup v2 per environment with `memory.max` and `pids.max`, plus `RLIMIT_NOFILE`.
    CgroupV2,
    /// `RLIMIT_AS` (only a declared memory limit), `RLIMIT_NPROC` (only with site users) and
    /// `RLIMIT_NOFILE` per process.
    Rlimits,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateEnv {
    pub op_id: String,
    pub name: String,
    pub config: EnvConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvInfo {
    pub name: String,
    pub config: EnvConfig,
    pub current: Option<String>,
    pub previous: Option<String>,
    pub releases: Vec<ReleaseInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseInfo {
    pub id: String,
    pub sha256: String,
    pub files: u64,
    pub bytes: u64,
    pub unpacked_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloneEnv {
    pub op_id: String,
    pub target: String,
    /// The clone's port; the agent picks a free one when absent.
    pub port: Option<u16>,
    /// With a data volume: `true` makes the clone serve from the source's own volume (a new
    /// version beside the old one on one database); `false` gives it a private copy.
    #[serde(default)]
    pub share_volume: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactInfo {
    pub sha256: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnpackRelease {
    pub op_id: String,
    pub release_id: String,
    pub sha256: String,
    /// The site's own limits for this candidate; absent, the agent's apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<UnpackCaps>,
}

/// Limits on one unpack, sent by the server for the site. The agent applies the lower of these
/// and its own (`--max-unpacked-bytes`, `--max-unpacked-entries`): a caller can tighten its
/// limits, never loosen them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnpackCaps {
    /// Bytes of regular files the release may unpack to.
    pub max_bytes: u64,
    /// Entries (files, directories, links) the archive may hold.
    pub max_entries: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activate {
    pub op_id: String,
    pub release_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollback {
    pub op_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivateResult {
    pub current: String,
    pub previous: Option<String>,
    /// Releases deleted because more than `keep_releases` were present.
    pub pruned: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStep {
    pub op_id: String,
    pub command: Vec<String>,
    pub timeout_secs: u64,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// One line of a step's NDJSON output stream (also how the agent stores it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StepEvent {
    Output { stream: OutputStream, data: String },
    Exit { code: Option<i32>, timed_out: bool, interrupted: bool, duration_ms: u64 },
}

/// A finished step as the client sums it up from the event stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    pub code: Option<i32>,
    pub timed_out: bool,
    pub interrupted: bool,
    pub duration_ms: u64,
    pub stdout: String,
    pub stderr: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessAction {
    pub op_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessState {
    Stopped,
    Running,
    /// Crashed and waiting to be restarted.
    Backoff,
    /// Crashed too often in a row; needs a manual start.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessStatus {
    pub state: ProcessState,
    pub pid: Option<u32>,
    pub port: u16,
    pub restarts: u32,
    pub healthy: bool,
    /// The release directory the process runs from.
    pub release: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncEnv {
    pub op_id: String,
    /// The environment to copy live data from into this one.
    pub from: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub databases: Vec<String>,
}

/// Take a snapshot of a data volume, or restore one (every environment using it stopped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeSnapshot {
    pub op_id: String,
    /// The snapshot's name, e.g. the release it was taken for.
    pub snapshot: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotReport {
    pub volume: String,
    pub snapshot: String,
    /// SQLite databases copied with the online backup API (paths inside the volume).
    pub databases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestroyEnv {
    pub op_id: String,
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destroyed {
    pub name: String,
}

/// A route change with the caller's operation id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouteChange<T> {
    pub op_id: String,
    #[serde(flatten)]
    pub change: T,
}

/// Replace the whole table (used when Switchyard first configures a host).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplaceTable {
    pub table: switchyard_router::RouteTable,
}

/// `GET /v1/databases`: per server of the host's `databases.toml`, the databases its
/// environments bind and the ones the agent made (a clone's, a snapshot's). No password and no
/// login name is ever in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseList {
    pub servers: Vec<ServerDatabases>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerDatabases {
    pub server: String,
    pub kind: crate::databases::DatabaseKind,
    pub databases: Vec<ListedDatabase>,
    /// Why sizes could not be read (the server did not answer), if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Where a listed database comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseOrigin {
    /// The operator's: declared for a site and bound by its environments. Never removed.
    Declared,
    /// The agent's private copy for an environment (a rehearsal, a no-migration candidate).
    Clone,
    /// The agent's copy kept by a data volume's snapshot.
    Snapshot,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedDatabase {
    pub database: String,
    pub origin: DatabaseOrigin,
    /// The key of the site the agent made it for; `None` for a declared one (its site is that
    /// of the environments in `used_by`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// What the agent made it for, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_for: Option<crate::databases::MadeFor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_at: Option<String>,
    /// The environments bound to it now.
    pub used_by: Vec<DatabaseUse>,
    /// Made by the agent and kept by nothing (no environment binds it, its snapshot is gone):
    /// `POST /v1/databases/{server}/{database}/remove` drops it and its login.
    pub leftover: bool,
    /// `None` when the server has no such database (a copy broken off before it was made,
    /// whose login may still exist) or its size could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<crate::databases::DatabaseSize>,
}

/// An environment bound to a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseUse {
    pub env: String,
    /// The environment's site key.
    pub site: String,
    /// What the site calls it (`default` is `DATABASE_URL`).
    pub binding: String,
}

/// `POST /v1/databases/{server}/{database}/remove`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveDatabase {
    pub op_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedDatabase {
    pub server: String,
    pub database: String,
    /// Whether a login the agent had made for it was removed too.
    pub login_removed: bool,
}
