//! The HTTP client of a running `switchyard serve`: which server and session to use (flag,
//! environment, saved login), JSON requests with the server's errors turned into sentences,
//! streamed uploads, and finding a site by id or name.

use crate::session_file;
use anyhow::{Context, Result};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::time::Duration;
use switchyard_api::{ApiError, Site, API_PREFIX};

/// Where `switchyard serve` listens unless told otherwise.
pub const DEFAULT_URL: &str = "http://127.0.0.1:7878";

/// Which server to talk to; shared by every command that uses the API.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RemoteArgs {
    /// The Switchyard server (default: the one you logged in to, else http://127.0.0.1:7878).
    #[arg(long, env = "SWITCHYARD_URL", global = true)]
    pub url: Option<String>,
}

impl RemoteArgs {
    /// The server the user named, normalised (`host:port` becomes `http://host:port`).
    pub fn explicit_url(&self) -> Option<String> {
        self.url.as_deref().map(str::trim).filter(|u| !u.is_empty()).map(normalise_url)
    }
}

pub fn normalise_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    }
}

/// A failed API call: the HTTP status and the server's `{"error","detail","fields"}`.
#[derive(Debug)]
pub struct ApiFailure {
    pub status: StatusCode,
    pub body: ApiError,
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.body)?;
        // Fields the detail does not already say.
        for field in self.body.fields.iter().filter(|field| !self.body.detail.contains(&field.message)) {
            write!(f, "; {}: {}", field.field, field.message)?;
        }
        if self.status == StatusCode::UNAUTHORIZED {
            write!(f, " (log in again with `switchyard login --username NAME`, or set SWITCHYARD_TOKEN)")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiFailure {}

/// A client bound to one server and, once logged in, one session.
pub struct Remote {
    pub url: String,
    token: Option<String>,
    client: reqwest::Client,
}

impl Remote {
    /// A client without a session, for logging in.
    pub fn anonymous(url: String) -> Result<Self> {
        let client =
            reqwest::Client::builder().connect_timeout(Duration::from_secs(10)).build().context("cannot set up the HTTP client")?;
        Ok(Self { url, token: None, client })
    }

    /// The server from `--url`/`SWITCHYARD_URL` or the saved login, with the session from
    /// `SWITCHYARD_TOKEN` or the saved login (only when it was saved for that same server).
    pub fn connect(args: &RemoteArgs) -> Result<Self> {
        let saved = session_file::load()?;
        let url = args.explicit_url().or_else(|| saved.as_ref().map(|s| normalise_url(&s.url))).unwrap_or_else(|| DEFAULT_URL.to_owned());
        let from_env = std::env::var("SWITCHYARD_TOKEN").ok().filter(|t| !t.trim().is_empty());
        let token = from_env.or_else(|| saved.filter(|s| normalise_url(&s.url) == url).map(|s| s.token)).with_context(|| {
            format!("not logged in to {url}; run `switchyard login --url {url} --username NAME`, or set SWITCHYARD_TOKEN")
        })?;
        let mut remote = Self::anonymous(url)?;
        remote.token = Some(token.trim().to_owned());
        Ok(remote)
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{API_PREFIX}{path}", self.url)
    }

    /// A request to an API path carrying the session, if any.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.client.request(method, self.endpoint(path));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends a request and returns the raw reply when it succeeded, the server's error otherwise.
    pub async fn send_raw(&self, request: RequestBuilder) -> Result<reqwest::Response> {
        let reply = request.send().await.map_err(|e| self.unreachable(e))?;
        let status = reply.status();
        if status.is_success() {
            return Ok(reply);
        }
        let text = reply.text().await.unwrap_or_default();
        let body = serde_json::from_str::<ApiError>(&text).unwrap_or_else(|_| {
            let text = text.trim();
            ApiError::new(
                format!("the server answered {status}"),
                if text.is_empty() { String::new() } else { text.chars().take(300).collect() },
            )
        });
        Err(ApiFailure { status, body }.into())
    }

    fn unreachable(&self, error: reqwest::Error) -> anyhow::Error {
        let cause = std::error::Error::source(&error).map_or_else(|| error.to_string(), |source| format!("{error}: {source}"));
        anyhow::anyhow!(
            "cannot reach Switchyard at {} ({cause}); is `switchyard serve` running there? Pass --url or set SWITCHYARD_URL",
            self.url
        )
    }

    /// Sends a request and reads its JSON reply, giving up after two minutes.
    pub async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T> {
        self.send_within(request, Duration::from_secs(120)).await
    }

    /// Sends a request and reads its JSON reply, giving up after `limit`.
    pub async fn send_within<T: DeserializeOwned>(&self, request: RequestBuilder, limit: Duration) -> Result<T> {
        let reply = self.send_raw(request.timeout(limit)).await?;
        let text = reply.text().await.map_err(|e| self.unreachable(e))?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "the server's answer does not read ({}); is {} a Switchyard of the same version?",
                text.chars().take(200).collect::<String>(),
                self.url
            )
        })
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    pub async fn put<B: Serialize + ?Sized, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.send(self.request(Method::PUT, path).json(body)).await
    }

    /// The site the user named by id or by name, among those they may see.
    pub async fn site(&self, id_or_name: &str) -> Result<Site> {
        let sites: Vec<Site> = self.get("/sites").await.context("cannot list the sites to find the one you named")?;
        find_site(sites, id_or_name)
    }
}

/// An id matches first, then the exact name, then the name ignoring case.
fn find_site(sites: Vec<Site>, id_or_name: &str) -> Result<Site> {
    let wanted = id_or_name.trim();
    if let Ok(id) = wanted.parse::<i64>() {
        if let Some(site) = sites.iter().find(|s| s.id == id) {
            return Ok(site.clone());
        }
    }
    if let Some(site) = sites.iter().find(|s| s.name == wanted) {
        return Ok(site.clone());
    }
    let folded: Vec<&Site> = sites.iter().filter(|s| s.name.eq_ignore_ascii_case(wanted)).collect();
    if let [site] = folded.as_slice() {
        return Ok((*site).clone());
    }
    let known: Vec<String> = sites.iter().map(|s| format!("{} ({})", s.id, s.name)).collect();
    if known.is_empty() {
        anyhow::bail!("there is no site {wanted:?}: you may see no sites at all")
    }
    anyhow::bail!("there is no site {wanted:?}; give one of these ids or names: {}", known.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(id: i64, name: &str) -> Site {
        Site {
            id,
            key: name.to_lowercase(),
            name: name.into(),
            customer_id: 1,
            customer_name: "Acme".into(),
            description: String::new(),
            environment_count: 2,
            runtime_manifest: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn a_site_is_found_by_id_then_by_name_and_a_miss_lists_the_choices() {
        let sites = || vec![site(1, "Acme Shop"), site(2, "7")];
        assert_eq!(find_site(sites(), "1").unwrap().id, 1);
        assert_eq!(find_site(sites(), "acme shop").unwrap().id, 1);
        assert_eq!(find_site(sites(), "7").unwrap().id, 2);
        let miss = find_site(sites(), "Shop").unwrap_err().to_string();
        assert!(miss.contains("1 (Acme Shop)") && miss.contains("2 (7)"), "{miss}");
    }

    #[test]
    fn a_bare_address_becomes_an_http_url() {
        assert_eq!(normalise_url("127.0.0.1:7878/"), "http://127.0.0.1:7878");
        assert_eq!(normalise_url("https://sy.example.com"), "https://sy.example.com");
    }
}
