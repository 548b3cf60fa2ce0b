//! The agent's part of a low-downtime migration's cutover and lossless rollback, through a
//! real agent process, in the order the workflow calls it: capture starts on production, a
//! clone is taken (carrying none of production's capture), migrated and compared with
//! production (what the migration added and removed), the customer's test rows push the
//! clone's id counters ahead, production's changes are replayed into it (counters never moved
//! back), capture starts on the clone (following its migrated schema, and a second start
//! keeps what is in force), and a rollback replays the clone's changes into production while
//! production's own capture still runs, which then stops cleanly; a replay from a stopped
//! capture says the changes are gone. SQLite files (in `shared/` and on a data volume), and
//! PostgreSQL and MariaDB databases on real servers the tests start.

use std::path::Path;

use switchyard_agent::api::{
    CaptureQuery, CloneEnv, CreateEnv, DatabaseDifference, EnvConfig, ReplayChanges, SchemaDifference, StartCapture, StopCapture,
    TableDifference,
};
use switchyard_agent::capture::sqlite;
use switchyard_agent::databases::DatabaseKind;
use switchyard_agent::test_servers::TestServer;
use switchyard_agent::{AgentClient, AgentError};

use crate::change_capture::live_site;
use crate::site_databases::client;
use crate::support::{free_port, TestAgent};

fn replay(from: &str, op_id: &str, drop_unknown_columns: bool) -> ReplayChanges {
    ReplayChanges { op_id: op_id.into(), from: from.into(), database: None, after: 0, drop_unknown_columns, resume: false }
}

fn start(op_id: &str) -> StartCapture {
    StartCapture { op_id: op_id.into() }
}

fn clone(op_id: &str, target: &str) -> CloneEnv {
    CloneEnv { op_id: op_id.into(), target: target.into(), port: None, share_volume: false }
}

