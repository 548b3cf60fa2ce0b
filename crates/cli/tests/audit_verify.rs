//! `switchyard audit verify` as an operator would run it after a suspected break-in: the real
//! binary on a real database file (offline) and on an exported release record, with rows changed
//! by `sqlite3` behind Switchyard's back.

use std::path::Path;
use std::process::{Command, Output};
use switchyard_store::{NewAuditEntry, NewRelease, NewTransition, Store};

fn switchyard(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_switchyard")).args(args).output().expect("run switchyard");
    eprintln!(
        "$ switchyard {}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// sqlite3 (Debian package, installed by `cargo xtask test`) edits the file independently.
fn sqlite3(database: &Path, sql: &str) {
    let output = Command::new("sqlite3").arg(database).arg(sql).output().expect("sqlite3 is installed");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

async fn recorded(database: &Path) -> i64 {
    let store = Store::open(database).await.unwrap();
    for target in ["site 1", "site 2", "site 3"] {
        let entry = NewAuditEntry { actor: "sue", actor_id: None, action: "site.update", target, detail: "", remote: "127.0.0.1" };
        store.append_audit(&entry).await.unwrap();
    }
    let release = store
        .create_release(&NewRelease {
            uid: "r1",
            site: "shop",
            site_id: None,
            run: "production",
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
    let approve = NewTransition { event: "{\"approve\":\"sam\"}", state: "s1", commands: "[]" };
    store.append_transitions(release.id, 0, &[approve], Some(switchyard_core::workflow::Outcome::Completed)).await.unwrap();
    store.close().await;
    release.id
}

#[tokio::test]
async fn an_edited_database_and_a_tampered_export_are_refused_naming_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("switchyard.db");
    let release_id = recorded(&database).await;
    let db = database.to_str().unwrap();

    let intact = switchyard(&["audit", "verify", "--database", db]);
    assert_eq!(intact.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&intact.stdout);
    assert!(stdout.contains("audit log: 3 rows, head hash ") && stdout.contains("intact"), "{stdout}");
    // The data-directory form finds the same file.
    assert_eq!(switchyard(&["audit", "verify", "--data", dir.path().to_str().unwrap()]).status.code(), Some(0));

    // Exported while intact, the record verifies offline; edited, it is refused.
    let store = Store::open(&database).await.unwrap();
    let export = store.release_record_export(release_id).await.unwrap();
    store.close().await;
    let file = dir.path().join("release.json");
    std::fs::write(&file, serde_json::to_string_pretty(&export).unwrap()).unwrap();
    let checked = switchyard(&["audit", "verify", "--file", file.to_str().unwrap()]);
    assert_eq!(checked.status.code(), Some(0));
    let forged = serde_json::to_string_pretty(&export).unwrap().replace("sam", "mallory");
    std::fs::write(&file, forged).unwrap();
    let refused = switchyard(&["audit", "verify", "--file", file.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stdout).contains(&format!("BROKEN: release_transitions row {release_id}/1")));

    // Who approved, rewritten in the database: the journal row is named.
    sqlite3(&database, "UPDATE release_transitions SET event = '{\"approve\":\"mallory\"}' WHERE seq = 1");
    let broken = switchyard(&["audit", "verify", "--database", db]);
    assert_eq!(broken.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&broken.stdout);
    assert!(stdout.contains(&format!("BROKEN: release_transitions row {release_id}/1: its content does not match its hash")), "{stdout}");

    // An audit row deleted: the row after it is named.
    sqlite3(&database, "DELETE FROM audit_log WHERE id = 2");
    let stdout = String::from_utf8_lossy(&switchyard(&["audit", "verify", "--database", db]).stdout).into_owned();
    assert!(stdout.contains("BROKEN: audit_log row 3: its predecessor hash does not match row 1"), "{stdout}");

    let missing = switchyard(&["audit", "verify", "--database", dir.path().join("nope.db").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
}
