//! Releases as people drive them: start a rehearsal or a production run, decide at the gates,
//! roll back, and follow a release's stages and timeline. The engine does the work in the
//! background; every call here answers at once with where the release is.

use crate::auth::Caller;
use crate::engines::SiteEngine;
use crate::release_view::{read_journal, stages, status_word};
use crate::{Service, ServiceError};
use std::sync::Arc;
use switchyard_api::{Decision, DiffLine, DocumentDiff, NewReleaseRequest, ReleaseDetail, ReleaseSummary, Site};
use switchyard_core::access::Action;
use switchyard_core::patch::PatchDocument;
use switchyard_core::workflow::{Event, Release, State};
use switchyard_engine::{Engine, EngineError, ReleaseSite, StoredConfig};
use switchyard_store::{GoLiveState, ReleaseRecord, SiteReleases};

type Result<T> = std::result::Result<T, ServiceError>;

/// The decisions a person can take on a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionKind {
    Approve,
    Reject,
    Confirm,
    Rollback,
}

impl DecisionKind {
    pub const ALL: [DecisionKind; 4] = [Self::Approve, Self::Reject, Self::Confirm, Self::Rollback];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Confirm => "confirm",
            Self::Rollback => "rollback",
        }
    }

    fn event(self, caller: &Caller, comment: &str) -> Event {
        let (by, comment) = (caller.actor(), comment.to_owned());
        match self {
            Self::Approve => Event::Approved { by, comment },
            Self::Reject => Event::Rejected { by, comment },
            Self::Confirm => Event::CustomerConfirmed { by, comment },
            Self::Rollback => Event::RollbackRequested { by, reason: comment },
        }
    }

    /// Support approves, runs and rolls back; the site's customer (or support) confirms and
    /// reports problems. The workflow then decides whether the release is at that gate.
    fn permitted(self, caller: &Caller, owner: Option<i64>) -> Result<()> {
        match (self, owner) {
            (Self::Approve | Self::Rollback, _) => caller.may(Action::RunRelease),
            (Self::Confirm | Self::Reject, Some(owner)) => caller.may(Action::PrepareRelease { owner }),
            (Self::Confirm | Self::Reject, None) => caller.may(Action::RunRelease),
        }
    }

    /// Why the caller may not take this decision on the release now, in the refusing rule's
    /// words; `None` when they may.
    pub(crate) fn refusal(self, caller: &Caller, loaded: &Loaded) -> Option<String> {
        if let Err(denied) = self.permitted(caller, loaded.site.as_ref().map(|s| s.customer_id)) {
            return Some(denied.to_string());
        }
        loaded.release.step(&loaded.state, &self.event(caller, "")).err().map(|refusal| refusal.to_string())
    }
}

pub(crate) fn engine_error(error: EngineError) -> ServiceError {
    match error {
        EngineError::Refused(refusal) => ServiceError::Conflict(refusal.to_string()),
        EngineError::Placement(message) => ServiceError::Conflict(message),
        EngineError::AgentUnreachable { .. } => ServiceError::Unavailable(error.to_string()),
        EngineError::Store(store) => store.into(),
        other => ServiceError::Internal(other.to_string()),
    }
}

/// A release with everything its views need.
pub(crate) struct Loaded {
    pub record: ReleaseRecord,
    pub release: Release,
    pub state: State,
    pub site: Option<Site>,
    /// The submitter's username now (as recorded, once the user is gone).
    pub submitter: String,
}

pub(crate) fn parse_config(record: &ReleaseRecord) -> Result<(Release, State)> {
    let config: StoredConfig = serde_json::from_str(&record.config)
        .map_err(|e| ServiceError::Internal(format!("release {} has a configuration that does not read: {e}", record.id)))?;
    let state: State = serde_json::from_str(&record.state)
        .map_err(|e| ServiceError::Internal(format!("release {} has a state that does not read: {e}", record.id)))?;
    Ok((config.release, state))
}

fn seconds_between(from: &str, to: Option<&str>) -> f64 {
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok().map(|d| d.with_timezone(&chrono::Utc));
    let end = to.and_then(parse).unwrap_or_else(chrono::Utc::now);
    parse(from).map(|start| (end - start).num_milliseconds().max(0) as f64 / 1000.0).unwrap_or(0.0)
}

