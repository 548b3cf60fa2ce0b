//! The host's databases as support sees them, on a real PostgreSQL server the test starts:
//! production's declared database and a rehearsal's copy are listed with their sizes and the
//! environments using them; a copy whose environment is gone, a copy broken off half-made and a
//! snapshot's copy whose snapshot was removed show as leftovers and are removed with their
//! logins (a retry under the same operation id answers the same), as does the copy a broken-off
//! sync was bringing in (the clone's login stays); a database in use, a
//! snapshot's copy while its snapshot exists, and a database the operator declared are never
//! removed.

use switchyard_agent::api::{CloneEnv, CreateEnv, DatabaseOrigin, EnvConfig, ListedDatabase, SyncEnv, VolumeSnapshot};
use switchyard_agent::databases::{random_password, Catalog, DatabaseBinding, DatabaseKind, MadeFor};
use switchyard_agent::test_servers::TestServer;
use switchyard_agent::AgentClient;

use crate::site_databases::{catalog_with, client, production};
use crate::support::{free_port, TestAgent};

async fn listed(c: &AgentClient) -> Vec<ListedDatabase> {
    let list = c.databases().await.unwrap();
    assert_eq!(list.servers.len(), 1, "{list:?}");
    assert_eq!(list.servers[0].problem, None, "{list:?}");
    list.servers[0].databases.clone()
}

fn find<'a>(all: &'a [ListedDatabase], database: &str) -> Option<&'a ListedDatabase> {
    all.iter().find(|d| d.database == database)
}

fn bound_env(database: &str, site: &str) -> EnvConfig {
    let mut config = EnvConfig::new(vec!["false".into()], free_port());
    config.site = Some(site.into());
    config.databases = vec![DatabaseBinding {
        name: "default".into(),
        server: "main".into(),
        database: database.into(),
        user: "shop".into(),
        owned: false,
    }];
    config
}

