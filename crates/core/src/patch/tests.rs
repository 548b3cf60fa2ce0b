//! Tests of the patch document: templates, round trips, and one case per validation rule.

use super::*;
use crate::Role;

const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn template(kind: WorkflowKind) -> PatchDocument {
    PatchDocument::template(kind, "acme-shop", "2.4.0", SHA)
}

fn errors(source: &str) -> Vec<String> {
    match PatchDocument::parse(source) {
        Ok(doc) => panic!("expected errors, the document parsed: {doc:#?}"),
        Err(errors) => errors.messages(),
    }
}

/// The migration template's TOML with one edit: `from` replaced by `to` (which must apply).
fn edited(kind: WorkflowKind, from: &str, to: &str) -> String {
    let source = template(kind).to_toml();
    assert!(source.contains(from), "{from:?} is not in the template:\n{source}");
    source.replacen(from, to, 1)
}

#[test]
fn every_template_validates_and_round_trips() {
    for kind in WorkflowKind::ALL {
        let doc = template(kind);
        assert_eq!(doc.validate(), Ok(()), "{kind} template");
        let source = doc.to_toml();
        let parsed = PatchDocument::parse(&source).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(parsed, doc, "{kind} parses back to itself");
        assert_eq!(parsed.to_toml(), source, "{kind} renders canonically");
        assert_eq!(parsed.summary().lines().count(), doc.steps.len() + 1, "{kind}: one summary line per step");
    }
}

#[test]
fn a_hand_written_document_reads_into_typed_steps() {
    let source = r#"
# defaults: expect_status 200, retries 3, scope all, migration false
[patch]
site = "acme-shop"
version = 3
target_version = "2.4.0"
candidate_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
workflow = "blue-green"

[[step]]
action = "approval-gate"
role = "support"

[[step]]
action = "deploy-candidate"

[[step]]
action = "sync-data"

[[step]]
action = "run-command"
command = "bin/migrate"
timeout_secs = 120
migration = true
compatible_with_previous = true
rollback = { action = "run-command", command = "bin/migrate --down", timeout_secs = 120 }

[[step]]
action = "health-check"
path = "/health"

[[step]]
action = "swap-addresses"
note = "live"

[[step]]
action = "health-check"
path = "/"
expect_status = 302
retries = 0

[[step]]
action = "wait-and-watch"
duration_secs = 60
max_5xx_increase = 2
"#;
    let doc = PatchDocument::parse(source).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc.version, 3);
    assert_eq!(doc.workflow, WorkflowKind::BlueGreen);
    let actions: Vec<&Action> = doc.steps.iter().map(|s| &s.action).collect();
    assert_eq!(
        actions,
        [
            &Action::ApprovalGate { role: Role::Support },
            &Action::DeployCandidate,
            &Action::SyncData { scope: SyncScope::All },
            &Action::migration("bin/migrate", 120, true),
            &Action::HealthCheck { path: "/health".into(), expect_status: 200, retries: 3 },
            &Action::SwapAddresses,
            &Action::HealthCheck { path: "/".into(), expect_status: 302, retries: 0 },
            &Action::WaitAndWatch { duration_secs: 60, max_5xx_increase: 2.0 },
        ]
    );
    assert_eq!(doc.steps[3].rollback, Some(Action::command("bin/migrate --down", 120)));
    assert_eq!(doc.steps[5].note.as_deref(), Some("live"));
    // Rendering fills in the defaults, and the canonical form reads back the same.
    assert_eq!(PatchDocument::parse(&doc.to_toml()), Ok(doc));
}

#[test]
fn syntax_errors_point_at_their_line() {
    let got = errors("[patch]\nsite = \"a\"\nversion = = 1\n");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("line 3: ") && got[0].contains("fix the TOML syntax"), "{got:?}");
}

