//! A PostgreSQL site's databases on its page, from a real server and a real agent: the site's
//! customer sees production's database and a leftover rehearsal copy with their sizes, another
//! customer sees none of them; the customer cannot remove the leftover, support can (audited),
//! and production's declared database is never removed.

use crate::support::{tarball, Fixture};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use switchyard_agent::api::CloneEnv;
use switchyard_agent::databases::DatabaseKind;
use switchyard_agent::test_servers::TestServer;
use switchyard_api::{CustomerDraft, DatabaseOrigin, GoLive, Me, RemoveSiteDatabase, SiteDatabase, User, UserDraft};
use switchyard_core::Role;
use switchyard_service::{Caller, Service, ServiceError};

const MANIFEST: &str = r#"[web]
command = "python3 -m http.server $PORT --bind 127.0.0.1"

[health]
http_path = "/"

[migrate]
command = "psql -X -q -v ON_ERROR_STOP=1 -c 'create table visits (id serial primary key, note text)'"
"#;

fn admin_sql(server: &TestServer, sql: &str) -> Option<String> {
    let c = &server.config;
    let out = Command::new("psql")
        .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", &c.host, "-p", &c.port.to_string(), "-U", &c.admin_user, "-d", "postgres"])
        .args(["-c", sql])
        .env("PGPASSWORD", &c.admin_password)
        .output()
        .expect("run psql");
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

async fn user(service: &Service, name: &str, role: Role, customer_id: Option<i64>) -> Caller {
    let draft = UserDraft { username: name.into(), display_name: name.into(), role, customer_id, admin: false, password: None };
    let user: User = service.create_user(&Caller::system(), draft).await.unwrap();
    let me = Me { id: user.id, username: user.username, display_name: user.display_name, role, customer_id, admin: false };
    Caller { me, remote: "test".into() }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sites_customer_sees_its_databases_and_only_support_removes_a_leftover_copy() {
    let server = TestServer::start(DatabaseKind::Postgresql).unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}"));
    let c = &server.config;
    admin_sql(&server, "CREATE ROLE shop LOGIN PASSWORD 'shoppassword'").unwrap();
    admin_sql(&server, "CREATE DATABASE shop OWNER shop").unwrap();
    let f = Fixture::start().await;
    let catalog = f.dir.path().join("root/databases.toml");
    let text = format!(
        "[servers.main]\nkind = \"postgresql\"\nport = {}\nadmin_user = \"{}\"\nadmin_password = \"{}\"\n\n[[logins]]\nserver = \"main\"\nuser = \"shop\"\npassword = \"shoppassword\"\n",
        c.port, c.admin_user, c.admin_password
    );
    std::fs::write(&catalog, text).unwrap();
    std::fs::set_permissions(&catalog, std::fs::Permissions::from_mode(0o600)).unwrap();
    let sha = f.upload("visits-1.0.0.tar.gz", tarball(&[("switchyard.toml", MANIFEST, 0o644)])).await;
    let database = SiteDatabase { name: "default".into(), server: "main".into(), database: "shop".into(), user: "shop".into() };
    let system = Caller::system();
    let go = GoLive { candidate_sha256: sha, ports: None, databases: vec![database], version: None };
    f.service.go_live(&system, f.site_id, go).await.unwrap_or_else(|e| panic!("{e}\n{}", f.log()));

    // A rehearsal's copy whose environment was removed by hand: a leftover.
    let clone = CloneEnv { op_id: "rehearsal".into(), target: "notes-rehearsal".into(), port: None, share_volume: false };
    let copy = f.client().clone_env("notes-blue", &clone).await.unwrap().config.databases[0].database.clone();
    std::fs::remove_dir_all(f.dir.path().join("root/envs/notes-rehearsal")).unwrap();

    let service = &f.service;
    let owner = service.store().site(f.site_id).await.unwrap().customer_id;
    let alice = user(service, "alice", Role::Customer, Some(owner)).await;
    let other = service.create_customer(&system, CustomerDraft { name: "Other".into(), contact_email: "o@other.example".into() }).await;
    let mallory = user(service, "mallory", Role::Customer, Some(other.unwrap().id)).await;
    let sue = user(service, "sue", Role::Support, None).await;

    let seen = service.site_databases(&alice, f.site_id).await.unwrap();
    assert!(seen.problems.is_empty(), "{seen:?}");
    let live = seen.databases.iter().find(|d| d.database == "shop").expect("production's database is listed");
    assert_eq!(
        (live.origin, live.leftover, live.server.as_str(), live.kind.as_str()),
        (DatabaseOrigin::Declared, false, "main", "postgresql")
    );
    assert!(live.used_by.contains(&"notes-blue".to_owned()) && live.size_bytes.unwrap_or(0) > 1_000_000, "{live:?}");
    assert_eq!(live.tables, Some(1), "the migration's table: {live:?}");
    let leftover = seen.databases.iter().find(|d| d.database == copy).expect("the leftover copy is listed");
    assert!(leftover.leftover && leftover.used_by.is_empty() && leftover.size_bytes.is_some(), "{leftover:?}");
    assert_eq!(leftover.made_for.as_deref(), Some("copy for environment notes-rehearsal"));
    let shown = serde_json::to_string(&seen).unwrap();
    assert!(!shown.contains("shoppassword") && !shown.contains(&c.admin_password), "{shown}");

    let refused = service.site_databases(&mallory, f.site_id).await.unwrap_err();
    assert!(matches!(&refused, ServiceError::Forbidden(m) if m.contains("another customer")), "{refused:?}");
    let remove = RemoveSiteDatabase { host_id: None, server: "main".into(), database: copy.clone() };
    let refused = service.remove_site_database(&alice, f.site_id, remove.clone()).await.unwrap_err();
    assert!(matches!(&refused, ServiceError::Forbidden(_)), "{refused:?}");
    let declared = RemoveSiteDatabase { database: "shop".into(), ..remove.clone() };
    let refused = service.remove_site_database(&sue, f.site_id, declared).await.unwrap_err();
    assert!(matches!(&refused, ServiceError::Invalid(_)) && refused.to_string().contains("never removes"), "{refused:?}");

    let after = service.remove_site_database(&sue, f.site_id, remove.clone()).await.unwrap();
    assert!(after.databases.iter().all(|d| d.database != copy), "{after:?}");
    assert_eq!(admin_sql(&server, &format!("select count(*) from pg_database where datname = '{copy}'")).as_deref(), Some("0"));
    assert_eq!(admin_sql(&server, "select count(*) from pg_database where datname = 'shop'").as_deref(), Some("1"));
    let gone = service.remove_site_database(&sue, f.site_id, remove).await.unwrap_err();
    assert!(matches!(&gone, ServiceError::NotFound(m) if m.contains("has no database")), "{gone:?}");
    let audit = service.audit_log(&sue, None, None).await.unwrap();
    assert!(audit.entries.iter().any(|e| e.action == "site.database.remove" && e.detail.contains(&copy)), "{audit:?}");
}
