//! A host's agent token is entered once and kept sealed: a real server refuses token
//! references naming its files or variables (with one answer whether the file exists or not),
//! never returns or stores the token in the clear, never sends a stored token to a changed
//! agent address, and lets only those who manage hosts register them.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::Served;

const TOKEN: &str = "agent-token-that-must-stay-secret-0123";

fn fingerprint() -> String {
    "ab".repeat(32)
}

#[tokio::test]
async fn a_token_ref_naming_a_server_file_or_variable_is_refused_and_says_nothing_about_it() {
    let served = Served::start().await;
    let admin = served.administrator().await;
    let secret_file = served.dir.path().join("server-secret.txt");
    std::fs::write(&secret_file, "the server's own secret").unwrap();
    let mut answers = Vec::new();
    for reference in [format!("file:{}", secret_file.display()), "file:/no/such/file".to_owned(), "env:PATH".to_owned()] {
        let host =
            json!({"name": "attacker", "agent_url": "https://127.0.0.1:9", "token_ref": reference, "cert_fingerprint": fingerprint()});
        let (status, body) = served.send(&admin, Method::POST, "/hosts", Some(host)).await;
        assert_eq!(status, 422, "{reference}: {body}");
        assert!(!body.to_string().contains("the server's own secret") && !body.to_string().contains("No such file"), "{body}");
        answers.push(body);
    }
    assert!(answers.windows(2).all(|pair| pair[0] == pair[1]), "one answer whatever the reference names: {answers:?}");
    let (_, hosts) = served.send(&admin, Method::GET, "/hosts", None).await;
    assert!(hosts.as_array().unwrap().iter().all(|h| h["name"] != "attacker"), "{hosts}");
}

#[tokio::test]
async fn a_host_token_is_write_only_and_only_sealed_in_the_database() {
    let served = Served::start().await;
    let admin = served.administrator().await;
    let host = json!({"name": "web-2", "agent_url": "https://127.0.0.1:9", "token": TOKEN, "cert_fingerprint": fingerprint()});
    let (status, created) = served.send(&admin, Method::POST, "/hosts", Some(host)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["token_stored"], true);
    let (_, listed) = served.send(&admin, Method::GET, "/hosts", None).await;
    let (_, audit) = served.send(&admin, Method::GET, "/audit", None).await;
    for answer in [&created, &listed, &audit] {
        assert!(!answer.to_string().contains(TOKEN), "{answer}");
    }
    let mut on_disk = Vec::new();
    for name in ["switchyard.db", "switchyard.db-wal"] {
        on_disk.extend(std::fs::read(served.dir.path().join(name)).unwrap_or_default());
    }
    assert!(!on_disk.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()), "the database holds the token only sealed");
    let key = std::fs::metadata(served.dir.path().join("secrets.key")).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&key.permissions()) & 0o777, 0o600);
}

#[tokio::test]
async fn a_stored_token_never_goes_to_a_changed_agent_address_and_status_calls_need_https_and_a_pin() {
    let served = Served::start().await;
    let admin = served.administrator().await;
    // The address an attacker would like the token sent to: it records whether anyone came.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let trap = listener.local_addr().unwrap();
    let host = json!({"name": "web-3", "agent_url": "https://127.0.0.1:9", "token": TOKEN, "cert_fingerprint": fingerprint()});
    let (_, created) = served.send(&admin, Method::POST, "/hosts", Some(host)).await;
    let path = format!("/hosts/{}", created["id"]);

    let moved = json!({"name": "web-3", "agent_url": format!("http://{trap}"), "cert_fingerprint": fingerprint()});
    let (status, body) = served.send(&admin, Method::PUT, &path, Some(moved)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "token", "{body}");

    // With a token of its own the move is allowed, but over plain HTTP nothing is sent.
    let moved = json!({"name": "web-3", "agent_url": format!("http://{trap}"), "token": "another-token-0123456789", "cert_fingerprint": fingerprint()});
    assert_eq!(served.send(&admin, Method::PUT, &path, Some(moved)).await.0, 200);
    let (_, status) = served.send(&admin, Method::GET, &format!("{path}/status"), None).await;
    assert_eq!(status["reachable"], false);
    assert!(status["problem"].as_str().unwrap().contains("only over HTTPS"), "{status}");
    let connected = tokio::time::timeout(std::time::Duration::from_millis(200), listener.accept()).await;
    assert!(connected.is_err(), "nothing connected to the plain-HTTP address");

    let unpinned = json!({"name": "web-4", "agent_url": "https://127.0.0.1:9", "token": TOKEN});
    let (_, created) = served.send(&admin, Method::POST, "/hosts", Some(unpinned)).await;
    let (_, status) = served.send(&admin, Method::GET, &format!("/hosts/{}/status", created["id"]), None).await;
    assert!(status["problem"].as_str().unwrap().contains("no certificate fingerprint"), "{status}");
}

#[tokio::test]
async fn a_host_registered_by_reference_before_is_asked_for_its_token_and_the_file_is_not_read() {
    let served = Served::start().await;
    let admin = served.administrator().await;
    let secret_file = served.dir.path().join("old.token");
    std::fs::write(&secret_file, "old-secret-never-read").unwrap();
    let host = json!({"name": "old", "agent_url": "https://127.0.0.1:9", "cert_fingerprint": fingerprint()});
    let (_, created) = served.send(&admin, Method::POST, "/hosts", Some(host)).await;
    // What an older version stored.
    let pool = sqlx_pool(served.dir.path()).await;
    sqlx_exec(&pool, &format!("UPDATE hosts SET token_ref = 'file:{}' WHERE id = {}", secret_file.display(), created["id"])).await;
    let (_, status) = served.send(&admin, Method::GET, &format!("/hosts/{}/status", created["id"]), None).await;
    let problem = status["problem"].as_str().unwrap();
    assert!(problem.contains("no longer reads") && !problem.contains("old-secret") && !problem.contains("old.token"), "{problem}");
}

#[tokio::test]
async fn only_those_who_manage_hosts_register_them() {
    let served = Served::start().await;
    let admin = served.administrator().await;
    let maria: Value = {
        let (_, users) = served.send(&admin, Method::GET, "/users", None).await;
        users.as_array().unwrap().iter().find(|u| u["role"] == "manager").cloned().expect("the demo has a manager")
    };
    let set = json!({"password": "a manager's password"});
    assert_eq!(served.send(&admin, Method::PUT, &format!("/users/{}/password", maria["id"]), Some(set)).await.0, 204);
    let (_, _, manager) = served.log_in(&json!({"username": maria["username"], "password": "a manager's password"})).await;
    let host = json!({"name": "web-5", "agent_url": "https://127.0.0.1:9", "token": TOKEN, "cert_fingerprint": fingerprint()});
    let (status, body) = served.send(&manager.unwrap(), Method::POST, "/hosts", Some(host)).await;
    assert_eq!(status, 403, "{body}");
}

async fn sqlx_pool(dir: &std::path::Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.join("switchyard.db").display())).await.unwrap()
}

async fn sqlx_exec(pool: &sqlx::SqlitePool, sql: &str) {
    sqlx::query(sql).execute(pool).await.unwrap();
}