#[test]
fn metadata_problems_are_all_reported_with_advice() {
    let source = "[patch]\nsite = \"\"\nversion = 0\ntarget_version = \"2 4\"\ncandidate_sha256 = \"abc\"\nworkflow = \"big-bang\"\ncolour = \"red\"\n\n[[step]]\naction = \"swap-addresses\"\n";
    assert_eq!(
        errors(source),
        [
            "line 2: site must not be empty",
            "line 3: [patch]: version is 0; use a whole number from 1 to 4294967295, e.g. version = 1",
            "line 4: target_version must be a version without spaces; write target_version = \"2.4.0\"",
            "line 5: candidate_sha256 must be the candidate's sha256 as 64 lowercase hex digits (got 3 characters); copy it from the upload",
            "line 6: unknown workflow \"big-bang\"; use no-migration, migration, low-downtime-migration, minor-patch, blue-green or rollout",
            "line 7: [patch]: unknown key `colour`; the keys here are site, version, target_version, candidate_sha256, workflow",
        ]
    );
    let upper = edited(WorkflowKind::NoMigration, SHA, &SHA.to_uppercase());
    assert_eq!(
        errors(&upper),
        ["line 5: candidate_sha256 must be the candidate's sha256 as 64 lowercase hex digits (write it in lowercase); copy it from the upload"]
    );
    assert_eq!(
        errors("[[step]]\naction = \"swap-addresses\"\n"),
        ["line 1: the document has no [patch] table; start it with [patch] and site, version, target_version, candidate_sha256, workflow"]
    );
    let no_steps = template(WorkflowKind::Migration).to_toml();
    let no_steps = &no_steps[..no_steps.find("[[step]]").unwrap()];
    assert_eq!(errors(no_steps), ["line 8: the document has no steps; add [[step]] tables with action = \"...\""]);
}

