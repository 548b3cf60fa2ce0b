//! What a migration changed in a site's schema, as far as replaying captured writes cares:
//! the tables and columns the migrated databases have that the running ones lack, and the
//! reverse. The agent measures it (migrated candidate against production) once the migration
//! has run; this module turns it into what a cutover and a rollback would do with the writes
//! captured on either side, in words a person decides on.

use crate::patch::WorkflowKind;
use serde::{Deserialize, Serialize};

/// How long after a low-downtime migration's cutover its lossless rollback stays possible,
/// unless the site says otherwise.
pub const DEFAULT_CAPTURE_WINDOW_HOURS: u32 = 24;

/// Tables or columns one side has and the other lacks, per database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaDifference {
    pub databases: Vec<DatabaseDifference>,
}

/// One database (named as change capture names it: `volume/site.db`, a binding's name).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseDifference {
    pub database: String,
    /// What the migrated schema has that the running one lacks: writes there after the cutover
    /// have no place in the old version's database.
    #[serde(default)]
    pub added: Vec<TableDifference>,
    /// What the running schema has that the migrated one lacks: writes there before the
    /// cutover have no place in the migrated database.
    #[serde(default)]
    pub removed: Vec<TableDifference>,
}

/// A whole table (no columns named) or some of its columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDifference {
    pub table: String,
    #[serde(default)]
    pub columns: Vec<String>,
}

impl TableDifference {
    /// `table notes` or `notes.title, notes.pinned`.
    pub fn words(&self) -> String {
        if self.columns.is_empty() {
            format!("table {}", self.table)
        } else {
            self.columns.iter().map(|c| format!("{}.{c}", self.table)).collect::<Vec<_>>().join(", ")
        }
    }
}

fn listed(parts: &[TableDifference]) -> String {
    parts.iter().map(TableDifference::words).collect::<Vec<_>>().join("; ")
}

impl SchemaDifference {
    /// Everything the migration added, across databases.
    pub fn added(&self) -> Vec<TableDifference> {
        self.databases.iter().flat_map(|d| d.added.iter().cloned()).collect()
    }

    /// Everything the migration removed, across databases.
    pub fn removed(&self) -> Vec<TableDifference> {
        self.databases.iter().flat_map(|d| d.removed.iter().cloned()).collect()
    }

    /// Whether the migration changed nothing a replay would notice (it may still have added
    /// indexes, constraints or data).
    pub fn is_empty(&self) -> bool {
        self.databases.iter().all(|d| d.added.is_empty() && d.removed.is_empty())
    }
}

/// What rolling a release back would do to the writes visitors make after it, said before
/// anyone approves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackStatement {
    /// No acknowledged write would be lost by a rollback within the capture window.
    pub keeps_every_write: bool,
    /// The statement, one or more sentences.
    pub words: String,
    /// Whether support must confirm having read it when approving (it says data would be lost).
    pub needs_acknowledgement: bool,
    /// What a cutover would refuse (the migrated schema has no place for writes the running
    /// version makes), said so the approver knows the cutover may stop and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutover_warning: Option<String>,
}

/// A low-downtime migration's statement, from the schema difference its migration made.
/// `window_hours` is the site's capture window.
pub fn low_downtime_statement(difference: &SchemaDifference, window_hours: u32) -> RollbackStatement {
    let added = difference.added();
    let removed = difference.removed();
    let window = window_words(window_hours);
    let (keeps_every_write, words) = if added.is_empty() {
        (
            true,
            format!(
                "A rollback keeps every write: the changes made on the new version are replayed into the old version's database, and no id is handed out twice. This holds for {window} after the cutover."
            ),
        )
    } else {
        (
            false,
            format!(
                "A rollback would lose what visitors write to {} after the cutover, because the old version's schema has no place for it; every other write is replayed into the old version's database and no id is handed out twice. This holds for {window} after the cutover.",
                listed(&added)
            ),
        )
    };
    let cutover_warning = (!removed.is_empty()).then(|| {
        format!(
            "The cutover stops, with the old version serving and nothing lost, if visitors write to {} before it: the migrated schema has no place for that. A change that removes what the running version writes belongs in a migration release.",
            listed(&removed)
        )
    });
    RollbackStatement { keeps_every_write, needs_acknowledgement: !keeps_every_write, words, cutover_warning }
}

/// What rolling back a production run of `kind` would do to visitors' writes. A
/// low-downtime migration's depends on what its migration changed, `None` until measured.
pub fn rollback_statement(kind: WorkflowKind, difference: Option<&SchemaDifference>, window_hours: u32) -> RollbackStatement {
    let keeps = |words: &str| RollbackStatement {
        keeps_every_write: true,
        needs_acknowledgement: false,
        words: words.to_owned(),
        cutover_warning: None,
    };
    match (kind, difference) {
        (WorkflowKind::LowDowntimeMigration, Some(difference)) => low_downtime_statement(difference, window_hours),
        (WorkflowKind::LowDowntimeMigration, None) => RollbackStatement {
            keeps_every_write: false,
            needs_acknowledgement: true,
            words: "What a rollback would keep is not measured yet: the rehearsal did not compare the migrated schema with production's. Rehearse again to see it before approving.".into(),
            cutover_warning: None,
        },
        (WorkflowKind::Migration, _) => snapshot_restore_statement(),
        (WorkflowKind::NoMigration, _) => keeps(
            "A rollback keeps every write: it swaps back and, with requests held, copies the data written on the new version back to the old one.",
        ),
        (WorkflowKind::BlueGreen | WorkflowKind::Rollout, _) => keeps(
            "A rollback keeps every write: both versions serve from one database, which a rollback leaves as it is (an expand migration's additions stay).",
        ),
        (WorkflowKind::MinorPatch, _) => keeps("A rollback keeps every write: it puts the previous release back on the same data."),
    }
}

