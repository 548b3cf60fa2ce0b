//! Who may decide what, and the control rule: production only runs what was rehearsed.

use crate::Role;
use serde::{Deserialize, Serialize};

/// A person acting on a release: the user's id, which never changes, decides; the name is
/// their display name when they acted, for messages only (a user can rename themselves).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// 0 in decisions journaled before users were recorded by id.
    #[serde(default)]
    pub user_id: i64,
    pub user: String,
    pub role: Role,
}

impl Actor {
    pub fn new(user_id: i64, user: &str, role: Role) -> Self {
        Self { user_id, user: user.to_owned(), role }
    }
}

/// Who submitted a release: their user id decides who may approve it, the name is for messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Submitter {
    pub user_id: i64,
    pub name: String,
}

impl Submitter {
    pub fn new(user_id: i64, name: &str) -> Self {
        Self { user_id, name: name.to_owned() }
    }

    /// Whether `actor` is the person who submitted. Compares user ids; only a release journaled
    /// before ids were recorded (id 0) falls back to the name it was submitted under.
    pub fn is(&self, actor: &Actor) -> bool {
        if self.user_id != 0 && actor.user_id != 0 {
            self.user_id == actor.user_id
        } else {
            self.name == actor.user
        }
    }
}

/// A rehearsal of a candidate and document version on a clone of production, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RehearsalRecord {
    pub candidate_sha256: String,
    pub document_version: u32,
    pub passed: bool,
}

/// Why an event or a run was refused. The state does not change; the message says what
/// would be accepted instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("production run refused: candidate {candidate} with patch document version {version} has not passed a rehearsal on a clone of production ({found}); rehearse this exact candidate and document first")]
    NotRehearsed { candidate: String, version: u32, found: String },
    #[error("{user} submitted this release and cannot approve it; another support user must approve")]
    OwnRelease { user: String },
    #[error("{user} is a {role} and cannot approve releases; a support user approves")]
    CannotApprove { user: String, role: Role },
    #[error("{user} is a {role}; only the customer confirms or rejects at this step")]
    NotTheCustomer { user: String, role: Role },
    #[error("{user} is a {role}; only support rejects an approval")]
    CannotReject { user: String, role: Role },
    #[error("unexpected {event}: the release is {waiting_for}")]
    Unexpected { event: &'static str, waiting_for: String },
}

/// Support approves, except the user who submitted the release; customers and managers never do.
pub fn may_approve(approver: &Actor, submitted_by: &Submitter) -> Result<(), Refusal> {
    if approver.role != Role::Support {
        return Err(Refusal::CannotApprove { user: approver.user.clone(), role: approver.role });
    }
    if submitted_by.is(approver) {
        return Err(Refusal::OwnRelease { user: approver.user.clone() });
    }
    Ok(())
}

/// Only the customer marks a candidate ready or confirms production at its temporary address.
/// (That the customer owns the site is the service's check; core knows no ownership.)
pub fn may_confirm(actor: &Actor) -> Result<(), Refusal> {
    match actor.role {
        Role::Customer => Ok(()),
        role => Err(Refusal::NotTheCustomer { user: actor.user.clone(), role }),
    }
}

/// The control rule: a production run needs a passed rehearsal of the same candidate and the
/// same document version.
pub fn check_rehearsed(records: &[RehearsalRecord], candidate_sha256: &str, version: u32) -> Result<(), Refusal> {
    let matches = |r: &&RehearsalRecord| r.candidate_sha256 == candidate_sha256 && r.document_version == version;
    if records.iter().filter(matches).any(|r| r.passed) {
        return Ok(());
    }
    let found = if records.iter().any(|r| matches(&r)) {
        "its rehearsals failed".to_owned()
    } else if records.is_empty() {
        "no rehearsals recorded".to_owned()
    } else {
        let seen: Vec<String> = records
            .iter()
            .map(|r| {
                let sha = r.candidate_sha256.get(..8).unwrap_or(&r.candidate_sha256);
                format!("{sha} v{} {}", r.document_version, if r.passed { "passed" } else { "failed" })
            })
            .collect();
        format!("rehearsed were: {}", seen.join(", "))
    };
    let candidate = candidate_sha256.get(..12).unwrap_or(candidate_sha256).to_owned();
    Err(Refusal::NotRehearsed { candidate, version, found })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_another_support_user_approves() {
        let cases = [
            (Actor::new(2, "sam", Role::Support), Ok(())),
            // Renamed since submitting: still the same person.
            (
                Actor::new(1, "sue-renamed", Role::Support),
                Err("sue-renamed submitted this release and cannot approve it; another support user must approve"),
            ),
            // Another person who took the submitter's old name.
            (Actor::new(5, "sue", Role::Support), Ok(())),
            (
                Actor::new(1, "sue", Role::Support),
                Err("sue submitted this release and cannot approve it; another support user must approve"),
            ),
            (Actor::new(3, "carl", Role::Customer), Err("carl is a customer and cannot approve releases; a support user approves")),
            (Actor::new(4, "mia", Role::Manager), Err("mia is a manager and cannot approve releases; a support user approves")),
        ];
        for (actor, expected) in cases {
            let got = may_approve(&actor, &Submitter::new(1, "sue")).map_err(|e| e.to_string());
            assert_eq!(got, expected.map_err(String::from), "{actor:?}");
        }
    }

    #[test]
    fn a_release_journaled_before_user_ids_compares_names() {
        let legacy = Submitter::new(0, "sue");
        assert!(may_approve(&Actor::new(1, "sue", Role::Support), &legacy).is_err());
        assert!(may_approve(&Actor::new(2, "sam", Role::Support), &legacy).is_ok());
    }

    #[test]
    fn only_the_customer_confirms() {
        assert_eq!(may_confirm(&Actor::new(3, "carl", Role::Customer)), Ok(()));
        for role in [Role::Support, Role::Manager] {
            assert!(may_confirm(&Actor::new(9, "x", role)).is_err(), "{role}");
        }
    }

    #[test]
    fn production_needs_a_passed_rehearsal_of_the_same_candidate_and_document_version() {
        let sha = "a".repeat(64);
        let other = "b".repeat(64);
        let record = |sha: &str, version, passed| RehearsalRecord { candidate_sha256: sha.into(), document_version: version, passed };
        assert_eq!(check_rehearsed(&[record(&sha, 2, true)], &sha, 2), Ok(()));
        assert_eq!(check_rehearsed(&[record(&sha, 2, false), record(&sha, 2, true)], &sha, 2), Ok(()));
        let refused = |records: &[RehearsalRecord]| check_rehearsed(records, &sha, 2).unwrap_err().to_string();
        assert_eq!(
            refused(&[]),
            "production run refused: candidate aaaaaaaaaaaa with patch document version 2 has not passed a rehearsal on a clone of production (no rehearsals recorded); rehearse this exact candidate and document first"
        );
        assert!(refused(&[record(&sha, 2, false)]).contains("(its rehearsals failed)"));
        assert!(
            refused(&[record(&sha, 1, true), record(&other, 2, true)]).contains("(rehearsed were: aaaaaaaa v1 passed, bbbbbbbb v2 passed)")
        );
    }
}
