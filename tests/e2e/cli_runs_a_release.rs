//! A release driven from the command line against a running server, following it live: the
//! customer logs in, uploads a candidate, rehearses and confirms; support starts the production
//! run, cannot approve their own, a colleague approves it and watches it to completion, then
//! rolls it back.

use crate::people::{staffed, PASSWORD};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;
use switchyard_e2e::release::sample_release;
use switchyard_e2e::server::Server;
use switchyard_e2e::workspace_binary;

/// How long one CLI command may take: it follows a release on the local agent.
const COMMAND_LIMIT: Duration = Duration::from_secs(300);

/// Who runs the CLI: a private configuration directory, and a session token or not.
struct User {
    config: PathBuf,
    token: Option<String>,
}

/// A finished CLI run, described in full when an assertion about it fails.
struct Run {
    line: String,
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "$ {}\nexit code {}\n--- stdout ---\n{}--- stderr ---\n{}", self.line, self.code, self.stdout, self.stderr)
    }
}

impl Run {
    fn expect(self, code: i32) -> Self {
        assert_eq!(self.code, code, "unexpected exit code:\n{self}");
        self
    }

    fn says(&self, text: &str) -> &Self {
        assert!(self.stdout.contains(text), "stdout lacks {text:?}:\n{self}");
        self
    }

    /// The id in the first `Release N:` line.
    fn release_id(&self) -> i64 {
        let line = self.stdout.lines().find(|l| l.starts_with("Release ")).unwrap_or_else(|| panic!("no release line:\n{self}"));
        line["Release ".len()..].split(':').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no release id:\n{self}"))
    }
}

