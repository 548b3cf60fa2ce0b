//! The dashboard: what runs where and what to do next, for every site the caller may see.
//!
//! The version an environment runs comes from the record, never from a guess: production runs
//! the candidate of the site's newest production release that completed (a completed run that
//! was rolled back afterwards no longer counts), else of its go-live, with the version the
//! release's patch document or the go-live named. The candidate clone runs the candidate of
//! the run under way, or of a rehearsal that passed. What each address serves now is read from
//! the host's route table, asked once per host for the whole answer. The next action is core's
//! `next_action`.

use crate::auth::Caller;
use crate::engines::site_home;
use crate::release_view::outcome_words;
use crate::releases::parse_config;
use crate::{Service, ServiceError};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use switchyard_api::{AddressHealth, Dashboard, EnvironmentVersion, LastRelease, NextStep, Site, SiteDashboard};
use switchyard_core::next_action::{next_action, LatestRun, NextAction, Phase, SiteFacts, Viewer};
use switchyard_core::patch::{PatchDocument, WorkflowKind};
use switchyard_core::workflow::{Release, Run, State};
use switchyard_engine::Placement;
use switchyard_router::{RouteTable, SiteRoutes, Target};
use switchyard_store::{GoLiveKind, GoLiveState, ReleaseRecord, SiteReleases};

type Result<T> = std::result::Result<T, ServiceError>;

/// How long the dashboard waits for a host's agent before calling its addresses unknown.
const HOST_TIMEOUT: Duration = Duration::from_secs(3);

/// What one host's agent said, asked once per answer.
#[derive(Clone)]
enum HostView {
    Answered { public: Vec<SocketAddr>, routes: RouteTable },
    Silent(String),
}

/// A release read back with what the dashboard needs of it.
struct KnownRun {
    record: ReleaseRecord,
    release: Release,
    state: State,
    target_version: Option<String>,
}

impl KnownRun {
    fn is_production(&self) -> bool {
        self.release.run == Run::Production
    }
}

pub(crate) fn url(address: &str, public: &[SocketAddr]) -> Option<String> {
    let port = public.first()?.port();
    Some(if port == 80 { format!("http://{address}/") } else { format!("http://{address}:{port}/") })
}

/// The site's entry in the route table: under its key, or (put live before keys) the entry
/// holding its `<key>-blue`.
fn site_routes<'a>(table: &'a RouteTable, key: &str) -> Option<&'a SiteRoutes> {
    let blue = format!("{key}-blue");
    table.sites.get(key).or_else(|| table.sites.values().find(|s| s.environments.contains_key(&blue)))
}

/// What the router serves at `address` for the site, in a word and in words.
fn served(routes: Option<&SiteRoutes>, address: &str) -> (&'static str, String) {
    let Some(routes) = routes else { return ("not-routed", "the host's router has no entry for this site".into()) };
    let target = routes.addresses.get(address).or_else(|| {
        let (_, parent) = address.split_once('.')?;
        routes.addresses.get(&format!("*.{parent}"))
    });
    if routes.maintenance {
        return ("site-down", "the site-down page (maintenance is on)".into());
    }
    if routes.hold.is_some() {
        return ("held", "requests are held for a moment while the release switches".into());
    }
    match target {
        None => ("not-routed", "the host's router does not route this address".into()),
        Some(Target::Environment { environment }) => ("serving", format!("served by {environment}")),
        Some(Target::Split(split)) => {
            ("serving", format!("split: {} % of accounts on {}, the rest on {}", split.candidate_percent, split.candidate, split.stable))
        }
        Some(Target::SiteDown) => ("site-down", "the site-down page".into()),
    }
}

fn version_of(run: &KnownRun, environment: &str, source: String, url: Option<String>) -> EnvironmentVersion {
    EnvironmentVersion {
        environment: environment.into(),
        version: run.target_version.clone(),
        candidate_sha256: run.record.candidate_sha256.clone(),
        source,
        release_id: Some(run.record.id),
        since: run.record.finished_at.clone().unwrap_or_else(|| run.record.created_at.clone()),
        url,
        note: None,
    }
}

fn named(version: &Option<String>, sha: &str) -> String {
    version.clone().unwrap_or_else(|| format!("candidate {}", &sha[..sha.len().min(12)]))
}

fn next_step(site_id: i64, action: &NextAction) -> NextStep {
    let href = match action {
        NextAction::Nothing { .. } => None,
        NextAction::GoLive => Some(format!("/sites/{site_id}")),
        NextAction::Rehearse { .. } => Some(format!("/sites/{site_id}#start-rehearsal")),
        other => other.release_id().map(|id| format!("/releases/{id}")),
    };
    NextStep { action: action.as_str().into(), words: action.words(), href, release_id: action.release_id() }
}

