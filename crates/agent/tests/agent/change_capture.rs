//! Change capture on a live site's databases, through a real agent process: capture starts,
//! a writer makes inserts, updates and deletes at 60 a second for a few seconds, the agent is
//! killed and restarted in the middle, and the captured changes, replayed in order into a
//! copy taken after the start, give exactly the live data. Stopping leaves no trigger, no
//! change table and no replication slot behind. SQLite (triggers the agent installs),
//! PostgreSQL (a logical slot decoded by wal2json) and MariaDB (its row binary log), on real
//! servers the test starts; and the sample site, running as its own user, writing its SQLite
//! database through HTTP while captured and after.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use switchyard_agent::api::{Activate, CaptureQuery, Change, ChangeOp, CreateEnv, EnvConfig, StartCapture, StopCapture, UnpackRelease};
use switchyard_agent::capture::sqlite;
use switchyard_agent::databases::{random_password, Catalog, Consistency, DatabaseBinding, DatabaseKind};
use switchyard_agent::test_servers::TestServer;
use switchyard_agent::AgentClient;

use crate::site_databases::{catalog_with, client, production};
use crate::support::{add_record, free_port, record_bodies, site_config, site_release, TestAgent};

/// The statement the writer makes as its `i`th write: two inserts, an update and a delete in
/// every four, so all three kinds of change keep coming.
pub(crate) fn write(i: u32) -> String {
    match i % 4 {
        0 | 1 => format!("INSERT INTO notes (body) VALUES ('written live {i}')"),
        2 => format!("UPDATE notes SET body = 'edited live {i}' WHERE id = (SELECT max(id) FROM notes)"),
        _ => "DELETE FROM notes WHERE id = (SELECT min(id) FROM notes)".to_owned(),
    }
}

/// The same writes in MariaDB's words (it cannot read the table a statement changes).
pub(crate) fn write_mariadb(i: u32) -> String {
    match i % 4 {
        0 => format!("INSERT INTO notes (body) VALUES ('written live {i}, it''s \\\\ é\\n')"),
        1 => format!("INSERT INTO notes (body) VALUES ('written live {i}')"),
        2 => format!("UPDATE notes SET body = 'edited live {i}' ORDER BY id DESC LIMIT 1"),
        _ => "DELETE FROM notes ORDER BY id LIMIT 1".to_owned(),
    }
}

pub(crate) const WRITES: u32 = 300;
const PER_SECOND: u64 = 60;

/// Feeds the site's client session its writes at `PER_SECOND`, one statement at a time.
pub(crate) fn write_at_pace(session: &mut std::process::Child, statement: fn(u32) -> String) -> std::thread::JoinHandle<()> {
    let mut input = session.stdin.take().unwrap();
    std::thread::spawn(move || {
        let begun = Instant::now();
        for i in 0..WRITES {
            writeln!(input, "{};", statement(i)).unwrap();
            input.flush().unwrap();
            let due = begun + Duration::from_millis(1000 * (i as u64 + 1) / PER_SECOND);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
    })
}

/// The middle of a server's capture under load: the clone (a consistent copy `shop_copy`
/// owned by `owner`, taken after the start while the writer goes on), a first read, the agent
/// killed and restarted, and the writer let finish.
async fn copy_read_and_restart(agent: &mut TestAgent, owner: &str, writer: std::thread::JoinHandle<()>, mut session: std::process::Child) {
    tokio::time::sleep(Duration::from_millis(700)).await;
    let catalog = Catalog::load(&agent.root()).unwrap();
    catalog.server("main").unwrap().copy("shop", "shop_copy", owner, Consistency::Live).await.unwrap();
    let early = agent.client.captured_changes("shop-blue", &CaptureQuery::default()).await.unwrap();
    assert!(!early.changes.is_empty(), "no change captured after the first writes");
    agent.restart();
    writer.join().unwrap();
    assert!(session.wait().unwrap().success(), "the site's writes failed");
}

/// Every change captured on `database` of `env`, read page by page.
async fn all_changes(client: &AgentClient, env: &str, database: Option<&str>) -> (Vec<Change>, std::collections::BTreeMap<String, i64>) {
    let mut query = CaptureQuery { database: database.map(str::to_owned), after: 0, limit: Some(97) };
    let mut changes = Vec::new();
    loop {
        let page = client.captured_changes(env, &query).await.unwrap();
        changes.extend(page.changes);
        query.after = page.next_after;
        if !page.more {
            let seqs: Vec<u64> = changes.iter().map(|c| c.seq).collect();
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "changes out of order or repeated: {seqs:?}");
            return (changes, page.highest_ids);
        }
    }
}

