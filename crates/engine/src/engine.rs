//! [`Engine`]: creating releases, driving them through their commands, and resume; people's
//! decisions and rollback are in `decide.rs`.

mod decide;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use switchyard_agent::AgentClient;
use switchyard_core::patch::{PatchDocument, WorkflowKind};
use switchyard_core::workflow::{Command, Event, Outcome, RehearsalRecord, Release, ReleaseConfig, Run, State, Submitter};
use switchyard_store::{Figures, NewRelease, NewTransition, ReleaseRecord, SiteReleases, Store, TransitionRecord};

use crate::downtime::{split_outage, AddressBaseline};
use crate::error::{EngineError, Result};
use crate::execute::{perform, ExecConfig, Host};
use crate::observe::{open_window, watch, Interrupt, Watched};
use crate::placement::{Placement, ReleaseSite};

/// A command as journaled: the operation id it is sent under, and the command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Journaled {
    op_id: String,
    command: Command,
}

/// What the engine stores with a release besides its document: the compiled run (so a resume
/// follows exactly the stages it started with) and the counters downtime is measured from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredConfig {
    pub release: Release,
    pub baseline: AddressBaseline,
    /// The site's limits on unpacking the candidate when the release was created, so a resume
    /// sends the same; absent (older releases, or none given): the engine's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unpack_limits: Option<switchyard_agent::api::UnpackCaps>,
}

/// Where a release is, as callers show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseStatus {
    pub id: i64,
    pub state: State,
    /// What it waits for, in words (`waiting for support's approval`).
    pub waiting_for: String,
    /// How it ended once final: `completed`, `failed`, `rejected` or `rolled-back` (core's
    /// [`Outcome`], as history counts it).
    pub outcome: Option<String>,
}

/// Runs releases on one host through its agent.
pub struct Engine {
    store: Store,
    agent: AgentClient,
    config: ExecConfig,
    http: reqwest::Client,
    /// One driver per release in this process; the store's sequence check covers others.
    running: Mutex<HashMap<i64, Arc<Driver>>>,
}

/// One release's driving in this process: the lock its driver holds, and what lets a
/// person's decision end a watch window the driver is waiting out.
#[derive(Debug, Default)]
struct Driver {
    lock: tokio::sync::Mutex<()>,
    interrupt: Interrupt,
}

/// A loaded release: its record, compiled run and placement.
struct Loaded {
    record: ReleaseRecord,
    release: Release,
    placement: Placement,
    baseline: AddressBaseline,
    unpack_limits: Option<switchyard_agent::api::UnpackCaps>,
}

fn json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| EngineError::Internal(format!("cannot encode for the journal: {e}")))
}

fn parse<T: for<'de> Deserialize<'de>>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| EngineError::Internal(format!("the journaled {what} does not read ({e}): {text}")))
}

