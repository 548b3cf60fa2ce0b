//! Exhaustive tests: every state reachable from the start, under every event a test can
//! send, for every workflow's rehearsal and production run, checked against a model of the
//! hosts ([`World`]). No reachable state is a dead end, every failure ends on the last working
//! configuration, and every success ends on the new version.

use super::world::{Version, World, Writes};
use super::*;
use crate::patch::{Action, Step};
use crate::Role;
use std::collections::{HashMap, HashSet, VecDeque};

pub const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

pub fn document(kind: WorkflowKind) -> PatchDocument {
    PatchDocument::template(kind, "acme-shop", "2.4.0", SHA)
}

/// Blue-green with an expand migration after the deploy, before the swap: the new code
/// starts on the old schema first, so it must tolerate it.
pub fn blue_green_with_migration() -> PatchDocument {
    let mut doc = document(WorkflowKind::BlueGreen);
    doc.steps.insert(3, Step::new(Action::migration("bin/migrate", 600, true)));
    doc.validate().expect("the blue-green document with a migration is valid");
    doc
}

/// `kind`'s template with an expand migration placed before `deploy-candidate`, so the new
/// code starts only on the migrated schema; `rollback` gives the step a down migration.
pub fn expand_before_deploy(kind: WorkflowKind, rollback: bool) -> PatchDocument {
    let mut doc = document(kind);
    let deploy = doc.steps.iter().position(|s| s.action == Action::DeployCandidate).expect("the template deploys");
    let mut migrate = Step::new(Action::migration("bin/migrate", 600, true));
    if rollback {
        migrate = migrate.rollback(Action::command("bin/migrate --down", 600));
    }
    doc.steps.insert(deploy, migrate);
    doc.validate().unwrap_or_else(|e| panic!("the {kind} document with an expand step is valid: {e}"));
    doc
}

pub fn config() -> ReleaseConfig {
    ReleaseConfig {
        submitted_by: Submitter::new(1, "sue"),
        pinned_accounts: vec!["beta-tester".into()],
        rehearsals: vec![RehearsalRecord { candidate_sha256: SHA.into(), document_version: 1, passed: true }],
    }
}

pub fn support() -> Actor {
    Actor::new(2, "sam", Role::Support)
}

pub fn customer() -> Actor {
    Actor::new(3, "carl", Role::Customer)
}

/// Everything the tests send, including events the policy must refuse.
fn events() -> Vec<Event> {
    let ok = Counters { requests: 1000, errors_5xx: 1 };
    let bad = Counters { requests: 1000, errors_5xx: 80 };
    vec![
        Event::CommandSucceeded { output: "ok".into() },
        Event::CommandFailed { output: "exit status 1".into() },
        Event::HealthChecked { healthy: true, detail: "200".into() },
        Event::HealthChecked { healthy: false, detail: "503 after 5 retries".into() },
        Event::Approved { by: support(), comment: "go".into() },
        Event::Approved { by: Actor::new(1, "sue", Role::Support), comment: "self".into() },
        Event::Approved { by: customer(), comment: "me too".into() },
        Event::Approved { by: Actor::new(4, "mia", Role::Manager), comment: "".into() },
        Event::Rejected { by: support(), comment: "not today".into() },
        Event::Rejected { by: customer(), comment: "prices wrong".into() },
        Event::CustomerConfirmed { by: customer(), comment: "looks good".into() },
        Event::CustomerConfirmed { by: support(), comment: "on their behalf".into() },
        Event::CountersObserved { old: ok, new: ok },
        Event::CountersObserved { old: ok, new: bad },
        Event::TimerElapsed,
        Event::RollbackRequested { by: support(), reason: "operator".into() },
    ]
}

/// The command whose result the state waits for.
pub fn in_flight<'a>(release: &'a Release, state: &'a State) -> Option<&'a Command> {
    match state {
        State::Running { stage, .. } => match &release.stages[*stage] {
            Stage::Do { command, .. } => Some(command),
            _ => None,
        },
        State::RollingBack { remaining, .. } => remaining.first(),
        _ => None,
    }
}

