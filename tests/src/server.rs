//! The real `switchyard serve` on 127.0.0.1 with its own data directory.

use crate::process::Running;
use crate::workspace_binary;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub struct Server {
    pub url: String,
    pub data_dir: PathBuf,
    process: Option<Running>,
    /// The administrator's session, opened on first use.
    admin: tokio::sync::OnceCell<String>,
}

/// The administrator the helpers create through the first-run set-up (or log in as, when the
/// data directory was set up before).
pub const ADMIN: (&str, &str) = ("ada", "correct horse battery");

impl Server {
    /// Starts a server over `data_dir` (created if needed); seeds the demo into an empty store.
    pub fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, &[])
    }

    pub fn start_with(data_dir: &Path, extra_args: &[&str]) -> Self {
        Self::start_with_env(data_dir, extra_args, &[])
    }

    /// Like [`Server::start_with`], with extra environment variables for the server and so
    /// for its local agent and the sites it runs (`PATH` with an application's tools, say).
    pub fn start_with_env(data_dir: &Path, extra_args: &[&str], env: &[(&str, &str)]) -> Self {
        let (url, process) = spawn(data_dir, extra_args, env);
        Self { url, data_dir: data_dir.to_owned(), process: Some(process), admin: tokio::sync::OnceCell::new() }
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}{}{path}", self.url, switchyard_api::API_PREFIX)
    }

    /// The administrator's session token: sets Switchyard up on first use, or logs in.
    pub async fn admin_token(&self) -> String {
        self.admin
            .get_or_init(|| async {
                let session = self.get_json_as(None, "/session").await;
                let path = if session["needs_setup"] == true { "/setup" } else { "/session" };
                let body = serde_json::json!({"username": ADMIN.0, "password": ADMIN.1});
                let reply =
                    reqwest::Client::new().post(self.api(path)).json(&body).send().await.unwrap_or_else(|e| panic!("POST {path}: {e}"));
                let token = reply.headers().get("x-switchyard-session").and_then(|v| v.to_str().ok()).map(str::to_owned);
                token.unwrap_or_else(|| panic!("POST {path} opened no session: {}", reply.status()))
            })
            .await
            .clone()
    }

    /// A request carrying the administrator's session.
    pub async fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let token = self.admin_token().await;
        reqwest::Client::new().request(method, self.api(path)).bearer_auth(token)
    }

    async fn get_json_as(&self, token: Option<&str>, path: &str) -> serde_json::Value {
        let mut request = reqwest::Client::new().get(self.api(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let reply = request.send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
        reply.json().await.unwrap_or_else(|e| panic!("GET {path}: the reply is not JSON: {e}"))
    }

    /// GETs an API path as the administrator and returns its JSON, failing the test on a
    /// transport error.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let token = self.admin_token().await;
        self.get_json_as(Some(&token), path).await
    }

    /// POSTs JSON to an API path as the administrator and returns the reply's JSON, whatever
    /// its status.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> serde_json::Value {
        let reply = self.request(reqwest::Method::POST, path).await.json(body).send().await.unwrap_or_else(|e| panic!("POST {path}: {e}"));
        reply.json().await.unwrap_or_else(|e| panic!("POST {path}: the reply is not JSON: {e}"))
    }

    pub fn output(&self) -> String {
        self.process.as_ref().map(Running::output).unwrap_or_default()
    }

    /// Stops the server the way an operator would (SIGTERM) and checks it shut down cleanly;
    /// the local agent it started (a process of its own) keeps serving the sites.
    pub fn stop_server_only(&mut self) {
        let process = self.process.take().expect("running");
        let output_before = process.output();
        let status = process.terminate();
        assert!(status.success(), "switchyard serve exited with {status} on SIGTERM; output:\n{output_before}");
    }

    /// Kills the server at once (SIGKILL), as a crash would; its local agent lives on.
    pub fn kill_server(&mut self) {
        let process = self.process.take().expect("running");
        let _ = Command::new("kill").args(["-KILL", &process.pid().to_string()]).status();
        drop(process);
    }

    /// Starts the server again over the same data directory (it re-attaches to its agent).
    pub fn restart(&mut self, extra_args: &[&str]) {
        assert!(self.process.is_none(), "stop or kill the server before restarting it");
        let (url, process) = spawn(&self.data_dir, extra_args, &[]);
        self.url = url;
        self.process = Some(process);
        self.admin = tokio::sync::OnceCell::new();
    }

    /// Stops the server (SIGTERM, checked) and then its local agent with the sites it serves.
    pub fn stop(mut self) {
        self.stop_server_only();
        stop_local_agent(&self.data_dir);
    }
}