fn sqlite_value(value: &Value) -> rusqlite::types::Value {
    match value {
        Value::Null => rusqlite::types::Value::Null,
        Value::Bool(b) => rusqlite::types::Value::Integer(*b as i64),
        Value::Number(n) => n.as_i64().map_or_else(|| rusqlite::types::Value::Real(n.as_f64().unwrap()), rusqlite::types::Value::Integer),
        Value::String(s) => rusqlite::types::Value::Text(s.clone()),
        other => panic!("no BLOB or nested value in this test's tables: {other}"),
    }
}

/// Replays changes the way docs/databases.md describes: delete the key, upsert the row.
fn replay_sqlite(copy: &Path, changes: &[Change]) {
    let db = rusqlite::Connection::open(copy).unwrap();
    for change in changes {
        let keys: Vec<&String> = change.key.keys().collect();
        let matching = keys.iter().map(|k| format!("\"{k}\" = ?")).collect::<Vec<_>>().join(" AND ");
        let key_values: Vec<rusqlite::types::Value> = change.key.values().map(sqlite_value).collect();
        db.execute(&format!("DELETE FROM \"{}\" WHERE {matching}", change.table), rusqlite::params_from_iter(key_values)).unwrap();
        if let Some(row) = &change.row {
            let columns = row.keys().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
            let marks = vec!["?"; row.len()].join(", ");
            let values: Vec<rusqlite::types::Value> = row.values().map(sqlite_value).collect();
            let sql = format!("INSERT OR REPLACE INTO \"{}\" ({columns}) VALUES ({marks})", change.table);
            db.execute(&sql, rusqlite::params_from_iter(values)).unwrap();
        }
    }
}