/// The world after `event` answered the command `state` waited for. A failed migration step
/// counts as applied: half a migration is as bad as a whole one for the rollback.
pub fn world_after(release: &Release, state: &State, event: &Event, world: &World) -> World {
    let mut world = world.clone();
    if let Some(command) = in_flight(release, state) {
        let applied = match event {
            Event::CommandSucceeded { .. } | Event::HealthChecked { healthy: true, .. } => true,
            Event::CommandFailed { .. } => matches!(command, Command::RunStep { .. }),
            _ => false,
        };
        if applied {
            world.apply(command);
        }
    }
    world.visitors_write();
    world
}

type Node = (State, World);

struct Graph {
    nodes: Vec<Node>,
    edges: HashMap<usize, Vec<usize>>,
}

fn explore(release: &Release, world: World) -> Graph {
    let (state, commands) = release.start();
    assert!(commands.len() <= 1, "the start emits one command at a time: {commands:?}");
    let mut index: HashMap<Node, usize> = HashMap::new();
    let mut graph = Graph { nodes: vec![(state.clone(), world.clone())], edges: HashMap::new() };
    index.insert((state, world), 0);
    let mut queue = VecDeque::from([0]);
    while let Some(at) = queue.pop_front() {
        let (state, world) = graph.nodes[at].clone();
        for event in events() {
            let Ok((next, commands)) = release.step(&state, &event) else { continue };
            assert!(commands.len() <= 1, "{state:?} + {event:?} emitted {commands:?}");
            let node = (next, world_after(release, &state, &event, &world));
            let id = *index.entry(node.clone()).or_insert_with(|| {
                graph.nodes.push(node);
                queue.push_back(graph.nodes.len() - 1);
                graph.nodes.len() - 1
            });
            graph.edges.entry(at).or_default().push(id);
        }
        assert!(graph.nodes.len() < 200_000, "the state space is not finite");
    }
    graph
}

impl Graph {
    /// Nodes from which some sequence of events reaches a final state.
    fn can_finish(&self) -> HashSet<usize> {
        let mut reverse: HashMap<usize, Vec<usize>> = HashMap::new();
        for (from, tos) in &self.edges {
            for to in tos {
                reverse.entry(*to).or_default().push(*from);
            }
        }
        let mut done: HashSet<usize> = (0..self.nodes.len()).filter(|&i| self.nodes[i].0.is_final()).collect();
        let mut queue: VecDeque<usize> = done.iter().copied().collect();
        while let Some(at) = queue.pop_front() {
            for &from in reverse.get(&at).into_iter().flatten() {
                if done.insert(from) {
                    queue.push_back(from);
                }
            }
        }
        done
    }
}

/// A property of a world, or what is wrong with it.
type WorldCheck = fn(&World) -> Result<(), String>;

/// What each run must end with, given the world it started from.
struct Expect {
    release: Release,
    before: World,
    completed: WorldCheck,
    /// Production's code and service stay as they were in every reachable world.
    production_untouched: bool,
    /// What the customer must find whenever the run waits for their confirmation.
    at_confirmation: Option<WorldCheck>,
    /// Whenever visitors are served, their database holds every write they were answered
    /// for, rollbacks included (a plain migration's snapshot restore does not: its approver is
    /// told so).
    keeps_every_write: bool,
}

