//! Filling a patch document's placeholders from a candidate's release manifest: the migration
//! step runs the migration the candidate declares (its `down` becomes the step's rollback),
//! and health checks ask the path the manifest checks. What the manifest does not declare
//! stays as the template wrote it, for the customer to fill in.

use super::action::{Action, Step};
use super::PatchDocument;
use crate::manifest::{HealthProbe, ReleaseManifest};

impl PatchDocument {
    /// This document with its migration steps and health checks taken from `manifest`.
    pub fn filled_from(mut self, manifest: &ReleaseManifest) -> PatchDocument {
        for step in &mut self.steps {
            fill_step(step, manifest);
        }
        self
    }
}

fn fill_step(step: &mut Step, manifest: &ReleaseManifest) {
    match &mut step.action {
        Action::RunCommand { command, timeout_secs, migration: true, compatible_with_previous } => {
            let Some(migrate) = &manifest.migrate else { return };
            command.clone_from(&migrate.command);
            *timeout_secs = migrate.timeout_secs;
            step.rollback = migrate.down.as_ref().map(|down| Action::command(down, migrate.timeout_secs));
            // An expand step takes no snapshot (see the plan): its rollback keeps the schema.
            step.note = Some(match (&migrate.down, *compatible_with_previous) {
                (Some(_), _) => "the candidate's migration, undone by its declared down command".to_owned(),
                (None, true) => {
                    "the candidate's expand migration; a rollback keeps the expanded schema, which the previous release serves".to_owned()
                }
                (None, false) => "the candidate's migration; it declares no down command, so a rollback restores the snapshot".to_owned(),
            });
        }
        Action::HealthCheck { path, expect_status, .. } => {
            if let HealthProbe::Http { path: checked, expect_status: expected } = &manifest.health.probe {
                path.clone_from(checked);
                *expect_status = *expected;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::manifest::ReleaseManifest;
    use crate::patch::{Action, PatchDocument, WorkflowKind};

    const SHA: &str = "1111111111111111111111111111111111111111111111111111111111111111";

    fn manifest(text: &str) -> ReleaseManifest {
        ReleaseManifest::parse(text).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn migration_steps(doc: &PatchDocument) -> Vec<(String, Option<String>)> {
        doc.steps
            .iter()
            .filter(|s| s.action.is_migration())
            .map(|s| {
                let Action::RunCommand { command, .. } = &s.action else { unreachable!("is_migration means run-command") };
                let down = s.rollback.as_ref().map(|r| match r {
                    Action::RunCommand { command, .. } => command.clone(),
                    other => panic!("a migration's rollback is {other:?}"),
                });
                (command.clone(), down)
            })
            .collect()
    }

    #[test]
    fn the_migration_template_runs_the_declared_migration_and_its_down_and_checks_the_declared_path() {
        let declared = manifest(
            "[web]\ncommand = \"gunicorn app\"\n[health]\nhttp_path = \"/version\"\nexpect_status = 204\n\
             [migrate]\ncommand = \"python3 manage.py migrate\"\ndown = \"python3 manage.py migrate notes 0001\"\ntimeout_secs = 120\n",
        );
        let doc = PatchDocument::template(WorkflowKind::Migration, "Notes", "2.0.0", SHA).filled_from(&declared);
        assert_eq!(
            migration_steps(&doc),
            vec![("python3 manage.py migrate".to_owned(), Some("python3 manage.py migrate notes 0001".to_owned()))]
        );
        let checks: Vec<(&str, u16)> = doc
            .steps
            .iter()
            .filter_map(|s| match &s.action {
                Action::HealthCheck { path, expect_status, .. } => Some((path.as_str(), *expect_status)),
                _ => None,
            })
            .collect();
        assert!(!checks.is_empty() && checks.iter().all(|c| *c == ("/version", 204)), "{checks:?}");
        assert!(doc.validate().is_ok(), "{:?}", doc.validate());
        let again = PatchDocument::parse(&doc.to_toml()).expect("the filled document parses");
        assert_eq!(migration_steps(&again), migration_steps(&doc));
    }

    #[test]
    fn a_migration_without_down_leaves_the_rollback_to_the_snapshot() {
        let declared = manifest("[web]\ncommand = \"php -S 127.0.0.1:$PORT\"\n[migrate]\ncommand = \"php bin/migrate.php\"\n");
        let doc = PatchDocument::template(WorkflowKind::Migration, "Guestbook", "2.0.0", SHA).filled_from(&declared);
        assert_eq!(migration_steps(&doc), vec![("php bin/migrate.php".to_owned(), None)]);
        assert!(doc.validate().is_ok(), "{:?}", doc.validate());
    }

    #[test]
    fn what_the_manifest_does_not_declare_stays_a_placeholder() {
        let bare = manifest("[web]\ncommand = \"node server.js\"\n[health]\ntcp = true\n");
        let template = PatchDocument::template(WorkflowKind::Migration, "Shop", "2.0.0", SHA);
        assert_eq!(template.clone().filled_from(&bare), template);
    }
}