fn notes(path: &Path) -> Vec<(i64, String)> {
    let db = rusqlite::Connection::open(path).unwrap();
    let mut rows = db.prepare("SELECT id, body FROM notes ORDER BY id").unwrap();
    rows.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<rusqlite::Result<_>>().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sqlite_sites_changes_under_load_replay_into_a_copy_as_the_live_data_and_stopping_leaves_no_trace() {
    let mut agent = TestAgent::start();
    let mut config = EnvConfig::new(vec!["false".into()], free_port());
    config.sqlite = vec!["site.db".into()];
    agent.client.create_env(&CreateEnv { op_id: "create".into(), name: "shop-blue".into(), config }).await.unwrap();
    let live = agent.root().join("envs/shop-blue/shared/site.db");
    {
        let db = rusqlite::Connection::open(&live).unwrap();
        db.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL); \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) INSERT INTO notes (body) SELECT 'note ' || i FROM n",
        )
        .unwrap();
    }

    let started = agent.client.start_capture("shop-blue", &StartCapture { op_id: "capture".into() }).await.unwrap();
    assert_eq!(started.captures.len(), 1, "{started:?}");
    assert_eq!((started.captures[0].database.as_str(), started.captures[0].starts_at.as_str()), ("shared/site.db", "0"));
    let again = agent.client.start_capture("shop-blue", &StartCapture { op_id: "capture".into() }).await.unwrap();
    assert_eq!(again, started, "a retried start answers the same");

    // The site's writer: its own connection, as fast as a busy site, while the agent restarts.
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
    // The copy (a clone) is taken after capture started, while the writer goes on.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    rusqlite::Connection::open(&live).unwrap().backup(rusqlite::DatabaseName::Main, &copy, None).unwrap();
    sqlite::stop(&copy).unwrap();
    let early = agent.client.captured_changes("shop-blue", &CaptureQuery::default()).await.unwrap();
    assert!(!early.changes.is_empty(), "no change captured after 0.7 s of writes");
    agent.restart();
    writer.join().unwrap();

    let (changes, highest) = all_changes(&agent.client, "shop-blue", None).await;
    assert_eq!(changes.len() as u32, WRITES, "one change per write, none lost across the restart");
    for op in [ChangeOp::Insert, ChangeOp::Update, ChangeOp::Delete] {
        assert!(changes.iter().any(|c| c.op == op), "no {op:?} captured");
    }
    let live_notes = notes(&live);
    assert_ne!(notes(&copy), live_notes, "the copy already held every write: the test proves nothing");
    replay_sqlite(&copy, &changes);
    assert_eq!(notes(&copy), live_notes, "the copy with the changes replayed is not the live data");
    assert!(highest["notes"] >= live_notes.last().unwrap().0, "{highest:?}");

    let info = agent.client.agent_info().await.unwrap();
    assert_eq!(info.captures.iter().map(|c| c.env.as_str()).collect::<Vec<_>>(), ["shop-blue"], "the capture in force is shown");
    let stopped = agent.client.stop_capture("shop-blue", &StopCapture { op_id: "stop".into() }).await.unwrap();
    assert_eq!(stopped.removed, ["shared/site.db"]);
    assert_eq!(sqlite::traces(&live).unwrap(), Vec::<String>::new(), "triggers or change table left behind");
    agent.client.stop_capture("shop-blue", &StopCapture { op_id: "stop-again".into() }).await.unwrap();
    assert!(agent.client.agent_info().await.unwrap().captures.is_empty());
    assert!(agent
        .client
        .captured_changes("shop-blue", &CaptureQuery::default())
        .await
        .unwrap_err()
        .to_string()
        .contains("no change capture"));
    rusqlite::Connection::open(&live).unwrap().execute_batch("INSERT INTO notes (body) VALUES ('after capture')").unwrap();
}

/// A JSON value as a PostgreSQL literal (the column's type converts it).
fn pg_literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        other => format!("'{other}'"),
    }
}

fn pg_name(table: &str) -> String {
    table.split('.').map(|part| format!("\"{part}\"")).collect::<Vec<_>>().join(".")
}

/// How a server's SQL writes names and values.
struct Dialect {
    begin: &'static str,
    name: fn(&str) -> String,
    literal: fn(&Value) -> String,
    /// `=` where NULL never occurs in a key, `<=>` where a whole keyless row is the key.
    equals: &'static str,
}

const POSTGRES: Dialect = Dialect { begin: "BEGIN", name: pg_name, literal: pg_literal, equals: "=" };
const MARIADB: Dialect = Dialect { begin: "START TRANSACTION", name: mariadb_name, literal: mariadb_literal, equals: "<=>" };

/// The same replay as SQL: delete the row at the key (one row: a keyless table may hold
/// copies), then insert the row.
fn replay_sql(changes: &[Change], d: &Dialect) -> String {
    let mut script = format!("{};\n", d.begin);
    for change in changes {
        let table = (d.name)(&change.table);
        // An insert into a table without a key names no row to replace.
        if !change.key.is_empty() {
            let matching = change
                .key
                .iter()
                .map(|(k, v)| format!("{} {} {}", (d.name)(k), d.equals, (d.literal)(v)))
                .collect::<Vec<_>>()
                .join(" AND ");
            let one = if d.equals == "=" {
                format!("ctid = (SELECT ctid FROM {table} WHERE {matching} LIMIT 1)")
            } else {
                format!("{matching} LIMIT 1")
            };
            script.push_str(&format!("DELETE FROM {table} WHERE {one};\n"));
        }
        if let Some(row) = &change.row {
            let columns = row.keys().map(|c| (d.name)(c)).collect::<Vec<_>>().join(", ");
            let values = row.values().map(d.literal).collect::<Vec<_>>().join(", ");
            script.push_str(&format!("INSERT INTO {table} ({columns}) VALUES ({values});\n"));
        }
    }
    script.push_str("COMMIT;\n");
    script
}

