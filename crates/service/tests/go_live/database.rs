//! A site whose data lives in PostgreSQL goes live bound to its database on a real server the
//! test starts: the binding names the server the host declares (no password passes through
//! Switchyard) and the candidate's first migration runs against production's database with the
//! connection the agent provides.

use crate::support::{tarball, Fixture};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use switchyard_agent::databases::DatabaseKind;
use switchyard_agent::test_servers::TestServer;
use switchyard_api::{GoLive, SiteDatabase};
use switchyard_service::{Caller, ServiceError};

const MANIFEST: &str = r#"[web]
command = "python3 -m http.server $PORT --bind 127.0.0.1"

[health]
http_path = "/"

[migrate]
command = "psql -X -q -v ON_ERROR_STOP=1 -c 'create table visits (id serial primary key, note text)' -c \"insert into visits (note) values ('migrated at go-live')\""
"#;

fn psql(server: &TestServer, database: &str, user: &str, password: &str, sql: &str) -> Option<String> {
    let c = &server.config;
    let out = Command::new("psql")
        .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", &c.host, "-p", &c.port.to_string(), "-U", user, "-d", database, "-c", sql])
        .env("PGPASSWORD", password)
        .output()
        .expect("run psql");
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgresql_site_goes_live_bound_to_its_database_and_migrates_it() {
    let server = TestServer::start(DatabaseKind::Postgresql).unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}"));
    let c = &server.config;
    let admin = |sql: &str| psql(&server, "postgres", &c.admin_user, &c.admin_password, sql).unwrap_or_else(|| panic!("{sql}"));
    admin("CREATE ROLE shop LOGIN PASSWORD 'shoppassword'");
    admin("CREATE DATABASE shop OWNER shop");
    let f = Fixture::start().await;
    let catalog = f.dir.path().join("root/databases.toml");
    let text = format!(
        "[servers.main]\nkind = \"postgresql\"\nport = {}\nadmin_user = \"{}\"\nadmin_password = \"{}\"\n\n[[logins]]\nserver = \"main\"\nuser = \"shop\"\npassword = \"shoppassword\"\n",
        c.port, c.admin_user, c.admin_password
    );
    std::fs::write(&catalog, text).unwrap();
    std::fs::set_permissions(&catalog, std::fs::Permissions::from_mode(0o600)).unwrap();
    let sha = f.upload("visits-1.0.0.tar.gz", tarball(&[("switchyard.toml", MANIFEST, 0o644)])).await;

    // A name that could not be a database is refused before the host is asked.
    let bad = SiteDatabase { name: "default".into(), server: "main".into(), database: "shop; drop".into(), user: "shop".into() };
    let system = Caller::system();
    let refused = f
        .service
        .go_live(&system, f.site_id, GoLive { candidate_sha256: sha.clone(), ports: None, databases: vec![bad], version: None })
        .await;
    assert!(matches!(refused, Err(ServiceError::Invalid(_))), "{refused:?}");

    let database = SiteDatabase { name: "default".into(), server: "main".into(), database: "shop".into(), user: "shop".into() };
    let request = GoLive { candidate_sha256: sha, ports: None, databases: vec![database], version: None };
    f.service.go_live(&system, f.site_id, request).await.unwrap_or_else(|e| panic!("{e}\n{}", f.log()));
    // The migration ran on production's database, as the site's own login.
    assert_eq!(psql(&server, "shop", "shop", "shoppassword", "select note from visits").as_deref(), Some("migrated at go-live"));
    let owner = psql(&server, "shop", &c.admin_user, &c.admin_password, "select tableowner from pg_tables where tablename = 'visits'");
    assert_eq!(owner.as_deref(), Some("shop"));
    // The environment on the host names the database, never its password.
    let env = f.client().env("notes-blue").await.unwrap();
    assert_eq!(env.config.databases[0].database, "shop");
    assert!(!serde_json::to_string(&env).unwrap().contains("shoppassword"));
}
