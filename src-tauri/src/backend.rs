//! Where a request from the window goes: into the in-process router (standalone) or over HTTP
//! to the team's `switchyard serve` (team), with the shell's cookie jar either way. Every
//! command that talks to the API goes through [`Desktop::send`], so both modes behave alike.

use crate::jar::CookieJar;
use crate::mode::{self, DesktopMode};
use crate::standalone::Standalone;
use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request};
use bytes::Bytes;
use futures_util::stream::BoxStream;
use http_body_util::BodyExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use switchyard_api::{ApiError, SessionInfo, API_PREFIX};
use tokio::sync::RwLock;
use tower::ServiceExt;

/// A request as the shell sends it, whatever the mode.
pub struct Outgoing {
    pub method: Method,
    /// Starts with `/api/v1/`; nothing else is ever sent anywhere.
    pub path: String,
    pub body: OutBody,
    /// Extra headers, e.g. `X-Filename` for an upload.
    pub headers: Vec<(&'static str, String)>,
}

pub enum OutBody {
    Empty,
    Json(String),
    /// A file streamed from disk, with its length.
    Stream {
        stream: BoxStream<'static, std::io::Result<Bytes>>,
        length: u64,
    },
}

impl Outgoing {
    pub fn new(method: Method, path: impl Into<String>, body: OutBody) -> Self {
        Self { method, path: path.into(), body, headers: Vec::new() }
    }
}

/// What came back: the HTTP status and body, as a server would have sent them.
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The server's `ApiError` for a failed request, or one describing the odd reply.
    pub fn error(&self) -> ApiError {
        serde_json::from_slice::<ApiError>(&self.body).unwrap_or_else(|_| {
            ApiError::new(format!("the server answered {}", self.status), self.text().chars().take(200).collect::<String>())
        })
    }

    /// The JSON value of a successful reply, or the server's error.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        if !(200..300).contains(&self.status) {
            return Err(self.error());
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            ApiError::new("unexpected reply from the server", format!("{e}; are the desktop app and server the same version?"))
        })
    }
}

/// The desktop app's state: the chosen mode, the jar and what each mode needs.
pub struct Desktop {
    config_file: PathBuf,
    mode: RwLock<DesktopMode>,
    /// Opened on start in standalone mode, or when someone switches to it.
    standalone: tokio::sync::Mutex<Option<Arc<Standalone>>>,
    http: reqwest::Client,
    jar: Mutex<CookieJar>,
}

fn unreachable(url: &str, error: &reqwest::Error) -> ApiError {
    // reqwest's top-level message says little ("error sending request"); the cause says why.
    let mut cause = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        cause = format!("{cause}: {inner}");
        source = inner.source();
    }
    ApiError::new(
        format!("cannot reach the Switchyard server at {url}"),
        format!(
            "{cause}. Check that `switchyard serve` runs there and that this computer can reach it, \
             or change the address (or switch to standalone mode) in the desktop settings"
        ),
    )
}

impl Desktop {
    /// Reads the saved mode; standalone mode's store and agent are opened at once so a broken
    /// data directory is reported on start, team mode opens nothing local.
    pub async fn open(config_file: PathBuf) -> Result<Self, String> {
        let mode = mode::load(&config_file)?;
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .user_agent(concat!("switchyard-desktop/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up HTTP: {e}"))?;
        let desktop = Self { config_file, mode: RwLock::new(mode.clone()), standalone: Default::default(), http, jar: Mutex::default() };
        if mode.team_url().is_none() {
            desktop.standalone().await?;
        }
        Ok(desktop)
    }

    async fn standalone(&self) -> Result<Arc<Standalone>, String> {
        let mut slot = self.standalone.lock().await;
        if let Some(standalone) = slot.as_ref() {
            return Ok(standalone.clone());
        }
        let standalone = Arc::new(Standalone::open().await?);
        *slot = Some(standalone.clone());
        Ok(standalone)
    }

    /// Stops standalone mode's agent and closes its store, if they were opened; for the app's exit.
    pub async fn shut_down(&self) {
        let standalone = self.standalone.lock().await.take();
        if let Some(standalone) = standalone {
            standalone.shut_down().await;
        }
    }

    pub async fn mode(&self) -> DesktopMode {
        self.mode.read().await.clone()
    }

    /// What the settings panel shows about standalone mode's agent, when it runs.
    pub fn standalone_summary(&self) -> Option<String> {
        self.standalone.try_lock().ok()?.as_ref().map(|standalone| standalone.agent_summary())
    }

    /// Whether anyone is signed in, and as whom (the session cookie's value).
    pub fn session_cookie(&self) -> Option<String> {
        self.jar.lock().expect("jar poisoned").get(switchyard_service::SESSION_COOKIE).map(str::to_owned)
    }