#[test]
fn step_field_problems_name_the_step_and_the_fix() {
    use WorkflowKind::*;
    let cases: &[(WorkflowKind, &str, &str, &str)] = &[
        (Migration, "command = \"bin/migrate\"\n", "", "line 28: step 5 (run-command) has no command; add command = \"...\""),
        (Migration, "command = \"bin/migrate\"", "command = \"  \"", "line 29: step 5 (run-command): command is empty; write the command to run, e.g. command = \"bin/migrate\""),
        (Migration, "timeout_secs = 600\nmigration = true", "timeout_secs = \"10m\"\nmigration = true", "line 30: step 5 (run-command): timeout_secs is a string; write timeout_secs = 300"),
        (Migration, "timeout_secs = 600\nmigration = true", "timeout_secs = 0\nmigration = true", "line 30: step 5 (run-command): timeout_secs is 0; use a whole number from 1 to 86400, e.g. timeout_secs = 300"),
        (Migration, "action = \"deploy-candidate\"", "action = \"deploy\"", "line 25: step 4: unknown action \"deploy\"; use one of deploy-candidate, run-command, sync-data, site-down-page, move-to-temporary-address, swap-addresses, health-check, approval-gate, wait-and-watch, rollout-stage"),
        (Migration, "action = \"deploy-candidate\"", "action = \"deploy-candidate\"\nretries = 2", "line 26: step 4 (deploy-candidate): unknown key `retries`; the keys here are action, note, rollback"),
        (Migration, "role = \"support\"", "role = \"manager\"", "line 10: step 1 (approval-gate): managers review history and do not approve releases; use role = \"support\" (approval) or role = \"customer\" (confirmation)"),
        (Migration, "role = \"support\"", "role = \"ops\"", "line 10: step 1 (approval-gate): unknown role \"ops\"; use role = \"support\" (approval) or role = \"customer\" (confirmation)"),
        (Migration, "path = \"/health\"", "path = \"health\"", "line 42: step 6 (health-check): path \"health\" must start with / and have no spaces, e.g. path = \"/health\""),
        (Migration, "expect_status = 200", "expect_status = 2000", "line 43: step 6 (health-check): expect_status is 2000; use a whole number from 100 to 599, e.g. expect_status = 200"),
        (Migration, "on = true", "on = \"yes\"", "line 15: step 2 (site-down-page): on is a string; write on = true"),
        (Migration, "[step.rollback]\naction = \"site-down-page\"\non = false", "[step.rollback]\naction = \"approval-gate\"\nrole = \"support\"", "line 17: step 2's rollback is an approval gate; a rollback must not wait for a person, so use an action that undoes the step"),
        (Migration, "[step.rollback]\naction = \"site-down-page\"\non = false", "[step.rollback]\naction = \"site-down-page\"", "line 17: step 2's rollback (site-down-page) has no on; add on = true"),
        (Migration, "[step.rollback]\naction = \"site-down-page\"\non = false", "[step.rollback]\naction = \"site-down-page\"\non = false\nnote = \"x\"", "line 20: step 2's rollback (site-down-page): unknown key `note`; the keys here are action, on"),
        (Rollout, "percent = 25", "percent = 0", "line 34: step 6 (rollout-stage): percent is 0; use a whole number from 1 to 100, e.g. percent = 25"),
        (Rollout, "max_5xx_increase = 1.0", "max_5xx_increase = 150.0", "line 30: step 5 (wait-and-watch): max_5xx_increase is 150; it is in percentage points, from 0 to 100, e.g. max_5xx_increase = 1.0"),
        (BlueGreen, "scope = \"files\"", "scope = \"logs\"", "line 19: step 3 (sync-data): unknown scope \"logs\"; use files, database or all"),
    ];
    let mut wrong = Vec::new();
    for (kind, from, to, expected) in cases {
        let got = errors(&edited(*kind, from, to));
        if got != [*expected] {
            wrong.push(format!("{kind}: {from:?} → {to:?}\n  got      {got:?}\n  expected {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn ordering_rules_say_which_step_to_add_or_move() {
    use WorkflowKind::*;
    // Each case removes or changes steps of a valid template and expects exactly these errors.
    let without = |kind: WorkflowKind, drop: &[usize]| {
        let mut doc = template(kind);
        let mut index = 0;
        doc.steps.retain(|_| {
            index += 1;
            !drop.contains(&index)
        });
        doc.to_toml()
    };
    let moved = |kind: WorkflowKind, from: usize, to: usize| {
        let mut doc = template(kind);
        let step = doc.steps.remove(from - 1);
        doc.steps.insert(to - 1, step);
        doc.to_toml()
    };
    let after_confirmation = {
        let mut doc = template(Migration);
        let command = Action::command("bin/clear-cache", 60);
        doc.steps.insert(7, crate::patch::Step::new(command));
        doc.to_toml()
    };
    let cases: Vec<(String, Vec<&str>)> = vec![
        (moved(Migration, 4, 2), vec!["line 14: step 2 (deploy-candidate) changes production before the site-down page is on (step 3); move it after that step"]),
        (after_confirmation, vec!["line 52: step 8 (run-command) changes production after the customer confirmed it at step 7; move it before that step"]),
        (without(Migration, &[1]), vec!["line 9: step 1 (site-down-page) affects production but no support approval comes before it; add a step with action = \"approval-gate\" and role = \"support\" before step 1"]),
        (without(Migration, &[2]), vec![
            "line 20: step 4 (run-command) migrates before the site-down page is on; add a site-down-page step with on = true before it",
            "line 48: step 8 (site-down-page) turns the site-down page off, but it is not on; remove it or turn it on earlier with on = true",
        ]),
        (without(Migration, &[9]), vec![
            "line 14: step 2 (site-down-page) turns the site-down page on and no later step turns it off; add a site-down-page step with on = false",
            "line 28: step 5 (run-command) migrates but the site-down page is not turned off after it; add a site-down-page step with on = false after step 5",
        ]),
        (without(Migration, &[3]), vec!["line 25: step 4 (run-command) migrates before production moved to its temporary address; add action = \"move-to-temporary-address\" before it"]),
        (without(Migration, &[7]), vec!["line 47: step 7 (swap-addresses) puts production back live before the customer confirmed it at the temporary address; add an approval-gate with role = \"customer\" before it"]),
        (without(Migration, &[8]), vec!["line 28: step 5 (run-command) migrates but no later step swaps production back to its public address; add action = \"swap-addresses\" after the customer's confirmation"]),
        (without(Migration, &[5]), vec!["line 6: a migration release needs a run-command step with migration = true; add one, or use workflow = \"no-migration\""]),
        (edited(NoMigration, "action = \"swap-addresses\"", "action = \"move-to-temporary-address\""), vec![
            "line 6: a no-migration release needs a swap-addresses step to put the new environment live; add one",
            "line 19: step 3 (move-to-temporary-address) moves production to its temporary address, which only a migration release does; remove the step",
        ]),
        (without(NoMigration, &[4, 5]), vec!["line 19: step 3 (swap-addresses) is not followed by a health check; add action = \"health-check\" with path = \"/health\" after it"]),
        (edited(MinorPatch, "action = \"deploy-candidate\"", "action = \"run-command\"\ncommand = \"bin/migrate\"\ntimeout_secs = 60\nmigration = true"), vec![
            "line 18: step 3 (run-command) runs a migration, which a minor-patch release must not; use workflow = \"migration\" (or \"blue-green\"), or set migration = false",
        ]),
        (edited(Rollout, "percent = 25", "percent = 5"), vec!["line 34: step 6 (rollout-stage) routes 5 % after step 4 routed 5 %; stages must increase"]),
        (edited(Rollout, "percent = 100", "percent = 50"), vec!["line 43: step 8 (rollout-stage) is the last stage but routes 50 %; a rollout ends with every account on one version, so add a stage with percent = 100"]),
        (without(Rollout, &[5]), vec!["line 24: step 4 (rollout-stage) routes 5 % without watching it; add a wait-and-watch step after it"]),
        (without(Rollout, &[2]), vec!["line 20: step 3 (rollout-stage) routes accounts before the candidate is deployed; add action = \"deploy-candidate\" before it"]),
        // Deploying beside production is not yet a production change; routing accounts is.
        (without(Rollout, &[1]), vec!["line 19: step 3 (rollout-stage) affects production but no support approval comes before it; add a step with action = \"approval-gate\" and role = \"support\" before step 3"]),
        (edited(BlueGreen, "action = \"swap-addresses\"", "action = \"rollout-stage\"\npercent = 50"), vec![
            "line 6: a blue-green release needs a swap-addresses step to put the new environment live; add one",
            "line 28: step 5 (rollout-stage) routes a share of accounts, which only a rollout does; use workflow = \"rollout\" or remove the step",
        ]),
    ];
    let mut wrong = Vec::new();
    for (source, expected) in cases {
        let mut got = errors(&source);
        let mut expected: Vec<String> = expected.into_iter().map(String::from).collect();
        got.sort();
        expected.sort();
        if got != expected {
            wrong.push(format!("got      {got:?}\nexpected {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_missing_action_points_at_the_step_header() {
    let source = edited(WorkflowKind::Migration, "action = \"deploy-candidate\"", "actoin = \"deploy-candidate\"");
    assert_eq!(
        errors(&source),
        [
            "line 24: step 4 has no action; add action = \"run-command\"",
            "line 25: step 4: unknown key `actoin`; the keys here are action, note, rollback",
        ]
    );
}

#[test]
fn the_rollback_of_a_step_round_trips_as_an_inline_or_a_sub_table() {
    let inline = edited(
        WorkflowKind::NoMigration,
        "action = \"swap-addresses\"\n\n[step.rollback]\naction = \"swap-addresses\"",
        "action = \"swap-addresses\"\nrollback = { action = \"swap-addresses\" }",
    );
    assert_eq!(PatchDocument::parse(&inline), Ok(template(WorkflowKind::NoMigration)));
}

#[test]
fn the_summary_reads_one_line_per_step() {
    let summary = template(WorkflowKind::Rollout).summary();
    assert_eq!(
        summary,
        "acme-shop → 2.4.0 · rollout · document v1 · candidate 9f86d081884c…
 1. support approves — support approves the production run
 2. deploy the candidate — the new version comes up beside the old one
 3. health check /health expects 200 (5 retries)
 4. route 5 % of accounts to the new version
 5. watch 900 s (halt if 5xx rate rises by more than 1 points)
 6. route 25 % of accounts to the new version
 7. watch 1800 s (halt if 5xx rate rises by more than 1 points)
 8. route 100 % of accounts to the new version
 9. watch 1800 s (halt if 5xx rate rises by more than 1 points)
"
    );
}

#[test]
fn an_unknown_action_is_reported_once_not_with_every_key_it_would_have_had() {
    let source = edited(WorkflowKind::Migration, "action = \"run-command\"", "action = \"shell\"");
    assert_eq!(
        errors(&source),
        ["line 28: step 5: unknown action \"shell\"; use one of deploy-candidate, run-command, sync-data, site-down-page, move-to-temporary-address, swap-addresses, health-check, approval-gate, wait-and-watch, rollout-stage"]
    );
    let stray = errors("[patch]\nsite = \"a\"\n[[step]]\nactoin = \"swap-addresses\"\ncommand = \"x\"\n[other]\n");
    assert!(stray.contains(&"line 4: step 1: unknown key `actoin`; the keys here are action, note, rollback".to_owned()), "{stray:#?}");
    assert!(
        stray.contains(&"line 6: unknown top-level key `other`; a document has only [patch] and [[step]] tables".to_owned()),
        "{stray:#?}"
    );
    assert!(!stray.iter().any(|e| e.contains("`command`")), "command is a key of run-command: {stray:#?}");
}

/// Every document one step short of a template either still validates or says, at a line
/// inside the document, what to add, use, remove, write or move.
#[test]
fn dropping_any_step_of_any_template_is_caught_with_advice_or_still_valid() {
    let advice = ["add ", "use ", "remove ", "write ", "move "];
    let mut caught = 0;
    for kind in WorkflowKind::ALL {
        let full = template(kind);
        for drop in 0..full.steps.len() {
            let mut doc = full.clone();
            doc.steps.remove(drop);
            let source = doc.to_toml();
            let line_count = source.lines().count() + 1;
            match PatchDocument::parse(&source) {
                Ok(parsed) => assert_eq!(parsed, doc),
                Err(PatchErrors(found)) => {
                    caught += 1;
                    for error in found {
                        assert!((1..=line_count).contains(&error.line), "{kind} without step {}: {error}", drop + 1);
                        assert!(advice.iter().any(|a| error.message.contains(a)), "{kind} without step {}: no advice in {error}", drop + 1);
                    }
                }
            }
        }
    }
    // Approvals, swaps, deploys, stages and the site-down page are all load-bearing.
    assert!(caught >= 20, "only {caught} removals were caught");
}
