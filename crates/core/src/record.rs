//! The tamper-evident record: how an audit-log row or a journaled transition is hashed into its
//! chain, and how a chain is checked. The store computes the hashes as it writes; `audit
//! verify` (server, CLI on the database file, CLI on an exported release record) checks them with
//! the same code, so the three can never disagree about what a valid chain is.
//!
//! A row's hash is sha256 over a canonical encoding of its table, its fields (each with its
//! name, and its length so no two field lists encode alike) and its predecessor's hash. Editing a
//! field changes the row's hash; deleting or inserting a row breaks the next row's link. What a
//! chain cannot show is someone with write access recomputing every hash after their edit: keep
//! the head hash somewhere else to notice that (see docs/trust-model.md, "The record").

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The predecessor of a chain's first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The format name an exported release record carries, so a verifier refuses anything else.
pub const RELEASE_RECORD_FORMAT: &str = "switchyard-release-record/1";

/// A row's hash: sha256 (hex) over `table`, every `(name, value)` field in order and `prev_hash`.
pub fn row_hash(table: &str, fields: &[(&str, Option<&str>)], prev_hash: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"switchyard-record-v1\n");
    put(&mut hasher, "table", Some(table));
    for (name, value) in fields {
        put(&mut hasher, name, *value);
    }
    put(&mut hasher, "prev", Some(prev_hash));
    hex::encode(hasher.finalize())
}

/// `name`, then `-` for NULL or `+<byte length>:<value>`, then a newline.
fn put(hasher: &mut Sha256, name: &str, value: Option<&str>) {
    hasher.update(name.as_bytes());
    match value {
        None => hasher.update(b"=-\n"),
        Some(value) => {
            hasher.update(format!("=+{}:", value.len()).as_bytes());
            hasher.update(value.as_bytes());
            hasher.update(b"\n");
        }
    }
}

/// The first row whose chain is broken: which table, which row, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBreak {
    pub table: String,
    /// The row's id (`<release id>/<seq>` for a transition).
    pub row: String,
    pub problem: String,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} row {}: {}", self.table, self.row, self.problem)
    }
}

/// One row as read back: its fields, and the hashes stored beside them (NULL for a row written
/// outside Switchyard).
#[derive(Debug, Clone)]
pub struct StoredLink<'a> {
    pub row: String,
    pub fields: Vec<(&'static str, Option<&'a str>)>,
    pub prev_hash: Option<&'a str>,
    pub hash: Option<&'a str>,
}

/// A chain checked row by row, oldest first.
#[derive(Debug, Clone)]
pub struct ChainCheck {
    table: String,
    /// The hash the next row must name as its predecessor, and the row that has it.
    head: String,
    head_row: Option<String>,
    rows: u64,
}

impl ChainCheck {
    pub fn new(table: &str, genesis: &str) -> Self {
        Self { table: table.to_owned(), head: genesis.to_owned(), head_row: None, rows: 0 }
    }

    /// Checks the next row and makes it the head.
    pub fn next(&mut self, link: &StoredLink<'_>) -> Result<(), ChainBreak> {
        let broken = |problem: String| ChainBreak { table: self.table.clone(), row: link.row.clone(), problem };
        let (Some(prev_hash), Some(hash)) = (link.prev_hash, link.hash) else {
            return Err(broken("the row has no chain hash: it was written outside Switchyard (inserted)".into()));
        };
        if prev_hash != self.head {
            let after = match &self.head_row {
                Some(row) => format!("row {row}"),
                None => "the start of the chain".to_owned(),
            };
            return Err(broken(format!(
                "its predecessor hash does not match {after}: a row between them was deleted, or this row was inserted"
            )));
        }
        if row_hash(&self.table, &link.fields, prev_hash) != hash {
            return Err(broken("its content does not match its hash: the row was edited".into()));
        }
        self.head = hash.to_owned();
        self.head_row = Some(link.row.clone());
        self.rows += 1;
        Ok(())
    }

    /// The hash of the last row checked (the genesis value for an empty chain).
    pub fn head(&self) -> &str {
        &self.head
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }
}