    /// Switches mode after checking the new target answers; forgets the old session.
    pub async fn set_mode(&self, wanted: DesktopMode) -> Result<DesktopMode, ApiError> {
        let wanted = wanted.validated()?;
        match wanted.team_url() {
            Some(url) => self.check_team_server(url).await?,
            None => {
                self.standalone().await.map_err(|e| ApiError::new("cannot open the embedded store", e))?;
            }
        }
        mode::save(&self.config_file, &wanted)?;
        let mut mode = self.mode.write().await;
        *mode = wanted.clone();
        self.jar.lock().expect("jar poisoned").clear();
        Ok(wanted)
    }

    async fn check_team_server(&self, url: &str) -> Result<(), ApiError> {
        let probe = format!("{url}{API_PREFIX}/session");
        let reply = self.http.get(&probe).timeout(std::time::Duration::from_secs(15)).send().await.map_err(|e| unreachable(url, &e))?;
        let status = reply.status();
        let body = reply.bytes().await.map_err(|e| unreachable(url, &e))?;
        if !status.is_success() || serde_json::from_slice::<SessionInfo>(&body).is_err() {
            return Err(ApiError::new(
                format!("{url} answered, but not as a Switchyard server"),
                format!("GET {API_PREFIX}/session gave {status}; check the address (the one people open in a browser) and that server's version"),
            ));
        }
        Ok(())
    }

    /// Sends a request to the current target with the jar's cookies, and keeps the cookies the
    /// answer sets. A team server that cannot be reached is an `ApiError` saying what to do.
    pub async fn send(&self, outgoing: Outgoing) -> Result<Reply, ApiError> {
        if !outgoing.path.starts_with(&format!("{API_PREFIX}/")) {
            return Err(ApiError::new(
                format!("{} is not an API path", outgoing.path),
                format!("the desktop app only sends requests under {API_PREFIX}/"),
            ));
        }
        let cookie = self.jar.lock().expect("jar poisoned").header();
        let mode = self.mode().await;
        let (reply, set_cookies) = match mode.team_url() {
            Some(url) => self.send_to_team(url, outgoing, cookie).await?,
            None => self.send_in_process(outgoing, cookie).await?,
        };
        // A reply that arrives after a mode switch belongs to the old target's session.
        if self.mode().await == mode {
            let mut jar = self.jar.lock().expect("jar poisoned");
            for set_cookie in &set_cookies {
                jar.store(set_cookie);
            }
        }
        Ok(reply)
    }

    async fn send_in_process(&self, outgoing: Outgoing, cookie: Option<String>) -> Result<(Reply, Vec<String>), ApiError> {
        let standalone = self.standalone().await.map_err(|e| ApiError::new("cannot open the embedded store", e))?;
        let path = outgoing.path.clone();
        let mut builder = Request::builder().method(outgoing.method).uri(&outgoing.path);
        if let Some(cookie) = cookie {
            builder = builder.header(header::COOKIE, cookie);
        }
        for (name, value) in outgoing.headers {
            builder = builder.header(name, value);
        }
        let body = match outgoing.body {
            OutBody::Empty => Body::empty(),
            OutBody::Json(text) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::from(text)
            }
            OutBody::Stream { stream, length } => {
                builder = builder.header(header::CONTENT_TYPE, "application/octet-stream").header(header::CONTENT_LENGTH, length);
                Body::from_stream(stream)
            }
        };
        let request = builder.body(body).map_err(|e| ApiError::new(format!("cannot build a request for {path}"), e.to_string()))?;
        let Ok(response) = standalone.api.clone().oneshot(request).await;
        let status = response.status().as_u16();
        let set_cookies = set_cookie_headers(response.headers().get_all(header::SET_COOKIE));
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| ApiError::new(format!("cannot read the reply to {path}"), e.to_string()))?
            .to_bytes();
        Ok((Reply { status, body }, set_cookies))
    }

    async fn send_to_team(&self, url: &str, outgoing: Outgoing, cookie: Option<String>) -> Result<(Reply, Vec<String>), ApiError> {
        let mut request = self.http.request(outgoing.method, format!("{url}{}", outgoing.path));
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        for (name, value) in outgoing.headers {
            request = request.header(name, value);
        }
        request = match outgoing.body {
            OutBody::Empty => request.timeout(std::time::Duration::from_secs(120)),
            OutBody::Json(text) => {
                request.header(header::CONTENT_TYPE, "application/json").body(text).timeout(std::time::Duration::from_secs(120))
            }
            // No overall timeout: a large upload over a slow link takes as long as it takes.
            OutBody::Stream { stream, length } => request
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .header(header::CONTENT_LENGTH, length)
                .body(reqwest::Body::wrap_stream(stream)),
        };
        let response = request.send().await.map_err(|e| unreachable(url, &e))?;
        let status = response.status().as_u16();
        let set_cookies = set_cookie_headers(response.headers().get_all(header::SET_COOKIE));
        let body = response.bytes().await.map_err(|e| unreachable(url, &e))?;
        Ok((Reply { status, body }, set_cookies))
    }
}

fn set_cookie_headers(values: axum::http::header::GetAll<'_, HeaderValue>) -> Vec<String> {
    values.iter().filter_map(|value| value.to_str().ok()).map(str::to_owned).collect()
}