impl Loaded {
    pub fn summary(&self) -> ReleaseSummary {
        let r = &self.record;
        ReleaseSummary {
            id: r.id,
            site: self.site.as_ref().map_or_else(|| r.site.clone(), |s| s.name.clone()),
            site_id: self.site.as_ref().map(|s| s.id),
            customer: self.site.as_ref().map_or_else(|| switchyard_store::DELETED_SITE.to_owned(), |s| s.customer_name.clone()),
            customer_id: self.site.as_ref().map(|s| s.customer_id),
            run: r.run.clone(),
            workflow: r.workflow.clone(),
            document_version: r.document_version,
            candidate_sha256: r.candidate_sha256.clone(),
            submitted_by: self.submitter.clone(),
            status: status_word(&self.release, &self.state).into(),
            waiting_for: self.release.waiting_for(&self.state),
            outcome: self.state.outcome().map(|o| o.as_str().to_owned()),
            downtime_ms: r.downtime_ms,
            failed_requests: r.failed_requests,
            held_ms: r.held_ms,
            rollback_downtime_ms: r.rollback_downtime_ms,
            rollback_held_ms: r.rollback_held_ms,
            rollback_failed_requests: r.rollback_failed_requests,
            created_at: r.created_at.clone(),
            finished_at: r.finished_at.clone(),
            duration_s: seconds_between(&r.created_at, r.finished_at.as_deref()),
        }
    }
}

impl Service {
    /// Loads a release the caller may see.
    pub(crate) async fn readable_release(&self, caller: &Caller, id: i64) -> Result<Loaded> {
        self.readable_record(caller, self.store.release(id).await?).await
    }

    /// A release belongs to its site by id: once the site is deleted only staff who read
    /// operations see it, and a later site reusing the name gets nothing.
    async fn readable_record(&self, caller: &Caller, record: ReleaseRecord) -> Result<Loaded> {
        let site = self.store.site_of_release(record.site_id).await?;
        match &site {
            Some(site) => caller.may(Action::ReadSite { owner: site.customer_id })?,
            None => caller.may(Action::ReadOperations)?,
        }
        let (release, state) = parse_config(&record)?;
        let submitter = match record.submitted_by_id {
            Some(id) => match self.store.user(id).await {
                Ok(user) => user.username,
                Err(switchyard_store::StoreError::NotFound { .. }) => record.submitted_by.clone(),
                Err(other) => return Err(other.into()),
            },
            None => record.submitted_by.clone(),
        };
        Ok(Loaded { record, release, state, site, submitter })
    }

    /// Refuses (422, on `field`) a candidate that was not uploaded for `site`.
    pub(crate) async fn ensure_candidate_of(&self, site: &Site, sha256: &str, field: &str) -> Result<()> {
        if self.store.candidate(site.id, sha256).await?.is_some() {
            return Ok(());
        }
        Err(switchyard_core::Invalid::single(
            field,
            format!(
                "candidate {sha256} was not uploaded for site {}; upload the release tarball on that site's page and name its sha256",
                site.name
            ),
        )
        .into())
    }

    async fn site_engine(&self, site: &Site) -> Result<SiteEngine> {
        self.engines.for_site(&self.store, site).await
    }

    /// Drives the release in the background until it waits for a person or ends; a failure
    /// (an unreachable agent) leaves it to the next resume, which the log says.
    fn drive(engine: Arc<Engine>, id: i64) {
        tokio::spawn(async move {
            match engine.resume(id).await {
                Ok(status) => tracing::info!("release {id}: {}", status.waiting_for),
                Err(e) => tracing::warn!("release {id} stopped: {e}"),
            }
        });
    }

