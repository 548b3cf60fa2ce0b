//! Compiles a patch document into the stages of a run: the rehearsal on a clone, or the
//! production run of one of the five workflows, each stage with the commands that undo it.
//!
//! The document says what the customer's release needs; the workflow adds what its procedure
//! always needs (a clone beside production, a database snapshot before a migration, held
//! requests around a swap, stopping a service that is patched in place).

use super::command::{Command, Env};
use crate::patch::{Action, PatchDocument, Step, WorkflowKind};
use crate::Role;
use serde::{Deserialize, Serialize};

/// One thing a run waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Stage {
    /// Run `command`; once it succeeded, `undo` (in order) reverses it.
    Do { command: Command, undo: Vec<Command> },
    /// A support user other than the submitter approves.
    Approval,
    /// The customer marks the candidate ready, or confirms production at its temporary address.
    Confirmation,
    /// Watch per-version 5xx rates for a window; halt when the new one is worse by more than
    /// `max_5xx_increase` percentage points.
    Watch { duration_secs: u32, max_5xx_increase: f64 },
}

fn act(command: Command, undo: Vec<Command>) -> Stage {
    Stage::Do { command, undo }
}

fn deploy(env: Env, sha: &str, undo: Vec<Command>) -> [Stage; 3] {
    let sha256 = sha.to_owned();
    [
        act(Command::UploadRelease { env, sha256: sha256.clone() }, vec![]),
        act(Command::UnpackRelease { env, sha256: sha256.clone() }, vec![]),
        act(Command::ActivateRelease { env, sha256 }, undo),
    ]
}

fn run_step(env: Env, number: usize, action: &Action) -> Option<Command> {
    match action {
        Action::RunCommand { command, timeout_secs, .. } => {
            Some(Command::RunStep { env, step: number, command: command.clone(), timeout_secs: *timeout_secs })
        }
        _ => None,
    }
}

fn health(env: Env, action: &Action) -> Option<Stage> {
    match action {
        Action::HealthCheck { path, expect_status, retries } => {
            Some(act(Command::HealthCheck { env, path: path.clone(), expect_status: *expect_status, retries: *retries }, vec![]))
        }
        _ => None,
    }
}

/// The rehearsal: the document's own commands run against a fresh clone of production, then
/// the customer tests it and marks it ready. Production is only read (to clone it).
pub fn rehearsal(doc: &PatchDocument) -> Vec<Stage> {
    let env = Env::Candidate;
    // Each stage with whether it changes the clone's code or data.
    let mut body: Vec<(bool, Stage)> = Vec::new();
    if !doc.steps.iter().any(|s| s.action == Action::DeployCandidate) {
        body.extend(deploy(env, &doc.candidate_sha256, vec![]).map(|s| (true, s)));
    }
    // An expand migration placed before the deploy is rehearsed as production runs it: the
    // new release's own migration runs on the stopped clone, and the new code starts after it.
    let early = migrates_before_deploy(doc);
    for (index, step) in doc.steps.iter().enumerate() {
        if Some(index) == early {
            body.push((false, act(Command::StopService { env }, vec![])));
            body.extend(deploy(env, &doc.candidate_sha256, vec![]).map(|s| (true, s)));
        }
        match &step.action {
            Action::DeployCandidate if early.is_some() => body.push((false, act(Command::StartService { env }, vec![]))),
            Action::DeployCandidate => body.extend(deploy(env, &doc.candidate_sha256, vec![]).map(|s| (true, s))),
            action @ Action::RunCommand { .. } => body.extend(run_step(env, index + 1, action).map(|c| (true, act(c, vec![])))),
            action @ Action::HealthCheck { .. } => body.extend(health(env, action).map(|s| (false, s))),
            // Addresses, pages, gates and watches are production concerns; the clone is fresh,
            // so it has nothing to sync.
            _ => {}
        }
    }
    // A release patched in place is rehearsed the way production will run it: the clone stops
    // before its code changes and starts once its migrations ran, because new code may refuse
    // to start on the old schema. The discarded clone needs no undo.
    if stops_while_changing(doc.workflow) {
        let changes = (body.iter().position(|(c, _)| *c), body.iter().rposition(|(c, _)| *c));
        if let (Some(first), Some(last)) = changes {
            // A low-downtime migration's rehearsal measures what the migration changed in the
            // schema, so the production run's approver reads what a rollback would do.
            if doc.workflow == WorkflowKind::LowDowntimeMigration {
                body.insert(last + 1, (false, act(Command::CompareSchemas { env, against: Env::Production }, vec![])));
            }
            body.insert(last + 1, (false, act(Command::StartService { env }, vec![])));
            body.insert(first, (false, act(Command::StopService { env }, vec![])));
        }
    }
    let mut stages = vec![act(Command::CloneEnvironment { from: Env::Production, to: env }, vec![Command::DiscardEnvironment { env }])];
    stages.extend(body.into_iter().map(|(_, stage)| stage));
    stages.push(Stage::Confirmation);
    stages.push(act(Command::RecordRehearsal { candidate_sha256: doc.candidate_sha256.clone(), document_version: doc.version }, vec![]));
    // Once checked, the clone has served its purpose unless production goes live on it: the
    // rehearsal's copy of the site and its data (databases included) goes at once.
    if !production_goes_live_on_the_rehearsed_clone(doc) {
        stages.push(act(Command::DiscardEnvironment { env }, vec![]));
    }
    stages
}

