//! The tamper-evident record on a real SQLite file: rows edited, deleted or inserted with raw
//! SQL behind Switchyard's back are each found by `verify_record`, which names the first broken
//! row; an exported release record verifies on its own and a tampered one is refused; rows
//! written before chains existed are chained once, and never again.

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::path::Path;
use switchyard_store::{NewAuditEntry, NewRelease, NewTransition, RecordCheck, Store};

async fn seeded() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("switchyard.db")).await.unwrap();
    for n in 1..=5 {
        let detail = format!("change {n}");
        let entry =
            NewAuditEntry { actor: "sue", actor_id: None, action: "site.update", target: "site 1", detail: &detail, remote: "127.0.0.1" };
        store.append_audit(&entry).await.unwrap();
    }
    for uid in ["r1", "r2"] {
        let release = store
            .create_release(&NewRelease {
                uid,
                site: "shop",
                site_id: None,
                run: "rehearsal",
                workflow: "no-migration",
                document_toml: "site = \"shop\"",
                document_version: 1,
                candidate_sha256: "ab",
                submitted_by: "sue",
                submitted_by_id: None,
                placement: "{}",
                config: "{}",
                state: "s0",
                commands: "[]",
            })
            .await
            .unwrap();
        let steps = [("e1", "s1"), ("e2", "s2"), ("e3", "s3")].map(|(event, state)| NewTransition { event, state, commands: "[]" });
        store.append_transitions(release.id, 0, &steps, None).await.unwrap();
    }
    (dir, store)
}

