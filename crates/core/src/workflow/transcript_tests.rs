//! Scenario transcripts: one run of each workflow told event by event, with the commands each
//! event produced, compared as text so a change in behaviour shows up as a readable diff.

use super::explore_tests::{blue_green_with_migration, config, customer, document, expand_before_deploy, support, SHA};
use super::*;
use crate::Role;

fn ok() -> Event {
    Event::CommandSucceeded { output: "ok".into() }
}

fn failed(output: &str) -> Event {
    Event::CommandFailed { output: output.into() }
}

fn healthy() -> Event {
    Event::HealthChecked { healthy: true, detail: "200".into() }
}

fn approved() -> Event {
    Event::Approved { by: support(), comment: "go".into() }
}

fn confirmed() -> Event {
    Event::CustomerConfirmed { by: customer(), comment: "looks right".into() }
}

fn counters(old_errors: u64, new_errors: u64) -> Event {
    Event::CountersObserved {
        old: Counters { requests: 1000, errors_5xx: old_errors },
        new: Counters { requests: 1000, errors_5xx: new_errors },
    }
}

fn describe(event: &Event) -> String {
    match event {
        Event::CommandSucceeded { output } => format!("ok: {output}"),
        Event::CommandFailed { output } => format!("failed: {output}"),
        Event::HealthChecked { healthy: true, detail } => format!("healthy: {detail}"),
        Event::HealthChecked { healthy: false, detail } => format!("unhealthy: {detail}"),
        Event::Approved { by, .. } => format!("approved by {} ({})", by.user, by.role),
        Event::Rejected { by, comment } => format!("rejected by {} ({}): {comment}", by.user, by.role),
        Event::CustomerConfirmed { by, .. } => format!("confirmed by {} ({})", by.user, by.role),
        Event::CountersObserved { old, new } => {
            format!("5xx old {:.1} % new {:.1} %", old.error_percent(), new.error_percent())
        }
        Event::TimerElapsed => "timer elapsed".into(),
        Event::RollbackRequested { by, reason } => format!("rollback requested by {}: {reason}", by.user),
    }
}

fn state_line(state: &State) -> String {
    match state {
        State::Completed { .. } => "= completed".into(),
        State::RolledBack { reason, .. } => format!("= rolled back: {reason}"),
        State::RollbackStalled { output, .. } => format!("= rollback stalled: {output}"),
        _ => String::new(),
    }
}

/// Runs `events` from the start; refused events are shown and leave the state unchanged.
fn transcript(release: &Release, events: &[Event]) -> String {
    let (mut state, commands) = release.start();
    let mut out: Vec<String> = commands.iter().map(|c| format!("  $ {c}")).collect();
    for event in events {
        out.push(format!("> {}", describe(event)));
        match release.step(&state, event) {
            Ok((next, commands)) => {
                out.extend(commands.iter().map(|c| format!("  $ {c}")));
                state = next;
            }
            Err(refusal) => out.push(format!("  ! {refusal}")),
        }
    }
    let last = state_line(&state);
    if !last.is_empty() {
        out.push(last);
    }
    out.join("\n") + "\n"
}

fn production(doc: &PatchDocument) -> Release {
    Release::production(doc, &config()).expect("the document was rehearsed")
}

fn oks(n: usize) -> Vec<Event> {
    vec![ok(); n]
}

