//! Replay of a live site's captured changes into a migrated copy, through a real agent
//! process: capture starts on production, a copy is taken while a writer goes on at 60 writes
//! a second, the copy is migrated (a new column with a default), and the agent's replay brings
//! every production row into it with the new column at its default, ids never handed out
//! twice. A change the copy refuses stops the replay with its number and the database's
//! reason, nothing of its batch applied, and a retry after the fix goes on from there.

use std::path::Path;
use std::time::{Duration, Instant};

use switchyard_agent::api::{CreateEnv, EnvConfig, ReplayChanges, StartCapture};
use switchyard_agent::capture::sqlite;

use crate::change_capture::write;
use crate::support::{free_port, TestAgent};

const WRITES: u32 = 300;
const PER_SECOND: u64 = 60;

fn replay(from: &str, op_id: &str, after: u64) -> ReplayChanges {
    ReplayChanges { op_id: op_id.into(), from: from.into(), database: None, after, drop_unknown_columns: false }
}

fn sqlite_env(name: &str) -> CreateEnv {
    let mut config = EnvConfig::new(vec!["false".into()], free_port());
    config.sqlite = vec!["site.db".into()];
    CreateEnv { op_id: format!("create-{name}"), name: name.into(), config }
}

/// `(id, body)` of every note, in id order.
fn notes(path: &Path) -> Vec<(i64, String)> {
    let db = rusqlite::Connection::open(path).unwrap();
    let mut rows = db.prepare("SELECT id, body FROM notes ORDER BY id").unwrap();
    rows.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<rusqlite::Result<_>>().unwrap()
}

fn run(path: &Path, sql: &str) {
    rusqlite::Connection::open(path).unwrap().execute_batch(sql).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sqlite_sites_changes_replay_into_its_migrated_copy_and_a_refusal_stops_until_fixed() {
    let agent = TestAgent::start();
    let c = &agent.client;
    c.create_env(&sqlite_env("shop-blue")).await.unwrap();
    c.create_env(&sqlite_env("shop-green")).await.unwrap();
    let live = agent.root().join("envs/shop-blue/shared/site.db");
    let copy = agent.root().join("envs/shop-green/shared/site.db");
    run(
        &live,
        "PRAGMA journal_mode = WAL; CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL); \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) INSERT INTO notes (body) SELECT 'note ' || i FROM n",
    );
    c.start_capture("shop-blue", &StartCapture { op_id: "capture".into() }).await.unwrap();

    let writer = {
        let live = live.clone();
        std::thread::spawn(move || {
            let db = rusqlite::Connection::open(&live).unwrap();
            db.busy_timeout(Duration::from_secs(10)).unwrap();
            let begun = Instant::now();
            for i in 0..WRITES {
                db.execute_batch(&write(i)).unwrap();
                let due = begun + Duration::from_millis(1000 * (i as u64 + 1) / PER_SECOND);
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    // The clone, taken after capture started while the writer goes on, then its migration.
    rusqlite::Connection::open(&live).unwrap().backup(rusqlite::DatabaseName::Main, &copy, None).unwrap();
    sqlite::stop(&copy).unwrap();
    run(&copy, "ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0");
    writer.join().unwrap();
    assert_ne!(notes(&copy), notes(&live), "the copy already held every write: the test proves nothing");

    let done = c.replay_changes("shop-green", &replay("shop-blue", "replay", 0)).await.unwrap();
    assert_eq!((done.applied, done.last_seq, done.refused.as_ref()), (WRITES as u64, WRITES as u64, None), "{done:?}");
    assert_eq!(notes(&copy), notes(&live), "the migrated copy with the changes replayed is not the live data");
    let pinned: i64 =
        rusqlite::Connection::open(&copy).unwrap().query_row("SELECT count(*) FROM notes WHERE pinned <> 0", [], |r| r.get(0)).unwrap();
    assert_eq!(pinned, 0, "the migration's new column is at its default on every replayed row");
    let highest = c.captured_changes("shop-blue", &Default::default()).await.unwrap().highest_ids["notes"];
    assert_eq!(done.moved_counters.iter().map(|m| (m.table.as_str(), m.to >= highest)).collect::<Vec<_>>(), [("notes", true)], "{done:?}");
    let again = c.replay_changes("shop-green", &replay("shop-blue", "replay", 0)).await.unwrap();
    assert_eq!(again, done, "a retry under the same op id answers the same");

    // Replaying everything once more converges on the same data.
    let twice = c.replay_changes("shop-green", &replay("shop-blue", "replay-twice", 0)).await.unwrap();
    assert_eq!((twice.applied, twice.refused.as_ref()), (WRITES as u64, None));
    assert_eq!(notes(&copy), notes(&live), "replaying twice changed the data");

    // A new note in the copy takes an id above every id production handed out.
    let db = rusqlite::Connection::open(&copy).unwrap();
    db.execute_batch("INSERT INTO notes (body) VALUES ('in the copy')").unwrap();
    assert!(db.last_insert_rowid() > highest, "id {} handed out again (captured up to {highest})", db.last_insert_rowid());
    db.execute_batch("DELETE FROM notes WHERE body = 'in the copy'").unwrap();

    // The copy refuses the second of two new changes: nothing of the batch goes in.
    run(&copy, "CREATE UNIQUE INDEX one_body ON notes (body); INSERT INTO notes (id, body) VALUES (100000, 'taken')");
    run(&live, "INSERT INTO notes (body) VALUES ('fine'); INSERT INTO notes (body) VALUES ('taken')");
    let before = notes(&copy);
    let refused = c.replay_changes("shop-green", &replay("shop-blue", "after-fix", done.last_seq)).await.unwrap();
    let refusal = refused.refused.as_ref().expect("the duplicate is refused");
    assert_eq!((refused.applied, refused.last_seq, refusal.seq, refusal.table.as_str()), (0, done.last_seq, done.last_seq + 2, "notes"));
    assert!(refusal.reason.contains("UNIQUE constraint failed"), "the database's own reason: {refusal:?}");
    assert!(refusal.key.contains_key("id"), "{refusal:?}");
    assert_eq!(notes(&copy), before, "part of the refused batch was applied");
    run(&copy, "DELETE FROM notes WHERE id = 100000");
    let fixed = c.replay_changes("shop-green", &replay("shop-blue", "after-fix-2", refused.last_seq)).await.unwrap();
    assert_eq!((fixed.applied, fixed.last_seq, fixed.refused.as_ref()), (2, done.last_seq + 2, None), "{fixed:?}");
    assert_eq!(notes(&copy), notes(&live));

    // A column the copy has no place for is refused by name, or left out when asked.
    run(&copy, "ALTER TABLE notes RENAME COLUMN body TO text");
    run(&live, "UPDATE notes SET body = 'renamed away' WHERE id = (SELECT max(id) FROM notes)");
    let unknown = c.replay_changes("shop-green", &replay("shop-blue", "unknown", fixed.last_seq)).await.unwrap();
    let reason = unknown.refused.map(|r| r.reason).unwrap_or_default();
    assert!(reason.contains("notes") && reason.contains("no column body"), "{reason}");
    let mut dropping = replay("shop-blue", "dropping", fixed.last_seq);
    dropping.drop_unknown_columns = true;
    let dropped = c.replay_changes("shop-green", &dropping).await.unwrap();
    assert!(dropped.refused.as_ref().is_some_and(|r| r.reason.contains("NOT NULL")), "{dropped:?}");
}
