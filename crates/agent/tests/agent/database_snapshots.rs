//! A site's server databases in the data operations of a release, on real servers the test
//! starts: a data-volume snapshot before a migration copies the databases the volume's
//! environments are bound to and checks the copy; restoring it brings back schema and data
//! (twice, if asked again); removing the volume's last environment drops the snapshot's
//! copies. And a clone broken off by killing the agent is finished by its retry, with every
//! row, under the same operation id.

use switchyard_agent::api::{CloneEnv, CreateEnv, DestroyEnv, EnvConfig, VolumeSnapshot};
use switchyard_agent::databases::{random_password, Catalog, DatabaseBinding, DatabaseKind};
use switchyard_agent::test_servers::TestServer;

use crate::site_databases::{catalog_with, client, production};
use crate::support::{free_port, TestAgent};

fn live_binding() -> DatabaseBinding {
    DatabaseBinding { name: "default".into(), server: "main".into(), database: "shop".into(), user: "shop".into(), owned: false }
}

/// The names of the databases on the server.
fn databases(server: &TestServer) -> Vec<String> {
    let c = &server.config;
    let sql = match c.kind {
        DatabaseKind::Postgresql => "SELECT datname FROM pg_database ORDER BY 1",
        DatabaseKind::Mariadb => "SELECT schema_name FROM information_schema.SCHEMATA ORDER BY 1",
    };
    let db = if c.kind == DatabaseKind::Postgresql { "postgres" } else { "mysql" };
    client(c, db, &c.admin_user, &c.admin_password, sql).unwrap().lines().map(str::to_owned).collect()
}