/// Whether the production run takes over the rehearsal's clone as it is (a no-migration
/// release without a deploy step syncs production's data into the tested clone and swaps it
/// in) rather than making a clone of its own.
pub fn production_goes_live_on_the_rehearsed_clone(doc: &PatchDocument) -> bool {
    doc.workflow == WorkflowKind::NoMigration && !doc.steps.iter().any(|s| s.action == Action::DeployCandidate)
}

/// The first migration a blue-green or rollout document places before `deploy-candidate`: an
/// expand step the new code needs before it starts. From there the candidate's release is
/// activated while the candidate is stopped, the migrations run, and the deploy step starts it.
fn migrates_before_deploy(doc: &PatchDocument) -> Option<usize> {
    if !matches!(doc.workflow, WorkflowKind::BlueGreen | WorkflowKind::Rollout) {
        return None;
    }
    let deploy = doc.steps.iter().position(|s| s.action == Action::DeployCandidate)?;
    doc.steps[..deploy].iter().position(|s| s.action.is_migration())
}

/// Whether the release changes production's own environment (stopped while it changes)
/// rather than one beside it.
fn patches_in_place(kind: WorkflowKind) -> bool {
    matches!(kind, WorkflowKind::Migration | WorkflowKind::MinorPatch)
}

/// Whether a rehearsal stops its clone around the release's changes, as the production run
/// stops the environment it changes: production's own, or a low-downtime migration's clone.
fn stops_while_changing(kind: WorkflowKind) -> bool {
    patches_in_place(kind) || kind == WorkflowKind::LowDowntimeMigration
}