/// The fields of an audit-log row that its hash covers. `actor_id` is left out on purpose:
/// deleting a user sets it NULL, and the name the actor had (`actor`) is what the row records.
pub fn audit_fields<'a>(
    id: &'a str,
    at: &'a str,
    actor: &'a str,
    action: &'a str,
    target: &'a str,
    detail: &'a str,
    remote: &'a str,
) -> Vec<(&'static str, Option<&'a str>)> {
    vec![
        ("id", Some(id)),
        ("at", Some(at)),
        ("actor", Some(actor)),
        ("action", Some(action)),
        ("target", Some(target)),
        ("detail", Some(detail)),
        ("remote", Some(remote)),
    ]
}

/// What of a release never changes once it is created: the genesis of its journal's chain.
/// `site_id` and `submitted_by_id` are left out: deleting the site or the user sets them NULL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseHeader {
    pub id: i64,
    pub uid: String,
    pub site: String,
    pub run: String,
    pub workflow: String,
    pub document_toml: String,
    pub document_version: i64,
    pub candidate_sha256: String,
    pub submitted_by: String,
    pub placement: String,
    pub config: String,
    pub created_at: String,
}

impl ReleaseHeader {
    /// The predecessor hash of the release's transition 0.
    pub fn hash(&self) -> String {
        let id = self.id.to_string();
        let version = self.document_version.to_string();
        row_hash(
            "releases",
            &[
                ("id", Some(&id)),
                ("uid", Some(&self.uid)),
                ("site", Some(&self.site)),
                ("run", Some(&self.run)),
                ("workflow", Some(&self.workflow)),
                ("document_toml", Some(&self.document_toml)),
                ("document_version", Some(&version)),
                ("candidate_sha256", Some(&self.candidate_sha256)),
                ("submitted_by", Some(&self.submitted_by)),
                ("placement", Some(&self.placement)),
                ("config", Some(&self.config)),
                ("created_at", Some(&self.created_at)),
            ],
            GENESIS,
        )
    }
}

/// One journaled transition with its chain hashes, as stored and as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainedTransition {
    pub seq: i64,
    pub event: Option<String>,
    pub state: String,
    pub commands: String,
    pub at: String,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

impl ChainedTransition {
    /// The fields its hash covers (the release id comes from the header it belongs to).
    pub fn fields<'a>(&'a self, release_id: &'a str, seq: &'a str) -> Vec<(&'static str, Option<&'a str>)> {
        vec![
            ("release_id", Some(release_id)),
            ("seq", Some(seq)),
            ("event", self.event.as_deref()),
            ("state", Some(&self.state)),
            ("commands", Some(&self.commands)),
            ("at", Some(&self.at)),
        ]
    }
}

/// Checks one release's journal: a chain per release that starts at the hash of its header,
/// so an exported release stands alone. Returns the head hash.
pub fn check_release_journal(header: &ReleaseHeader, transitions: &[ChainedTransition]) -> Result<String, ChainBreak> {
    let release_id = header.id.to_string();
    let mut chain = ChainCheck::new("release_transitions", &header.hash());
    for (expected_seq, transition) in (0..).zip(transitions) {
        let seq = transition.seq.to_string();
        let row = format!("{release_id}/{seq}");
        if transition.seq != expected_seq {
            // Sequence numbers are contiguous from 0; a gap is a deleted transition even when
            // whoever deleted it fixed up the hashes after it.
            let problem = format!("transition {expected_seq} is missing (deleted) before it");
            return Err(ChainBreak { table: "release_transitions".into(), row, problem });
        }
        chain.next(&StoredLink {
            row,
            fields: transition.fields(&release_id, &seq),
            prev_hash: transition.prev_hash.as_deref(),
            hash: transition.hash.as_deref(),
        })?;
    }
    Ok(chain.head().to_owned())
}

/// What `audit verify` found: how much it checked, the head hashes to keep elsewhere, and the
/// first broken row of the audit log and of the release journal (none when intact).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordCheck {
    pub audit_rows: u64,
    /// The hash of the newest audit row: keep it outside Switchyard to notice a recomputed chain.
    pub audit_head: String,
    pub releases: u64,
    pub transitions: u64,
    /// A hash over every release's journal head, in release order.
    pub journal_head: String,
    /// At most one per table: the first row whose chain is broken.
    pub breaks: Vec<ChainBreak>,
}

impl RecordCheck {
    pub fn intact(&self) -> bool {
        self.breaks.is_empty()
    }
}