/// The longest capture window a site may set: a capture holds a replication slot (and the
/// server's write-ahead log behind it) or a binary log position for as long.
pub const MAX_CAPTURE_WINDOW_HOURS: u32 = 24 * 30;

/// A site's capture window as support staff set it, checked: a whole number of hours from 1
/// to 30 days.
pub fn checked_capture_window(hours: u32) -> Result<u32, String> {
    if (1..=MAX_CAPTURE_WINDOW_HOURS).contains(&hours) {
        Ok(hours)
    } else {
        Err(format!(
            "a capture window of {hours} hours is out of range; use a whole number of hours from 1 to {MAX_CAPTURE_WINDOW_HOURS} (30 days), e.g. 24"
        ))
    }
}

/// A low-downtime migration's statement once its capture window closed at `closed_at`.
pub fn window_closed_statement(closed_at: &str) -> RollbackStatement {
    RollbackStatement {
        keeps_every_write: false,
        needs_acknowledgement: true,
        words: format!(
            "The capture window closed at {closed_at}: a rollback would put the old version back on its database as it was at the cutover, losing every write visitors made since."
        ),
        cutover_warning: None,
    }
}

/// A plain migration's statement: its rollback restores the snapshot taken before it.
pub fn snapshot_restore_statement() -> RollbackStatement {
    RollbackStatement {
        keeps_every_write: false,
        needs_acknowledgement: true,
        words: "A rollback restores the database snapshot taken before the migration: every write visitors make after production returns is lost, and ids handed out since may be handed out again. A low-downtime migration release keeps them.".into(),
        cutover_warning: None,
    }
}

fn window_words(hours: u32) -> String {
    match hours {
        1 => "one hour".into(),
        h if h % 24 == 0 && h >= 48 => format!("{} days", h / 24),
        24 => "one day".into(),
        h => format!("{h} hours"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn difference(added: Vec<TableDifference>, removed: Vec<TableDifference>) -> SchemaDifference {
        SchemaDifference { databases: vec![DatabaseDifference { database: "default".into(), added, removed }] }
    }

    fn columns(table: &str, columns: &[&str]) -> TableDifference {
        TableDifference { table: table.into(), columns: columns.iter().map(|c| c.to_string()).collect() }
    }

    #[test]
    fn a_migration_that_adds_nothing_keeps_every_write() {
        let statement = low_downtime_statement(&SchemaDifference::default(), 24);
        assert!(statement.keeps_every_write && !statement.needs_acknowledgement);
        assert!(statement.words.contains("keeps every write") && statement.words.contains("one day"), "{}", statement.words);
        assert_eq!(statement.cutover_warning, None);
    }

    #[test]
    fn added_columns_and_tables_are_named_as_what_a_rollback_loses() {
        let diff = difference(vec![columns("notes", &["title", "pinned"]), columns("tags", &[])], vec![]);
        let statement = low_downtime_statement(&diff, 72);
        assert!(!statement.keeps_every_write && statement.needs_acknowledgement);
        assert!(statement.words.contains("notes.title, notes.pinned; table tags"), "{}", statement.words);
        assert!(statement.words.contains("3 days"), "{}", statement.words);
    }

    #[test]
    fn removed_columns_warn_that_the_cutover_may_stop() {
        let diff = difference(vec![], vec![columns("notes", &["legacy"])]);
        let statement = low_downtime_statement(&diff, 5);
        assert!(statement.keeps_every_write, "a rollback has a place for everything the new schema holds");
        let warning = statement.cutover_warning.expect("a cutover warning");
        assert!(warning.contains("notes.legacy") && warning.contains("nothing lost"), "{warning}");
        assert!(statement.words.contains("5 hours"));
    }

    #[test]
    fn every_workflow_says_what_its_rollback_does() {
        for kind in WorkflowKind::ALL {
            let statement = rollback_statement(kind, None, DEFAULT_CAPTURE_WINDOW_HOURS);
            let loses = matches!(kind, WorkflowKind::Migration | WorkflowKind::LowDowntimeMigration);
            assert_eq!(statement.needs_acknowledgement, loses, "{kind}: {}", statement.words);
            assert!(statement.words.starts_with("A rollback") || statement.words.starts_with("What a rollback"), "{kind}");
        }
        let measured = rollback_statement(WorkflowKind::LowDowntimeMigration, Some(&SchemaDifference::default()), 24);
        assert!(measured.keeps_every_write && !measured.needs_acknowledgement);
    }

    #[test]
    fn capture_windows_are_whole_hours_up_to_thirty_days() {
        assert_eq!(checked_capture_window(24), Ok(24));
        assert_eq!(checked_capture_window(MAX_CAPTURE_WINDOW_HOURS), Ok(720));
        for bad in [0, MAX_CAPTURE_WINDOW_HOURS + 1] {
            assert!(checked_capture_window(bad).unwrap_err().contains("from 1 to 720"), "{bad}");
        }
        assert!(window_closed_statement("2026-12-02T10:00:00Z").needs_acknowledgement);
    }

    #[test]
    fn a_snapshot_restore_always_needs_acknowledging() {
        let statement = snapshot_restore_statement();
        assert!(!statement.keeps_every_write && statement.needs_acknowledgement);
    }
}
