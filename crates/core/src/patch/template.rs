//! A starting patch document for each workflow. Each one validates as it stands; the commands
//! in it (`bin/migrate`, `/health`) are placeholders the customer replaces with their own.

use super::action::{Action, Step, SyncScope, WorkflowKind};
use super::PatchDocument;
use crate::Role;

pub fn template(kind: WorkflowKind, site: &str, target_version: &str, candidate_sha256: &str) -> PatchDocument {
    PatchDocument {
        site: site.to_owned(),
        version: 1,
        target_version: target_version.to_owned(),
        candidate_sha256: candidate_sha256.to_owned(),
        workflow: kind,
        steps: steps(kind),
    }
}

fn approval() -> Step {
    Step::new(Action::ApprovalGate { role: Role::Support }).note("support approves the production run")
}

fn health() -> Step {
    Step::new(Action::HealthCheck { path: "/health".into(), expect_status: 200, retries: 5 })
}

fn watch(duration_secs: u32) -> Step {
    Step::new(Action::WaitAndWatch { duration_secs, max_5xx_increase: 1.0 })
}

fn migrate() -> Step {
    Step::new(Action::migration("bin/migrate", 600, false))
        .note("replace with your migration command")
        .rollback(Action::command("bin/migrate --down", 600))
}

fn steps(kind: WorkflowKind) -> Vec<Step> {
    match kind {
        // The candidate already runs in the rehearsed clone; production only pauses writes
        // while the data changed since the clone is copied over, then the addresses swap.
        WorkflowKind::NoMigration => vec![
            approval(),
            Step::new(Action::SyncData { scope: SyncScope::All }).note("copy data changed since the clone"),
            Step::new(Action::SwapAddresses).rollback(Action::SwapAddresses),
            health(),
            watch(300),
        ],
        WorkflowKind::Migration => vec![
            approval(),
            Step::new(Action::SiteDownPage { on: true }).rollback(Action::SiteDownPage { on: false }),
            Step::new(Action::MoveToTemporaryAddress),
            Step::new(Action::DeployCandidate),
            migrate(),
            health(),
            Step::new(Action::ApprovalGate { role: Role::Customer }).note("customer checks production at its temporary address"),
            Step::new(Action::SwapAddresses).note("production back on its public address"),
            Step::new(Action::SiteDownPage { on: false }),
            health(),
        ],
        // Production stays live on its public address throughout: the clone is migrated and
        // checked beside it, and the cutover replays the writes captured since the clone.
        WorkflowKind::LowDowntimeMigration => vec![
            approval(),
            Step::new(Action::DeployCandidate).note("the new version on a fresh clone, production's writes captured"),
            // No down migration: a rollback discards the migrated clone and replays its writes
            // into the old version's own database.
            Step::new(Action::migration("bin/migrate", 600, false)).note("replace with your migration command"),
            health(),
            Step::new(Action::ApprovalGate { role: Role::Customer }).note("customer checks the migrated clone at its test address"),
            Step::new(Action::SwapAddresses).note("cutover: requests held while the captured writes are replayed"),
            health(),
            watch(300),
        ],
        WorkflowKind::MinorPatch => vec![
            approval(),
            Step::new(Action::SiteDownPage { on: true }),
            Step::new(Action::DeployCandidate).note("stop, apply, restart"),
            Step::new(Action::SiteDownPage { on: false }),
            health(),
        ],
        // Blue-green and rollout run both versions on one shared database, so their templates
        // carry no migration. A schema change there is an expand step (`run-command` with
        // `migration = true` and `compatible_with_previous = true`), best placed before
        // `deploy-candidate`: the candidate's release is then activated stopped, migrated, and
        // only then started. Whatever the previous release cannot serve (dropping or renaming
        // what it uses) is a contract step for a later release with workflow = "migration".
        WorkflowKind::BlueGreen => vec![
            approval(),
            Step::new(Action::DeployCandidate).note("the new version comes up beside the old one"),
            Step::new(Action::SyncData { scope: SyncScope::Files }),
            health(),
            Step::new(Action::SwapAddresses).rollback(Action::SwapAddresses),
            health(),
            watch(600),
        ],
        WorkflowKind::Rollout => vec![
            approval(),
            Step::new(Action::DeployCandidate).note("the new version comes up beside the old one"),
            health(),
            Step::new(Action::RolloutStage { percent: 5 }),
            watch(900),
            Step::new(Action::RolloutStage { percent: 25 }),
            watch(1800),
            Step::new(Action::RolloutStage { percent: 100 }),
            watch(1800),
        ],
    }
}
