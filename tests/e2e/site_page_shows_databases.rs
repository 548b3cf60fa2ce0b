//! Support opens the page of a site that keeps its data in PostgreSQL (a real server the test
//! starts, declared in the local agent's `databases.toml`, the site gone live bound to it) and
//! sees its database in the "Data" card with its size and the environment using it; the
//! operator's declared database offers no Remove button, a leftover rehearsal copy does, and
//! confirming it removes the copy from the server and the page.

use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use switchyard_agent::databases::DatabaseKind;
use switchyard_agent::test_servers::TestServer;
use switchyard_e2e::browser::Browser;
use switchyard_e2e::release::sample_release;
use switchyard_e2e::server::Server;

fn admin_sql(server: &TestServer, database: &str, sql: &str) {
    let c = &server.config;
    let out = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", &c.host, "-p", &c.port.to_string(), "-U", &c.admin_user, "-d", database])
        .args(["-c", sql])
        .env("PGPASSWORD", &c.admin_password)
        .output()
        .expect("run psql");
    assert!(out.status.success(), "{sql}: {}\n{}", String::from_utf8_lossy(&out.stderr), server.log());
}

/// The id of the entry of `list` whose `field` is `value`.
fn id_of(list: &serde_json::Value, field: &str, value: &str) -> i64 {
    let found = list.as_array().and_then(|all| all.iter().find(|e| e[field] == value));
    found.and_then(|e| e["id"].as_i64()).unwrap_or_else(|| panic!("no {value} in {list}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_site_page_lists_its_postgresql_database_with_its_size_and_support_removes_a_leftover_copy() {
    let db = TestServer::start(DatabaseKind::Postgresql).unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}"));
    admin_sql(&db, "postgres", "CREATE ROLE shop LOGIN PASSWORD 'shoppassword'");
    admin_sql(&db, "postgres", "CREATE DATABASE shop OWNER shop");
    admin_sql(
        &db,
        "shop",
        "CREATE TABLE orders (id serial PRIMARY KEY, item text); INSERT INTO orders (item) SELECT 'bread' FROM generate_series(1, 2000)",
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let c = &db.config;
    let catalog = server.data_dir.join("agent/databases.toml");
    let text = format!(
        "[servers.main]\nkind = \"postgresql\"\nport = {}\nadmin_user = \"{}\"\nadmin_password = \"{}\"\n\n[[logins]]\nserver = \"main\"\nuser = \"shop\"\npassword = \"shoppassword\"\n",
        c.port, c.admin_user, c.admin_password
    );
    std::fs::write(&catalog, text).unwrap();
    std::fs::set_permissions(&catalog, std::fs::Permissions::from_mode(0o600)).unwrap();

    // A site on the local host, gone live bound to the operator's database.
    let customer = id_of(&server.get_json("/customers").await, "name", "Acme Outfitters");
    let host = id_of(&server.get_json("/hosts").await, "name", "local");
    let site = server.post_json("/sites", &json!({"name": "Data Shop", "customer_id": customer, "description": ""})).await;
    let site = site["id"].as_i64().unwrap_or_else(|| panic!("no site: {site}"));
    let env = server
        .post_json(&format!("/sites/{site}/environments"), &json!({"name": "production", "kind": "production", "host_id": host}))
        .await;
    let env = env["id"].as_i64().unwrap_or_else(|| panic!("no environment: {env}"));
    server.post_json(&format!("/sites/{site}/addresses"), &json!({"value": "data.shop.test", "environment_id": env})).await;
    let (tarball, sha) = sample_release(dir.path(), "1.0.0", 1);
    let upload = server
        .request(reqwest::Method::POST, &format!("/sites/{site}/candidates"))
        .await
        .header("x-filename", "data-shop-1.0.0.tar.gz")
        .header("content-type", "application/gzip")
        .body(std::fs::read(&tarball).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 201, "{}", upload.text().await.unwrap_or_default());
    let database = json!({"name": "default", "server": "main", "database": "shop", "user": "shop"});
    let live = server.post_json(&format!("/sites/{site}/go-live"), &json!({"candidate_sha256": sha, "databases": [database]})).await;
    assert_eq!(live["environment"], "data-shop-blue", "{live}\n{}", server.output());

    let browser = Browser::start().await;
    server.sign_in(&browser, &format!("/sites/{site}")).await;
    let row = browser.find("#site-databases tr.site-database[data-database=shop]").await;
    assert_eq!(row.attr("data-origin").await.unwrap().as_deref(), Some("declared"));
    let size = browser.find("#site-databases tr[data-database=shop] .database-size").await.text().await.unwrap();
    assert!(size.ends_with(" MB · 1 table"), "the size shown is {size:?}");
    let used_by = browser.find("#site-databases tr[data-database=shop] .database-used-by").await.text().await.unwrap();
    assert!(used_by.contains("data-shop-blue"), "{used_by}");
    let page = browser.page_text().await;
    assert!(!page.contains("shoppassword") && !page.contains(&c.admin_password), "{page}");
    let buttons = browser.client.find_all(fantoccini::Locator::Css("#site-databases .database-remove")).await.unwrap();
    assert!(buttons.is_empty(), "a declared database offers a Remove button");

    // A rehearsal's copy whose environment was removed by hand is a leftover support removes.
    let registration = std::fs::read(server.data_dir.join("agent/agent/registration.json")).unwrap();
    let registration: switchyard_agent::Registration = serde_json::from_slice(&registration).unwrap();
    let agent = switchyard_agent::AgentClient::new(&registration.url, &registration.token, &registration.fingerprint).unwrap();
    let clone = switchyard_agent::api::CloneEnv {
        op_id: "e2e-rehearsal".into(),
        target: "data-shop-rehearsal".into(),
        port: None,
        share_volume: false,
    };
    let copy = agent.clone_env("data-shop-blue", &clone).await.unwrap().config.databases[0].database.clone();
    std::fs::remove_dir_all(server.data_dir.join("agent/envs/data-shop-rehearsal")).unwrap();
    browser.client.refresh().await.unwrap();
    let leftover = format!("#site-databases tr.site-database.leftover[data-database={copy}]");
    browser.find(&format!("{leftover} .database-leftover")).await;
    browser.find(&format!("{leftover} .database-remove")).await.click().await.unwrap();
    browser.find(&format!("{leftover} .database-remove-confirm")).await.click().await.unwrap();
    browser.find("#site-databases tr.site-database[data-database=shop]").await;
    let start = std::time::Instant::now();
    while !browser.client.find_all(fantoccini::Locator::Css(&leftover)).await.unwrap().is_empty() {
        assert!(start.elapsed() < std::time::Duration::from_secs(15), "the removed copy is still listed:\n{}", browser.page_text().await);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let databases = server.get_json(&format!("/sites/{site}/databases")).await;
    assert!(!databases.to_string().contains(&copy), "{databases}");
    browser.close().await;
}
