//! A real `switchyard-server` on a 127.0.0.1 socket over a fresh store in a temporary
//! directory, and a client that keeps what the tests need (cookies by hand, statuses, bodies).
#![allow(dead_code)]

use serde_json::{json, Value};
use std::net::SocketAddr;
use switchyard_server::HttpConfig;
use switchyard_service::Service;
use switchyard_store::Store;

pub const ADMIN: (&str, &str) = ("ada", "correct horse battery");

pub struct Served {
    pub dir: tempfile::TempDir,
    pub service: Service,
    pub base: String,
    /// `127.0.0.1:port`, what a browser sends as Host.
    pub authority: String,
    pub http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Served {
    pub async fn start() -> Served {
        Self::start_with(HttpConfig::default()).await
    }

    pub async fn start_with(config: HttpConfig) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let service = Service::new(Store::open(&dir.path().join("switchyard.db")).await.unwrap());
        service.seed_demo_if_empty().await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = switchyard_server::api_router_with(service.clone(), config).into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Served { dir, service, base: format!("http://{address}/api/v1"), authority: address.to_string(), http, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sets up the first administrator and answers their session cookie (`name=value`).
    pub async fn administrator(&self) -> String {
        let body = json!({"username": ADMIN.0, "password": ADMIN.1});
        let response = self.http.post(self.url("/setup")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
        cookie_of(&response)
    }

    pub async fn log_in(&self, body: &Value) -> (u16, Value, Option<String>) {
        let response = self.http.post(self.url("/session")).json(body).send().await.unwrap();
        let status = response.status().as_u16();
        let cookie = response.headers().get("set-cookie").map(|_| cookie_of(&response));
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body, cookie)
    }

    /// A JSON request with the session cookie, as the UI sends it from Switchyard's own page.
    pub async fn send(&self, cookie: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request =
            self.http.request(method, self.url(path)).header("cookie", cookie).header("origin", format!("http://{}", self.authority));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn audit(&self, cookie: &str) -> Vec<Value> {
        let (status, page) = self.send(cookie, reqwest::Method::GET, "/audit?limit=1000", None).await;
        assert_eq!(status, 200, "{page}");
        page["entries"].as_array().unwrap().clone()
    }
}

pub fn cookie_of(response: &reqwest::Response) -> String {
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}