/// A site `shop-blue` bound to database `shop` (500 notes) of a real server, and its password.
pub(crate) async fn live_site(server: &TestServer) -> (TestAgent, String) {
    let agent = TestAgent::start();
    let password = random_password();
    catalog_with(&agent.root(), server, &password);
    production(server, &password);
    let mut config = EnvConfig::new(vec!["false".into()], free_port());
    config.databases =
        vec![DatabaseBinding { name: "default".into(), server: "main".into(), database: "shop".into(), user: "shop".into(), owned: false }];
    agent.client.create_env(&CreateEnv { op_id: "create".into(), name: "shop-blue".into(), config }).await.unwrap();
    (agent, password)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgresql_sites_changes_under_load_replay_into_a_copy_as_the_live_data_and_stopping_drops_the_slot() {
    let server = TestServer::start(DatabaseKind::Postgresql).unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}"));
    let c = server.config.clone();
    let admin = |db: &str, sql: &str| client(&c, db, &c.admin_user, &c.admin_password, sql);
    let (mut agent, password) = live_site(&server).await;
    // A table without a primary key: capture names its rows by their old values.
    let keyless = "CREATE TABLE visits (page text NOT NULL, n int NOT NULL); INSERT INTO visits VALUES ('home', 0), ('about', 0)";
    client(&c, "shop", "shop", &password, keyless).unwrap();
    let identity = || admin("shop", "SELECT relreplident FROM pg_class WHERE relname = 'visits'").unwrap();

    let started = agent.client.start_capture("shop-blue", &StartCapture { op_id: "capture".into() }).await.unwrap();
    assert_eq!(started.captures[0].database, "default");
    assert_eq!(identity(), "f", "a table without a key is captured with REPLICA IDENTITY FULL");
    assert!(started.captures[0].starts_at.contains('/'), "the start is a WAL position: {started:?}");
    let slots = || admin("postgres", "SELECT count(*) FROM pg_replication_slots").unwrap();
    assert_eq!(slots(), "1", "the capture's slot");

    // The site's own login writes through one psql session, one statement at a time.
    let mut session = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", &c.host, "-p", &c.port.to_string(), "-U", "shop", "-d", "shop"])
        .env("PGPASSWORD", &password)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("psql");
    let writer = write_at_pace(&mut session, write);
    copy_read_and_restart(&mut agent, &c.admin_user, writer, session).await;
    let catalog = Catalog::load(&agent.root()).unwrap();
    let pg = catalog.server("main").unwrap();
    let visits = "UPDATE visits SET n = n + 1 WHERE page = 'home'; DELETE FROM visits WHERE page = 'about'; INSERT INTO visits VALUES ('contact', 1)";
    client(&c, "shop", "shop", &password, visits).unwrap();

    let (changes, highest) = all_changes(&agent.client, "shop-blue", Some("default")).await;
    assert_eq!(changes.len() as u32, WRITES + 3, "one change per write, none lost across the restart");
    for op in [ChangeOp::Insert, ChangeOp::Update, ChangeOp::Delete] {
        assert!(changes.iter().any(|c| c.op == op), "no {op:?} captured");
    }
    let (notes, visits): (Vec<&Change>, Vec<&Change>) = changes.iter().partition(|c| c.table == "public.notes");
    assert!(notes.iter().all(|c| c.key.keys().eq(["id"])), "{:?}", notes.first());
    assert_eq!(
        visits.iter().map(|c| Value::Object(c.key.clone())).collect::<Vec<_>>(),
        [serde_json::json!({"page": "home", "n": 0}), serde_json::json!({"page": "about", "n": 0}), serde_json::json!({}),]
    );
    let before = pg.stats("shop_copy").await.unwrap();
    assert!(before.verify_copy_of(&pg.stats("shop").await.unwrap()).is_err(), "the copy already held every write: the test proves nothing");
    admin("shop_copy", &replay_sql(&changes, &POSTGRES)).expect("the replay applies");
    let (live, copied) = (pg.stats("shop").await.unwrap(), pg.stats("shop_copy").await.unwrap());
    assert_eq!(copied.verify_copy_of(&live), Ok(()), "the copy with the changes replayed is not the live data");
    let max_id: i64 = admin("shop", "SELECT max(id) FROM notes").unwrap().parse().unwrap();
    assert!(highest["public.notes"] >= max_id, "{highest:?} below {max_id}");

    let stopped = agent.client.stop_capture("shop-blue", &StopCapture { op_id: "stop".into() }).await.unwrap();
    assert_eq!(stopped.removed, ["default"]);
    assert_eq!(slots(), "0", "the replication slot was left behind, holding the WAL");
    assert_eq!(identity(), "d", "the table's replica identity was not set back");
    agent.client.stop_capture("shop-blue", &StopCapture { op_id: "stop-again".into() }).await.unwrap();
    assert!(agent.client.agent_info().await.unwrap().captures.is_empty());
    assert!(!agent.root().join("captures/shop-blue").exists(), "the agent's change log was left behind");
}