fn check(name: &str, expect: Expect) -> usize {
    let graph = explore(&expect.release, expect.before.clone());
    let finishing = graph.can_finish();
    let serving_before = expect.before.serving();
    assert!(serving_before.is_some());
    let mut completed = 0;
    let mut rolled_back = 0;
    let mut confirmations = 0;
    for (id, (state, world)) in graph.nodes.iter().enumerate() {
        assert!(finishing.contains(&id), "{name}: dead end at {state:?} in {world:?}");
        if let Some(env) = world.refused_schema() {
            panic!("{name}: {env} runs code on a schema it refuses in {state:?}: {world:?}");
        }
        if let (State::Running { stage, .. }, Some(expected)) = (state, expect.at_confirmation) {
            if expect.release.stages[*stage] == Stage::Confirmation {
                confirmations += 1;
                if let Err(problem) = expected(world) {
                    panic!("{name}: waits for the customer's confirmation but {problem}: {world:?}");
                }
            }
        }
        if !state.is_final() && !matches!(state, State::RollingBack { .. }) {
            let request = Event::RollbackRequested { by: support(), reason: "check".into() };
            assert!(expect.release.step(state, &request).is_ok(), "{name}: {state:?} refuses a rollback request");
        }
        if expect.production_untouched {
            assert!(!world.production_touched, "{name}: production changed in {state:?}: {world:?}");
        }
        if expect.keeps_every_write {
            let writes = world.served_writes();
            assert!(writes.is_none_or(|w| w == Writes::Complete), "{name}: visitors are served {writes:?} writes in {state:?}: {world:?}");
        }
        match state {
            State::RolledBack { reason, cause } => {
                rolled_back += 1;
                // History counts the run by its cause: it must be the one the reason tells.
                let told = if reason.starts_with("rollback requested by") {
                    RollbackCause::Requested
                } else if reason.starts_with("rejected by") || reason.contains("found a problem") {
                    RollbackCause::Rejected
                } else {
                    RollbackCause::Failed
                };
                assert_eq!(*cause, told, "{name}: rolled back ({reason}) counted as {cause:?}");
                assert_eq!(state.outcome(), Some(Outcome::of_rollback(told)));
                // A rollback may keep an expand migration's schema, which the old version
                // serves (`refused_schema` above checks it can): the same version must serve.
                let served = |w: &World| w.serving().map(|(code, schema)| (code, (!w.expand).then_some(schema)));
                assert_eq!(served(world), served(&expect.before), "{name}: rolled back ({reason}) but serving differs: {world:?}");
                assert_eq!(world.production.active, Version::Old, "{name}: {reason}");
                assert_eq!(
                    (world.public, &world.accounts),
                    (expect.before.public, &expect.before.accounts),
                    "{name}: rolled back ({reason}) but the routes differ: {world:?}"
                );
            }
            State::Completed { .. } => {
                completed += 1;
                if let Err(problem) = (expect.completed)(world) {
                    panic!("{name}: completed but {problem}: {world:?}");
                }
            }
            _ => {}
        }
    }
    assert!(completed > 0 && rolled_back > 0, "{name}: completed {completed} times, rolled back {rolled_back} times");
    assert!(expect.at_confirmation.is_none() || confirmations > 0, "{name}: never waited for the customer");
    graph.nodes.len()
}

fn serves(world: &World, expected: (Version, Version)) -> Result<(), String> {
    match world.serving() {
        Some(got) if got == expected => Ok(()),
        got => Err(format!("it serves {got:?} instead of {expected:?}")),
    }
}

/// A completed rollout serves the new version at the public address and at every account,
/// so the next release finds it in production.
fn rollout_completed(world: &World) -> Result<(), String> {
    rollout_completed_on(world, Version::Old)
}

fn rollout_completed_on(world: &World, schema: Version) -> Result<(), String> {
    let new = Some((Version::New, schema));
    if world.at_public_address() != new || world.at_every_account() != new {
        return Err(format!("the public address serves {:?} and the accounts {:?}", world.at_public_address(), world.at_every_account()));
    }
    serves(world, (Version::New, schema))
}

/// The world a run of `kind` starts from: a migration's site refuses any schema but its own.
fn site_for(kind: WorkflowKind, world: World) -> World {
    if matches!(kind, WorkflowKind::Migration | WorkflowKind::LowDowntimeMigration) {
        world.schema_strict()
    } else {
        world
    }
}

/// The customer tests the candidate on its own address; a migrated one on the migrated schema.
fn candidate_testable(world: &World) -> Result<(), String> {
    match world.at_candidate_address() {
        Some((Version::New, schema)) if !world.schema_strict || schema == Version::New => Ok(()),
        got => Err(format!("the candidate address serves {got:?}")),
    }
}

/// The customer checks the migrated production at the temporary address while the public
/// address shows the site-down page.
fn migrated_at_temporary_address(world: &World) -> Result<(), String> {
    match (world.at_temporary_address(), world.serving()) {
        (Some((Version::New, Version::New)), None) => Ok(()),
        (temporary, public) => Err(format!("the temporary address serves {temporary:?}, the public one {public:?}")),
    }
}

