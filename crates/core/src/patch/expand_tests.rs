//! Tests of expand steps: `compatible_with_previous` reads, renders and round-trips, and the
//! blue-green and rollout rules take only migrations the previous release can run on.

use super::*;

const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// `kind`'s template with a migration inserted before step `at` (1-based, as users count).
fn with_migration(kind: WorkflowKind, at: usize, compatible_with_previous: bool) -> PatchDocument {
    let mut doc = PatchDocument::template(kind, "acme-shop", "2.4.0", SHA);
    doc.steps.insert(at - 1, Step::new(Action::migration("bin/migrate", 300, compatible_with_previous)));
    doc
}

fn errors(source: &str) -> Vec<String> {
    match PatchDocument::parse(source) {
        Ok(doc) => panic!("expected errors, the document parsed: {doc:#?}"),
        Err(errors) => errors.messages(),
    }
}

#[test]
fn an_expand_step_renders_its_key_and_reads_back() {
    for kind in [WorkflowKind::BlueGreen, WorkflowKind::Rollout] {
        let doc = with_migration(kind, 2, true);
        let source = doc.to_toml();
        assert!(
            source.contains("migration = true\ncompatible_with_previous = true\n"),
            "{kind}: the key is written under the migration:\n{source}"
        );
        assert_eq!(PatchDocument::parse(&source), Ok(doc.clone()), "{kind}");
        assert!(doc.summary().contains("migrate (expand step) `bin/migrate`"), "{}", doc.summary());
    }
    // Documents without expand steps render exactly as before the key existed.
    let plain = PatchDocument::template(WorkflowKind::Migration, "acme-shop", "2.4.0", SHA).to_toml();
    assert!(!plain.contains("compatible_with_previous"), "{plain}");
}

#[test]
fn blue_green_and_rollout_refuse_a_migration_not_marked_as_an_expand_step() {
    let advice = "runs a migration the previous release may not serve: the old version keeps serving on the shared database during a {kind} release, so a migration there must be an expand step that the release before 2.4.0 can run on; mark it compatible_with_previous = true after checking that it only adds (new tables, nullable or defaulted columns), split destructive changes (dropping or renaming columns) into a later contract release with workflow = \"migration\", or use workflow = \"migration\" for this one";
    for (kind, line) in [(WorkflowKind::BlueGreen, 14), (WorkflowKind::Rollout, 14)] {
        let source = with_migration(kind, 2, false).to_toml();
        let expected = format!("line {line}: step 2 (run-command) {}", advice.replace("{kind}", kind.as_str()));
        assert_eq!(errors(&source), [expected], "{kind}:\n{source}");
        assert_eq!(with_migration(kind, 2, true).validate(), Ok(()), "{kind}: marked, it validates");
    }
}

#[test]
fn a_rollout_migrates_before_any_account_reaches_the_new_version() {
    // The template routes 5 % at step 4; a migration after it reaches accounts unmigrated.
    let source = with_migration(WorkflowKind::Rollout, 5, true).to_toml();
    let got = errors(&source);
    let late = "line 28: step 5 (run-command) migrates after step 4 routed accounts to the new version; move it before step 4";
    assert!(got.contains(&late.to_owned()), "{got:?}");
    assert_eq!(with_migration(WorkflowKind::Rollout, 3, true).validate(), Ok(()), "after the deploy, before stage 1");
}

#[test]
fn compatible_with_previous_describes_only_a_migration() {
    let mut doc = PatchDocument::template(WorkflowKind::BlueGreen, "acme-shop", "2.4.0", SHA);
    doc.steps.insert(1, Step::new(Action::command("bin/warm-cache", 60)));
    let source = doc.to_toml().replace("migration = false\n", "migration = false\ncompatible_with_previous = true\n");
    assert_eq!(
        errors(&source),
        ["line 18: step 2 (run-command): compatible_with_previous = true says a migration is an expand step, but this step is not a migration; set migration = true or remove compatible_with_previous"]
    );
    let typo = source.replace("compatible_with_previous = true", "compatible = true");
    let got = errors(&typo);
    assert!(
        got.len() == 1 && got[0].ends_with("unknown key `compatible`; the keys here are action, note, rollback, command, timeout_secs, migration, compatible_with_previous"),
        "{got:?}"
    );
}

#[test]
fn the_migration_workflow_still_takes_any_migration() {
    // A contract step (dropping what the previous release used) is a migration release's job.
    let doc = PatchDocument::template(WorkflowKind::Migration, "acme-shop", "2.4.0", SHA);
    assert!(doc.steps.iter().any(|s| s.action.is_migration() && !s.action.is_expand_migration()));
    assert_eq!(doc.validate(), Ok(()));
}
