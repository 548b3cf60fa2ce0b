//! The next-action rule explored over every role against every phase of the newest run: each
//! person gets exactly the action they may take, nobody is offered to approve their own run,
//! and whenever nothing is for them the words say whom the site waits for.

use super::*;
use crate::workflow::Outcome;

const OWNER: i64 = 7;
const SUBMITTER: i64 = 11;

fn viewer(role: Role, user_id: i64, customer_id: Option<i64>) -> Viewer {
    Viewer { principal: Principal { role, admin: false, customer_id }, user_id }
}

fn customer() -> Viewer {
    viewer(Role::Customer, 20, Some(OWNER))
}

fn other_customer() -> Viewer {
    viewer(Role::Customer, 21, Some(OWNER + 1))
}

fn support() -> Viewer {
    viewer(Role::Support, 30, None)
}

fn submitting_support() -> Viewer {
    viewer(Role::Support, SUBMITTER, None)
}

fn manager() -> Viewer {
    viewer(Role::Manager, 40, None)
}

fn everyone() -> [Viewer; 5] {
    [customer(), other_customer(), support(), submitting_support(), manager()]
}

const PHASES: [Phase; 10] = [
    Phase::Working,
    Phase::AtApproval,
    Phase::AtConfirmation,
    Phase::Watching,
    Phase::Stalled,
    Phase::Completed,
    Phase::Ended(Outcome::Completed),
    Phase::Ended(Outcome::Failed),
    Phase::Ended(Outcome::Rejected),
    Phase::Ended(Outcome::RolledBack),
];

fn site(latest: Option<(Run, Phase)>, newest_document: Option<i64>, released_document: Option<i64>) -> SiteFacts {
    SiteFacts {
        owner: OWNER,
        live: true,
        latest: latest.map(|(run, phase)| LatestRun { release_id: 5, run, submitted_by_id: SUBMITTER, document_version: 2, phase }),
        newest_document,
        released_document,
    }
}

#[test]
fn every_role_in_every_phase_gets_an_action_it_may_take() {
    for who in everyone() {
        for run in [Run::Rehearsal, Run::Production] {
            for phase in PHASES {
                let facts = site(Some((run, phase)), Some(3), Some(1));
                let action = next_action(&who, &facts);
                let p = who.principal;
                let label = format!("{:?} {run:?} {phase:?} → {action:?}", p.role);
                match &action {
                    NextAction::Approve { .. } | NextAction::RunInProduction { .. } | NextAction::RetryRollback { .. } => {
                        assert!(p.may(Action::RunRelease).is_ok(), "{label}")
                    }
                    NextAction::Test { .. } | NextAction::Confirm { .. } | NextAction::Rehearse { .. } => {
                        assert!(p.may(Action::PrepareRelease { owner: OWNER }).is_ok(), "{label}")
                    }
                    NextAction::GoLive => panic!("a live site is never offered a go-live: {label}"),
                    NextAction::Follow { .. } => assert!(matches!(phase, Phase::Working | Phase::Watching), "{label}"),
                    NextAction::Nothing { why } => assert!(why.ends_with('.') && why.len() > 20, "{label}"),
                }
                // Nobody is ever asked to approve their own run.
                if who.user_id == SUBMITTER {
                    assert!(!matches!(action, NextAction::Approve { .. }), "{label}");
                }
            }
        }
    }
}

#[test]
fn a_production_run_at_its_approval_asks_another_support_member_and_tells_the_submitter_why_not() {
    let facts = site(Some((Run::Production, Phase::AtApproval)), Some(2), Some(1));
    assert_eq!(next_action(&support(), &facts), NextAction::Approve { release_id: 5 });
    let own = next_action(&submitting_support(), &facts);
    assert!(own.words().contains("You submitted production run #5; another support member must approve it"), "{own:?}");
    assert!(next_action(&customer(), &facts).words().contains("waits for support's approval"));
    assert_eq!(next_action(&manager(), &facts).as_str(), "nothing");
}

#[test]
fn the_customer_tests_a_rehearsal_and_confirms_production_while_support_is_told_it_waits_for_them() {
    let rehearsal = site(Some((Run::Rehearsal, Phase::AtConfirmation)), Some(2), Some(1));
    assert_eq!(next_action(&customer(), &rehearsal), NextAction::Test { release_id: 5 });
    assert!(next_action(&support(), &rehearsal).words().contains("waits for the customer to test it"));
    let production = site(Some((Run::Production, Phase::AtConfirmation)), Some(2), Some(1));
    assert_eq!(next_action(&customer(), &production), NextAction::Confirm { release_id: 5 });
    assert!(next_action(&manager(), &production).words().contains("waits for the customer to check it"));
}