    /// Starts a rehearsal (on a fresh clone of production) or a production run of a saved
    /// patch document version. A production run is refused unless the same candidate and
    /// document version passed a rehearsal.
    pub async fn start_release(&self, caller: &Caller, request: NewReleaseRequest) -> Result<ReleaseSummary> {
        let site = self.store.site(request.site_id).await?;
        let production = match request.run.as_str() {
            "rehearsal" => false,
            "production" => true,
            other => {
                return Err(switchyard_core::Invalid::single("run", format!("run must be rehearsal or production, not {other:?}")).into())
            }
        };
        if production {
            caller.may(Action::RunRelease)?;
        } else {
            caller.may(Action::PrepareRelease { owner: site.customer_id })?;
        }
        let record = self.store.patch_document(site.id, i64::from(request.document_version)).await?;
        let document = PatchDocument::parse(&record.toml).map_err(|errors| {
            ServiceError::Conflict(format!("patch document version {} no longer reads: {errors}", request.document_version))
        })?;
        // A candidate belongs to the site it was uploaded for, even if another site uploaded
        // the same bytes.
        self.ensure_candidate_of(&site, &document.candidate_sha256, "toml").await?;
        let candidate = self.engines.candidates_dir.join(format!("{}.tar.gz", document.candidate_sha256));
        if !candidate.is_file() {
            return Err(ServiceError::Conflict(format!(
                "the file of candidate {} is missing from the candidates directory; upload the release tarball on the site's page again",
                document.candidate_sha256
            )));
        }
        let target = self.site_engine(&site).await?;
        let by = caller.submitter();
        let unpack_limits = Some(self.candidate_limits_for(site.id).await?.unpack_caps());
        let on = ReleaseSite { id: Some(site.id), key: &site.key, public_address: &target.public_address, unpack_limits };
        let id = if production {
            target.engine.submit_production(&document, &by, &request.pinned_accounts, &on).await
        } else {
            target.engine.submit_rehearsal(&document, &by, &on).await
        }
        .map_err(engine_error)?;
        self.audit(
            caller,
            &format!("release.{}", request.run),
            &format!("release {id}"),
            &format!("{} document v{} candidate {}", site.name, request.document_version, document.candidate_sha256),
        )
        .await;
        Self::drive(Arc::clone(&target.engine), id);
        Ok(self.readable_release(caller, id).await?.summary())
    }

    /// Records a person's decision (refused with the reason when the release is not at that
    /// gate or the person may not take it) and drives the release on in the background.
    pub async fn decide(&self, caller: &Caller, id: i64, kind: DecisionKind, decision: Decision) -> Result<ReleaseSummary> {
        let loaded = self.readable_release(caller, id).await?;
        kind.permitted(caller, loaded.site.as_ref().map(|s| s.customer_id))?;
        let site = loaded
            .site
            .as_ref()
            .ok_or_else(|| ServiceError::Conflict(format!("the site of release {id} was deleted; its releases can only be read")))?;
        if kind == DecisionKind::Approve && !decision.acknowledge_rollback {
            let journal = self.store.transitions(id).await?;
            if let Some(statement) = self.rollback_statement_of(&loaded, &journal).await?.filter(|s| s.needs_acknowledgement) {
                return Err(ServiceError::Invalid(switchyard_core::Invalid::single(
                    "acknowledge_rollback",
                    format!(
                        "approving release {id} needs you to confirm what a rollback of it would do: {} Read it on the release page and approve again with acknowledge_rollback = true (in the command line, --accept-rollback)",
                        statement.words
                    ),
                )));
            }
        }
        let target = self.site_engine(site).await?;
        let recorded = target.engine.record_decision(id, kind.event(caller, &decision.comment)).await;
        if let Err(e) = recorded {
            // A decision may have interrupted a watch window before it was refused; driving on
            // re-sends whatever is pending, so the release never sits without a driver.
            Self::drive(Arc::clone(&target.engine), id);
            return Err(match e {
                EngineError::Refused(refusal) => ServiceError::Forbidden(refusal.to_string()),
                other => engine_error(other),
            });
        }
        self.audit(caller, &format!("release.{}", kind.as_str()), &format!("release {id}"), &decision.comment).await;
        Self::drive(Arc::clone(&target.engine), id);
        Ok(self.readable_release(caller, id).await?.summary())
    }

    /// Sends the release's pending commands again and drives it on in the background, e.g. after
    /// its host's agent was unreachable. Safe at any time: the agent replays what it already did.
    pub async fn resume_release(&self, caller: &Caller, id: i64) -> Result<ReleaseSummary> {
        caller.may(Action::RunRelease)?;
        let loaded = self.readable_release(caller, id).await?;
        let site = loaded
            .site
            .as_ref()
            .ok_or_else(|| ServiceError::Conflict(format!("the site of release {id} was deleted; its releases can only be read")))?;
        let target = self.site_engine(site).await?;
        self.audit(caller, "release.resume", &format!("release {id}"), "").await;
        Self::drive(Arc::clone(&target.engine), id);
        Ok(loaded.summary())
    }