/// A JSON value as a MariaDB literal (backslashes escape in its strings).
fn mariadb_literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        // Whatever the client's character set, bytes given as hex arrive as they are.
        Value::String(s) if !s.is_ascii() => format!("CONVERT(X'{}' USING utf8mb4)", hex::encode(s.as_bytes())),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
        Value::Object(blob) => format!("X'{}'", blob["$hex"].as_str().unwrap()),
        other => format!("'{other}'"),
    }
}

fn mariadb_name(name: &str) -> String {
    format!("`{name}`")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mariadb_sites_changes_under_load_replay_from_the_binary_log_into_a_copy_as_the_live_data() {
    let server = TestServer::start(DatabaseKind::Mariadb).unwrap_or_else(|e| panic!("cannot start MariaDB: {e}"));
    let c = server.config.clone();
    let (mut agent, password) = live_site(&server).await;
    let keyless = "CREATE TABLE visits (page VARCHAR(20) NOT NULL, n INT UNSIGNED NOT NULL, pic BLOB) ENGINE=InnoDB; \
                   INSERT INTO visits VALUES ('home', 0, NULL), ('about', 0, NULL)";
    client(&c, "shop", "shop", &password, keyless).unwrap();

    let started = agent.client.start_capture("shop-blue", &StartCapture { op_id: "capture".into() }).await.unwrap();
    assert!(started.captures[0].starts_at.contains(':'), "the start is a binary log position: {started:?}");

    let mut session = Command::new("mariadb")
        .args([
            "--no-defaults",
            "--protocol=tcp",
            "-h",
            &c.host,
            "-P",
            &c.port.to_string(),
            "-u",
            "shop",
            "--default-character-set=utf8mb4",
            "shop",
        ])
        .env("MYSQL_PWD", &password)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("mariadb");
    let writer = write_at_pace(&mut session, write_mariadb);
    copy_read_and_restart(&mut agent, "shop", writer, session).await;
    let catalog = Catalog::load(&agent.root()).unwrap();
    let db = catalog.server("main").unwrap();
    let visits = "UPDATE visits SET n = 4294967295, pic = x'00ff27' WHERE page = 'home'; DELETE FROM visits WHERE page = 'about'; \
                  INSERT INTO visits VALUES ('contact', 1, NULL)";
    client(&c, "shop", "shop", &password, visits).unwrap();

    let (changes, highest) = all_changes(&agent.client, "shop-blue", Some("default")).await;
    assert_eq!(changes.len() as u32, WRITES + 3, "one change per write, none lost across the restart");
    let (notes, visits): (Vec<&Change>, Vec<&Change>) = changes.iter().partition(|c| c.table == "notes");
    assert!(notes.iter().all(|c| c.key.keys().eq(["id"])), "{:?}", notes.first());
    assert!(
        notes.iter().any(|c| c.row.as_ref().is_some_and(|r| r["body"].as_str().is_some_and(|b| b.ends_with("it's \\ é\n")))),
        "text arrives intact"
    );
    assert_eq!(visits[0].row.as_ref().unwrap()["pic"], serde_json::json!({"$hex": "00FF27"}));
    assert_eq!(visits[0].row.as_ref().unwrap()["n"], serde_json::json!(4294967295u64));
    let before = db.stats("shop_copy").await.unwrap();
    assert!(before.verify_copy_of(&db.stats("shop").await.unwrap()).is_err(), "the copy already held every write: the test proves nothing");
    let admin = client(&c, "shop_copy", &c.admin_user, &c.admin_password, &replay_sql(&changes, &MARIADB));
    admin.expect("the replay applies");
    let (live, copied) = (db.stats("shop").await.unwrap(), db.stats("shop_copy").await.unwrap());
    assert_eq!(copied.verify_copy_of(&live), Ok(()), "the copy with the changes replayed is not the live data");
    let max_id: i64 = client(&c, "shop", "shop", &password, "SELECT max(id) FROM notes").unwrap().parse().unwrap();
    assert!(highest["notes"] >= max_id, "{highest:?} below {max_id}");

    let stopped = agent.client.stop_capture("shop-blue", &StopCapture { op_id: "stop".into() }).await.unwrap();
    assert_eq!(stopped.removed, ["default"]);
    assert!(agent.client.agent_info().await.unwrap().captures.is_empty());
    assert!(!agent.root().join("captures/shop-blue").exists(), "the agent's change log was left behind");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sample_site_running_as_its_own_user_keeps_writing_while_captured_and_after() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let port = free_port();
    c.create_env(&CreateEnv { op_id: "create".into(), name: "shop-blue".into(), config: site_config(port) }).await.unwrap();
    let (bytes, sha) = site_release("1.0.0", 1);
    c.upload_bytes(bytes, &sha).await.unwrap();
    c.unpack_release("shop-blue", &UnpackRelease { op_id: "unpack".into(), release_id: "r1".into(), sha256: sha, limits: None })
        .await
        .unwrap();
    c.activate("shop-blue", &Activate { op_id: "activate".into(), release_id: "r1".into() }).await.unwrap();
    c.start("shop-blue", "start").await.unwrap();
    add_record(port, "before capture").await;

    // The agent (root) installs the triggers in the file the site (its own user) holds open.
    c.start_capture("shop-blue", &StartCapture { op_id: "capture".into() }).await.unwrap();
    for i in 0..20 {
        add_record(port, &format!("captured {i}")).await;
    }
    let page = c.captured_changes("shop-blue", &CaptureQuery::default()).await.unwrap();
    let bodies: Vec<&str> = page.changes.iter().filter_map(|ch| ch.row.as_ref()?.get("body")?.as_str()).collect();
    assert_eq!(bodies.len(), 20, "every write through the site is captured: {:?}", page.changes);
    assert!(bodies.iter().enumerate().all(|(i, b)| *b == format!("captured {i}")), "{bodies:?}");

    c.stop_capture("shop-blue", &StopCapture { op_id: "stop".into() }).await.unwrap();
    // The site can still write its own database: nothing the agent touched became root's.
    add_record(port, "after capture").await;
    c.restart("shop-blue", "restart").await.unwrap();
    add_record(port, "after a restart").await;
    assert_eq!(record_bodies(port).await.len(), 23);
    let live = agent.root().join("envs/shop-blue/shared/site.db");
    assert!(sqlite::traces(&live).unwrap().is_empty());
}