/// A low-downtime migration's customer checks the migrated clone at its test address while
/// visitors keep the old version at the public one.
fn migrated_clone_beside_live_production(world: &World) -> Result<(), String> {
    match (world.at_candidate_address(), world.serving()) {
        (Some((Version::New, Version::New)), Some((Version::Old, Version::Old))) => Ok(()),
        (candidate, public) => Err(format!("the candidate address serves {candidate:?}, the public one {public:?}")),
    }
}

#[test]
fn every_rehearsal_reaches_an_end_and_never_changes_production() {
    for kind in WorkflowKind::ALL {
        let release = Release::rehearsal(&document(kind), &Submitter::new(1, "sue"));
        let kept = plan::production_goes_live_on_the_rehearsed_clone(&document(kind));
        assert_eq!(release.leaves_its_clone(), kept, "{kind}: what the dashboard is told about the clone");
        let completed = if kept { rehearsal_kept_its_clone } else { rehearsal_removed_its_clone };
        let states = check(
            &format!("{kind} rehearsal"),
            Expect {
                release,
                before: site_for(kind, World::before(false, false)),
                completed,
                production_untouched: true,
                at_confirmation: Some(candidate_testable),
                keeps_every_write: true,
            },
        );
        assert!(states > 10, "{kind}: only {states} states explored");
    }
}

/// A rehearsal whose production run makes its own clone removes the tested one (the customer
/// checked it while it ran the candidate, see `candidate_testable`).
fn rehearsal_removed_its_clone(w: &World) -> Result<(), String> {
    serves(w, (Version::Old, Version::Old))?;
    if !w.rehearsed {
        return Err("the rehearsal was not recorded".into());
    }
    if w.candidate.is_some() {
        return Err("the rehearsal's clone was left behind".into());
    }
    Ok(())
}

/// A no-migration rehearsal keeps its clone running the candidate: production goes live on it.
fn rehearsal_kept_its_clone(w: &World) -> Result<(), String> {
    serves(w, (Version::Old, Version::Old))?;
    let clone = w.candidate.as_ref().ok_or("the tested clone is gone")?;
    if !w.rehearsed || clone.active != Version::New {
        return Err("the rehearsal was not recorded on a clone running the candidate".into());
    }
    Ok(())
}

#[test]
fn every_production_run_reaches_an_end_and_rolls_back_to_the_last_working_configuration() {
    let run = |doc: &PatchDocument| Release::production(doc, &config()).expect("rehearsed");
    let cases: Vec<(&str, Expect)> = vec![
        (
            "no-migration",
            Expect {
                release: run(&document(WorkflowKind::NoMigration)),
                before: World::before(true, false),
                completed: |w| serves(w, (Version::New, Version::Old)),
                production_untouched: true,
                at_confirmation: None,
                keeps_every_write: true,
            },
        ),
        (
            "migration",
            Expect {
                release: run(&document(WorkflowKind::Migration)),
                before: site_for(WorkflowKind::Migration, World::before(false, false)),
                completed: |w| serves(w, (Version::New, Version::New)),
                production_untouched: false,
                at_confirmation: Some(migrated_at_temporary_address),
                keeps_every_write: false,
            },
        ),
        (
            "minor-patch",
            Expect {
                release: run(&document(WorkflowKind::MinorPatch)),
                before: World::before(false, false),
                completed: |w| serves(w, (Version::New, Version::Old)),
                production_untouched: false,
                at_confirmation: None,
                keeps_every_write: true,
            },
        ),
        (
            "blue-green",
            Expect {
                release: run(&document(WorkflowKind::BlueGreen)),
                before: World::before(false, true),
                completed: |w| serves(w, (Version::New, Version::Old)),
                production_untouched: true,
                at_confirmation: None,
                keeps_every_write: true,
            },
        ),
        (
            "blue-green with a migration",
            Expect {
                release: run(&blue_green_with_migration()),
                before: World::before(false, true).expanding(),
                completed: |w| serves(w, (Version::New, Version::New)),
                production_untouched: true,
                at_confirmation: None,
                keeps_every_write: true,
            },
        ),
        (
            "blue-green with an expand migration before the deploy",
            Expect {
                release: run(&expand_before_deploy(WorkflowKind::BlueGreen, false)),
                before: World::before(false, true).schema_strict().expanding(),
                completed: |w| serves(w, (Version::New, Version::New)),
                production_untouched: true,
                at_confirmation: None,
                keeps_every_write: true,
            },
        ),
        (
            "rollout with an expand migration before the deploy and a down migration",
            Expect {
                release: run(&expand_before_deploy(WorkflowKind::Rollout, true)),
                before: World::before(false, true).with_accounts().schema_strict().expanding(),
                completed: |w| rollout_completed_on(w, Version::New),
                production_untouched: true,
                at_confirmation: None,
                keeps_every_write: true,
            },
        ),
        (
            "low-downtime migration",
            Expect {
                release: run(&document(WorkflowKind::LowDowntimeMigration)),
                before: site_for(WorkflowKind::LowDowntimeMigration, World::before(false, false)),
                completed: |w| serves(w, (Version::New, Version::New)),
                production_untouched: false,
                at_confirmation: Some(migrated_clone_beside_live_production),
                keeps_every_write: true,
            },
        ),
        (
            "rollout",
            Expect {
                release: run(&document(WorkflowKind::Rollout)),
                before: World::before(false, false).with_accounts(),
                completed: rollout_completed,
                production_untouched: true,
                at_confirmation: None,
                keeps_every_write: false,
            },
        ),
    ];
    for (name, expect) in cases {
        let states = check(name, expect);
        assert!(states > 20, "{name}: only {states} states explored");
    }
}

