//! A database from before stable identities, brought up to date: existing sites get the key
//! their environments were already named by, releases find their site by id (a release of a
//! deleted site whose name was reused stays no one's), and submitters are linked by user id.

use sqlx::migrate::Migrator;
use sqlx::sqlite::SqlitePoolOptions;
use std::path::Path;
use switchyard_store::Store;

/// The migrations that landed before stable identities.
const BEFORE: usize = 6;

const OLD_ROWS: &str = "
    INSERT INTO customers (id, name, created_at) VALUES (1, 'Acme', '2026-01-01T00:00:00.000Z');
    INSERT INTO sites (id, name, customer_id, created_at, updated_at) VALUES
        (1, 'Acme Shop', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
        (2, 'Café_Noir 2', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
        (3, 'acme-shop', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
        (4, 'Blog', 1, '2026-06-01T00:00:00.000Z', '2026-06-01T00:00:00.000Z');
    INSERT INTO users (id, username, display_name, role, created_at) VALUES (7, 'sue', 'Sue', 'support', '2026-01-01T00:00:00.000Z');
    INSERT INTO releases (id, uid, site, run, workflow, document_toml, document_version, candidate_sha256, submitted_by,
        placement, config, state, created_at) VALUES
        (1, 'u1', 'Acme Shop', 'rehearsal', 'no-migration', '', 1, 'ab', 'sue', '{}', '{}', '\"s\"', '2026-02-01T00:00:00.000Z'),
        (2, 'u2', 'Blog', 'rehearsal', 'no-migration', '', 1, 'ab', 'gone', '{}', '{}', '\"s\"', '2026-02-01T00:00:00.000Z');
    INSERT INTO audit_log (at, actor, action, target, detail, remote) VALUES ('2026-02-01T00:00:00.000Z', 'sue', 'site.create', 'site 1', '', 'x');
";

#[tokio::test]
async fn an_old_database_gets_keys_site_ids_and_user_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchyard.db");
    let pool = SqlitePoolOptions::new()
        .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true).foreign_keys(true))
        .await
        .unwrap();
    let mut old = Migrator::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite")).await.unwrap();
    old.migrations = old.migrations[..BEFORE].to_vec().into();
    old.run(&pool).await.unwrap();
    sqlx::raw_sql(OLD_ROWS).execute(&pool).await.unwrap();
    pool.close().await;

    let store = Store::open(&path).await.unwrap();
    let keys: Vec<String> = site_keys(&store).await;
    // As the agent environments were named (`_` kept); the later of two alike gets its id.
    assert_eq!(keys, ["acme-shop", "caf-_noir-2", "acme-shop-3", "blog"]);

    let shop = store.release(1).await.unwrap();
    assert_eq!((shop.site.as_str(), shop.site_id, shop.submitted_by_id), ("acme-shop", Some(1), Some(7)));
    // "Blog" was created after this release: it is another site that reused a deleted one's name.
    let blog = store.release(2).await.unwrap();
    assert_eq!((blog.site.as_str(), blog.site_id, blog.submitted_by_id), ("Blog", None, None));
}

async fn site_keys(store: &Store) -> Vec<String> {
    let mut sites = store.list_sites(None).await.unwrap();
    sites.sort_by_key(|s| s.id);
    sites.into_iter().map(|s| s.key).collect()
}