impl Service {
    /// Every site the caller may see (a customer's own only), each with what runs where, its
    /// addresses' health, its last release and the caller's next action.
    pub async fn dashboard(&self, caller: &Caller) -> Result<Dashboard> {
        let mut hosts = HashMap::new();
        let mut sites = Vec::new();
        for site in self.list_sites(caller, None).await? {
            sites.push(self.dashboard_of(caller, &site, &mut hosts).await?);
        }
        Ok(Dashboard { sites })
    }

    /// One site's dashboard row, for the top of its page.
    pub async fn site_dashboard(&self, caller: &Caller, site_id: i64) -> Result<SiteDashboard> {
        let site = self.readable_site(caller, site_id).await?;
        self.dashboard_of(caller, &site, &mut HashMap::new()).await
    }

    async fn host_view(&self, host_id: i64, hosts: &mut HashMap<i64, HostView>) -> HostView {
        if let Some(view) = hosts.get(&host_id) {
            return view.clone();
        }
        let view = match self.ask_host(host_id).await {
            Ok((public, routes)) => {
                self.engines.remember_listeners(host_id, public.clone());
                HostView::Answered { public, routes }
            }
            Err(problem) => HostView::Silent(problem),
        };
        hosts.insert(host_id, view.clone());
        view
    }

    pub(crate) async fn ask_host(&self, host_id: i64) -> std::result::Result<(Vec<SocketAddr>, RouteTable), String> {
        let host = self.store.host(host_id).await.map_err(|e| e.to_string())?;
        let client = crate::hosts::agent_client(&self.store, &self.secrets, &host).await?;
        let silent = || format!("host {} did not answer within {HOST_TIMEOUT:?}", host.name);
        let info = tokio::time::timeout(HOST_TIMEOUT, client.agent_info()).await.map_err(|_| silent())?.map_err(|e| e.to_string())?;
        let routes = tokio::time::timeout(HOST_TIMEOUT, client.routes()).await.map_err(|_| silent())?.map_err(|e| e.to_string())?;
        Ok((info.public_addresses, routes))
    }

    /// The states a release's journal went through, oldest first.
    pub(crate) async fn journal_states(&self, release_id: i64) -> Result<Vec<State>> {
        let journal = self.store.transitions(release_id).await?;
        Ok(journal.iter().filter_map(|t| serde_json::from_str(&t.state).ok()).collect())
    }

    async fn runs_of(&self, site: &Site) -> Result<Vec<KnownRun>> {
        let records = self.store.list_releases(SiteReleases::new(Some(site.id), &site.key)).await?;
        let mut runs = Vec::with_capacity(records.len());
        for record in records {
            let (release, state) = parse_config(&record)?;
            let target_version = PatchDocument::parse(&record.document_toml).ok().map(|d| d.target_version);
            runs.push(KnownRun { record, release, state, target_version });
        }
        Ok(runs)
    }

