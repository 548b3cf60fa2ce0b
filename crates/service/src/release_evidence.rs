//! What a release's page puts in front of the person deciding: the rehearsal a production run
//! rests on (its result, who marked it tested and when), the address where the customer tests
//! the run now as a link, how the run ended named by what happened, when a watch window in
//! progress ends, and why the decision the run waits for is not offered to this person.

use crate::auth::Caller;
use crate::dashboard::url;
use crate::engines::site_home;
use crate::release_view::{outcome_words, read_journal, Names};
use crate::releases::{DecisionKind, Loaded};
use crate::{Service, ServiceError};
use std::time::Duration;
use switchyard_api::{RehearsalEvidence, ReleaseEvidence};
use switchyard_core::patch::WorkflowKind;
use switchyard_core::workflow::{Run, Stage, State};
use switchyard_engine::Placement;
use switchyard_store::{SiteReleases, TransitionRecord};

type Result<T> = std::result::Result<T, ServiceError>;

/// How long a release page waits for the agent's listeners the first time it needs them.
const LISTENERS_TIMEOUT: Duration = Duration::from_secs(2);

impl Service {
    pub(crate) async fn release_evidence(
        &self,
        caller: &Caller,
        loaded: &Loaded,
        journal: &[TransitionRecord],
        states: &[State],
        names: &Names,
        allowed: &[String],
    ) -> Result<ReleaseEvidence> {
        let record = &loaded.record;
        let (release, state) = (&loaded.release, &loaded.state);
        let rehearsal = match release.run {
            Run::Production => self.rehearsal_behind(loaded, names).await?,
            Run::Rehearsal => None,
        };
        let (test_address, test_url) = self.test_address(loaded).await;
        let watch_ends_at = match (state, journal.last()) {
            (State::Running { stage, .. }, Some(last)) => match release.stages.get(*stage) {
                Some(Stage::Watch { duration_secs, .. }) => self
                    .store
                    .watch_window(record.id, last.seq)
                    .await?
                    .and_then(|w| chrono::DateTime::from_timestamp_millis(w.started_at_ms + i64::from(*duration_secs) * 1000))
                    .map(|end| end.to_rfc3339()),
                _ => None,
            },
            _ => None,
        };
        let rollback = self.rollback_statement_of(loaded, journal).await?;
        Ok(ReleaseEvidence {
            rollback,
            replays: crate::release_data::replays(journal),
            rehearsal,
            test_address,
            test_url,
            outcome_words: outcome_words(release, state, Some(states)),
            watch_ends_at,
            not_offered: not_offered(caller, loaded, allowed),
        })
    }

    /// The newest passed rehearsal of the same candidate and document version before `loaded`.
    pub(crate) async fn rehearsal_behind(&self, loaded: &Loaded, names: &Names) -> Result<Option<RehearsalEvidence>> {
        let record = &loaded.record;
        let earlier = self.store.list_releases(SiteReleases::new(record.site_id, &record.site)).await?;
        let Some(rehearsal) = earlier.into_iter().find(|r| {
            r.id < record.id
                && r.run == "rehearsal"
                && r.rehearsal_passed
                && r.candidate_sha256 == record.candidate_sha256
                && r.document_version == record.document_version
        }) else {
            return Ok(None);
        };
        let (_, _, decisions) = read_journal(&self.store.transitions(rehearsal.id).await?, names);
        let confirmed = decisions.into_iter().rev().find(|d| d.decision == "confirmed");
        let state: Option<State> = serde_json::from_str(&rehearsal.state).ok();
        Ok(Some(RehearsalEvidence {
            release_id: rehearsal.id,
            outcome: state.and_then(|s| s.outcome()).map(|o| o.as_str().to_owned()),
            confirmed_by: confirmed.as_ref().map(|d| d.by.clone()),
            confirmed_at: confirmed.as_ref().map(|d| d.at.clone()),
            comment: confirmed.map(|d| d.comment).unwrap_or_default(),
        }))
    }

    /// Where the customer tests the run while it is not over: the candidate's address for a
    /// rehearsal and a run beside production, a migration's temporary address; the link carries
    /// the host's public listener port, asked of its agent once and remembered.
    async fn test_address(&self, loaded: &Loaded) -> (Option<String>, Option<String>) {
        let standing =
            loaded.state.outcome().is_none() || (loaded.release.run == Run::Rehearsal && matches!(loaded.state, State::Completed { .. }));
        let Ok(placement) = serde_json::from_str::<Placement>(&loaded.record.placement) else { return (None, None) };
        let address = match (loaded.release.run, loaded.release.workflow) {
            _ if !standing => return (None, None),
            (Run::Production, WorkflowKind::Migration) => placement.temporary_address,
            // Past the cutover, the clone is production at the public address.
            (Run::Production, WorkflowKind::LowDowntimeMigration) if !matches!(loaded.state, State::Running { .. }) => return (None, None),
            (Run::Production, WorkflowKind::MinorPatch) => return (None, None),
            _ => placement.candidate_address,
        };
        let Some(site) = &loaded.site else { return (Some(address), None) };
        let Ok(home) = site_home(&self.store, site).await else { return (Some(address), None) };
        let listeners = match self.engines.known_listeners(home.host_id) {
            Some(listeners) => listeners,
            None => match tokio::time::timeout(LISTENERS_TIMEOUT, self.ask_host(home.host_id)).await {
                Ok(Ok((listeners, _))) => {
                    self.engines.remember_listeners(home.host_id, listeners.clone());
                    listeners
                }
                _ => Vec::new(),
            },
        };
        let link = url(&address, &listeners);
        (Some(address), link)
    }
}

/// Why the decision the run waits for is not among those the caller may take, in the words of
/// the rule that refuses it.
fn not_offered(caller: &Caller, loaded: &Loaded, allowed: &[String]) -> Option<String> {
    let State::Running { stage, .. } = &loaded.state else { return None };
    let awaited = match loaded.release.stages.get(*stage) {
        Some(Stage::Approval) => DecisionKind::Approve,
        Some(Stage::Confirmation) => DecisionKind::Confirm,
        _ => return None,
    };
    if allowed.iter().any(|a| a == awaited.as_str()) {
        return None;
    }
    Some(match awaited.refusal(caller, loaded) {
        Some(reason) => reason,
        None => format!("this run waits for {}", loaded.release.waiting_for(&loaded.state).trim_start_matches("waiting for ")),
    })
}
