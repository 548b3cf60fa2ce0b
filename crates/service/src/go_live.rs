//! Putting a site live on its host for the first time: the first environment is created from
//! an uploaded candidate, started, and routed at the site's public address, with the second
//! environment's slot ready behind the candidate address. From then on releases take over.
//!
//! The candidate is checked before anything is created on the host (`candidate_check`). Each
//! attempt is journaled in the store (`go_lives`): its environment and ports are fixed by the
//! first try, and its operation ids come from the journal (`golive-<id>-<step>`), so repeating
//! a go-live that failed, or broke off with the agent or Switchyard, continues it: the agent
//! replays the steps already done. A retry may bring a fixed candidate, unpacked as a new
//! release into the same environment. Abandoning removes what the attempt created.

use crate::auth::Caller;
use crate::candidate_check::{inspect_candidate, CandidateContents, CandidateRefusal, UnpackBudget};
use crate::engines::{site_home, SiteHome};
use crate::hosts::{agent_client, agent_failure};
use crate::{Service, ServiceError};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use switchyard_agent::api::{Activate, CreateEnv, DestroyEnv, EnvConfig, ErrorKind, RunStep, UnpackRelease};
use switchyard_agent::databases::{check_identifier, DatabaseBinding};
use switchyard_agent::{AgentClient, AgentError};
use switchyard_api::{GoLive, GoLiveAbandoned, Host, Site, WentLive};
use switchyard_core::access::Action;
use switchyard_core::Invalid;
use switchyard_engine::{environment_names, initial_site_routes_serving};
use switchyard_store::{GoLiveKind, GoLiveRecord, GoLiveState, NewGoLive};

type Result<T> = std::result::Result<T, ServiceError>;

/// How the engine and the agent know a site: the route table's key, its two environments and
/// its data volume. The one place go-live derives them from the site.
pub(crate) struct SiteNames {
    pub route_key: String,
    pub environments: [String; 2],
    pub volume: String,
}

pub(crate) fn site_names(site: &Site) -> SiteNames {
    SiteNames { route_key: site.key.clone(), environments: environment_names(&site.key), volume: site.key.clone() }
}

/// What one try of a go-live works with.
struct Attempt<'a> {
    record: GoLiveRecord,
    site: &'a Site,
    host: &'a Host,
    client: AgentClient,
    public_address: String,
    /// The site's other production addresses (wildcards too), routed with the public one.
    production_addresses: Vec<String>,
    names: SiteNames,
    sha: String,
    tarball: PathBuf,
    /// The databases production is bound to (the operator's, on servers the host declares).
    databases: Vec<DatabaseBinding>,
}

impl Attempt<'_> {
    fn op(&self, step: &str) -> String {
        format!("golive-{}-{step}", self.record.id)
    }

    fn failed(&self, doing: &'static str) -> impl FnOnce(AgentError) -> ServiceError + '_ {
        move |error| agent_failure(self.host, doing, error)
    }
}