impl Engine {
    pub fn new(store: Store, agent: AgentClient, config: ExecConfig) -> Engine {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Engine { store, agent, config, http, running: Mutex::new(HashMap::new()) }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Creates the rehearsal of `doc` on a fresh clone of production and runs it up to the
    /// customer's confirmation.
    pub async fn start_rehearsal(&self, doc: &PatchDocument, submitted_by: &Submitter, site: &ReleaseSite<'_>) -> Result<ReleaseStatus> {
        let id = self.submit_rehearsal(doc, submitted_by, site).await?;
        self.resume(id).await
    }

    /// Journals the rehearsal of `doc` without running it; [`Engine::resume`] runs it. For
    /// callers that answer at once and drive the release in the background.
    pub async fn submit_rehearsal(&self, doc: &PatchDocument, submitted_by: &Submitter, site: &ReleaseSite<'_>) -> Result<i64> {
        let release = Release::rehearsal(doc, submitted_by);
        self.create(doc, release, site).await
    }

    /// Creates the production run of `doc`, refused unless this candidate and document version
    /// passed a rehearsal, and runs it up to its first gate.
    pub async fn start_production(
        &self,
        doc: &PatchDocument,
        submitted_by: &Submitter,
        pinned_accounts: &[String],
        site: &ReleaseSite<'_>,
    ) -> Result<ReleaseStatus> {
        let id = self.submit_production(doc, submitted_by, pinned_accounts, site).await?;
        self.resume(id).await
    }

    /// Journals the production run of `doc` without running it, refused unless this
    /// candidate and document version passed a rehearsal of this site (by id, so a deleted
    /// site's rehearsals count for no later site); [`Engine::resume`] runs it.
    pub async fn submit_production(
        &self,
        doc: &PatchDocument,
        submitted_by: &Submitter,
        pinned_accounts: &[String],
        site: &ReleaseSite<'_>,
    ) -> Result<i64> {
        let rehearsals = self
            .store
            .rehearsals(SiteReleases::new(site.id, site.key))
            .await?
            .into_iter()
            .map(|r| RehearsalRecord {
                candidate_sha256: r.candidate_sha256,
                document_version: u32::try_from(r.document_version).unwrap_or(0),
                passed: r.passed,
            })
            .collect();
        let config = ReleaseConfig { submitted_by: submitted_by.clone(), pinned_accounts: pinned_accounts.to_vec(), rehearsals };
        let release = Release::production(doc, &config)?;
        self.create(doc, release, site).await
    }

    async fn create(&self, doc: &PatchDocument, release: Release, site: &ReleaseSite<'_>) -> Result<i64> {
        let table = self.agent.routes().await.map_err(unreachable("read the route table"))?;
        let placement = Placement::resolve(site.key, site.public_address, &table)?;
        let counters = self.agent.counters().await.map_err(unreachable("read the router's counters"))?;
        let baseline = AddressBaseline::read(&counters, &placement.site, site.public_address);
        let uid = format!("sy{:016x}", rand::random::<u64>());
        let (state, commands) = release.start();
        let commands = number(&uid, 0, commands);
        let stored = StoredConfig { release: release.clone(), baseline, unpack_limits: site.unpack_limits };
        let run = match release.run {
            Run::Rehearsal => "rehearsal",
            Run::Production => "production",
        };
        let workflow = json(&doc.workflow)?;
        let owned = [
            uid.clone(),
            site.key.to_owned(),
            workflow.trim_matches('"').to_owned(),
            doc.to_toml(),
            doc.candidate_sha256.clone(),
            release.submitted_by.clone(),
            json(&placement)?,
            json(&stored)?,
            json(&state)?,
            json(&commands)?,
        ];
        let version = i64::from(doc.version);
        // An engine driven without an inventory (no site id) has no users table to point at
        // either; the compiled run still carries the submitter's id for the approval rule.
        let (site_id, submitted_by_id) = (site.id, site.id.and((release.submitted_by_id != 0).then_some(release.submitted_by_id)));
        let store = self.store.clone();
        // In a task of its own for the same reason as `append`.
        let write = tokio::spawn(async move {
            let [uid, site, workflow, toml, sha, submitted_by, placement, config, state, commands] = &owned;
            store
                .create_release(&NewRelease {
                    uid,
                    site,
                    site_id,
                    run,
                    workflow,
                    document_toml: toml,
                    document_version: version,
                    candidate_sha256: sha,
                    submitted_by,
                    submitted_by_id,
                    placement,
                    config,
                    state,
                    commands,
                })
                .await
        });
        let record = write.await.map_err(|e| EngineError::Internal(format!("the release could not be stored: {e}")))??;
        tracing::info!("release {} ({run} of {} v{}) created as {uid}", record.id, site.key, doc.version);
        Ok(record.id)
    }

    /// Where the release is now, without acting.
    pub async fn status(&self, id: i64) -> Result<ReleaseStatus> {
        let loaded = self.load(id).await?;
        let last = self.store.last_transition(id).await?;
        let state: State = parse(&last.state, "state")?;
        Ok(status_of(&loaded, state))
    }

    /// Re-sends the last transition's commands (under their journaled operation ids) and
    /// drives the release until it waits for a person or is final, or a person's decision
    /// ends the watch window it is in (the decision then drives on). Safe to call any time:
    /// after a crash, after the agent was unreachable, or just to check.
    pub async fn resume(&self, id: i64) -> Result<ReleaseStatus> {
        let driver = self.driver(id);
        let _driving = driver.lock.lock().await;
        self.drive(id, false).await
    }

    /// Ends a completed low-downtime migration's capture window: the new version's writes are
    /// no longer captured (its replication slot or triggers go), so a rollback from now on
    /// puts the old version back on its database as it was at the cutover. Retryable: the
    /// agent answers a repeated stop from its record.
    pub async fn close_capture_window(&self, id: i64) -> Result<()> {
        let driver = self.driver(id);
        let _driving = driver.lock.lock().await;
        let loaded = self.load(id).await?;
        let env = &loaded.placement.candidate_env;
        let req = switchyard_agent::capture::StopCapture { op_id: format!("{}-capture-window", loaded.record.uid) };
        match self.agent.stop_capture(env, &req).await {
            Ok(_) | Err(switchyard_agent::AgentError::Remote { status: 404, .. }) => {}
            Err(e) => return Err(unreachable("stop the new version's capture")(e)),
        }
        self.store.close_capture_window(id, &chrono::Utc::now().to_rfc3339()).await?;
        Ok(())
    }

    /// Resumes every release that is not final, e.g. when Switchyard starts.
    pub async fn resume_all(&self) -> Vec<(i64, Result<ReleaseStatus>)> {
        let mut results = Vec::new();
        match self.store.unfinished_releases().await {
            Ok(records) => {
                for record in records {
                    results.push((record.id, self.resume(record.id).await));
                }
            }
            Err(e) => results.push((0, Err(e.into()))),
        }
        results
    }

    fn driver(&self, id: i64) -> Arc<Driver> {
        let mut running = self.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(running.entry(id).or_default())
    }

    async fn load(&self, id: i64) -> Result<Loaded> {
        let record = self.store.release(id).await?;
        let stored: StoredConfig = parse(&record.config, "release config")?;
        let placement: Placement = parse(&record.placement, "placement")?;
        Ok(Loaded { release: stored.release, baseline: stored.baseline, unpack_limits: stored.unpack_limits, placement, record })
    }

    /// Performs the last transition's commands, journals what follows, and repeats until the
    /// release waits for a person or is final. The caller holds the release's lock. `moved`
    /// says the caller already journaled a transition: the downtime is measured when a call
    /// that moved the release leaves it final (or finds it final and unmeasured), not again
    /// on every later resume.
    async fn drive(&self, id: i64, mut moved: bool) -> Result<ReleaseStatus> {
        let driver = self.driver(id);
        let loaded = self.load(id).await?;
        // The site's own unpack limits, journaled with the release, go in place of the engine's.
        let config = match loaded.unpack_limits {
            Some(limits) => std::borrow::Cow::Owned(ExecConfig { unpack_limits: Some(limits), ..self.config.clone() }),
            None => std::borrow::Cow::Borrowed(&self.config),
        };
        let target = Host {
            agent: &self.agent,
            placement: &loaded.placement,
            config: &config,
            http: &self.http,
            release_uid: &loaded.record.uid,
            share_data: loaded.release.run == Run::Production
                && matches!(loaded.release.workflow, WorkflowKind::BlueGreen | WorkflowKind::Rollout),
        };
        let mut rollback_counted = loaded.record.rollback_baseline.is_some();
        loop {
            let last = self.store.last_transition(id).await?;
            let mut state: State = parse(&last.state, "state")?;
            let commands: Vec<Journaled> = parse(&last.commands, "commands")?;
            if commands.is_empty() {
                // An engine killed between journaling the final transition and measuring
                // leaves the measurement to whichever call finds it missing.
                let unmeasured = loaded.record.downtime_ms.is_none();
                if state.is_final() && (moved || unmeasured) {
                    self.measure(&loaded).await;
                }
                return Ok(status_of(&loaded, state));
            }
            if matches!(state, State::RollingBack { .. }) && !rollback_counted {
                self.keep_rollback_baseline(&loaded).await;
                rollback_counted = true;
            }
            let mut events = Vec::new();
            for journaled in &commands {
                tracing::info!("release {id}: {} ({})", journaled.command, journaled.op_id);
                let produced = match &journaled.command {
                    Command::Wait { seconds } => {
                        // Counters that would make the workflow leave the stage end it early.
                        let halts = |old, new| {
                            let reading = Event::CountersObserved { old, new };
                            matches!(loaded.release.step(&state, &reading), Ok((next, _)) if next != state)
                        };
                        let start = open_window(&self.store, &target, id, last.seq).await?;
                        match watch(&target, *seconds, start, &driver.interrupt, halts).await? {
                            Watched::Window(events) => events,
                            Watched::Interrupted => {
                                tracing::info!("release {id}: a decision ended the watch window");
                                return Ok(status_of(&loaded, state));
                            }
                        }
                    }
                    Command::RecordRehearsal { .. } => {
                        self.store.mark_rehearsal_passed(id).await?;
                        vec![Event::CommandSucceeded { output: "rehearsal recorded".into() }]
                    }
                    command => perform(&target, &journaled.op_id, command).await?,
                };
                let failed = produced.iter().any(|e| matches!(e, Event::CommandFailed { .. }));
                events = produced;
                // The workflow asks for one command per transition; should it ask for more, the
                // first failure is the answer for all of them.
                if failed {
                    break;
                }
            }
            // Every event one command produced is journaled in one transaction, so a crash
            // never leaves a watch window half reported.
            let mut rows: Vec<(String, String, String)> = Vec::new();
            let mut seq = last.seq;
            for event in &events {
                let (next, next_commands) = loaded.release.step(&state, event).map_err(|refusal| {
                    EngineError::Internal(format!("the workflow refused the engine's own {}: {refusal}", event.name()))
                })?;
                seq += 1;
                let next_commands = number(&loaded.record.uid, seq, next_commands);
                rows.push((json(event)?, json(&next)?, json(&next_commands)?));
                state = next;
                if !next_commands.is_empty() || state.is_final() {
                    break;
                }
            }
            self.append(id, last.seq, rows, state.outcome()).await?;
            moved = true;
        }
    }

    /// Appends journal rows `(event, state, commands)` in a task of its own: a caller that is
    /// cancelled mid-write (a dropped request, a shutdown) must not leave the write
    /// transaction, and with it the database's write lock, half done in the pool.
    async fn append(&self, id: i64, after_seq: i64, rows: Vec<(String, String, String)>, outcome: Option<Outcome>) -> Result<i64> {
        let store = self.store.clone();
        let write = tokio::spawn(async move {
            let new: Vec<NewTransition> = rows.iter().map(|(e, s, c)| NewTransition { event: e, state: s, commands: c }).collect();
            store.append_transitions(id, after_seq, &new, outcome).await
        });
        let seq = write.await.map_err(|e| EngineError::Internal(format!("the journal write of release {id} did not finish: {e}")))??;
        Ok(seq)
    }

    /// Stores the production run's downtime, held time and failed requests and, once it was
    /// rolled back, the rollback's apart; a failure to read the counters only leaves them
    /// unrecorded.
    async fn measure(&self, loaded: &Loaded) {
        let id = loaded.record.id;
        let (journal, record) = match (self.store.transitions(id).await, self.store.release(id).await) {
            (Ok(journal), Ok(record)) => (journal, record),
            (Err(e), _) | (_, Err(e)) => return tracing::warn!("release {id}: cannot read the journal to measure downtime: {e}"),
        };
        let rollback_from = journal
            .iter()
            .find(|t| matches!(serde_json::from_str::<State>(&t.state), Ok(State::RollingBack { .. })))
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t.at).ok())
            .map(|at| at.with_timezone(&chrono::Utc));
        let (run, rollback) = split_outage(journaled_commands(&journal).iter().map(|(at, c)| (*at, c)), rollback_from);
        let now = match self.agent.counters().await {
            Ok(now) => AddressBaseline::read(&now, &loaded.placement.site, &loaded.placement.public_address),
            Err(e) => return tracing::warn!("release {id}: cannot read the router's counters: {e}"),
        };
        let at_rollback = record.rollback_baseline.as_deref().and_then(|b| serde_json::from_str::<AddressBaseline>(b).ok());
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let (run_failed, rollback_failed) = match (rollback, at_rollback) {
            (None, _) => (loaded.baseline.failed_since(now), None),
            (Some(_), Some(began)) => (loaded.baseline.failed_since(began), Some(began.failed_since(now))),
            // Counters not kept as the rollback began: what the run had when it was measured.
            (Some(_), None) => {
                let total = loaded.baseline.failed_since(now);
                let before = record.failed_requests.and_then(|n| u64::try_from(n).ok()).unwrap_or(0).min(total);
                (before, Some(total - before))
            }
        };
        let figures = |outage: crate::downtime::Outage, failed: u64| Figures {
            downtime_ms: outage.downtime_ms,
            held_ms: outage.held_ms,
            failed_requests: count(failed),
        };
        let rollback = rollback.zip(rollback_failed).map(|(outage, failed)| figures(outage, failed));
        if let Err(e) = self.store.record_figures(id, figures(run, run_failed), rollback).await {
            tracing::warn!("release {id}: cannot store its downtime: {e}");
        }
    }

    /// Keeps the router's counters as a rollback begins, so its failed requests are its own.
    async fn keep_rollback_baseline(&self, loaded: &Loaded) {
        let id = loaded.record.id;
        let Ok(now) = self.agent.counters().await else { return };
        let began = AddressBaseline::read(&now, &loaded.placement.site, &loaded.placement.public_address);
        let Ok(text) = serde_json::to_string(&began) else { return };
        if let Err(e) = self.store.record_rollback_baseline(id, &text).await {
            tracing::warn!("release {id}: cannot keep the counters its rollback began with: {e}");
        }
    }
}