/// Folds one release's journal head into the journal head of a whole database.
pub fn fold_journal_head(acc: &str, release_id: i64, head: &str) -> String {
    row_hash("journal", &[("release_id", Some(&release_id.to_string())), ("head", Some(head))], acc)
}

/// A release's record as exported (`GET /releases/{id}/record`), verifiable offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRecordExport {
    /// [`RELEASE_RECORD_FORMAT`].
    pub format: String,
    pub release: ReleaseHeader,
    pub transitions: Vec<ChainedTransition>,
    /// The hash of the last transition when exported: compare it with the server's.
    pub head_hash: String,
}

impl ReleaseRecordExport {
    /// Checks the export on its own: its format, every link of its chain, and its head hash.
    pub fn verify(&self) -> Result<String, ChainBreak> {
        let release = self.release.id.to_string();
        if self.format != RELEASE_RECORD_FORMAT {
            let problem =
                format!("the format is {:?}, not {RELEASE_RECORD_FORMAT:?}: export it again with `switchyard release export`", self.format);
            return Err(ChainBreak { table: "export".into(), row: release, problem });
        }
        let head = check_release_journal(&self.release, &self.transitions)?;
        if head != self.head_hash {
            let problem =
                "its head hash is not the hash of its last transition: transitions were removed or the head was edited".to_owned();
            return Err(ChainBreak { table: "export".into(), row: release, problem });
        }
        Ok(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> ReleaseHeader {
        ReleaseHeader {
            id: 7,
            uid: "u7".into(),
            site: "shop".into(),
            run: "rehearsal".into(),
            workflow: "no-migration".into(),
            document_toml: "x".into(),
            document_version: 1,
            candidate_sha256: "ab".into(),
            submitted_by: "sue".into(),
            placement: "{}".into(),
            config: "{}".into(),
            created_at: "2026-12-01T00:00:00.000Z".into(),
        }
    }

    fn chained(header: &ReleaseHeader, states: &[&str]) -> Vec<ChainedTransition> {
        let mut prev = header.hash();
        let mut out = Vec::new();
        for (seq, state) in (0..).zip(states) {
            let mut t = ChainedTransition {
                seq,
                event: (seq > 0).then(|| format!("e{seq}")),
                state: (*state).into(),
                commands: "[]".into(),
                at: "t".into(),
                prev_hash: Some(prev.clone()),
                hash: None,
            };
            let hash = row_hash("release_transitions", &t.fields("7", &seq.to_string()), &prev);
            t.hash = Some(hash.clone());
            prev = hash;
            out.push(t);
        }
        out
    }

    #[test]
    fn field_boundaries_are_part_of_the_hash() {
        assert_ne!(
            row_hash("t", &[("a", Some("xy")), ("b", Some(""))], GENESIS),
            row_hash("t", &[("a", Some("x")), ("b", Some("y"))], GENESIS)
        );
        assert_ne!(row_hash("t", &[("a", None)], GENESIS), row_hash("t", &[("a", Some(""))], GENESIS));
    }

    #[test]
    fn an_edited_deleted_or_inserted_transition_is_named() {
        let header = header();
        let good = chained(&header, &["s0", "s1", "s2"]);
        let head = check_release_journal(&header, &good).unwrap();
        assert_eq!(head, good[2].hash.clone().unwrap());

        let mut edited = good.clone();
        edited[1].state = "s1-forged".into();
        let found = check_release_journal(&header, &edited).unwrap_err();
        assert_eq!((found.row.as_str(), found.problem.contains("edited")), ("7/1", true), "{found}");

        let mut deleted = good.clone();
        deleted.remove(1);
        assert_eq!(check_release_journal(&header, &deleted).unwrap_err().row, "7/2");

        let mut header_edited = header.clone();
        header_edited.document_toml = "y".into();
        let found = check_release_journal(&header_edited, &good).unwrap_err();
        assert!(found.problem.contains("start of the chain"), "{found}");

        let export = ReleaseRecordExport { format: RELEASE_RECORD_FORMAT.into(), release: header, transitions: good, head_hash: head };
        export.verify().unwrap();
        let mut truncated = export.clone();
        truncated.transitions.pop();
        assert_eq!(truncated.verify().unwrap_err().table, "export");
    }
}