async fn snapshot_and_restore(kind: DatabaseKind) {
    let server = TestServer::start(kind).unwrap_or_else(|e| panic!("cannot start a {} test server: {e}", kind.as_str()));
    let agent = TestAgent::start();
    let c = &agent.client;
    let password = random_password();
    catalog_with(&agent.root(), &server, &password);
    production(&server, &password);
    let site = |sql: &str| client(&server.config, "shop", "shop", &password, sql).unwrap_or_else(|| panic!("{sql}\n{}", server.log()));
    let before_dbs = databases(&server);

    // Production keeps its files on volume `shop` and its rows in database `shop`.
    let mut config = EnvConfig::new(vec!["false".into()], free_port());
    config.volume = Some("shop".into());
    config.databases = vec![live_binding()];
    c.create_env(&CreateEnv { op_id: "create".into(), name: "shop-blue".into(), config }).await.unwrap();

    // The snapshot of the stopped site copies its database and checks the copy.
    let req = VolumeSnapshot { op_id: "snap".into(), snapshot: "r1".into() };
    let taken = c.snapshot_volume("shop", &req).await.unwrap();
    assert!(taken.databases.iter().any(|d| d.starts_with("main:shop in ") && d.contains("500 rows, checked against it")), "{taken:?}");
    let made: Vec<String> = databases(&server).into_iter().filter(|d| !before_dbs.contains(d)).collect();
    assert_eq!(made.len(), 1, "one snapshot database: {made:?}");

    // The migration changes schema and data; the rollback's restore brings both back.
    site("ALTER TABLE notes ADD COLUMN author TEXT");
    site("DELETE FROM notes WHERE id <= 100");
    site("INSERT INTO notes (body, author) VALUES ('written by version 2', 'v2')");
    let given_on_v2: i64 = site("SELECT max(id) FROM notes").parse().unwrap();
    let restore = VolumeSnapshot { op_id: "restore".into(), snapshot: "r1".into() };
    let restored = c.restore_volume("shop", &restore).await.unwrap();
    assert!(restored.databases.iter().any(|d| d.starts_with("main:shop from ") && d.contains("500 rows checked")), "{restored:?}");
    assert_eq!(site("SELECT count(*) FROM notes"), "500");
    assert_eq!(site("SELECT min(id) FROM notes"), "1");
    let columns = match kind {
        DatabaseKind::Postgresql => site("SELECT count(*) FROM information_schema.columns WHERE table_name = 'notes'"),
        DatabaseKind::Mariadb => {
            site("SELECT count(*) FROM information_schema.COLUMNS WHERE table_schema = 'shop' AND table_name = 'notes'")
        }
    };
    assert_eq!(columns, "2", "the migration's column survived the restore");
    // The site's own login owns its data again and writes on, without handing out again an
    // id given to a row written since the snapshot.
    site("INSERT INTO notes (body) VALUES ('after the rollback')");
    let next: i64 = site("SELECT max(id) FROM notes").parse().unwrap();
    assert!(next > given_on_v2, "the restored counter handed out id {next} again (given to a row of version 2: {given_on_v2})");

    // Asked again under another id (a second rollback attempt), the same snapshot restores.
    let again = VolumeSnapshot { op_id: "restore-again".into(), snapshot: "r1".into() };
    c.restore_volume("shop", &again).await.unwrap();
    assert_eq!(site("SELECT count(*) FROM notes"), "500");

    // The volume's last environment takes the snapshot's copy along; production's stays.
    c.destroy_env("shop-blue", &DestroyEnv { op_id: "destroy".into(), force: true }).await.unwrap();
    assert_eq!(databases(&server), before_dbs, "the snapshot's database was left behind");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgresql_sites_database_is_in_its_volume_snapshot_and_comes_back_on_restore() {
    snapshot_and_restore(DatabaseKind::Postgresql).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mariadb_sites_database_is_in_its_volume_snapshot_and_comes_back_on_restore() {
    snapshot_and_restore(DatabaseKind::Mariadb).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clone_broken_off_by_killing_the_agent_is_finished_by_its_retry() {
    let server = TestServer::start(DatabaseKind::Postgresql).unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}"));
    let mut agent = TestAgent::start();
    let password = random_password();
    catalog_with(&agent.root(), &server, &password);
    production(&server, &password);
    let site = |sql: &str| client(&server.config, "shop", "shop", &password, sql).unwrap_or_else(|| panic!("{sql}\n{}", server.log()));
    // Enough rows that the copy takes a while.
    site("INSERT INTO notes (body) SELECT repeat(md5(g::text), 8) FROM generate_series(1, 400000) g");
    let rows = site("SELECT count(*) FROM notes");
    let before_dbs = databases(&server);

    let mut config = EnvConfig::new(vec!["false".into()], free_port());
    config.databases = vec![live_binding()];
    agent.client.create_env(&CreateEnv { op_id: "create".into(), name: "shop-blue".into(), config }).await.unwrap();
    let clone = CloneEnv { op_id: "clone".into(), target: "shop-green".into(), port: None, share_volume: false };
    let first = {
        let (client, clone) = (agent.client.clone(), clone.clone());
        tokio::spawn(async move { client.clone_env("shop-blue", &clone).await })
    };
    // Killed while the copy is being made: its database exists, the environment not yet.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while databases(&server).len() == before_dbs.len() {
        assert!(std::time::Instant::now() < deadline, "the clone's database never appeared\n{}", agent.log());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    agent.kill();
    assert!(first.await.unwrap().is_err(), "the clone answered although its agent was killed");
    agent.restart();
    let listed = agent.client.list_envs().await.unwrap();
    assert!(!listed.contains(&"shop-green".to_owned()), "a half-made clone is listed: {listed:?}");

    // The retry under the same operation id finishes it, every row there.
    let green = agent.client.clone_env("shop-blue", &clone).await.unwrap_or_else(|e| panic!("the retry failed: {e}\n{}", agent.log()));
    let copy = &green.config.databases[0];
    let catalog = Catalog::load(&agent.root()).unwrap();
    let clone_password = catalog.password("main", &copy.user).unwrap();
    let copied = client(&server.config, &copy.database, &copy.user, clone_password, "SELECT count(*) FROM notes");
    assert_eq!(copied.as_deref(), Some(rows.as_str()), "the finished clone does not hold production's rows");
    // Nothing but the one copy was made.
    assert_eq!(databases(&server).len(), before_dbs.len() + 1, "{:?}", databases(&server));
}