fn scenarios() -> Vec<(&'static str, String)> {
    use WorkflowKind::*;
    let by_submitter = Event::Approved { by: Actor::new(1, "sue", Role::Support), comment: "mine".into() };
    let by_customer = Event::Approved { by: customer(), comment: "".into() };
    let confirmed_by_support = Event::CustomerConfirmed { by: support(), comment: "".into() };
    let customer_rejects = Event::Rejected { by: customer(), comment: "totals are wrong".into() };
    let rollback = |reason: &str| Event::RollbackRequested { by: support(), reason: reason.into() };
    let migration = production(&document(Migration));
    let script = |parts: &[Vec<Event>]| parts.concat();
    vec![
        (
            "migration rehearsal",
            transcript(
                &Release::rehearsal(&document(Migration), &Submitter::new(1, "sue")),
                &script(&[oks(7), vec![healthy(), healthy(), approved(), confirmed(), ok()]]),
            ),
        ),
        (
            "migration",
            transcript(
                &migration,
                &script(&[
                    vec![by_submitter, by_customer, approved()],
                    oks(9),
                    vec![healthy(), ok(), confirmed_by_support, confirmed(), ok(), healthy()],
                ]),
            ),
        ),
        (
            "migration failing its migration",
            transcript(&migration, &script(&[vec![approved()], oks(7), vec![failed("column exists")], oks(6)])),
        ),
        (
            "migration rejected by the customer at the temporary address",
            transcript(&migration, &script(&[vec![approved()], oks(9), vec![healthy(), ok(), customer_rejects], oks(9)])),
        ),
        (
            "no-migration",
            transcript(
                &production(&document(NoMigration)),
                &script(&[
                    vec![approved()],
                    oks(4),
                    vec![healthy(), counters(1, 1), Event::TimerElapsed, rollback("customer asked")],
                    oks(4),
                ]),
            ),
        ),
        (
            "low-downtime migration, rolled back after completion keeping the new version's writes",
            transcript(
                &production(&document(LowDowntimeMigration)),
                &script(&[
                    vec![approved()],
                    oks(9),
                    vec![healthy(), confirmed()],
                    oks(8),
                    vec![healthy(), counters(1, 1), Event::TimerElapsed, rollback("customer asked")],
                    oks(10),
                ]),
            ),
        ),
        (
            "low-downtime migration whose cutover meets a write the migrated schema refuses",
            transcript(
                &production(&document(LowDowntimeMigration)),
                &script(&[
                    vec![approved()],
                    oks(9),
                    vec![
                        healthy(),
                        confirmed(),
                        ok(),
                        ok(),
                        ok(),
                        failed("change 17 (insert into notes, id 42): null value in column \"body\""),
                    ],
                    oks(5),
                ]),
            ),
        ),
        ("minor patch", transcript(&production(&document(MinorPatch)), &script(&[vec![approved()], oks(7), vec![healthy()]]))),
        (
            "blue-green with an expand migration after the deploy, rolled back after completion keeping the expanded schema",
            transcript(
                &production(&blue_green_with_migration()),
                &script(&[
                    vec![approved()],
                    oks(6),
                    vec![healthy()],
                    oks(3),
                    vec![healthy(), Event::TimerElapsed, rollback("slow checkout")],
                    oks(4),
                ]),
            ),
        ),
        (
            "blue-green with an expand migration before the deploy: the new code starts after it",
            transcript(
                &production(&expand_before_deploy(BlueGreen, false)),
                &script(&[
                    vec![approved()],
                    oks(8),
                    vec![healthy()],
                    oks(3),
                    vec![healthy(), Event::TimerElapsed, rollback("slow checkout")],
                    oks(5),
                ]),
            ),
        ),
        (
            "rollout whose expand migration before the deploy fails",
            transcript(
                &production(&expand_before_deploy(Rollout, true)),
                &script(&[vec![approved()], oks(5), vec![failed("table exists")], oks(1)]),
            ),
        ),
        (
            "rollout halted at 25 %",
            transcript(
                &production(&document(Rollout)),
                &script(&[
                    vec![approved()],
                    oks(4),
                    vec![healthy(), ok(), counters(1, 2), Event::TimerElapsed, ok(), Event::TimerElapsed, ok()],
                    vec![counters(1, 3), counters(1, 40)],
                    oks(2),
                ]),
            ),
        ),
        (
            "rollout completed, the public address moved, then rolled back",
            transcript(
                &production(&document(Rollout)),
                &script(&[
                    vec![approved()],
                    oks(4),
                    vec![healthy(), ok(), Event::TimerElapsed, ok(), Event::TimerElapsed, ok(), Event::TimerElapsed],
                    vec![ok(), Event::TimerElapsed],
                    oks(4),
                    vec![rollback("the customer asked")],
                    oks(6),
                ]),
            ),
        ),
        (
            "rollback command failing until an operator retries",
            transcript(
                &production(&document(MinorPatch)),
                &script(&[
                    vec![approved()],
                    oks(4),
                    vec![failed("disk full"), failed("agent unreachable"), failed("agent unreachable")],
                    vec![failed("agent unreachable"), ok(), rollback("agent back")],
                    oks(2),
                ]),
            ),
        ),
    ]
}

/// Compares every scenario with `transcripts.txt`; `UPDATE_EXPECT=1` rewrites the file (then
/// review the diff), as expect-test does.
#[test]
fn workflow_transcripts_match_the_recorded_ones() {
    let actual: String = scenarios().into_iter().map(|(name, t)| format!("### {name}\n{t}\n")).collect();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/workflow/transcripts.txt");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &actual).expect("write transcripts.txt");
        return;
    }
    let expected = include_str!("transcripts.txt");
    if actual != expected {
        let first = actual.lines().zip(expected.lines()).position(|(a, e)| a != e);
        panic!(
            "the transcripts changed (first difference at line {}); if intended, rerun with UPDATE_EXPECT=1 and review the diff\n{actual}",
            first.map_or(expected.lines().count().min(actual.lines().count()), |i| i) + 1
        );
    }
}

#[test]
fn a_production_run_without_a_matching_rehearsal_is_refused() {
    let doc = document(WorkflowKind::Migration);
    let mut config = config();
    config.rehearsals[0].document_version = 2;
    let refusal = Release::production(&doc, &config).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        format!("production run refused: candidate {} with patch document version 1 has not passed a rehearsal on a clone of production (rehearsed were: {} v2 passed); rehearse this exact candidate and document first", &SHA[..12], &SHA[..8])
    );
}

#[test]
fn a_rolled_back_release_accepts_nothing_and_says_so() {
    let release = production(&document(WorkflowKind::NoMigration));
    let (state, _) = release.start();
    let (state, commands) = release.step(&state, &Event::Rejected { by: support(), comment: "no".into() }).unwrap();
    assert_eq!(
        (state.clone(), commands),
        (State::RolledBack { reason: "rejected by sam: no".into(), cause: RollbackCause::Rejected }, vec![])
    );
    assert_eq!(release.waiting_for(&state), "rolled back and finished");
    let refusal = release.step(&state, &ok()).unwrap_err();
    assert_eq!(refusal.to_string(), "unexpected command success: the release is rolled back and finished");
    let customer_reject = release.step(&release.start().0, &Event::Rejected { by: customer(), comment: "".into() });
    assert_eq!(customer_reject.unwrap_err().to_string(), "carl is a customer; only support rejects an approval");
}

#[test]
fn states_and_commands_survive_the_journal() {
    // The engine journals states and commands as JSON-like data; serde must round-trip them.
    let release = production(&blue_green_with_migration());
    let (state, commands) = release.start();
    let (state, _) = release.step(&state, &approved()).unwrap();
    let text = toml::to_string(&Journal { state: state.clone(), commands: commands.clone() }).unwrap();
    let back: Journal = toml::from_str(&text).unwrap();
    assert_eq!((back.state, back.commands), (state, commands));
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Journal {
    state: State,
    commands: Vec<Command>,
}