#[test]
fn a_rollout_without_pinned_accounts_starts_with_its_first_stage_and_still_routes_back() {
    let release =
        Release::production(&document(WorkflowKind::Rollout), &ReleaseConfig { pinned_accounts: vec![], ..config() }).expect("rehearsed");
    let splits: Vec<&Command> = release
        .stages
        .iter()
        .filter_map(|s| match s {
            Stage::Do { command: c @ Command::SetAccountSplit { .. }, .. } => Some(c),
            _ => None,
        })
        .collect();
    let percents: Vec<u8> = splits.iter().map(|c| if let Command::SetAccountSplit { percent, .. } = c { *percent } else { 0 }).collect();
    assert_eq!(percents, [5, 25, 100]);
    check(
        "rollout without pinned accounts",
        Expect {
            release,
            before: World::before(false, false).with_accounts(),
            completed: rollout_completed,
            production_untouched: true,
            at_confirmation: None,
            keeps_every_write: false,
        },
    );
}

#[test]
fn no_production_run_does_anything_before_support_approves() {
    for kind in WorkflowKind::ALL {
        let release = Release::production(&document(kind), &config()).expect("rehearsed");
        assert_eq!(release.stages.first(), Some(&Stage::Approval), "{kind}");
        let (state, commands) = release.start();
        assert_eq!(commands, [], "{kind}: the start waits for the approval");
        for event in events() {
            let accepted = release.step(&state, &event).is_ok();
            let expected = matches!(&event, Event::Approved { by, .. } if by.user == "sam")
                || matches!(&event, Event::Rejected { by, .. } if by.role == Role::Support)
                || matches!(event, Event::RollbackRequested { .. });
            assert_eq!(accepted, expected, "{kind}: {event:?}");
        }
    }
}

/// The event that moves a run on from `state` as if all went well.
fn success(release: &Release, state: &State) -> Event {
    match state {
        State::Running { stage, .. } => match &release.stages[*stage] {
            Stage::Do { command: Command::HealthCheck { .. }, .. } => Event::HealthChecked { healthy: true, detail: "200".into() },
            Stage::Do { .. } => Event::CommandSucceeded { output: "ok".into() },
            Stage::Approval => Event::Approved { by: support(), comment: "go".into() },
            Stage::Confirmation => Event::CustomerConfirmed { by: customer(), comment: "fine".into() },
            Stage::Watch { .. } => Event::TimerElapsed,
        },
        _ => Event::CommandSucceeded { output: "ok".into() },
    }
}