/// The production run of `doc.workflow`, pinned test accounts first for a rollout, which
/// ends by moving the public address to the new version.
///
/// A migration runs in production's own environment: production moves to its temporary
/// address (the router points the public address at the site-down page), stops, is
/// snapshotted, gets the new release and its migrations, and starts again. The site-down
/// page's maintenance flag covers every address of the site, the temporary one included, so
/// it stays on only while production is down; it goes off before the customer checks
/// production at the temporary address, and the public address keeps showing the page through
/// the move until production returns to it.
pub fn production(doc: &PatchDocument, pinned_accounts: &[String]) -> Vec<Stage> {
    let kind = doc.workflow;
    // Where the document's deploys, commands and health checks run.
    let env = match kind {
        WorkflowKind::LowDowntimeMigration => return super::cutover::production(doc),
        WorkflowKind::Migration | WorkflowKind::MinorPatch => Env::Production,
        WorkflowKind::NoMigration | WorkflowKind::BlueGreen | WorkflowKind::Rollout => Env::Candidate,
    };
    let mut stages = Vec::new();
    let mut cloned = !matches!(kind, WorkflowKind::BlueGreen | WorkflowKind::Rollout);
    let first_change = doc.steps.iter().position(|s| matches!(s.action, Action::DeployCandidate | Action::RunCommand { .. }));
    let last_change = doc.steps.iter().rposition(|s| matches!(s.action, Action::DeployCandidate | Action::RunCommand { .. }));
    let mut snapshotted = false;
    let mut held = false;
    let mut routed = false;
    // Whether the router's maintenance flag is on, and production at its temporary address.
    let mut maintenance = false;
    let mut moved = false;
    let migrates = doc.steps.iter().any(|s| s.action.is_migration());
    let early = migrates_before_deploy(doc);
    for (index, step) in doc.steps.iter().enumerate() {
        let Step { action, rollback, .. } = step;
        let own_undo = rollback.as_ref().map(|r| undo_of(r, kind, env, index + 1)).unwrap_or_default();
        if Some(index) == early {
            // Expand first: the candidate is cloned and stopped, and gets the new release
            // (activating a stopped environment does not start it), so the migration below runs
            // the new release's own command before any new code serves. The old version keeps
            // serving throughout, since an expand step's schema is one it can run on. The clone's
            // discard undoes all of this, so the stop and the deploy need no undo of their own.
            if !cloned {
                stages.push(act(
                    Command::CloneEnvironment { from: Env::Production, to: Env::Candidate },
                    vec![Command::DiscardEnvironment { env: Env::Candidate }],
                ));
                cloned = true;
            }
            stages.push(act(Command::StopService { env }, vec![]));
            stages.extend(deploy(env, &doc.candidate_sha256, vec![]));
        }
        if patches_in_place(kind) && Some(index) == first_change {
            // New code may refuse the old schema: production stays stopped from before its
            // release is activated until its migrations ran.
            stages.push(act(Command::StopService { env }, vec![Command::StartService { env }]));
            // The snapshot is of the stopped production, before its code changes: restoring
            // it during a rollback restarts the site, which by then runs the previous release
            // again (rollbacks run newest first).
            if kind == WorkflowKind::Migration && migrates {
                stages.push(act(Command::SnapshotDatabase { env }, vec![Command::RestoreSnapshot { env }]));
                snapshotted = true;
            }
        }
        match action {
            // The release was activated before the migrations; the new code starts only now. A
            // rollback stops it first, so a migration's own rollback never runs under it.
            Action::DeployCandidate if early.is_some() => {
                stages.push(act(Command::StartService { env }, vec![Command::StopService { env }]));
            }
            Action::DeployCandidate => {
                // The new version comes up beside the old one, which stays untouched for
                // rollback; the clone waits for the approval before it takes resources.
                if !cloned {
                    stages.push(act(
                        Command::CloneEnvironment { from: Env::Production, to: Env::Candidate },
                        vec![Command::DiscardEnvironment { env: Env::Candidate }],
                    ));
                    cloned = true;
                }
                // A clone made by this run is discarded on rollback, which undoes its deploy too.
                let undo = match kind {
                    _ if !own_undo.is_empty() => own_undo,
                    WorkflowKind::BlueGreen | WorkflowKind::Rollout => vec![],
                    _ => vec![Command::ActivatePreviousRelease { env }],
                };
                stages.extend(deploy(env, &doc.candidate_sha256, undo));
            }
            Action::RunCommand { migration, compatible_with_previous, .. } => {
                // Migrations change data a rollback must bring back: the snapshot is taken
                // whatever the document's own rollback says. Blue-green shares production's
                // database, so the snapshot is of production there too.
                //
                // Not for an expand step (the only migration blue-green and rollout accept):
                // the old version serves its schema, and restoring a snapshot of the database
                // both versions share would lose every write taken since, most of them by the
                // old version. A rollback keeps the expanded schema (running the step's own
                // rollback only if the document gives one), and the old version serves on.
                if *migration && !*compatible_with_previous && !snapshotted {
                    let db = if kind == WorkflowKind::BlueGreen { Env::Production } else { env };
                    stages.push(act(Command::SnapshotDatabase { env: db }, vec![Command::RestoreSnapshot { env: db }]));
                    snapshotted = true;
                }
                stages.extend(run_step(env, index + 1, action).map(|c| act(c, own_undo)));
            }
            Action::SyncData { scope } => {
                // Production stops taking writes (requests are held, not failed) until the swap.
                if !held && matches!(kind, WorkflowKind::NoMigration) {
                    stages.push(act(Command::Hold { on: true }, vec![Command::Hold { on: false }]));
                    held = true;
                }
                // Undoing a no-migration cut-over carries the data written on the new version
                // back (after the swap back, requests still held), so a rollback loses no
                // write. A blue-green or rollout candidate shares production's database, so
                // its sync only copies files and needs no undo.
                let undo = if own_undo.is_empty() && kind == WorkflowKind::NoMigration {
                    vec![Command::SyncData { from: Env::Candidate, to: Env::Production, scope: *scope }]
                } else {
                    own_undo
                };
                stages.push(act(Command::SyncData { from: Env::Production, to: Env::Candidate, scope: *scope }, undo));
            }
            // In a migration the page went off before the customer's check and the return
            // from the temporary address ended it on the public address: nothing is left to do.
            Action::SiteDownPage { on: false } if kind == WorkflowKind::Migration && !maintenance => {}
            Action::SiteDownPage { on } => {
                let undo = if own_undo.is_empty() { vec![Command::Maintenance { on: !on }] } else { own_undo };
                stages.push(act(Command::Maintenance { on: *on }, undo));
                maintenance = *on;
            }
            Action::MoveToTemporaryAddress => {
                stages.push(act(
                    Command::MoveToTemporaryAddress { env: Env::Production },
                    vec![Command::ReturnFromTemporaryAddress { env: Env::Production }],
                ));
                moved = true;
            }
            // In a migration production returns from its temporary address; elsewhere the
            // candidate takes the public address, with requests held across the switch.
            Action::SwapAddresses if kind == WorkflowKind::Migration => {
                stages.push(act(
                    Command::ReturnFromTemporaryAddress { env: Env::Production },
                    vec![Command::MoveToTemporaryAddress { env: Env::Production }],
                ));
                moved = false;
            }
            Action::SwapAddresses => {
                if !held {
                    stages.push(act(Command::Hold { on: true }, vec![Command::Hold { on: false }]));
                }
                stages.push(act(Command::SwapAddresses, vec![Command::SwapAddresses]));
                stages.push(act(Command::Hold { on: false }, vec![Command::Hold { on: true }]));
                held = false;
            }
            Action::HealthCheck { .. } => {
                // After the swap the public address serves the candidate; check that.
                stages.extend(health(env, action));
            }
            Action::ApprovalGate { role: Role::Customer } => {
                // The customer checks the started production at its temporary address, which
                // the whole-site maintenance flag would hide; the public address still shows
                // the site-down page, since the move pointed it there.
                let started = last_change.is_none_or(|last| index > last);
                if kind == WorkflowKind::Migration && maintenance && moved && started {
                    stages.push(act(Command::Maintenance { on: false }, vec![Command::Maintenance { on: true }]));
                    maintenance = false;
                }
                stages.push(Stage::Confirmation);
            }
            Action::ApprovalGate { .. } => stages.push(Stage::Approval),
            Action::WaitAndWatch { duration_secs, max_5xx_increase } => {
                stages.push(Stage::Watch { duration_secs: *duration_secs, max_5xx_increase: *max_5xx_increase });
            }
            Action::RolloutStage { percent } => {
                let pinned = pinned_accounts.to_vec();
                if !routed && !pinned.is_empty() {
                    // Pinned test accounts go first and are watched like a stage of their own.
                    stages.push(act(Command::SetAccountSplit { percent: 0, pinned: pinned.clone() }, vec![Command::RouteBack]));
                    let watch = doc.steps[index..].iter().find_map(|s| match s.action {
                        Action::WaitAndWatch { duration_secs, max_5xx_increase } => Some(Stage::Watch { duration_secs, max_5xx_increase }),
                        _ => None,
                    });
                    stages.extend(watch);
                    routed = true;
                }
                // One route-back undoes every stage, so only the first stage carries it.
                let undo = if routed { vec![] } else { vec![Command::RouteBack] };
                routed = true;
                stages.push(act(Command::SetAccountSplit { percent: *percent, pinned }, undo));
            }
        }
        if patches_in_place(kind) && Some(index) == last_change {
            stages.push(act(Command::StartService { env }, vec![Command::StopService { env }]));
        }
    }
    if kind == WorkflowKind::Rollout && routed {
        stages.extend(finish_rollout(pinned_accounts));
    }
    stages
}

