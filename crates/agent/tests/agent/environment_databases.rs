//! Environments whose site keeps its data in PostgreSQL, on a real server the test starts: the
//! site and its steps get the connection in their environment; a private clone (a rehearsal)
//! gets a copy of the database under a login of its own and never writes to production's; a
//! sync puts production's data back into the clone, checked table by table; a clone that
//! shares its data (blue-green) keeps production's database; removing the clone drops its copy
//! and login and nothing else; a request cannot mark a live database the agent's to drop.

use switchyard_agent::api::{Activate, CloneEnv, CreateEnv, DestroyEnv, EnvConfig, RunStep, SyncEnv, UnpackRelease};
use switchyard_agent::databases::{random_password, DatabaseBinding, DatabaseKind};
use switchyard_agent::test_servers::TestServer;

use crate::site_databases::{catalog_with, client, production};
use crate::support::{free_port, tar_gz, TestAgent};

fn step(id: &str, script: &str) -> RunStep {
    RunStep { op_id: id.into(), command: vec!["sh".into(), "-c".into(), script.into()], timeout_secs: 60, env: Default::default() }
}

async fn run(agent: &TestAgent, env: &str, id: &str, script: &str) -> String {
    let result = agent.client.run_step(env, &step(id, script), |_| {}).await.unwrap();
    assert_eq!(result.code, Some(0), "{script} in {env}: {result:?}");
    result.stdout.trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rehearsal_clone_gets_its_own_copy_of_a_postgresql_database_and_removing_it_leaves_production_alone() {
    let server = TestServer::start(DatabaseKind::Postgresql).unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}"));
    let admin = |sql: &str| client(&server.config, "postgres", &server.config.admin_user, &server.config.admin_password, sql);
    let agent = TestAgent::start();
    let c = &agent.client;
    let password = random_password();
    catalog_with(&agent.root(), &server, &password);
    production(&server, &password);

    // Production: bound to the live database the operator declared.
    let live =
        DatabaseBinding { name: "default".into(), server: "main".into(), database: "shop".into(), user: "shop".into(), owned: false };
    let mut config = EnvConfig::new(vec!["false".into()], free_port());
    config.databases = vec![live.clone()];
    c.create_env(&CreateEnv { op_id: "create".into(), name: "shop-blue".into(), config }).await.unwrap();
    let (bytes, sha) = tar_gz(&[("README", b"a site that keeps its data in PostgreSQL\n", 0o644)]);
    c.upload_bytes(bytes, &sha).await.unwrap();
    c.unpack_release("shop-blue", &UnpackRelease { op_id: "unpack".into(), release_id: "r1".into(), sha256: sha, limits: None })
        .await
        .unwrap();
    c.activate("shop-blue", &Activate { op_id: "activate".into(), release_id: "r1".into() }).await.unwrap();
    let url = run(&agent, "shop-blue", "url", "echo \"$DATABASE_URL\"").await;
    assert!(url.starts_with("postgres://shop:") && url.ends_with(&format!(":{}/shop", server.config.port)), "{url}");
    assert_eq!(run(&agent, "shop-blue", "count", "psql -X -A -t -c 'select count(*) from notes'").await, "500");

    // A rehearsal's clone: its own database and login; its writes stay there.
    let clone = CloneEnv { op_id: "clone".into(), target: "shop-green".into(), port: None, share_volume: false };
    let green = c.clone_env("shop-blue", &clone).await.unwrap();
    let copy = green.config.databases[0].clone();
    assert!(copy.owned && copy.database != "shop" && copy.user != "shop", "{copy:?}");
    let green_url = run(&agent, "shop-green", "url-green", "echo \"$DATABASE_URL\"").await;
    assert!(green_url.contains(&format!("/{}", copy.database)) && !green_url.contains(&password), "{green_url}");
    run(&agent, "shop-green", "write", "psql -X -q -c \"insert into notes (body) values ('rehearsal only')\"").await;
    assert_eq!(run(&agent, "shop-green", "count-green", "psql -X -A -t -c 'select count(*) from notes'").await, "501");
    assert_eq!(client(&server.config, "shop", "shop", &password, "select count(*) from notes").as_deref(), Some("500"));
    // The clone's login cannot read production's tables.
    let peek = run(&agent, "shop-green", "peek", "psql -X -A -t -d shop -c 'select count(*) from notes' 2>&1 || true").await;
    assert!(peek.contains("permission denied"), "the rehearsal's login read production: {peek}");

    // A sync (writes held) makes the clone production's data again, checked.
    client(&server.config, "shop", "shop", &password, "insert into notes (body) values ('written in production meanwhile')").unwrap();
    let synced = c.sync_env("shop-green", &SyncEnv { op_id: "sync".into(), from: "shop-blue".into() }).await.unwrap();
    assert!(synced.databases.iter().any(|d| d.contains(&copy.database) && d.contains("501 rows checked")), "{synced:?}");
    assert_eq!(run(&agent, "shop-green", "count-synced", "psql -X -A -t -c 'select count(*) from notes'").await, "501");

    // Blue-green: the new version shares production's database.
    let shared = CloneEnv { op_id: "clone-shared".into(), target: "shop-next".into(), port: None, share_volume: true };
    assert_eq!(c.clone_env("shop-blue", &shared).await.unwrap().config.databases, vec![live.clone()]);
    c.destroy_env("shop-next", &DestroyEnv { op_id: "destroy-next".into(), force: false }).await.unwrap();

    // A clone sharing the rehearsal's data uses its copy but never takes it away with it.
    let sharing = CloneEnv { op_id: "clone-sharing".into(), target: "shop-check".into(), port: None, share_volume: true };
    let check = c.clone_env("shop-green", &sharing).await.unwrap();
    assert_eq!(check.config.databases[0].database, copy.database);
    assert!(!check.config.databases[0].owned, "a sharing clone claims its source's copy: {:?}", check.config.databases);
    c.destroy_env("shop-check", &DestroyEnv { op_id: "destroy-check".into(), force: false }).await.unwrap();
    assert_eq!(run(&agent, "shop-green", "count-kept", "psql -X -A -t -c 'select count(*) from notes'").await, "501");

    // Removing the rehearsal drops its copy and login; production's database stays.
    c.destroy_env("shop-green", &DestroyEnv { op_id: "destroy-green".into(), force: false }).await.unwrap();
    let exists = |db: &str| admin(&format!("select count(*) from pg_database where datname = '{db}'"));
    assert_eq!(exists(&copy.database).as_deref(), Some("0"), "the clone's database was left behind");
    assert_eq!(admin(&format!("select count(*) from pg_roles where rolname = '{}'", copy.user)).as_deref(), Some("0"));
    assert_eq!(client(&server.config, "shop", "shop", &password, "select count(*) from notes").as_deref(), Some("501"));

    // Only the agent marks a database its own to drop.
    let mut claim = EnvConfig::new(vec!["false".into()], free_port());
    claim.databases = vec![DatabaseBinding { owned: true, ..live }];
    let refused = c.create_env(&CreateEnv { op_id: "claim".into(), name: "thief".into(), config: claim }).await.unwrap_err();
    assert!(refused.to_string().contains("marked as the agent's own"), "{refused}");
    assert_eq!(exists("shop").as_deref(), Some("1"));
}
