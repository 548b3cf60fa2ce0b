//! People in the role tests: an API session for setting the scene (the administrator, users
//! with passwords, another customer's site) and logging in through the browser's login page.

use fantoccini::Locator;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use switchyard_e2e::browser::Browser;
use switchyard_e2e::server::Server;

/// The administrator every role test creates on the fresh server's set-up.
pub const ADMIN: (&str, &str) = ("ada", "correct horse battery");
/// The password the tests give the demo's users (alice the customer, sam, maria).
pub const PASSWORD: &str = "staple battery horse";

/// An API session, holding the token `POST /session` or `POST /setup` answered with.
pub struct Api {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Api {
    /// Creates the administrator through `POST /setup` on a fresh server.
    pub async fn set_up(server: &Server) -> Api {
        let body = json!({"username": ADMIN.0, "display_name": "Ada Admin", "password": ADMIN.1});
        Self::open(server, "/setup", body).await
    }

    pub async fn log_in(server: &Server, username: &str, password: &str) -> Api {
        Self::open(server, "/session", json!({"username": username, "password": password})).await
    }

    async fn open(server: &Server, path: &str, body: Value) -> Api {
        let client = reqwest::Client::new();
        let reply = client.post(server.api(path)).json(&body).send().await.unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = reply.status();
        let token = reply.headers().get("x-switchyard-session").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = reply.text().await.unwrap_or_default();
        let token = token.unwrap_or_else(|| panic!("POST {path} answered {status} without a session: {text}"));
        Api { base: server.api(""), token, client }
    }

    /// Sends a request and returns the status and the JSON body (`null` when there is none).
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.client.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = request.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = reply.status();
        let text = reply.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Uploads a candidate's bytes as the raw body, the way the UI and the CLI do.
    pub async fn upload(&self, path: &str, filename: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.base);
        let reply = self
            .client
            .post(&url)
            .bearer_auth(&self.token)
            .header("x-filename", filename)
            .header("content-type", "application/gzip")
            .body(bytes)
            .send()
            .await;
        let reply = reply.unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = reply.status();
        let text = reply.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// GETs JSON that must be there.
    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.send(Method::GET, path, None).await;
        assert!(status.is_success(), "GET {path} answered {status}: {body}");
        body
    }

    /// POSTs JSON that must succeed.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (status, reply) = self.send(Method::POST, path, Some(body.clone())).await;
        assert!(status.is_success(), "POST {path} {body} answered {status}: {reply}");
        reply
    }

    /// Gives a user (by username) a password, as the administrator.
    pub async fn set_password(&self, username: &str, password: &str) {
        let users = self.get("/users").await;
        let id =
            users.as_array().unwrap().iter().find(|u| u["username"] == username).unwrap_or_else(|| panic!("no user {username} in {users}"))
                ["id"]
                .as_i64()
                .unwrap();
        let (status, body) = self.send(Method::PUT, &format!("/users/{id}/password"), Some(json!({"password": password}))).await;
        assert!(status.is_success(), "setting {username}'s password answered {status}: {body}");
    }
}

/// The administrator's session, and the demo's users given [`PASSWORD`].
pub async fn staffed(server: &Server) -> Api {
    let admin = Api::set_up(server).await;
    for username in ["alice", "sam", "maria"] {
        admin.set_password(username, PASSWORD).await;
    }
    admin
}

/// Logs in through the login page and waits for the app to greet the user.
pub async fn log_in(browser: &Browser, server: &Server, username: &str, password: &str) {
    browser.client.goto(&format!("{}/", server.url)).await.unwrap();
    browser.find("#login-form input[name=username]").await.send_keys(username).await.unwrap();
    browser.find("#login-form input[name=password]").await.send_keys(password).await.unwrap();
    browser.find("#login-form button[type=submit]").await.click().await.unwrap();
    browser.find("#whoami-name").await;
}

/// The labels of the navigation links the logged-in user is offered.
pub async fn navigation(browser: &Browser) -> Vec<String> {
    browser.find("#whoami").await;
    let mut labels = Vec::new();
    for link in browser.client.find_all(Locator::Css("#nav .nav-link")).await.unwrap() {
        labels.push(link.text().await.unwrap());
    }
    labels
}

/// Whether any element matches now (no waiting).
pub async fn present(browser: &Browser, css: &str) -> bool {
    !browser.client.find_all(Locator::Css(css)).await.unwrap_or_default().is_empty()
}

/// Asks for a release (as `api`) until `done` says so, failing with the last answer after `limit`.
pub async fn wait_for_release(api: &Api, id: i64, what: &str, limit: std::time::Duration, done: impl Fn(&Value) -> bool) -> Value {
    let start = std::time::Instant::now();
    loop {
        let detail = api.get(&format!("/releases/{id}")).await;
        if done(&detail) {
            return detail;
        }
        if start.elapsed() > limit {
            panic!("release {id} never became {what} within {limit:?}; it is:\n{detail:#}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

/// Whether a release's `allowed` lists `decision` for the asking user.
pub fn allows(detail: &Value, decision: &str) -> bool {
    detail["allowed"].as_array().is_some_and(|a| a.iter().any(|d| d == decision))
}

pub fn status(detail: &Value) -> &str {
    detail["summary"]["status"].as_str().unwrap_or_default()
}

/// Waits until the page shows an element, for as long as a release step may take.
pub async fn wait_for_element(browser: &Browser, css: &str, limit: std::time::Duration) -> fantoccini::elements::Element {
    match browser.client.wait().at_most(limit).for_element(Locator::Css(css)).await {
        Ok(element) => element,
        Err(e) => panic!("no element {css:?} within {limit:?} ({e}); the page says:\n{}", browser.page_text().await),
    }
}