/// Once every account runs the new version and was watched, the public address moves to it
/// too, so the next release takes the new version for production. With requests held, the
/// addresses swap (the router swaps every target naming the two environments, so the split
/// now sends every account to the old one) and the accounts are pointed at the new version
/// alone. Undoing the swap re-establishes the 100 % split after swapping back, so a rollback
/// from any point of this restores exactly the routes the last rollout stage left; the
/// accounts' pointing needs no undo of its own, since the swap's undo replaces it.
fn finish_rollout(pinned_accounts: &[String]) -> [Stage; 4] {
    let split = Command::SetAccountSplit { percent: 100, pinned: pinned_accounts.to_vec() };
    [
        act(Command::Hold { on: true }, vec![Command::Hold { on: false }]),
        act(Command::SwapAddresses, vec![Command::SwapAddresses, split]),
        act(Command::PointAccounts { env: Env::Candidate }, vec![]),
        act(Command::Hold { on: false }, vec![Command::Hold { on: true }]),
    ]
}

/// The commands a document's explicit `rollback` action stands for.
fn undo_of(action: &Action, kind: WorkflowKind, env: Env, number: usize) -> Vec<Command> {
    match action {
        Action::RunCommand { .. } => run_step(env, number, action).into_iter().collect(),
        Action::SiteDownPage { on } => vec![Command::Maintenance { on: *on }],
        Action::SwapAddresses if kind == WorkflowKind::Migration => {
            vec![Command::ReturnFromTemporaryAddress { env: Env::Production }]
        }
        Action::SwapAddresses => vec![Command::Hold { on: true }, Command::SwapAddresses, Command::Hold { on: false }],
        Action::MoveToTemporaryAddress => vec![Command::MoveToTemporaryAddress { env: Env::Production }],
        Action::DeployCandidate => vec![Command::ActivatePreviousRelease { env }],
        Action::SyncData { scope } => {
            vec![Command::SyncData { from: Env::Candidate, to: Env::Production, scope: *scope }]
        }
        Action::HealthCheck { path, expect_status, retries } => {
            vec![Command::HealthCheck { env, path: path.clone(), expect_status: *expect_status, retries: *retries }]
        }
        // The document's rules refuse these as rollbacks; nothing to run if one slipped through.
        Action::ApprovalGate { .. } | Action::WaitAndWatch { .. } | Action::RolloutStage { .. } => vec![],
    }
}
