//! Replay of a live site's captured changes into a migrated copy, through a real agent
//! process: capture starts on production, a copy is taken while a writer goes on at 60 writes
//! a second, the copy is migrated (a new column with a default), and the agent's replay brings
//! every production row into it with the new column at its default, ids never handed out
//! twice. A change the copy refuses stops the replay with its number and the database's
//! reason, nothing of its batch applied, and a retry after the fix goes on from there.
//! SQLite files, and PostgreSQL and MariaDB databases on real servers the tests start.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use switchyard_agent::api::{CreateEnv, EnvConfig, ReplayChanges, StartCapture, StopCapture};
use switchyard_agent::capture::sqlite;
use switchyard_agent::databases::{Catalog, Consistency, DatabaseBinding, DatabaseKind, ServerConfig};
use switchyard_agent::test_servers::TestServer;

use crate::change_capture::{live_site, write, write_at_pace, write_mariadb, WRITES};
use crate::site_databases::client;
use crate::support::{free_port, TestAgent};

const PER_SECOND: u64 = 60;

fn replay(from: &str, op_id: &str, after: u64) -> ReplayChanges {
    ReplayChanges { op_id: op_id.into(), from: from.into(), database: None, after, drop_unknown_columns: false, resume: false }
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

/// The site's own login, writing one statement at a time through its client session.
fn site_session(c: &ServerConfig, password: &str) -> std::process::Child {
    let (tool, args, secret) = match c.kind {
        DatabaseKind::Postgresql => {
            ("psql", vec!["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", &c.host, "-U", "shop", "-d", "shop", "-p"], "PGPASSWORD")
        }
        DatabaseKind::Mariadb => (
            "mariadb",
            vec!["--no-defaults", "--protocol=tcp", "-h", &c.host, "-u", "shop", "--default-character-set=utf8mb4", "-D", "shop", "-P"],
            "MYSQL_PWD",
        ),
    };
    Command::new(tool)
        .args(args)
        .arg(c.port.to_string())
        .env(secret, password)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect(tool)
}

/// Capture on production under load, a live copy migrated (a new column with a default),
/// the replay into it, its counters, a second replay, and a renamed column refused until fixed.
async fn replays_into_a_migrated_copy(kind: DatabaseKind, notes_table: &str) {
    let server = TestServer::start(kind).unwrap_or_else(|e| panic!("cannot start {kind:?}: {e}"));
    let c = server.config.clone();
    let (mut agent, password) = live_site(&server).await;
    agent.client.start_capture("shop-blue", &StartCapture { op_id: "capture".into() }).await.unwrap();
    let mut session = site_session(&c, &password);
    let writer = write_at_pace(&mut session, if kind == DatabaseKind::Mariadb { write_mariadb } else { write });
    tokio::time::sleep(Duration::from_millis(700)).await;

    // The clone, bound to environment shop-green, and its migration, while the writer goes on.
    let catalog = Catalog::load(&agent.root()).unwrap();
    catalog.server("main").unwrap().copy("shop", "shop_copy", "shop", Consistency::Live).await.unwrap();
    let mut config = EnvConfig::new(vec!["false".into()], free_port());
    config.databases = vec![DatabaseBinding {
        name: "default".into(),
        server: "main".into(),
        database: "shop_copy".into(),
        user: "shop".into(),
        owned: false,
    }];
    agent.client.create_env(&CreateEnv { op_id: "create-green".into(), name: "shop-green".into(), config }).await.unwrap();
    let admin =
        |db: &str, sql: &str| client(&c, db, &c.admin_user, &c.admin_password, sql).unwrap_or_else(|| panic!("{sql}\n{}", server.log()));
    admin("shop_copy", "ALTER TABLE notes ADD COLUMN pinned INT NOT NULL DEFAULT 0");
    writer.join().unwrap();
    assert!(session.wait().unwrap().success(), "the site's writes failed");
    agent.restart();

    let notes = |db: &str| admin(db, "SELECT id, body FROM notes ORDER BY id");
    assert_ne!(notes("shop_copy"), notes("shop"), "the copy already held every write: the test proves nothing");
    let done = agent.client.replay_changes("shop-green", &replay("shop-blue", "replay", 0)).await.unwrap();
    assert_eq!((done.applied, done.last_seq, done.refused.as_ref()), (WRITES as u64, WRITES as u64, None), "{done:?}");
    assert_eq!(notes("shop_copy"), notes("shop"), "the migrated copy with the changes replayed is not the live data");
    assert_eq!(admin("shop_copy", "SELECT count(*) FROM notes WHERE pinned <> 0").trim(), "0", "the new column is at its default");
    let highest = agent.client.captured_changes("shop-blue", &Default::default()).await.unwrap().highest_ids[notes_table];
    let moved: Vec<(&str, bool)> = done.moved_counters.iter().map(|m| (m.table.as_str(), m.to >= highest)).collect();
    assert_eq!(moved, [(notes_table, true)], "{done:?}");
    let again = agent.client.replay_changes("shop-green", &replay("shop-blue", "replay", 0)).await.unwrap();
    assert_eq!(again, done, "a retry under the same op id answers the same");

    // A new note in the copy takes an id above every id production handed out.
    admin("shop_copy", "INSERT INTO notes (body) VALUES ('in the copy')");
    let id: i64 = admin("shop_copy", "SELECT id FROM notes WHERE body = 'in the copy'").trim().parse().unwrap();
    assert!(id > highest, "id {id} handed out again (captured up to {highest})");
    admin("shop_copy", "DELETE FROM notes WHERE body = 'in the copy'");
    let twice = agent.client.replay_changes("shop-green", &replay("shop-blue", "replay-twice", 0)).await.unwrap();
    assert_eq!((twice.applied, twice.refused.as_ref()), (WRITES as u64, None));
    assert_eq!(notes("shop_copy"), notes("shop"), "replaying twice changed the data");

    // A column the copy renamed away refuses the change by name; renamed back, the retry goes on.
    let rename = |from: &str, to: &str| match kind {
        DatabaseKind::Mariadb => format!("ALTER TABLE notes CHANGE {from} {to} TEXT NOT NULL"),
        DatabaseKind::Postgresql => format!("ALTER TABLE notes RENAME COLUMN {from} TO {to}"),
    };
    admin("shop_copy", &rename("body", "content"));
    client(&c, "shop", "shop", &password, "INSERT INTO notes (body) VALUES ('after the rename')").unwrap();
    let refused = agent.client.replay_changes("shop-green", &replay("shop-blue", "renamed", done.last_seq)).await.unwrap();
    let refusal = refused.refused.clone().expect("the renamed column is refused");
    assert_eq!((refused.applied, refused.last_seq, refusal.seq), (0, done.last_seq, done.last_seq + 1), "{refused:?}");
    assert!(refusal.reason.contains("no column body"), "{refusal:?}");
    admin("shop_copy", &rename("content", "body"));
    let fixed = agent.client.replay_changes("shop-green", &replay("shop-blue", "fixed", refused.last_seq)).await.unwrap();
    assert_eq!((fixed.applied, fixed.refused.as_ref()), (1, None), "{fixed:?}");
    assert_eq!(notes("shop_copy"), notes("shop"));
    agent.client.stop_capture("shop-blue", &StopCapture { op_id: "stop".into() }).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgresql_sites_changes_replay_into_its_migrated_copy_with_sequences_moved_past_them() {
    replays_into_a_migrated_copy(DatabaseKind::Postgresql, "public.notes").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mariadb_sites_changes_replay_into_its_migrated_copy_with_auto_increment_moved_past_them() {
    replays_into_a_migrated_copy(DatabaseKind::Mariadb, "notes").await;
}