impl Drop for Server {
    /// A test that ends early leaves no local agent behind: it is not in the server's process
    /// group, so ending the server does not end it.
    fn drop(&mut self) {
        self.process.take();
        stop_local_agent(&self.data_dir);
    }
}

/// Starts `switchyard serve` over `data_dir` and waits for its URL.
fn spawn(data_dir: &Path, extra_args: &[&str], env: &[(&str, &str)]) -> (String, Running) {
    std::fs::create_dir_all(data_dir).expect("create data dir");
    // The local agent's sites run as their own users, who must pass through every directory
    // above its root; the test's temporary directory starts out 0700.
    // Only the search bits are added: the parent may be /tmp itself, whose other bits (sticky,
    // writable by all) must stay.
    if let Some(parent) = data_dir.parent() {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(parent).expect("the test directory").permissions().mode();
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(mode | 0o011)).expect("open up the test directory");
    }
    let mut command = Command::new(workspace_binary("switchyard"));
    command.envs(env.iter().copied());
    // A free port for the local agent too: tests run side by side.
    command.args(["serve", "--port", "0", "--agent-listen", "127.0.0.1:0", "--data"]).arg(data_dir).args(extra_args);
    let mut process = Running::spawn("switchyard serve", command, data_dir);
    let output = process.wait_for_output("its URL", Duration::from_secs(30), |out| out.contains("serving at http://"));
    // The agent's router prints its public address first; the server's URL is on its own line.
    let url = output
        .lines()
        .find(|line| line.contains("serving at http://"))
        .into_iter()
        .flat_map(str::split_whitespace)
        .find(|word| word.starts_with("http://"))
        .expect("the URL is printed")
        .trim_end_matches('/')
        .to_owned();
    (url, process)
}

/// `switchyard local-agent stop` over a data directory (nothing when none runs).
fn stop_local_agent(data_dir: &Path) {
    let stopped = Command::new(workspace_binary("switchyard")).args(["local-agent", "stop", "--data"]).arg(data_dir).output();
    if let Ok(output) = stopped {
        if !output.status.success() && !std::thread::panicking() {
            panic!("switchyard local-agent stop failed: {}", String::from_utf8_lossy(&output.stderr));
        }
    }
}

impl Server {
    /// Logs the browser in as the administrator, the way the login page does (the page posts
    /// the credentials and the server sets its HttpOnly cookie), and opens `path`.
    pub async fn sign_in(&self, browser: &crate::browser::Browser, path: &str) {
        self.admin_token().await;
        browser.client.goto(&format!("{}/login", self.url)).await.expect("open the server's origin");
        let script = "const [user, password, done] = arguments; \
             fetch('/api/v1/session', {method: 'POST', headers: {'content-type': 'application/json'}, \
             body: JSON.stringify({username: user, password: password})}).then(r => done(r.status), e => done(String(e)));";
        let status = browser.client.execute_async(script, vec![ADMIN.0.into(), ADMIN.1.into()]).await.expect("log in from the page");
        assert_eq!(status, serde_json::json!(200), "logging in from the page answered {status}");
        browser.client.goto(&format!("{}{path}", self.url)).await.expect("open the page");
    }
}