impl Service {
    /// Puts the site live from the candidate, or continues its unfinished go-live.
    pub async fn go_live(&self, caller: &Caller, site_id: i64, request: GoLive) -> Result<WentLive> {
        caller.may(Action::RunRelease)?;
        let site = self.store.site(site_id).await?;
        let SiteHome { host_id, public_address, production_addresses } = site_home(&self.store, &site).await?;
        let host = self.store.host(host_id).await?;
        let sha = request.candidate_sha256.trim().to_owned();
        let tarball = self.engines.candidates_dir.join(format!("{sha}.tar.gz"));
        if self.store.candidate(site.id, &sha).await?.is_none() || !tarball.is_file() {
            return Err(ServiceError::Conflict(format!("candidate {sha} was not uploaded for site {}; upload it first", site.name)));
        }
        let runs_by_site_manifest = site.runtime_manifest.is_some();
        check_candidate(tarball.clone(), self.candidate_limits_for(site.id).await?.budget(), runs_by_site_manifest).await?;
        let client = agent_client(&self.store, &self.engines.secrets, &host).await.map_err(ServiceError::Conflict)?;
        let names = site_names(&site);
        // Two go-lives of one site at once would race for the same environment.
        let _one_at_a_time = self.engines.go_live_lock.lock().await;
        let record = match self.store.latest_go_live(site.id).await? {
            Some(unfinished) if unfinished.state.is_unfinished() => {
                if request.ports.is_some_and(|ports| ports != unfinished.ports) {
                    let [blue, green] = unfinished.ports;
                    return Err(Invalid::single(
                        "ports",
                        format!(
                            "go-live {} of site {} uses ports {blue},{green}; leave the ports out to continue it, or abandon it to choose others",
                            unfinished.id, site.name
                        ),
                    )
                    .into());
                }
                self.store.retry_go_live(unfinished.id, &sha).await?
            }
            latest => {
                let already_live = || {
                    ServiceError::Conflict(format!(
                        "site {} is already live on host {}; release a new version instead",
                        site.name, host.name
                    ))
                };
                if latest.is_some_and(|g| g.state == GoLiveState::Live) {
                    return Err(already_live());
                }
                let table = client.routes().await.map_err(|e| agent_failure(&host, "read the route table", e))?;
                if table.sites.contains_key(&names.route_key) {
                    return Err(already_live());
                }
                let new = NewGoLive {
                    site_id: site.id,
                    kind: GoLiveKind::Candidate,
                    candidate_sha256: &sha,
                    environment: &names.environments[0],
                    // 0: the agent chooses free ports on its own host at the first try.
                    ports: request.ports.unwrap_or([0, 0]),
                    started_by: &caller.me.username,
                };
                self.store.start_go_live(new).await?
            }
        };
        let go_live_id = record.id;
        if let Some(version) = request.version.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            self.store.go_live_version(go_live_id, version).await?;
        }
        let databases = database_bindings(&request.databases)?;
        let attempt =
            Attempt { record, site: &site, host: &host, client, public_address, production_addresses, names, sha, tarball, databases };
        match self.go_live_steps(&attempt).await {
            Ok(live) => {
                self.store.go_live_ended(go_live_id, GoLiveState::Live, None).await?;
                let detail = format!("{} live at {} from candidate {} (go-live {go_live_id})", site.name, live.public_address, attempt.sha);
                self.audit(caller, "site.go-live", &format!("site {site_id}"), &detail).await;
                Ok(live)
            }
            Err(error) => {
                self.store.go_live_ended(go_live_id, GoLiveState::Failed, Some(&error.to_string())).await?;
                Err(error)
            }
        }
    }

    /// A new site's database gets its schema before the first start: the migration the
    /// candidate's manifest declares runs in the new environment (on its data volume). A
    /// migration must be safe to run again, as every framework's is, since a retry runs it
    /// once more under the try's own operation id.
    async fn first_migration(&self, go: &Attempt<'_>, env: &str, this_try: &str) -> Result<()> {
        let Some(migrate) = self.declared_manifest(go.site.id, &go.sha).await?.and_then(|m| m.migrate) else {
            return Ok(());
        };
        let step = RunStep {
            op_id: go.op(&format!("migrate-{this_try}")),
            command: vec!["sh".into(), "-c".into(), migrate.command.clone()],
            timeout_secs: u64::from(migrate.timeout_secs),
            env: Default::default(),
        };
        let ran = go.client.run_step(env, &step, |_| {}).await.map_err(go.failed("run the candidate's migration"))?;
        if ran.code != Some(0) {
            let why = if ran.timed_out {
                format!("did not finish within {} s", migrate.timeout_secs)
            } else {
                format!("exited with {:?}", ran.code)
            };
            return Err(ServiceError::Conflict(format!(
                "the candidate's migration `{}` {why}, so the site was not started; fix it and go live again (the same command retries). Its output:\n{}{}",
                migrate.command,
                tail(&ran.stdout),
                tail(&ran.stderr)
            )));
        }
        self.store.go_live_step_done(go.record.id, "migrate").await?;
        Ok(())
    }

    /// Creates the site's production environment and reserves its second environment's port
    /// (an empty `<key>-green` the first release's clone replaces), answering both ports. A
    /// port the try sends as 0 is chosen by the agent on its own host, so a remote host needs
    /// no ports from the operator; the answer is journaled, and a retry sends the journaled
    /// port, which the agent finds already configured. The operation id carries the port sent,
    /// so the first request and its retries are each replayed, never mistaken for another.
    async fn create_environments(&self, go: &Attempt<'_>) -> Result<[u16; 2]> {
        let default_manifest = self.store.site_runtime_manifest(go.site.id).await?;
        let mut ports = go.record.ports;
        for (slot, env) in go.names.environments.iter().enumerate() {
            let port = ports[slot];
            let mut config = EnvConfig::new(vec!["bin/site".into(), "serve".into()], port);
            config.default_manifest = default_manifest.clone();
            // Both environments belong to the site: they run as its one unix user.
            config.site = Some(go.site.key.clone());
            if slot == 0 {
                config.production = true;
                config.databases.clone_from(&go.databases);
                // The live data sits on a volume named after the site, outside its environments.
                config.volume = Some(go.names.volume.clone());
            }
            let create = CreateEnv { op_id: go.op(&format!("create-{env}-{port}")), name: env.clone(), config };
            let created = go.client.create_env(&create).await.map_err(go.failed("create the environment"))?;
            ports[slot] = created.config.port;
        }
        if ports != go.record.ports {
            self.store.go_live_ports(go.record.id, ports).await?;
        }
        self.store.go_live_step_done(go.record.id, "create").await?;
        Ok(ports)
    }

    /// Every step of a try, each journaled when done; the agent replays those already done.
    async fn go_live_steps(&self, go: &Attempt<'_>) -> Result<WentLive> {
        let id = go.record.id;
        let env = &go.names.environments[0];
        let [blue, green] = self.create_environments(go).await?;

        go.client.upload_candidate(&go.tarball, &go.sha).await.map_err(go.failed("upload the candidate"))?;
        self.store.go_live_step_done(id, "upload").await?;
        let release_id = format!("r-{}", &go.sha[..16]);
        // The agent holds the unpack to the site's own limits (the lower of them and its own).
        let caps = self.candidate_limits_for(go.site.id).await?.unpack_caps();
        let unpack = UnpackRelease {
            op_id: go.op(&format!("unpack-{release_id}")),
            release_id: release_id.clone(),
            sha256: go.sha.clone(),
            limits: Some(caps),
        };
        go.client.unpack_release(env, &unpack).await.map_err(go.failed("unpack the candidate"))?;
        self.store.go_live_step_done(id, "unpack").await?;

        // Activating and starting run again on every try: a retry may bring another
        // candidate, and a site that failed to start is started afresh.
        let this_try = format!("{release_id}-t{}", go.record.tries);
        let activate = Activate { op_id: go.op(&format!("activate-{this_try}")), release_id };
        go.client.activate(env, &activate).await.map_err(go.failed("activate the candidate"))?;
        self.store.go_live_step_done(id, "activate").await?;
        self.first_migration(go, env, &this_try).await?;
        go.client.restart(env, &go.op(&format!("start-{this_try}"))).await.map_err(go.failed("start the site"))?;
        self.store.go_live_step_done(id, "start").await?;

        let mut table = go.client.routes().await.map_err(go.failed("read the route table"))?;
        // A try that routed the site and then broke off finds its routes in place.
        if !table.sites.contains_key(&go.names.route_key) {
            let agent_ip = agent_ip(&go.host.agent_url);
            let (blue, green) = (SocketAddr::new(agent_ip, blue), SocketAddr::new(agent_ip, green));
            let routes = initial_site_routes_serving(&go.site.key, &go.public_address, &go.production_addresses, blue, green);
            table.sites.insert(go.names.route_key.clone(), routes);
            go.client.replace_routes(&go.op("routes"), table).await.map_err(go.failed("route the site's address"))?;
        }
        self.store.go_live_step_done(id, "routes").await?;
        Ok(WentLive { go_live_id: id, public_address: go.public_address.clone(), environment: env.clone() })
    }

    /// Gives up the site's unfinished go-live: its environment is destroyed (with force, as it
    /// is marked production) and the routes it added are removed, so a fresh go-live can start.
    pub async fn abandon_go_live(&self, caller: &Caller, site_id: i64) -> Result<GoLiveAbandoned> {
        caller.may(Action::RunRelease)?;
        let site = self.store.site(site_id).await?;
        let _one_at_a_time = self.engines.go_live_lock.lock().await;
        let record = match self.store.latest_go_live(site.id).await? {
            Some(record) if record.state.is_unfinished() => record,
            Some(record) if record.state == GoLiveState::Live => {
                return Err(ServiceError::Conflict(format!(
                    "site {} went live (go-live {}), so there is nothing to abandon; release a new version instead",
                    site.name, record.id
                )))
            }
            _ => return Err(ServiceError::NotFound(format!("site {} has no unfinished go-live to abandon", site.name))),
        };
        let SiteHome { host_id, .. } = site_home(&self.store, &site).await?;
        let host = self.store.host(host_id).await?;
        let client = agent_client(&self.store, &self.engines.secrets, &host).await.map_err(ServiceError::Conflict)?;
        let names = site_names(&site);
        let op = |step: &str| format!("golive-{}-abandon-{step}", record.id);

        let mut table = client.routes().await.map_err(|e| agent_failure(&host, "read the route table", e))?;
        // Only routes this attempt added go: ones that serve its environment.
        let ours = table.sites.get(&names.route_key).is_some_and(|routes| routes.environments.contains_key(&record.environment));
        if ours {
            table.sites.remove(&names.route_key);
            client.replace_routes(&op("routes"), table).await.map_err(|e| agent_failure(&host, "remove the site's routes", e))?;
        }
        // The production environment and the second one whose port it reserved.
        for env in [&record.environment, &names.environments[1]] {
            let destroy = DestroyEnv { op_id: op(&format!("destroy-{env}")), force: true };
            match client.destroy_env(env, &destroy).await {
                Ok(_) => {}
                // Never created, or already gone: nothing left to remove.
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(agent_failure(&host, "destroy the go-live's environment", e)),
            }
        }
        self.store.go_live_ended(record.id, GoLiveState::Abandoned, record.last_error.as_deref()).await?;
        let detail = format!("go-live {} of {} abandoned: environment {} destroyed", record.id, site.name, record.environment);
        self.audit(caller, "site.go-live-abandon", &format!("site {site_id}"), &detail).await;
        Ok(GoLiveAbandoned { go_live_id: record.id, environment: record.environment, routes_removed: ours })
    }
}