    /// Everything the release page shows, including which decisions the caller may take now.
    pub async fn release_detail(&self, caller: &Caller, id: i64) -> Result<ReleaseDetail> {
        let loaded = self.readable_release(caller, id).await?;
        let journal = self.store.transitions(id).await?;
        let names = self.store.list_users().await?.into_iter().map(|u| (u.id, u.username)).collect();
        let (states, timeline, decisions) = read_journal(&journal, &names);
        let owner = loaded.site.as_ref().map(|s| s.customer_id);
        let allowed: Vec<String> = DecisionKind::ALL
            .into_iter()
            .filter(|kind| kind.permitted(caller, owner).is_ok())
            .filter(|kind| loaded.release.step(&loaded.state, &kind.event(caller, "")).is_ok())
            .map(|kind| kind.as_str().to_owned())
            .collect();
        let candidate = match &loaded.site {
            Some(site) => self.store.candidate(site.id, &loaded.record.candidate_sha256).await?,
            None => None,
        };
        let evidence = self.release_evidence(caller, &loaded, &journal, &states, &names, &allowed).await?;
        Ok(ReleaseDetail {
            summary: loaded.summary(),
            stages: stages(&loaded.release, &loaded.state, &states),
            timeline,
            decisions,
            candidate,
            document_toml: loaded.record.document_toml.clone(),
            allowed,
            evidence,
        })
    }

    /// The release's patch document against the one the site's last completed production run
    /// used before it.
    pub async fn release_diff(&self, caller: &Caller, id: i64) -> Result<DocumentDiff> {
        let loaded = self.readable_release(caller, id).await?;
        let earlier = self.store.list_releases(SiteReleases::new(loaded.record.site_id, &loaded.record.site)).await?;
        let previous = earlier.iter().find(|r| r.id < id && r.run == "production" && r.outcome.as_deref() == Some("completed"));
        let old = previous.map_or("", |r| r.document_toml.as_str());
        let lines = switchyard_core::diff::lines(old, &loaded.record.document_toml)
            .into_iter()
            .map(|line| {
                let (kind, text) = match line {
                    switchyard_core::diff::Line::Same(t) => ("same", t),
                    switchyard_core::diff::Line::Added(t) => ("added", t),
                    switchyard_core::diff::Line::Removed(t) => ("removed", t),
                };
                DiffLine { kind: kind.into(), text: text.into() }
            })
            .collect();
        // With no release before it, the document is compared with nothing, but production does
        // run something: what the site went live with, which the diff names.
        let against_go_live = match (previous, loaded.record.site_id) {
            (None, Some(site_id)) => self.store.latest_go_live(site_id).await?.filter(|g| g.state == GoLiveState::Live).map(|g| {
                let what = g.version.unwrap_or_else(|| format!("candidate {}", &g.candidate_sha256[..g.candidate_sha256.len().min(12)]));
                format!("go-live #{} ({what})", g.id)
            }),
            _ => None,
        };
        Ok(DocumentDiff {
            against_version: previous.map(|r| r.document_version),
            against_release: previous.map(|r| r.id),
            against_go_live,
            lines,
        })
    }

    /// Production runs waiting for support's approval, oldest first.
    pub async fn approvals(&self, caller: &Caller) -> Result<Vec<ReleaseSummary>> {
        caller.may(Action::RunRelease)?;
        let mut waiting = Vec::new();
        for record in self.store.unfinished_releases().await? {
            let loaded = self.readable_record(caller, record).await?;
            let at_approval = matches!(&loaded.state, State::Running { stage, .. }
                if matches!(loaded.release.stages.get(*stage), Some(switchyard_core::workflow::Stage::Approval)));
            if at_approval {
                waiting.push(loaded.summary());
            }
        }
        Ok(waiting)
    }

    /// Resumes every unfinished release, e.g. when Switchyard starts after a crash. Each runs in
    /// the background; a release whose host cannot be reached waits for the next start.
    pub async fn resume_releases(&self) -> Result<usize> {
        let mut resumed = 0;
        for record in self.store.unfinished_releases().await? {
            let Some(site) = self.store.site_of_release(record.site_id).await? else { continue };
            match self.site_engine(&site).await {
                Ok(target) => {
                    Self::drive(target.engine, record.id);
                    resumed += 1;
                }
                Err(e) => tracing::warn!("cannot resume release {}: {e}", record.id),
            }
        }
        Ok(resumed)
    }
}
