//! People's decisions on a release: approvals, confirmations, rejections and rollback
//! requests, journaled with who, when and a comment. A decision the release would accept ends
//! a watch window early instead of waiting it out; one it refuses while a window runs is
//! answered at once and leaves the window running.

use switchyard_core::workflow::{Actor, Command, Event, State};
use tokio::sync::MutexGuard;

use super::{json, number, parse, status_of, Driver, Engine, Journaled, ReleaseStatus};
use crate::error::{EngineError, Result};

impl Engine {
    /// Support approves the release; refused for the submitter and for other roles.
    pub async fn approve(&self, id: i64, by: &Actor, comment: &str) -> Result<ReleaseStatus> {
        self.decide(id, Event::Approved { by: by.clone(), comment: comment.to_owned() }).await
    }

    /// The customer marks the rehearsed candidate ready, or confirms production at its
    /// temporary address.
    pub async fn confirm(&self, id: i64, by: &Actor, comment: &str) -> Result<ReleaseStatus> {
        self.decide(id, Event::CustomerConfirmed { by: by.clone(), comment: comment.to_owned() }).await
    }

    /// Support rejects at an approval, or the customer reports a problem at a confirmation;
    /// either rolls the release back.
    pub async fn reject(&self, id: i64, by: &Actor, comment: &str) -> Result<ReleaseStatus> {
        self.decide(id, Event::Rejected { by: by.clone(), comment: comment.to_owned() }).await
    }

    /// Returns to the last working configuration in one call: a running release rolls back
    /// what it completed (a watch window in progress ends at once), a completed one is
    /// reversed, a stalled rollback is retried.
    pub async fn rollback(&self, id: i64, by: &Actor, reason: &str) -> Result<ReleaseStatus> {
        self.decide(id, Event::RollbackRequested { by: by.clone(), reason: reason.to_owned() }).await
    }

    /// Journals a person's decision (who, when, the comment) and drives on from it. Commands
    /// still in flight finish first, except a watch window: a decision never overtakes an
    /// effect that may have happened, or its undo would be missing, but a window has none.
    async fn decide(&self, id: i64, event: Event) -> Result<ReleaseStatus> {
        let driver = self.driver(id);
        let _driving = self.lock_for_decision(&driver, id, &event).await?;
        self.journal_decision(id, &event).await?;
        self.drive(id, true).await
    }

    /// Journals a person's decision (approval, confirmation, rejection or rollback request)
    /// and returns at once, refused with the policy's reason when it is not allowed; the
    /// commands it asks for run on the next [`Engine::resume`]. For callers that answer a
    /// person at once and drive the release in the background. A refused decision may have
    /// ended a watch window early (the release moved on between the check and the decision):
    /// resume the release after a refusal too, and the window is watched again.
    pub async fn record_decision(&self, id: i64, event: Event) -> Result<ReleaseStatus> {
        let driver = self.driver(id);
        let _driving = self.lock_for_decision(&driver, id, &event).await?;
        self.journal_decision(id, &event).await?;
        let loaded = self.load(id).await?;
        let last = self.store.last_transition(id).await?;
        let state: State = parse(&last.state, "state")?;
        if state.is_final() && parse::<Vec<Journaled>>(&last.commands, "commands")?.is_empty() {
            self.measure(&loaded).await;
        }
        Ok(status_of(&loaded, state))
    }

    /// Takes the release's lock for a decision. While only a watch window is pending the
    /// journaled state cannot change, so a decision it refuses is refused at once and the
    /// window runs on; one it accepts ends the window (and any window started before the
    /// decision has the lock) so it need not wait the window out.
    async fn lock_for_decision<'a>(&self, driver: &'a Driver, id: i64, event: &Event) -> Result<MutexGuard<'a, ()>> {
        let loaded = self.load(id).await?;
        let last = self.store.last_transition(id).await?;
        let state: State = parse(&last.state, "state")?;
        let pending: Vec<Journaled> = parse(&last.commands, "commands")?;
        let accepted = loaded.release.step(&state, event);
        if let Err(refusal) = accepted.as_ref() {
            if only_waits(&pending) {
                return Err(EngineError::Refused(refusal.clone()));
            }
        }
        let waiting = accepted.is_ok().then(|| driver.interrupt.decision());
        let guard = driver.lock.lock().await;
        drop(waiting);
        Ok(guard)
    }

    /// The caller holds the release's lock. Commands in flight are finished first, unless
    /// they are only a watch window (the decision ended it, or it ended itself).
    async fn journal_decision(&self, id: i64, event: &Event) -> Result<()> {
        let last = self.store.last_transition(id).await?;
        if !only_waits(&parse::<Vec<Journaled>>(&last.commands, "commands")?) {
            self.drive(id, false).await?;
        }
        let loaded = self.load(id).await?;
        let last = self.store.last_transition(id).await?;
        let state: State = parse(&last.state, "state")?;
        let (next, commands) = loaded.release.step(&state, event)?;
        let commands = number(&loaded.record.uid, last.seq + 1, commands);
        let transition = (json(event)?, json(&next)?, json(&commands)?);
        self.append(id, last.seq, vec![transition], next.outcome()).await?;
        tracing::info!("release {id}: {} journaled", event.name());
        Ok(())
    }
}

/// Whether the pending commands are a watch window and nothing else.
fn only_waits(pending: &[Journaled]) -> bool {
    !pending.is_empty() && pending.iter().all(|j| matches!(j.command, Command::Wait { .. }))
}