/// Reads the candidate through off the async threads; a refusal is the caller's to fix (422).
/// A candidate that says nothing of how it starts is fine for a site with a default runtime
/// manifest: the agent runs it by that one.
async fn check_candidate(tarball: PathBuf, budget: UnpackBudget, runs_by_site_manifest: bool) -> Result<CandidateContents> {
    let checked = tokio::task::spawn_blocking(move || inspect_candidate(&tarball, budget))
        .await
        .map_err(|e| ServiceError::Internal(format!("the candidate check stopped: {e}")))?;
    match checked {
        Ok(contents) => Ok(contents),
        Err(CandidateRefusal::NoStartCommand { .. }) if runs_by_site_manifest => Ok(CandidateContents::default()),
        Err(refusal) => Err(Invalid::single("candidate_sha256", refusal.to_string()).into()),
    }
}

/// The last lines of a step's output, for an error message.
fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(20)..].iter().map(|l| format!("{l}\n")).collect()
}

/// The address of the agent's host as its router reaches the site: the agent URL's host.
pub(crate) fn agent_ip(agent_url: &str) -> IpAddr {
    agent_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .and_then(|host| host.parse().ok())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

/// The request's databases as the agent binds them, each name checked before the host is asked.
fn database_bindings(databases: &[switchyard_api::SiteDatabase]) -> Result<Vec<DatabaseBinding>> {
    databases
        .iter()
        .map(|d| {
            for (what, name) in [("database name", &d.name), ("server", &d.server), ("database", &d.database), ("user", &d.user)] {
                let checked =
                    if what == "server" { check_server_name(name) } else { check_identifier(what, name).map_err(|e| e.to_string()) };
                checked.map_err(|message| ServiceError::from(Invalid::single("databases", message)))?;
            }
            Ok(DatabaseBinding {
                name: d.name.clone(),
                server: d.server.clone(),
                database: d.database.clone(),
                user: d.user.clone(),
                owned: false,
            })
        })
        .collect()
}

fn check_server_name(name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(format!("database server {name:?} is not a name from the host's databases.toml (letters, digits, - and _)"))
    }
}