/// Runs SQL on the file through a connection of its own, as someone with the file would.
async fn behind_the_back(store: &Store, sql: &str) {
    let pool = SqlitePoolOptions::new().connect_with(SqliteConnectOptions::new().filename(store.path())).await.unwrap();
    sqlx::raw_sql(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

/// The one break found, as `(table, row, problem)`.
async fn broken(store: &Store) -> (String, String, String) {
    let check = store.verify_record().await.unwrap();
    assert_eq!(check.breaks.len(), 1, "{check:?}");
    let found = &check.breaks[0];
    (found.table.clone(), found.row.clone(), found.problem.clone())
}

#[tokio::test]
async fn an_untouched_record_verifies_and_reports_its_heads() {
    let (_dir, store) = seeded().await;
    let check: RecordCheck = store.verify_record().await.unwrap();
    assert!(check.intact(), "{check:?}");
    assert_eq!((check.audit_rows, check.releases, check.transitions), (5, 2, 8));
    // Appending moves the head, so a head kept elsewhere shows whether rows came after it.
    let entry = NewAuditEntry { actor: "sue", actor_id: None, action: "x", target: "y", detail: "", remote: "z" };
    store.append_audit(&entry).await.unwrap();
    let later = store.verify_record().await.unwrap();
    assert!(later.intact());
    assert_ne!(later.audit_head, check.audit_head);
}

#[tokio::test]
async fn an_edited_audit_row_is_named() {
    let (_dir, store) = seeded().await;
    behind_the_back(&store, "UPDATE audit_log SET detail = 'nothing to see' WHERE id = 3").await;
    let (table, row, problem) = broken(&store).await;
    assert_eq!((table.as_str(), row.as_str()), ("audit_log", "3"));
    assert!(problem.contains("edited"), "{problem}");
}

#[tokio::test]
async fn a_deleted_audit_row_is_named_by_the_row_after_it() {
    let (_dir, store) = seeded().await;
    behind_the_back(&store, "DELETE FROM audit_log WHERE id = 3").await;
    let (table, row, problem) = broken(&store).await;
    assert_eq!((table.as_str(), row.as_str()), ("audit_log", "4"));
    assert!(problem.contains("does not match row 2") && problem.contains("deleted"), "{problem}");
}

#[tokio::test]
async fn an_inserted_audit_row_is_named() {
    let (_dir, store) = seeded().await;
    behind_the_back(
        &store,
        "INSERT INTO audit_log (id, at, actor, action, target, detail, remote) VALUES (6, 'now', 'sue', 'x', 'y', '', 'z')",
    )
    .await;
    let (table, row, problem) = broken(&store).await;
    assert_eq!((table.as_str(), row.as_str()), ("audit_log", "6"));
    assert!(problem.contains("inserted"), "{problem}");

    // Copying a neighbour's hashes onto an inserted row does not help either.
    let (_dir, store) = seeded().await;
    behind_the_back(
        &store,
        "INSERT INTO audit_log (id, at, actor, action, target, detail, remote, prev_hash, row_hash) \
         SELECT 6, at, actor, action, target, 'forged', remote, prev_hash, row_hash FROM audit_log WHERE id = 5",
    )
    .await;
    let (_, row, problem) = broken(&store).await;
    assert_eq!(row, "6");
    assert!(problem.contains("deleted, or this row was inserted"), "{problem}");
}

#[tokio::test]
async fn an_edited_deleted_or_inserted_transition_is_named() {
    let (_dir, store) = seeded().await;
    behind_the_back(&store, "UPDATE release_transitions SET state = 's1-forged' WHERE release_id = 2 AND seq = 1").await;
    let (table, row, problem) = broken(&store).await;
    assert_eq!((table.as_str(), row.as_str()), ("release_transitions", "2/1"));
    assert!(problem.contains("edited"), "{problem}");

    let (_dir, store) = seeded().await;
    behind_the_back(&store, "DELETE FROM release_transitions WHERE release_id = 1 AND seq = 2").await;
    let (_, row, problem) = broken(&store).await;
    assert_eq!(row, "1/3");
    assert!(problem.contains("transition 2 is missing"), "{problem}");

    // The last transition deleted: the chain before it is whole, but the release says more happened.
    let (_dir, store) = seeded().await;
    behind_the_back(&store, "DELETE FROM release_transitions WHERE release_id = 1 AND seq = 3").await;
    let (_, row, problem) = broken(&store).await;
    assert_eq!(row, "1/2");
    assert!(problem.contains("deleted"), "{problem}");

    let (_dir, store) = seeded().await;
    behind_the_back(
        &store,
        "INSERT INTO release_transitions (release_id, seq, event, state, commands, at) VALUES (2, 4, 'approve', 's3', '[]', 'now')",
    )
    .await;
    let (_, row, problem) = broken(&store).await;
    assert_eq!(row, "2/4");
    assert!(problem.contains("inserted"), "{problem}");

    // The release's own fields are the start of its chain: editing what was released shows.
    let (_dir, store) = seeded().await;
    behind_the_back(&store, "UPDATE releases SET candidate_sha256 = 'cd' WHERE id = 1").await;
    let (_, row, problem) = broken(&store).await;
    assert_eq!(row, "1/0");
    assert!(problem.contains("start of the chain"), "{problem}");
}

#[tokio::test]
async fn an_exported_release_record_verifies_offline_and_a_tampered_one_is_refused() {
    let (_dir, store) = seeded().await;
    let export = store.release_record_export(2).await.unwrap();
    assert_eq!(export.transitions.len(), 4);
    let head = export.verify().unwrap();
    assert_eq!(head, export.head_hash);

    let mut edited = export.clone();
    edited.transitions[2].commands = "[\"restore\"]".into();
    let found = edited.verify().unwrap_err();
    assert_eq!((found.row.as_str(), found.problem.contains("edited")), ("2/2", true), "{found}");

    let mut cut = export.clone();
    cut.transitions.truncate(2);
    assert_eq!(cut.verify().unwrap_err().table, "export");

    let mut other = export.clone();
    other.release.submitted_by = "mallory".into();
    assert!(other.verify().unwrap_err().problem.contains("start of the chain"));
}

#[tokio::test]
async fn rows_from_before_chains_are_chained_once_and_later_unhashed_rows_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchyard.db");
    let options = SqliteConnectOptions::new().filename(&path).create_if_missing(true).foreign_keys(true);
    let pool = SqlitePoolOptions::new().connect_with(options).await.unwrap();
    let mut old = Migrator::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite")).await.unwrap();
    // Every migration that landed before the record was chained.
    let before = old.migrations.iter().position(|m| m.description.contains("record chain")).expect("the record chain migration");
    old.migrations = old.migrations[..before].to_vec().into();
    old.run(&pool).await.unwrap();
    sqlx::raw_sql(
        "INSERT INTO audit_log (at, actor, action, target, detail, remote) VALUES ('t1', 'sue', 'a', 'b', '', 'x'), ('t2', 'sue', 'c', 'd', '', 'x');
         INSERT INTO releases (id, uid, site, run, workflow, document_toml, document_version, candidate_sha256, submitted_by,
             placement, config, state, created_at) VALUES (1, 'u1', 'shop', 'rehearsal', 'no-migration', '', 1, 'ab', 'sue', '{}', '{}', 's1', 't1');
         INSERT INTO release_transitions (release_id, seq, event, state, commands, at) VALUES (1, 0, NULL, 's0', '[]', 't1'), (1, 1, 'e', 's1', '[]', 't2');",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = Store::open(&path).await.unwrap();
    let check = store.verify_record().await.unwrap();
    assert!(check.intact(), "{check:?}");
    assert_eq!((check.audit_rows, check.transitions), (2, 2));
    store.close().await;

    // The backfill ran once: a row slipped in later is not chained by the next open.
    let store = Store::open(&path).await.unwrap();
    behind_the_back(&store, "INSERT INTO audit_log (at, actor, action, target, detail, remote) VALUES ('t3', 'sue', 'e', 'f', '', 'x')")
        .await;
    store.close().await;
    let store = Store::open(&path).await.unwrap();
    let (_, row, problem) = broken(&store).await;
    assert_eq!(row, "3");
    assert!(problem.contains("no chain hash"), "{problem}");
}