fn unreachable(what: &'static str) -> impl FnOnce(switchyard_agent::AgentError) -> EngineError {
    move |e| EngineError::AgentUnreachable { context: format!("cannot {what}"), message: e.to_string() }
}

fn status_of(loaded: &Loaded, state: State) -> ReleaseStatus {
    ReleaseStatus {
        id: loaded.record.id,
        waiting_for: loaded.release.waiting_for(&state),
        outcome: state.outcome().map(|o| o.as_str().to_owned()),
        state,
    }
}

/// Gives each command its operation id: the release's uid, the journal sequence of the
/// transition that asked for it, and its index there.
fn number(uid: &str, seq: i64, commands: Vec<Command>) -> Vec<Journaled> {
    commands.into_iter().enumerate().map(|(i, command)| Journaled { op_id: format!("{uid}-{seq}-{i}"), command }).collect()
}

/// Every journaled command with the time its transition was written.
fn journaled_commands(journal: &[TransitionRecord]) -> Vec<(chrono::DateTime<chrono::Utc>, Command)> {
    let mut out = Vec::new();
    for t in journal {
        let Ok(at) = chrono::DateTime::parse_from_rfc3339(&t.at) else {
            continue;
        };
        let Ok(commands) = serde_json::from_str::<Vec<Journaled>>(&t.commands) else {
            continue;
        };
        out.extend(commands.into_iter().map(|j| (at.with_timezone(&chrono::Utc), j.command)));
    }
    out
}