#[test]
fn a_passed_rehearsal_is_run_in_production_by_support_next() {
    let facts = site(Some((Run::Rehearsal, Phase::Completed)), Some(2), Some(1));
    assert_eq!(next_action(&support(), &facts), NextAction::RunInProduction { release_id: 5 });
    assert_eq!(next_action(&submitting_support(), &facts), NextAction::RunInProduction { release_id: 5 });
    assert!(next_action(&customer(), &facts).words().contains("support staff run it in production next"));
}

#[test]
fn after_a_release_ends_a_newer_document_is_rehearsed_and_an_up_to_date_site_asks_nothing() {
    for phase in [Phase::Completed, Phase::Ended(Outcome::Failed), Phase::Ended(Outcome::RolledBack), Phase::Ended(Outcome::Rejected)] {
        let newer = site(Some((Run::Production, phase)), Some(3), Some(2));
        assert_eq!(next_action(&customer(), &newer), NextAction::Rehearse { document_version: 3 }, "{phase:?}");
        assert_eq!(next_action(&support(), &newer), NextAction::Rehearse { document_version: 3 }, "{phase:?}");
        assert!(next_action(&manager(), &newer).words().contains("v3 is ready"), "{phase:?}");
        // Another customer is never told to act on a site that is not theirs.
        assert_eq!(next_action(&other_customer(), &newer).as_str(), "nothing");
    }
    let up_to_date = site(Some((Run::Production, Phase::Completed)), Some(2), Some(2));
    assert!(next_action(&customer(), &up_to_date).words().contains("Production runs the newest patch document"));
    // A rolled-back release leaves its document unreleased: it can be rehearsed again.
    let rolled_back = site(Some((Run::Production, Phase::Ended(Outcome::RolledBack))), Some(2), Some(1));
    assert_eq!(next_action(&customer(), &rolled_back), NextAction::Rehearse { document_version: 2 });
    // The demo: live, a saved document, nothing released or rehearsed yet.
    let demo = site(None, Some(1), None);
    assert_eq!(next_action(&customer(), &demo), NextAction::Rehearse { document_version: 1 });
}

#[test]
fn a_site_not_yet_live_asks_support_to_put_it_live_and_tells_others_so() {
    let facts = SiteFacts { live: false, ..site(None, None, None) };
    assert_eq!(next_action(&support(), &facts), NextAction::GoLive);
    for who in [customer(), manager()] {
        assert!(next_action(&who, &facts).words().contains("not live yet"));
    }
}

#[test]
fn a_stalled_rollback_is_retried_by_support_and_runs_under_way_are_followed_by_all() {
    let stalled = site(Some((Run::Production, Phase::Stalled)), Some(2), Some(1));
    assert_eq!(next_action(&support(), &stalled), NextAction::RetryRollback { release_id: 5 });
    assert!(next_action(&customer(), &stalled).words().contains("stalled"));
    for phase in [Phase::Working, Phase::Watching] {
        let running = site(Some((Run::Production, phase)), Some(2), Some(1));
        for who in everyone() {
            assert_eq!(next_action(&who, &running), NextAction::Follow { release_id: 5 });
        }
    }
}

#[test]
fn the_phase_is_read_from_the_run_and_its_state() {
    use crate::workflow::{Command, Env, RollbackCause};
    let release = Release {
        run: Run::Production,
        workflow: crate::WorkflowKind::MinorPatch,
        submitted_by: "sue".into(),
        submitted_by_id: SUBMITTER,
        stages: vec![
            Stage::Approval,
            Stage::Do { command: Command::StopService { env: Env::Production }, undo: vec![] },
            Stage::Watch { duration_secs: 10, max_5xx_increase: 1.0 },
            Stage::Confirmation,
        ],
    };
    let at = |stage| Phase::of(&release, &State::Running { stage, undo: vec![] });
    assert_eq!([at(0), at(1), at(2), at(3)], [Phase::AtApproval, Phase::Working, Phase::Watching, Phase::AtConfirmation]);
    assert_eq!(Phase::of(&release, &State::Completed { undo: vec![] }), Phase::Completed);
    let rejected = State::RolledBack { reason: "no".into(), cause: RollbackCause::Rejected };
    assert_eq!(Phase::of(&release, &rejected), Phase::Ended(Outcome::Rejected));
}