#[tokio::test(flavor = "multi_thread")]
async fn leftover_copies_are_listed_and_removed_while_declared_and_used_databases_stay() {
    let server = TestServer::start(DatabaseKind::Postgresql).unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}"));
    let admin = |sql: &str| client(&server.config, "postgres", &server.config.admin_user, &server.config.admin_password, sql);
    let exists = |db: &str| admin(&format!("select count(*) from pg_database where datname = '{db}'")).as_deref() == Some("1");
    let role = |user: &str| admin(&format!("select count(*) from pg_roles where rolname = '{user}'")).as_deref() == Some("1");
    let agent = TestAgent::start();
    let c = &agent.client;
    let password = random_password();
    catalog_with(&agent.root(), &server, &password);
    production(&server, &password);

    c.create_env(&CreateEnv { op_id: "create".into(), name: "shop-blue".into(), config: bound_env("shop", "shop") }).await.unwrap();
    let clone = CloneEnv { op_id: "clone".into(), target: "shop-green".into(), port: None, share_volume: false };
    let copy = c.clone_env("shop-blue", &clone).await.unwrap().config.databases[0].clone();

    // Production's database and the rehearsal's copy, each with its size and its user.
    let all = listed(c).await;
    let live = find(&all, "shop").expect("production's database is listed");
    assert_eq!((live.origin, live.leftover), (DatabaseOrigin::Declared, false), "{live:?}");
    assert_eq!(live.used_by.iter().map(|u| (u.env.as_str(), u.site.as_str())).collect::<Vec<_>>(), [("shop-blue", "shop")]);
    let size = live.size.expect("production's size");
    assert!(size.size_bytes > 1_000_000 && size.tables == 1, "{size:?}");
    let made = find(&all, &copy.database).expect("the rehearsal's copy is listed");
    assert_eq!((made.origin, made.leftover, made.site.as_deref()), (DatabaseOrigin::Clone, false, Some("shop")), "{made:?}");
    assert_eq!(made.made_for, Some(MadeFor::Environment { env: "shop-green".into() }));
    assert_eq!(made.used_by[0].env, "shop-green");
    assert_eq!(made.size.map(|s| s.tables), Some(1), "{made:?}");
    let answer = serde_json::to_string(&c.databases().await.unwrap()).unwrap();
    assert!(!answer.contains(&password) && !answer.contains(&server.config.admin_password), "{answer}");

    // Neither a database in use nor one the operator declared is removed.
    let refused = c.remove_database("main", &copy.database, "rm-bound").await.unwrap_err().to_string();
    assert!(refused.contains("in use by environment shop-green"), "{refused}");
    let refused = c.remove_database("main", "shop", "rm-declared").await.unwrap_err().to_string();
    assert!(refused.contains("never removes a database the host's operator declared"), "{refused}");
    assert!(exists("shop") && exists(&copy.database));

    // The clone's environment removed by hand: its copy is a leftover, removed with its login.
    std::fs::remove_dir_all(agent.root().join("envs/shop-green")).unwrap();
    assert!(find(&listed(c).await, &copy.database).unwrap().leftover);
    let removed = c.remove_database("main", &copy.database, "rm-copy").await.unwrap();
    assert!(removed.login_removed, "{removed:?}");
    assert!(!exists(&copy.database) && !role(&copy.user), "the leftover or its login is still on the server");
    assert_eq!(c.remove_database("main", &copy.database, "rm-copy").await.unwrap(), removed, "a retry answers the same");
    let refused = c.remove_database("main", &copy.database, "rm-again").await.unwrap_err().to_string();
    assert!(refused.contains("made no database"), "{refused}");
    assert!(find(&listed(c).await, &copy.database).is_none());

    // A clone broken off half-made (its source cannot be read): its login is left, listed.
    c.create_env(&CreateEnv { op_id: "create-lost".into(), name: "lost-blue".into(), config: bound_env("gone", "lost") }).await.unwrap();
    let broken = CloneEnv { op_id: "clone-lost".into(), target: "lost-green".into(), port: None, share_volume: false };
    assert!(c.clone_env("lost-blue", &broken).await.is_err(), "a copy of a missing database cannot succeed");
    let all = listed(c).await;
    let half = all.iter().find(|d| d.made_for == Some(MadeFor::Environment { env: "lost-green".into() })).expect("listed");
    assert!(half.leftover && half.size.is_none() && half.site.as_deref() == Some("lost"), "{half:?}");
    let half_login = Catalog::load(&agent.root()).unwrap().made("main", &half.database).unwrap().login.clone().unwrap();
    assert!(role(&half_login));
    c.remove_database("main", &half.database, "rm-half").await.unwrap();
    assert!(!role(&half_login), "the broken-off clone's login stayed");

    // A sync broken off (its source vanished): the copy it was bringing in is a leftover whose
    // removal leaves the clone's own login alone.
    admin("CREATE DATABASE doomed TEMPLATE shop").unwrap();
    c.create_env(&CreateEnv { op_id: "create-doomed".into(), name: "doomed-blue".into(), config: bound_env("doomed", "doomed") })
        .await
        .unwrap();
    let clone = CloneEnv { op_id: "clone-doomed".into(), target: "doomed-green".into(), port: None, share_volume: false };
    let doomed_copy = c.clone_env("doomed-blue", &clone).await.unwrap().config.databases[0].clone();
    admin("DROP DATABASE doomed WITH (FORCE)").unwrap();
    let sync = SyncEnv { op_id: "sync-doomed".into(), from: "doomed-blue".into() };
    assert!(c.sync_env("doomed-green", &sync).await.is_err(), "a sync from a missing database cannot succeed");
    let incoming = format!("{}_in", doomed_copy.database);
    let broken = find(&listed(c).await, &incoming).cloned().expect("the sync's incoming copy is listed");
    assert!(broken.leftover && broken.made_for == Some(MadeFor::Environment { env: "doomed-green".into() }), "{broken:?}");
    let removed = c.remove_database("main", &incoming, "rm-incoming").await.unwrap();
    assert!(!removed.login_removed && role(&doomed_copy.user) && exists(&doomed_copy.database), "{removed:?}");

    // A snapshot's copy is kept as long as its snapshot, and goes without the site's login.
    let mut config = bound_env("shop", "shop");
    config.volume = Some("snapv".into());
    c.create_env(&CreateEnv { op_id: "create-snap".into(), name: "snap-blue".into(), config }).await.unwrap();
    c.snapshot_volume("snapv", &VolumeSnapshot { op_id: "snap".into(), snapshot: "r7".into() }).await.unwrap();
    let made_for = Some(MadeFor::Snapshot { volume: "snapv".into(), snapshot: "r7".into() });
    let kept = listed(c).await.into_iter().find(|d| d.made_for == made_for).expect("the snapshot's copy is listed");
    assert_eq!((kept.origin, kept.leftover, kept.site.as_deref()), (DatabaseOrigin::Snapshot, false, Some("shop")), "{kept:?}");
    assert_eq!(kept.size.map(|s| s.tables), Some(1), "{kept:?}");
    let refused = c.remove_database("main", &kept.database, "rm-snapshot").await.unwrap_err().to_string();
    assert!(refused.contains("snapshot of snapv (r7), which still exists"), "{refused}");
    std::fs::remove_dir_all(agent.root().join("snapshots/snapv/r7")).unwrap();
    assert!(find(&listed(c).await, &kept.database).unwrap().leftover);
    let removed = c.remove_database("main", &kept.database, "rm-snapshot-2").await.unwrap();
    assert!(!removed.login_removed && !exists(&kept.database) && role("shop"), "{removed:?}");
    assert!(exists("shop"), "production's database is untouched");
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_databases_are_listed_with_their_sizes_and_a_leftover_copy_removed() {
    let server = TestServer::start(DatabaseKind::Mariadb).unwrap_or_else(|e| panic!("cannot start MariaDB: {e}"));
    let admin = |sql: &str| client(&server.config, "mysql", &server.config.admin_user, &server.config.admin_password, sql);
    let agent = TestAgent::start();
    let c = &agent.client;
    let password = random_password();
    catalog_with(&agent.root(), &server, &password);
    production(&server, &password);
    c.create_env(&CreateEnv { op_id: "create".into(), name: "shop-blue".into(), config: bound_env("shop", "shop") }).await.unwrap();
    let clone = CloneEnv { op_id: "clone".into(), target: "shop-green".into(), port: None, share_volume: false };
    let copy = c.clone_env("shop-blue", &clone).await.unwrap().config.databases[0].clone();

    let all = listed(c).await;
    for database in ["shop", copy.database.as_str()] {
        let size = find(&all, database).and_then(|d| d.size).unwrap_or_else(|| panic!("no size for {database}: {all:?}"));
        assert!(size.size_bytes > 0 && size.tables == 1, "{database}: {size:?}");
    }
    std::fs::remove_dir_all(agent.root().join("envs/shop-green")).unwrap();
    assert!(find(&listed(c).await, &copy.database).unwrap().leftover);
    c.remove_database("main", &copy.database, "rm-copy").await.unwrap();
    let left = admin(&format!("select count(*) from information_schema.SCHEMATA where SCHEMA_NAME = '{}'", copy.database));
    assert_eq!(left.as_deref(), Some("0"));
    let login = admin(&format!("select count(*) from mysql.user where User = '{}'", copy.user));
    assert_eq!(login.as_deref(), Some("0"));
    assert!(find(&listed(c).await, "shop").is_some_and(|d| d.size.is_some()));
}