fn send(release: &Release, (state, world): &Node, event: &Event) -> Node {
    let (next, _) = release.step(state, event).unwrap_or_else(|r| panic!("{state:?} refused {event:?}: {r}"));
    (next, world_after(release, state, event, world))
}

#[test]
fn a_rollback_during_a_rollouts_completion_restores_the_routes_its_last_stage_left() {
    let release = Release::production(&document(WorkflowKind::Rollout), &config()).expect("rehearsed");
    let first = 1 + release.stages.iter().rposition(|s| matches!(s, Stage::Watch { .. })).expect("a watch");
    let completion = &release.stages[first..];
    let commands: Vec<String> =
        completion.iter().map(|s| if let Stage::Do { command, .. } = s { command.to_string() } else { "?".into() }).collect();
    assert_eq!(commands, ["hold requests on", "swap addresses", "point every account at candidate", "hold requests off"]);
    let mut node = (release.start().0, World::before(false, false).with_accounts());
    while !matches!(&node.0, State::Running { stage, .. } if *stage == first) {
        node = send(&release, &node, &success(&release, &node.0));
    }
    let (State::Running { undo: kept, .. }, before) = node.clone() else { unreachable!() };
    assert_eq!(before.at_every_account(), Some((Version::New, Version::Old)), "the last stage moved every account");
    for done in 0..=completion.len() {
        let mut at = node.clone();
        for _ in 0..done {
            at = send(&release, &at, &success(&release, &at.0));
        }
        at = send(&release, &at, &Event::RollbackRequested { by: support(), reason: "check".into() });
        while matches!(&at.0, State::RollingBack { remaining, .. } if remaining.len() > kept.len()) {
            at = send(&release, &at, &Event::CommandSucceeded { output: "ok".into() });
        }
        let State::RollingBack { remaining, .. } = &at.0 else { panic!("{done}: rolled back too far: {:?}", at.0) };
        assert_eq!(remaining.iter().rev().collect::<Vec<_>>(), kept.iter().collect::<Vec<_>>(), "{done}");
        let routes = |w: &World| (w.public, w.accounts.clone(), w.hold);
        assert_eq!(routes(&at.1), routes(&before), "after {done} completion stages and their undo");
    }
}

#[test]
fn an_expand_migration_before_the_deploy_runs_on_the_stopped_candidate_before_its_new_code_starts() {
    for kind in [WorkflowKind::BlueGreen, WorkflowKind::Rollout] {
        let doc = expand_before_deploy(kind, true);
        let rehearsal = Release::rehearsal(&doc, &Submitter::new(1, "sue"));
        let production = Release::production(&doc, &config()).expect("rehearsed");
        for (run, release) in [("rehearsal", &rehearsal), ("production", &production)] {
            let commands: Vec<&Command> =
                release.stages.iter().filter_map(|s| if let Stage::Do { command, .. } = s { Some(command) } else { None }).collect();
            let at = |wanted: fn(&Command) -> bool| commands.iter().position(|c| wanted(c));
            let stop = at(|c| *c == Command::StopService { env: Env::Candidate });
            let activate = at(|c| matches!(c, Command::ActivateRelease { env: Env::Candidate, .. }));
            let migrate = at(|c| matches!(c, Command::RunStep { env: Env::Candidate, .. }));
            let start = at(|c| *c == Command::StartService { env: Env::Candidate });
            let order = [stop, activate, migrate, start];
            assert!(order.iter().all(Option::is_some) && order.is_sorted(), "{kind} {run}: {commands:#?}");
            // An expand step keeps what both versions wrote: no snapshot of the shared database.
            assert!(!commands.iter().any(|c| matches!(c, Command::SnapshotDatabase { .. })), "{kind} {run}");
        }
        // On a site whose new code refuses the old schema the rehearsal reaches its end with the
        // customer testing the migrated clone (the exploration's schema check covers the rest).
        check(
            &format!("{kind} rehearsal with an expand migration before the deploy"),
            Expect {
                release: rehearsal,
                before: World::before(false, false).schema_strict().expanding(),
                completed: |w| serves(w, (Version::Old, Version::Old)),
                production_untouched: true,
                at_confirmation: Some(candidate_testable),
                keeps_every_write: true,
            },
        );
    }
}
