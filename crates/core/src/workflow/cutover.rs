//! The production run of a low-downtime migration: production keeps serving on its public
//! address while a fresh clone of it is deployed, migrated and checked by the customer; the
//! writes production takes meanwhile are captured (capture starts before the clone is taken,
//! so none falls between them) and replayed into the migrated clone during a short hold, the
//! cutover. From then on the new version's writes are captured too, so a rollback replays
//! them into the old version's database, which was stopped, complete, at the cutover.
//!
//! Downtime is the cutover alone: hold, stop production, replay what was written since the
//! catch-up replay just before, swap, release the hold.

use super::command::{Command, Env};
use super::plan::Stage;
use crate::patch::{Action, PatchDocument};
use crate::Role;

fn act(command: Command, undo: Vec<Command>) -> Stage {
    Stage::Do { command, undo }
}

/// The cutover, with what undoes each part. Undone newest first, a rollback after it holds
/// requests, swaps back, stops the new version, replays its writes into the old version's
/// database (leaving out what the old schema has no place for, which the approver was told
/// before deciding), ends that capture, starts the old version and releases the hold.
fn cutover() -> Vec<Stage> {
    let (production, candidate) = (Env::Production, Env::Candidate);
    vec![
        // Most captured writes are replayed while production still serves (a refusal here
        // rolls back without any downtime); under the hold only those written since are.
        act(Command::ReplayChanges { from: production, into: candidate, drop_unknown_columns: false }, vec![]),
        act(Command::Hold { on: true }, vec![Command::Hold { on: false }]),
        // Requests in flight finish as production stops: after this nothing writes to it.
        act(Command::StopService { env: production }, vec![Command::StartService { env: production }]),
        // A write the migrated schema refuses fails this, and the rollback starts production
        // again on its own, complete database before the hold is released.
        act(Command::ReplayChanges { from: production, into: candidate, drop_unknown_columns: false }, vec![]),
        act(
            Command::StartCapture { env: candidate },
            vec![
                Command::StopService { env: candidate },
                Command::ReplayChanges { from: candidate, into: production, drop_unknown_columns: true },
                Command::StopCapture { env: candidate },
            ],
        ),
        // Production's database is complete and no longer written: its capture has served.
        act(Command::StopCapture { env: production }, vec![]),
        act(Command::SwapAddresses, vec![Command::SwapAddresses]),
        act(Command::Hold { on: false }, vec![Command::Hold { on: true }]),
    ]
}

/// The production run: the document's deploys, migrations and health checks act on the
/// clone, which is stopped from before its release changes until its migrations ran (new code
/// may refuse the old schema); its own rollbacks are not needed, since a rollback discards
/// the clone. The schema comparison after the migration is what the release page's rollback
/// statement is made from.
pub fn production(doc: &PatchDocument) -> Vec<Stage> {
    let env = Env::Candidate;
    let changes = |a: &Action| matches!(a, Action::DeployCandidate | Action::RunCommand { .. });
    let first_change = doc.steps.iter().position(|s| changes(&s.action));
    let last_change = doc.steps.iter().rposition(|s| changes(&s.action));
    let mut stages = Vec::new();
    for (index, step) in doc.steps.iter().enumerate() {
        if Some(index) == first_change {
            stages.push(act(Command::StartCapture { env: Env::Production }, vec![Command::StopCapture { env: Env::Production }]));
            stages.push(act(Command::CloneEnvironment { from: Env::Production, to: env }, vec![Command::DiscardEnvironment { env }]));
            stages.push(act(Command::StopService { env }, vec![]));
        }
        match &step.action {
            Action::DeployCandidate => {
                let sha256 = doc.candidate_sha256.clone();
                stages.push(act(Command::UploadRelease { env, sha256: sha256.clone() }, vec![]));
                stages.push(act(Command::UnpackRelease { env, sha256: sha256.clone() }, vec![]));
                stages.push(act(Command::ActivateRelease { env, sha256 }, vec![]));
            }
            Action::RunCommand { command, timeout_secs, .. } => {
                stages.push(act(Command::RunStep { env, step: index + 1, command: command.clone(), timeout_secs: *timeout_secs }, vec![]))
            }
            Action::HealthCheck { path, expect_status, retries } => {
                stages.push(act(Command::HealthCheck { env, path: path.clone(), expect_status: *expect_status, retries: *retries }, vec![]))
            }
            Action::ApprovalGate { role: Role::Customer } => stages.push(Stage::Confirmation),
            Action::ApprovalGate { .. } => stages.push(Stage::Approval),
            Action::WaitAndWatch { duration_secs, max_5xx_increase } => {
                stages.push(Stage::Watch { duration_secs: *duration_secs, max_5xx_increase: *max_5xx_increase })
            }
            Action::SwapAddresses => stages.extend(cutover()),
            // The document's rules refuse the rest in this workflow.
            Action::SyncData { .. } | Action::SiteDownPage { .. } | Action::MoveToTemporaryAddress | Action::RolloutStage { .. } => {}
        }
        if Some(index) == last_change {
            stages.push(act(Command::StartService { env }, vec![Command::StopService { env }]));
            stages.push(act(Command::CompareSchemas { env, against: Env::Production }, vec![]));
        }
    }
    stages
}