async fn switchyard(server: &Server, user: &User, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = tokio::process::Command::new(workspace_binary("switchyard"));
    command
        .args(args)
        .env("SWITCHYARD_URL", &server.url)
        .env("XDG_CONFIG_HOME", &user.config)
        .env("HOME", &user.config)
        .env_remove("SWITCHYARD_TOKEN")
        .env_remove("SWITCHYARD_PASSWORD")
        .env("SWITCHYARD_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(token) = &user.token {
        command.env("SWITCHYARD_TOKEN", token);
    }
    command.envs(env.iter().copied());
    let line = format!("switchyard {}", args.join(" "));
    let output: Output = tokio::time::timeout(COMMAND_LIMIT, command.output())
        .await
        .unwrap_or_else(|_| panic!("`{line}` did not finish within {COMMAND_LIMIT:?}"))
        .unwrap_or_else(|e| panic!("cannot run `{line}`: {e}"));
    Run {
        line,
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Saves the demo's document again with a one-second watch window, so production completes
/// promptly; returns the new version.
async fn short_watch_document(server: &Server) -> i64 {
    let first = server.get_json("/sites/1/patch-documents/1").await;
    let toml = first["toml"].as_str().unwrap_or_else(|| panic!("no document v1: {first}"));
    assert!(toml.contains("duration_secs = 300"), "the demo's watch window moved:\n{toml}");
    let saved: Value =
        server.post_json("/sites/1/patch-documents", &json!({"toml": toml.replace("duration_secs = 300", "duration_secs = 1")})).await;
    saved["version"].as_i64().unwrap_or_else(|| panic!("the document was not saved: {saved}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_rehearses_runs_approves_and_rolls_back_a_release_following_it_live() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    staffed(&server).await;
    let ada = User { config: dir.path().join("ada"), token: Some(server.admin_token().await) };
    let document = short_watch_document(&server).await.to_string();
    let alice = User { config: dir.path().join("alice"), token: None };
    let sam = User { config: dir.path().join("sam"), token: None };

    // The customer logs in with the password from the environment; the session is private.
    let login = switchyard(&server, &alice, &["login", "--username", "alice"], &[("SWITCHYARD_PASSWORD", PASSWORD)]).await.expect(0);
    login.says("Logged in to");
    let saved = alice.config.join("switchyard/session.json");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&saved).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "{login}");
    let wrong = switchyard(&server, &sam, &["login", "--username", "sam"], &[("SWITCHYARD_PASSWORD", "not it")]).await.expect(2);
    assert!(wrong.stderr.contains("cannot log in") && !sam.config.join("switchyard/session.json").exists(), "{wrong}");
    switchyard(&server, &sam, &["login", "--username", "sam"], &[("SWITCHYARD_PASSWORD", PASSWORD)]).await.expect(0);

    // She uploads a candidate by the site's name and gets its sha256, with progress on stderr.
    let (tarball, sha) = sample_release(dir.path(), "1.2.0", 1);
    let upload =
        switchyard(&server, &alice, &["candidate", "upload", "--site", "Acme Shop", tarball.to_str().unwrap()], &[]).await.expect(0);
    assert_eq!(upload.stdout.trim(), sha, "{upload}");
    assert!(upload.stderr.contains("uploading acme-shop-1.2.0.tar.gz") && upload.stderr.contains("100 %"), "{upload}");
    switchyard(&server, &alice, &["candidate", "list", "--site", "1"], &[]).await.expect(0).says(&sha);

    // The rehearsal runs live until it waits for her confirmation, and says how to give it.
    let rehearse =
        switchyard(&server, &alice, &["release", "rehearse", "--site", "Acme Shop", "--document", &document], &[]).await.expect(0);
    let rehearsal = rehearse.release_id();
    rehearse.says("started").says("next: clone").says("waiting for the customer's confirmation");
    rehearse.says(&format!("switchyard release confirm {rehearsal} --comment"));
    let confirm =
        switchyard(&server, &alice, &["release", "confirm", &rehearsal.to_string(), "--comment", "checked the shop"], &[]).await.expect(0);
    confirm.says("confirmed by alice").says(&format!("Release {rehearsal} completed"));

    // Sam starts the production run; it stops at support's approval, which he may not give.
    let run = switchyard(&server, &sam, &["release", "run", "--site", "1", "--document", &document], &[]).await.expect(0);
    let production = run.release_id();
    run.says("waiting for support's approval").says(&format!("switchyard release approve {production}"));
    let own = switchyard(&server, &sam, &["release", "approve", &production.to_string(), "--comment", "mine"], &[]).await.expect(2);
    assert!(own.stderr.contains(&format!("cannot approve release {production}")) && own.stderr.contains("not allowed"), "{own}");

    // Ada approves and follows it live to completion: the addresses swap, the window is watched.
    let approve =
        switchyard(&server, &ada, &["release", "approve", &production.to_string(), "--comment", "diff reviewed"], &[]).await.expect(0);
    approve.says("approved by ada").says("next: swap addresses").says("watch window ended");
    approve.says(&format!("Release {production} completed")).says("failed request");
    let show = switchyard(&server, &ada, &["release", "show", &production.to_string()], &[]).await.expect(0);
    show.says("status:       completed").says("approved by ada (support): diff reviewed").says("Timeline").says("1.1.0");
    let detail = server.get_json(&format!("/releases/{production}")).await;
    assert_eq!(detail["summary"]["status"], "completed", "{detail:#}");

    // A requested rollback that succeeds is what was asked for: exit code 0.
    let rollback =
        switchyard(&server, &ada, &["release", "rollback", &production.to_string(), "--comment", "practice", "--timeout", "240"], &[])
            .await
            .expect(0);
    rollback.says("rollback requested by ada").says("next: swap addresses").says(&format!("Release {production} rolled back"));
    let list = switchyard(&server, &alice, &["release", "list", "--site", "Acme Shop"], &[]).await.expect(0);
    let row = |id: i64| {
        list.stdout.lines().find(|l| l.starts_with(&format!("{id} "))).unwrap_or_else(|| panic!("no row {id}:\n{list}")).to_owned()
    };
    assert!(row(production).contains("rolled-back") && row(rehearsal).contains("completed"), "{list}");

    // Logging out ends the session: the file is gone and the CLI says how to log in again.
    switchyard(&server, &alice, &["logout"], &[]).await.expect(0);
    assert!(!saved.exists(), "the session file outlived the logout");
    let after = switchyard(&server, &alice, &["release", "list"], &[]).await.expect(2);
    assert!(after.stderr.contains("switchyard login"), "{after}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_site_goes_live_from_the_command_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let admin = User { config: dir.path().join("admin"), token: Some(server.admin_token().await) };
    let hosts = server.get_json("/hosts").await;
    let local = hosts.as_array().unwrap().iter().find(|h| h["name"] == "local").unwrap_or_else(|| panic!("no local host: {hosts}"));
    let site = server.post_json("/sites", &json!({"name": "Acme Blog", "customer_id": 1})).await;
    let site_id = site["id"].as_i64().unwrap_or_else(|| panic!("no site: {site}"));
    let env = json!({"name": "production", "kind": "production", "host_id": local["id"]});
    server.post_json(&format!("/sites/{site_id}/environments"), &env).await;
    server.post_json(&format!("/sites/{site_id}/addresses"), &json!({"value": "blog.acme.example"})).await;
    let (tarball, sha) = sample_release(dir.path(), "1.0.0", 1);

    let early = switchyard(&server, &admin, &["site", "go-live", "--site", "Acme Blog", "--candidate", &sha], &[]).await.expect(2);
    assert!(early.stderr.contains("upload it first"), "{early}");

    let tarball = tarball.to_string_lossy().into_owned();
    switchyard(&server, &admin, &["candidate", "upload", "--site", "Acme Blog", &tarball], &[]).await.expect(0);
    switchyard(&server, &admin, &["site", "go-live", "--site", "Acme Blog", "--candidate", &sha], &[])
        .await
        .expect(0)
        .says("Acme Blog is live at blog.acme.example");
    let status = server.get_json(&format!("/hosts/{}/status", local["id"])).await;
    assert!(status.to_string().contains("acme-blog-blue"), "the agent runs no environment for the site: {status}");

    let again = switchyard(&server, &admin, &["site", "go-live", "--site", "Acme Blog", "--candidate", &sha], &[]).await.expect(2);
    assert!(again.stderr.contains("already live"), "{again}");
    let audit = server.get_json("/audit").await;
    assert!(audit.to_string().contains("site.go-live"), "going live is not in the audit log: {audit}");
}