fn run(path: &Path, sql: &str) {
    rusqlite::Connection::open(path).unwrap().execute_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn query(path: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(path).unwrap().query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// `(id, body)` of every note, in id order.
fn notes(path: &Path) -> Vec<(i64, String)> {
    let db = rusqlite::Connection::open(path).unwrap();
    let mut rows = db.prepare("SELECT id, body FROM notes ORDER BY id").unwrap();
    rows.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<rusqlite::Result<_>>().unwrap()
}

async fn change_count(c: &AgentClient, env: &str) -> usize {
    c.captured_changes(env, &CaptureQuery { limit: Some(10_000), ..Default::default() }).await.unwrap().changes.len()
}

fn one(database: &str, added: Vec<TableDifference>, removed: Vec<TableDifference>) -> SchemaDifference {
    SchemaDifference { databases: vec![DatabaseDifference { database: database.into(), added, removed }] }
}

fn part(table: &str, columns: &[&str]) -> TableDifference {
    TableDifference { table: table.into(), columns: columns.iter().map(|c| c.to_string()).collect() }
}

/// A refusal's HTTP status and words.
fn refused(e: AgentError) -> (u16, String) {
    match e {
        AgentError::Remote { status, body } => (status, body.message),
        other => panic!("not the agent's refusal: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sqlite_sites_cutover_and_lossless_rollback_through_the_agent() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let mut config = EnvConfig::new(vec!["false".into()], free_port());
    config.sqlite = vec!["site.db".into()];
    c.create_env(&CreateEnv { op_id: "create".into(), name: "shop-blue".into(), config }).await.unwrap();
    let live = agent.root().join("envs/shop-blue/shared/site.db");
    run(
        &live,
        "PRAGMA journal_mode = WAL; CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL); \
         CREATE TABLE visits (page TEXT); \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) INSERT INTO notes (body) SELECT 'note ' || i FROM n",
    );
    let blue = c.start_capture("shop-blue", &start("capture-blue")).await.unwrap();
    for i in 0..10 {
        run(&live, &format!("INSERT INTO notes (body) VALUES ('before the clone {i}')"));
    }

    // The clone carries none of production's capture; production's goes on.
    c.clone_env("shop-blue", &clone("clone", "shop-green")).await.unwrap();
    let copy = agent.root().join("envs/shop-green/shared/site.db");
    assert_eq!(sqlite::traces(&copy).unwrap(), Vec::<String>::new(), "the clone carries production's triggers or change table");
    assert!(!sqlite::traces(&live).unwrap().is_empty(), "cloning removed production's capture");
    run(&live, "INSERT INTO notes (body) VALUES ('after the clone'); UPDATE notes SET body = 'edited' WHERE id = 3");
    assert_eq!(change_count(c, "shop-blue").await, 12, "production's capture stopped recording when it was cloned");

    // The migration, and what it changed as the agent measures it.
    run(&copy, "ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0; CREATE TABLE tags (name TEXT); DROP TABLE visits");
    let migrated = c.schema_difference("shop-green", "shop-blue").await.unwrap();
    let expected = one("shared/site.db", vec![part("notes", &["pinned"]), part("tags", &[])], vec![part("visits", &[])]);
    assert_eq!(migrated, expected, "production's change table is not the site's schema");
    let reverse = c.schema_difference("shop-blue", "shop-green").await.unwrap();
    assert_eq!(reverse, one("shared/site.db", vec![part("visits", &[])], vec![part("notes", &["pinned"]), part("tags", &[])]));
    let unasked = c.schema_difference("shop-green", "shop-green").await.unwrap_err().to_string();
    assert!(unasked.contains("with itself"), "{unasked}");

    // The customer's check wrote test rows: the clone's counter is past every captured id.
    run(&copy, "INSERT INTO notes (id, body) VALUES (5000, 'test row'); DELETE FROM notes WHERE id = 5000");
    // A cutover replays most changes while production serves, then only the rest under its
    // hold: a replay with `resume` goes on after what the first one applied.
    let early = c.replay_changes("shop-green", &ReplayChanges { resume: true, ..replay("shop-blue", "catch-up", false) }).await.unwrap();
    assert_eq!((early.applied, early.last_seq), (12, 12), "{early:?}");
    run(&live, "INSERT INTO notes (body) VALUES ('during the catch-up')");
    let rest = c.replay_changes("shop-green", &ReplayChanges { resume: true, ..replay("shop-blue", "under-hold", false) }).await.unwrap();
    assert_eq!((rest.applied, rest.last_seq), (1, 13), "the second replay applied more than what was written since: {rest:?}");
    run(&live, "DELETE FROM notes WHERE body = 'during the catch-up'");
    let forward = c.replay_changes("shop-green", &replay("shop-blue", "forward", false)).await.unwrap();
    assert_eq!((forward.applied, forward.refused.as_ref()), (14, None), "{forward:?}");
    assert_eq!(notes(&copy), notes(&live), "the migrated clone with production's changes is not production's data");
    let moved: Vec<(&str, i64)> = forward.moved_counters.iter().map(|m| (m.table.as_str(), m.to)).collect();
    assert_eq!(moved, [("notes", 5000)], "the counter was moved back below the customer's test rows");
    assert_eq!(query(&copy, "SELECT seq FROM sqlite_sequence WHERE name = 'notes'"), 5000);

    // Capture on the migrated clone follows its schema, and a later start keeps what is in force.
    let green = c.start_capture("shop-green", &start("capture-green")).await.unwrap();
    run(&copy, "ALTER TABLE notes ADD COLUMN colour TEXT");
    let again = c.start_capture("shop-green", &start("capture-green-again")).await.unwrap();
    assert_eq!(again, green, "a second start under a new op id moved or replaced the capture in force");
    let retried = c.start_capture("shop-blue", &start("capture-blue")).await.unwrap();
    assert_eq!(retried, blue, "a retried start answers the same");
    run(&copy, "INSERT INTO notes (body, pinned, colour) VALUES ('on the new version', 1, 'red'); DELETE FROM notes WHERE id = 1");
    let page = c.captured_changes("shop-green", &CaptureQuery::default()).await.unwrap();
    let row = page.changes[0].row.clone().expect("the insert's row");
    let (pinned, colour) = (row.get("pinned").cloned(), row.get("colour").cloned());
    assert_eq!((pinned, colour), (Some(1.into()), Some("red".into())), "the migrated columns are not captured: {row:?}");
    assert_eq!(row["id"], 5001, "an id handed out again");

    // The rollback: the clone's changes into production, whose own capture still runs.
    let before = change_count(c, "shop-blue").await;
    let strict = c.replay_changes("shop-blue", &replay("shop-green", "rollback-strict", false)).await.unwrap();
    assert!(strict.refused.as_ref().is_some_and(|r| r.reason.contains("no column")), "{strict:?}");
    let back = c.replay_changes("shop-blue", &replay("shop-green", "rollback", true)).await.unwrap();
    assert_eq!((back.applied, back.refused.as_ref()), (2, None), "{back:?}");
    assert_eq!(notes(&live), notes(&copy), "a write on the new version is missing from production after the rollback");
    assert!(change_count(c, "shop-blue").await >= before + 2, "production's capture did not record the replayed writes");
    let stopped = c.stop_capture("shop-blue", &StopCapture { op_id: "stop-blue".into() }).await.unwrap();
    assert_eq!(stopped.removed, ["shared/site.db"]);
    assert_eq!(sqlite::traces(&live).unwrap(), Vec::<String>::new(), "the replay left production's capture unable to stop");
    run(&live, "INSERT INTO notes (body) VALUES ('production serves again')");
    assert!(query(&live, "SELECT max(id) FROM notes") > 5001, "production hands out an id the new version used");

    // After the capture window: the changes are gone, and the replay says so.
    let (status, message) = refused(c.replay_changes("shop-green", &replay("shop-blue", "too-late", false)).await.unwrap_err());
    assert_eq!(status, 409, "{message}");
    assert!(message.contains("shop-blue has no change capture in force"), "{message}");
    c.stop_capture("shop-green", &StopCapture { op_id: "stop-green".into() }).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_clone_of_a_captured_data_volume_starts_without_the_capture() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let mut config = EnvConfig::new(vec!["false".into()], free_port());
    config.volume = Some("shop".into());
    c.create_env(&CreateEnv { op_id: "create".into(), name: "shop-blue".into(), config }).await.unwrap();
    let live = agent.root().join("volumes/shop/site.db");
    run(&live, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('one')");
    let started = c.start_capture("shop-blue", &start("capture")).await.unwrap();
    assert_eq!(started.captures.iter().map(|c| c.database.as_str()).collect::<Vec<_>>(), ["volume/site.db"]);

    let private = c.clone_env("shop-blue", &clone("clone", "shop-green")).await.unwrap();
    let copy = agent.root().join("volumes").join(private.config.volume.unwrap()).join("site.db");
    assert_eq!(notes(&copy), notes(&live));
    assert_eq!(sqlite::traces(&copy).unwrap(), Vec::<String>::new(), "the volume's copy carries production's capture");
    let shared = CloneEnv { op_id: "clone-shared".into(), target: "shop-next".into(), port: None, share_volume: true };
    c.clone_env("shop-blue", &shared).await.unwrap();
    run(&live, "INSERT INTO notes (body) VALUES ('two')");
    assert_eq!(change_count(c, "shop-blue").await, 1, "a clone sharing the volume took production's capture away");
    c.stop_capture("shop-blue", &StopCapture { op_id: "stop".into() }).await.unwrap();
}

/// The same cutover and rollback on a server's database: the clone's copy carries no slot and
/// restores cleanly, the schema difference from the catalogs, counters never moved back.
async fn cutover_and_rollback_on_a_server(kind: DatabaseKind) {
    let server = TestServer::start(kind).unwrap_or_else(|e| panic!("cannot start {kind:?}: {e}"));
    let s = server.config.clone();
    let (agent, password) = live_site(&server).await;
    let c = &agent.client;
    let admin =
        |db: &str, sql: &str| client(&s, db, &s.admin_user, &s.admin_password, sql).unwrap_or_else(|| panic!("{sql}\n{}", server.log()));
    let site = |sql: &str| client(&s, "shop", "shop", &password, sql).unwrap_or_else(|| panic!("{sql}\n{}", server.log()));
    let pg = kind == DatabaseKind::Postgresql;
    let (notes_table, tags_table, visits_table) =
        if pg { ("public.notes", "public.tags", "public.visits") } else { ("notes", "tags", "visits") };
    // A table without a key: PostgreSQL's capture sets it to REPLICA IDENTITY FULL, which the
    // clone's dump carries.
    site("CREATE TABLE visits (page VARCHAR(20) NOT NULL); INSERT INTO visits VALUES ('home')");
    let blue = c.start_capture("shop-blue", &start("capture-blue")).await.unwrap();
    site("INSERT INTO notes (body) VALUES ('before the clone')");

    let green = c.clone_env("shop-blue", &clone("clone", "shop-green")).await.unwrap();
    let copy = green.config.databases[0].database.clone();
    if pg {
        let slots = admin("postgres", "SELECT count(*) FROM pg_replication_slots");
        assert_eq!(slots, "1", "the clone made or carried a replication slot");
    }
    assert_eq!(admin(&copy, "SELECT count(*) FROM visits"), "1", "the captured database did not restore into the clone");
    site("INSERT INTO notes (body) VALUES ('after the clone')");
    assert_eq!(change_count(c, "shop-blue").await, 2, "production's capture stopped recording when it was cloned");
    // A next release's start while this capture runs keeps it, and what it captured.
    assert_eq!(c.start_capture("shop-blue", &start("next-release")).await.unwrap(), blue);
    assert_eq!(change_count(c, "shop-blue").await, 2, "a second start dropped what was captured");

    let (add_pinned, create_tags) =
        ("ALTER TABLE notes ADD COLUMN pinned INT NOT NULL DEFAULT 0", "CREATE TABLE tags (name VARCHAR(20) PRIMARY KEY)");
    admin(&copy, &format!("{add_pinned}; {create_tags}; DROP TABLE visits"));
    let expected = one("default", vec![part(notes_table, &["pinned"]), part(tags_table, &[])], vec![part(visits_table, &[])]);
    assert_eq!(c.schema_difference("shop-green", "shop-blue").await.unwrap(), expected);

    // The customer's test rows moved the clone's counter past every captured id.
    let test_rows = if pg { "SELECT setval('notes_id_seq', 10000)" } else { "ALTER TABLE notes AUTO_INCREMENT = 10001" };
    admin(&copy, test_rows);
    let forward = c.replay_changes("shop-green", &replay("shop-blue", "forward", false)).await.unwrap();
    assert_eq!((forward.applied, forward.refused.as_ref()), (2, None), "{forward:?}");
    let moved: Vec<(&str, i64)> = forward.moved_counters.iter().map(|m| (m.table.as_str(), m.to)).collect();
    assert_eq!(moved, [(notes_table, 10000)], "the counter was moved back below the customer's test rows");
    let notes = |db: &str| admin(db, "SELECT id, body FROM notes ORDER BY id");
    assert_eq!(notes(&copy), notes("shop"), "the migrated clone with production's changes is not production's data");

    c.start_capture("shop-green", &start("capture-green")).await.unwrap();
    admin(&copy, "INSERT INTO notes (body, pinned) VALUES ('on the new version', 1)");
    assert_eq!(admin(&copy, "SELECT max(id) FROM notes"), "10001", "an id handed out again");

    // The rollback into production, whose own capture still runs, then stops cleanly.
    let back = c.replay_changes("shop-blue", &replay("shop-green", "rollback", true)).await.unwrap();
    assert_eq!((back.applied, back.refused.as_ref()), (1, None), "{back:?}");
    assert_eq!(notes("shop"), notes(&copy), "a write on the new version is missing from production after the rollback");
    assert_eq!(back.moved_counters.iter().map(|m| m.to).collect::<Vec<_>>(), [10001]);
    c.stop_capture("shop-blue", &StopCapture { op_id: "stop-blue".into() }).await.unwrap();
    site("INSERT INTO notes (body) VALUES ('production serves again')");
    assert_eq!(site("SELECT max(id) FROM notes"), "10002", "production hands out an id the new version used");

    let (status, message) = refused(c.replay_changes("shop-green", &replay("shop-blue", "too-late", false)).await.unwrap_err());
    assert_eq!(status, 409, "{message}");
    assert!(message.contains("shop-blue has no change capture in force"), "{message}");
    c.stop_capture("shop-green", &StopCapture { op_id: "stop-green".into() }).await.unwrap();
    if pg {
        assert_eq!(admin("postgres", "SELECT count(*) FROM pg_replication_slots"), "0", "a replication slot was left behind");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgresql_sites_cutover_and_lossless_rollback_through_the_agent() {
    cutover_and_rollback_on_a_server(DatabaseKind::Postgresql).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mariadb_sites_cutover_and_lossless_rollback_through_the_agent() {
    cutover_and_rollback_on_a_server(DatabaseKind::Mariadb).await;
}
