//! The sample site as the agent runs it: a real process serving records from SQLite, with a
//! schema that a newer release migrates and an older release refuses.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Site {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("---- site log ----\n{}", std::fs::read_to_string(&self.log).unwrap_or_default());
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn command(binary: &Path, config: Option<&Path>, shared: &Path) -> Command {
    let mut command = Command::new(binary);
    command.env("SHARED_DIR", shared).env_remove("SITE_CONFIG").env_remove("DATABASE_PATH");
    if let Some(config) = config {
        command.env("SITE_CONFIG", config);
    }
    command
}

fn serve(binary: &Path, config: Option<&Path>, shared: &Path) -> Site {
    let port = free_port();
    let log = shared.join(format!("site-{port}.log"));
    let child = command(binary, config, shared)
        .arg("serve")
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    Site { child, port, log }
}

async fn wait_healthy(site: &mut Site) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(Some(status)) = site.child.try_wait() {
            panic!("the site exited with {status}: {}", std::fs::read_to_string(&site.log).unwrap_or_default());
        }
        if let Ok(r) = client.get(format!("http://127.0.0.1:{}/health", site.port)).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the site did not become healthy in 20 s");
}

fn url(site: &Site, path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", site.port)
}

#[tokio::test]
async fn v1_serves_records_and_v2_needs_a_migration_that_adds_authors() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    // v1: site.toml next to a copy of the binary, as in an unpacked release.
    let release = dir.path().join("v1");
    std::fs::create_dir(&release).unwrap();
    let v1_binary = release.join("sample-site");
    std::fs::copy(env!("CARGO_BIN_EXE_sample-site"), &v1_binary).unwrap();
    std::fs::write(release.join("site.toml"), "version = \"1.0.0\"\nschema = 1\n").unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    let mut v1 = serve(&v1_binary, None, &shared);
    wait_healthy(&mut v1).await;
    let version: serde_json::Value = http.get(url(&v1, "/version")).send().await.unwrap().json().await.unwrap();
    assert_eq!(version, serde_json::json!({ "version": "1.0.0", "schema": 1 }));
    let created = http.post(url(&v1, "/records")).json(&serde_json::json!({ "body": "first" })).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let records: serde_json::Value = http.get(url(&v1, "/records")).send().await.unwrap().json().await.unwrap();
    assert_eq!(records, serde_json::json!([{ "id": 1, "body": "first" }]));
    drop(v1);

    // v2 over the v1 database: refuses to serve until migrated.
    let v2_config = dir.path().join("v2.toml");
    std::fs::write(&v2_config, "version = \"2.0.0\"\nschema = 2\n").unwrap();
    // The same private copy: SITE_CONFIG wins over the site.toml beside it, and a concurrent
    // build cannot replace the copy while it runs.
    let binary = v1_binary.as_path();
    let refused = command(binary, Some(&v2_config), &shared).arg("serve").env("PORT", free_port().to_string()).output().unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is at schema 1 but release 2.0.0 needs schema 2: run `sample-site migrate` first"), "{stderr}");

    let migrated = command(binary, Some(&v2_config), &shared).arg("migrate").output().unwrap();
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    assert!(String::from_utf8_lossy(&migrated.stdout).contains("from schema 1 to 2"));

    let mut v2 = serve(binary, Some(&v2_config), &shared);
    wait_healthy(&mut v2).await;
    http.post(url(&v2, "/records")).json(&serde_json::json!({ "body": "second", "author": "ana" })).send().await.unwrap();
    let records: serde_json::Value = http.get(url(&v2, "/records")).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        records,
        serde_json::json!([
            { "id": 1, "body": "first", "author": "anonymous" },
            { "id": 2, "body": "second", "author": "ana" }
        ])
    );
    drop(v2);

    // v1 over the migrated database: refused, the way back is the pre-migration snapshot.
    let old = command(&v1_binary, None, &shared).arg("serve").env("PORT", free_port().to_string()).output().unwrap();
    assert!(
        String::from_utf8_lossy(&old.stderr).contains("newer than release 1.0.0's schema 1"),
        "{}",
        String::from_utf8_lossy(&old.stderr)
    );

    // Unless v1 says schema 2 is an expand step it serves: it starts, lists and adds records
    // (the new column takes its default), as the old version does on a shared database.
    let expand = dir.path().join("v1-expand.toml");
    std::fs::write(&expand, "version = \"1.0.0\"\nschema = 1\nmax_schema = 2\n").unwrap();
    let mut v1 = serve(binary, Some(&expand), &shared);
    wait_healthy(&mut v1).await;
    let created = http.post(url(&v1, "/records")).json(&serde_json::json!({ "body": "third" })).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let records: serde_json::Value = http.get(url(&v1, "/records")).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        records,
        serde_json::json!([
            { "id": 1, "body": "first" }, { "id": 2, "body": "second" }, { "id": 3, "body": "third" }
        ])
    );
    drop(v1);
    let mut v2 = serve(binary, Some(&v2_config), &shared);
    wait_healthy(&mut v2).await;
    let third: serde_json::Value = http.get(url(&v2, "/records")).send().await.unwrap().json().await.unwrap();
    assert_eq!(third[2], serde_json::json!({ "id": 3, "body": "third", "author": "anonymous" }));
}

#[test]
fn bad_input_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let binary = Path::new(env!("CARGO_BIN_EXE_sample-site"));
    let no_port = command(binary, None, dir.path()).arg("serve").env_remove("PORT").output().unwrap();
    assert!(String::from_utf8_lossy(&no_port.stderr).contains("PORT is not set"), "{}", String::from_utf8_lossy(&no_port.stderr));
    let unknown = command(binary, None, dir.path()).arg("dance").output().unwrap();
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown command \"dance\""));
    let bad = dir.path().join("site.toml");
    std::fs::write(&bad, "version = \"9\"\nschema = 7\n").unwrap();
    let out = command(binary, Some(&bad), dir.path()).arg("version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("asks for schema 7 but this binary knows schemas 1 to 2"));
}