    async fn dashboard_of(&self, caller: &Caller, site: &Site, hosts: &mut HashMap<i64, HostView>) -> Result<SiteDashboard> {
        // Newest first.
        let runs = self.runs_of(site).await?;
        let go_live = self.store.latest_go_live(site.id).await?.filter(|g| g.state == GoLiveState::Live);
        let home = site_home(&self.store, site).await.ok();
        let host = match &home {
            Some(home) => Some(self.host_view(home.host_id, hosts).await),
            None => None,
        };
        let public: &[SocketAddr] = match &host {
            Some(HostView::Answered { public, .. }) => public,
            _ => &[],
        };
        let latest = runs.first();
        let placement = latest.and_then(|r| serde_json::from_str::<Placement>(&r.record.placement).ok());

        let mut environments = Vec::new();
        let released = runs.iter().find(|r| r.is_production() && matches!(r.state, State::Completed { .. }));
        let mut production = match (released, &go_live) {
            (Some(run), _) => Some(version_of(run, "production", format!("release #{}", run.record.id), None)),
            (None, Some(g)) => Some(EnvironmentVersion {
                environment: "production".into(),
                version: g.version.clone(),
                candidate_sha256: g.candidate_sha256.clone(),
                source: match g.kind {
                    GoLiveKind::Candidate => format!("go-live #{}", g.id),
                    GoLiveKind::Adoption => format!("adopted (go-live #{})", g.id),
                },
                release_id: None,
                since: g.updated_at.clone(),
                url: None,
                note: None,
            }),
            (None, None) => None,
        };
        if let Some(production) = &mut production {
            production.url = home.as_ref().and_then(|h| url(&h.public_address, public));
        }
        // What the newest run puts where while it runs (or, for a passed rehearsal, still
        // stands at the candidate's address).
        let standing = latest
            .filter(|r| r.state.outcome().is_none() || (r.release.run == Run::Rehearsal && matches!(r.state, State::Completed { .. })));
        let mut test_address = None;
        if let (Some(run), Some(placement)) = (standing, &placement) {
            let in_place = run.is_production() && matches!(run.release.workflow, WorkflowKind::Migration | WorkflowKind::MinorPatch);
            if in_place {
                if let Some(production) = &mut production {
                    let at = (run.release.workflow == WorkflowKind::Migration).then(|| placement.temporary_address.clone());
                    test_address = at.clone();
                    let check = at.and_then(|a| url(&a, public)).map(|u| format!("; check it at {u}")).unwrap_or_default();
                    production.note = Some(format!(
                        "changing to {} (release #{}){check}",
                        named(&run.target_version, &run.record.candidate_sha256),
                        run.record.id
                    ));
                }
            } else {
                let kind = if run.is_production() { "production run" } else { "rehearsal" };
                let address = placement.candidate_address.clone();
                environments.push(version_of(run, "candidate", format!("{kind} #{}", run.record.id), url(&address, public)));
                test_address = Some(address);
            }
        }
        environments.splice(0..0, production);

        let addresses = self.address_health(site, home.as_ref(), host.as_ref(), test_address.as_deref()).await?;
        let last_release = match latest {
            Some(run) => {
                // Only a failure names its step, which the journal holds.
                let journal = match run.state.outcome() {
                    Some(switchyard_core::workflow::Outcome::Failed) => Some(self.journal_states(run.record.id).await?),
                    _ => None,
                };
                Some(LastRelease {
                    id: run.record.id,
                    run: run.record.run.clone(),
                    outcome: run.state.outcome().map(|o| o.as_str().to_owned()),
                    words: outcome_words(&run.release, &run.state, journal.as_deref()),
                    at: run.record.finished_at.clone().unwrap_or_else(|| run.record.created_at.clone()),
                })
            }
            None => None,
        };

        let newest_document = self.store.list_patch_documents(site.id).await?.first().map(|d| d.version);
        let facts = SiteFacts {
            owner: site.customer_id,
            live: go_live.is_some() || released.is_some(),
            latest: latest.map(|run| LatestRun {
                release_id: run.record.id,
                run: run.release.run,
                submitted_by_id: run.release.submitted_by_id,
                document_version: run.record.document_version,
                phase: Phase::of(&run.release, &run.state),
            }),
            newest_document,
            released_document: released.map(|r| r.record.document_version),
        };
        let viewer = Viewer { principal: caller.principal(), user_id: caller.me.id };
        let next = next_step(site.id, &next_action(&viewer, &facts));
        Ok(SiteDashboard {
            site_id: site.id,
            site: site.name.clone(),
            customer_id: site.customer_id,
            customer: site.customer_name.clone(),
            environments,
            addresses,
            last_release,
            next,
        })
    }

    /// The site's public address, its other production addresses (a wildcard expanded into
    /// each account's), and the test address of a run under way, each with what is served.
    async fn address_health(
        &self,
        site: &Site,
        home: Option<&crate::engines::SiteHome>,
        host: Option<&HostView>,
        test_address: Option<&str>,
    ) -> Result<Vec<AddressHealth>> {
        let Some(home) = home else { return Ok(Vec::new()) };
        let mut listed: Vec<(String, &str)> = vec![(home.public_address.clone(), "public")];
        let accounts = self.store.list_accounts(site.id).await?;
        for address in &home.production_addresses {
            match address.strip_prefix("*.") {
                Some(parent) => listed.extend(accounts.iter().map(|a| (format!("{}.{parent}", a.subdomain), "account"))),
                None => listed.push((address.clone(), "production")),
            }
        }
        listed.extend(test_address.map(|a| (a.to_owned(), "test")));
        Ok(listed
            .into_iter()
            .map(|(address, kind)| {
                let (health, detail, link) = match host {
                    Some(HostView::Answered { public, routes }) => {
                        let (health, detail) = served(site_routes(routes, &site.key), &address);
                        (health, detail, url(&address, public))
                    }
                    Some(HostView::Silent(problem)) => ("unknown", problem.clone(), None),
                    None => ("unknown", "the site has no production host".into(), None),
                };
                AddressHealth { address, kind: kind.into(), url: link, health: health.into(), detail }
            })
            .collect())
    }
}
