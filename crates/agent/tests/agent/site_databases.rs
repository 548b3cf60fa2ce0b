//! A site's PostgreSQL and MariaDB databases on real servers (started by the test from the
//! host's Debian packages): a consistent copy taken while a writer goes on, owned by a login
//! of its own whose password really works; a quiet copy put back over later writes; every copy
//! checked table by table; nothing left behind when a copy is removed.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use switchyard_agent::databases::{random_password, Catalog, Consistency, DatabaseKind, Login, ServerConfig};
use switchyard_agent::test_servers::TestServer;

/// Runs `sql` on `database` as `user` with `password` through the kind's client; `None` when
/// the server refuses (wrong password, no right).
pub(crate) fn client(c: &ServerConfig, database: &str, user: &str, password: &str, sql: &str) -> Option<String> {
    let out = match c.kind {
        DatabaseKind::Postgresql => Command::new("psql")
            .args([
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                &c.host,
                "-p",
                &c.port.to_string(),
                "-U",
                user,
                "-d",
                database,
                "-c",
                sql,
            ])
            .env("PGPASSWORD", password)
            .output(),
        DatabaseKind::Mariadb => Command::new("mariadb")
            .args([
                "--no-defaults",
                "--protocol=tcp",
                "-h",
                &c.host,
                "-P",
                &c.port.to_string(),
                "-u",
                user,
                "--batch",
                "--skip-column-names",
            ])
            .args([database, "-e", sql])
            .env("MYSQL_PWD", password)
            .output(),
    }
    .expect("run the database client");
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

pub(crate) fn catalog_with(root: &std::path::Path, server: &TestServer, prod_password: &str) {
    let c = &server.config;
    let text = format!(
        "[servers.main]\nkind = \"{}\"\nhost = \"{}\"\nport = {}\nadmin_user = \"{}\"\nadmin_password = \"{}\"\n\n[[logins]]\nserver = \"main\"\nuser = \"shop\"\npassword = \"{prod_password}\"\n",
        c.kind.as_str(),
        c.host,
        c.port,
        c.admin_user,
        c.admin_password
    );
    let path = root.join("databases.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Production: database `shop` of user `shop` with a `notes` table of 500 rows.
pub(crate) fn production(server: &TestServer, password: &str) {
    let c = &server.config;
    let admin =
        |db: &str, sql: &str| client(c, db, &c.admin_user, &c.admin_password, sql).unwrap_or_else(|| panic!("{sql}\n{}", server.log()));
    match c.kind {
        DatabaseKind::Postgresql => {
            admin("postgres", &format!("CREATE ROLE shop LOGIN PASSWORD '{password}'"));
            admin("postgres", "CREATE DATABASE shop OWNER shop");
            let create = "CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL); \
                          INSERT INTO notes (body) SELECT 'note ' || g FROM generate_series(1, 500) g";
            client(c, "shop", "shop", password, create).expect("the site's own login creates its table");
        }
        DatabaseKind::Mariadb => {
            admin(
                "mysql",
                &format!("CREATE USER 'shop'@'%' IDENTIFIED BY '{password}'; CREATE DATABASE shop; GRANT ALL ON shop.* TO 'shop'@'%'"),
            );
            let create = "CREATE TABLE notes (id BIGINT AUTO_INCREMENT PRIMARY KEY, body TEXT NOT NULL) ENGINE=InnoDB; \
                          INSERT INTO notes (body) SELECT CONCAT('note ', seq) FROM seq_1_to_500";
            client(c, "shop", "shop", password, create).expect("the site's own login creates its table");
        }
    }
}

async fn clone_snapshot_restore(kind: DatabaseKind) {
    let server = TestServer::start(kind).unwrap_or_else(|e| panic!("cannot start a {} test server: {e}", kind.as_str()));
    let c = server.config.clone();
    let root = tempfile::tempdir().unwrap();
    let prod_password = random_password();
    catalog_with(root.path(), &server, &prod_password);
    production(&server, &prod_password);
    let mut catalog = Catalog::load(root.path()).unwrap();
    assert_eq!(catalog.password("main", "shop").unwrap(), prod_password);

    // A writer keeps adding notes in production while the copy is taken.
    let (stop, written) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let writer = {
        let (stop, written, c, password) = (stop.clone(), written.clone(), c.clone(), prod_password.clone());
        std::thread::spawn(move || {
            for i in 0..400 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let sql = format!("INSERT INTO notes (body) VALUES ('written during the copy {i}')");
                if client(&c, "shop", "shop", &password, &sql).is_some() {
                    written.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    while written.load(Ordering::Relaxed) < 5 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let clone_password = random_password();
    let server_handle = catalog.server("main").unwrap();
    server_handle.ensure_login("shop_candidate", &clone_password).await.unwrap();
    server_handle.copy("shop", "shop_candidate", "shop_candidate", Consistency::Live).await.unwrap();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    catalog.remember_login(Login { server: "main".into(), user: "shop_candidate".into(), password: clone_password.clone() }).unwrap();

    let server_handle = catalog.server("main").unwrap();
    let copied = server_handle.stats("shop_candidate").await.unwrap();
    let live = server_handle.stats("shop").await.unwrap();
    let copied_rows = copied.rows();
    assert!(copied_rows >= 505 && copied_rows <= live.rows(), "the copy holds {copied_rows} rows, production {}", live.rows());
    assert!(copied.size_bytes > 0);
    // The copy's own login reads and writes it; a wrong password is refused.
    let count =
        client(&c, "shop_candidate", "shop_candidate", &clone_password, "SELECT count(*) FROM notes").expect("the clone's login works");
    assert_eq!(count.parse::<u64>().unwrap(), copied_rows);
    client(&c, "shop_candidate", "shop_candidate", &clone_password, "INSERT INTO notes (body) VALUES ('rehearsal only')").unwrap();
    assert!(client(&c, "shop_candidate", "shop_candidate", "wrong", "SELECT 1").is_none(), "a wrong password was accepted");
    let prod_rows = client(&c, "shop", "shop", &prod_password, "SELECT count(*) FROM notes").unwrap();
    assert_eq!(prod_rows.parse::<u64>().unwrap(), live.rows(), "the rehearsal's write reached production");

    // With production quiet, a copy is exact, and checking it says so.
    server_handle.copy("shop", "shop_exact", "shop", Consistency::Live).await.unwrap();
    server_handle.stats("shop_exact").await.unwrap().verify_copy_of(&live).unwrap();
    server_handle.drop_database("shop_exact").await.unwrap();

    // Snapshot before a migration, writes and a schema change after it, restore: as it was.
    server_handle.copy("shop", "shop_snap_r1", "shop", Consistency::Quiesced).await.unwrap();
    let before = server_handle.stats("shop").await.unwrap();
    client(&c, "shop", "shop", &prod_password, "ALTER TABLE notes ADD COLUMN tag TEXT; DELETE FROM notes WHERE id < 100").unwrap();
    assert!(server_handle.stats("shop").await.unwrap().verify_copy_of(&before).is_err(), "the change is seen by the check");
    server_handle.copy("shop_snap_r1", "shop", "shop", Consistency::Quiesced).await.unwrap();
    server_handle.stats("shop").await.unwrap().verify_copy_of(&before).unwrap();
    client(&c, "shop", "shop", &prod_password, "INSERT INTO notes (body) VALUES ('after the restore')")
        .expect("the site's login still owns production");
    server_handle.drop_database("shop_snap_r1").await.unwrap();

    // Removing the clone leaves nothing of it.
    server_handle.drop_database("shop_candidate").await.unwrap();
    server_handle.drop_login("shop_candidate").await.unwrap();
    assert!(!server_handle.exists("shop_candidate").await.unwrap());
    assert!(client(&c, "shop", "shop_candidate", &clone_password, "SELECT 1").is_none(), "the clone's login survived");
}

#[tokio::test(flavor = "multi_thread")]
async fn postgresql_databases_are_copied_live_snapshotted_and_restored() {
    clone_snapshot_restore(DatabaseKind::Postgresql).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_databases_are_copied_live_snapshotted_and_restored() {
    clone_snapshot_restore(DatabaseKind::Mariadb).await;
}
