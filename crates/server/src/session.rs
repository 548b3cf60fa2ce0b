//! Who is asking: the session cookie (or a bearer token, for the CLI) turned into a
//! [`Caller`], and the routes that log in, log out, set Switchyard up on first run and enrol a
//! second factor. Their bodies are limited to [`AUTH_BODY_LIMIT`] before anything is read.

use crate::extract::{Body, Id};
use crate::{AppError, HttpConfig};
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Query, State};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use switchyard_api::{AuditPage, Login, PasswordChange, SessionInfo, Setup, TotpCode, TotpEnrolment};
use switchyard_service::{Caller, NewSession, Service, SESSION_COOKIE, SESSION_DAYS};

/// The logged-in caller of a request; a request without a valid session is a 401.
pub struct Who(pub Caller);

impl FromRequestParts<Service> for Who {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Self, AppError> {
        let token = session_token(&parts.headers);
        let caller = service.caller(token.as_deref(), &remote(parts)).await?;
        Ok(Self(caller))
    }
}

/// The largest body a login, set-up, password or second-factor request may have.
pub const AUTH_BODY_LIMIT: usize = 16 * 1024;

/// The client's address; the desktop app's in-process requests have none. `X-Forwarded-For`
/// counts only when the connection comes from a trusted proxy: then the client is the
/// right-most address in it that is not itself a trusted proxy.
fn remote(parts: &Parts) -> String {
    let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else { return "desktop".to_owned() };
    let config = parts.extensions.get::<Arc<HttpConfig>>().cloned().unwrap_or_default();
    client_address(peer.ip(), parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()), &config).to_string()
}

fn client_address<'a>(peer: IpAddr, forwarded: impl Iterator<Item = &'a str>, config: &HttpConfig) -> IpAddr {
    if !config.trusts(peer) {
        return peer;
    }
    let chain: Vec<&str> = forwarded.flat_map(|value| value.split(',')).map(str::trim).collect();
    let mut client = peer;
    for hop in chain.iter().rev() {
        let Ok(address) = hop.parse::<IpAddr>() else { break };
        client = address;
        if !config.trusts(address) {
            break;
        }
    }
    client
}

/// Whether the request carries a session cookie (as a browser sends it on its own).
pub(crate) fn has_session_cookie(headers: &HeaderMap) -> bool {
    cookie_token(headers).is_some()
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == SESSION_COOKIE && !value.is_empty()).then(|| value.to_owned())
    })
}

/// The session token from the cookie, or from `Authorization: Bearer` (the CLI).
pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie_token(headers).or_else(|| {
        let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
        value.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
    })
}

pub fn routes() -> Router<Service> {
    Router::new()
        .route("/session", get(session_info).post(login).delete(logout))
        .route("/setup", post(setup))
        .route("/users/{id}/password", put(change_password))
        .route("/session/totp", post(enrol_second_factor))
        .route("/session/totp/confirm", post(confirm_second_factor))
        .layer(DefaultBodyLimit::max(AUTH_BODY_LIMIT))
        .route("/audit", get(audit))
}

/// Cookie attributes: never readable by scripts, never sent from another site, and `Secure`
/// when Switchyard is reached over HTTPS.
fn cookie_attributes(config: &HttpConfig) -> &'static str {
    if config.secure_cookies {
        "HttpOnly; SameSite=Strict; Secure; Path=/"
    } else {
        "HttpOnly; SameSite=Strict; Path=/"
    }
}

struct RemoteOf(String);

impl FromRequestParts<Service> for RemoteOf {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &Service) -> Result<Self, AppError> {
        Ok(Self(remote(parts)))
    }
}

async fn session_info(State(service): State<Service>, headers: HeaderMap) -> Result<Json<SessionInfo>, AppError> {
    Ok(Json(service.session_info(session_token(&headers).as_deref()).await?))
}

/// The session as a cookie the page's scripts cannot read, plus the token in the body's
/// header for clients without a cookie jar (the CLI).
fn opened(session: NewSession, config: &HttpConfig) -> Response {
    let cookie = format!("{SESSION_COOKIE}={}; {}; Max-Age={}", session.token, cookie_attributes(config), SESSION_DAYS * 24 * 3600);
    let mut response = Json(session.me).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&session.token) {
        response.headers_mut().insert("x-switchyard-session", value);
    }
    response
}

type Config = Extension<Arc<HttpConfig>>;

async fn login(
    State(service): State<Service>,
    Extension(config): Config,
    RemoteOf(remote): RemoteOf,
    Body(login): Body<Login>,
) -> Result<Response, AppError> {
    Ok(opened(service.login(login, &remote).await?, &config))
}

async fn setup(
    State(service): State<Service>,
    Extension(config): Config,
    RemoteOf(remote): RemoteOf,
    Body(setup): Body<Setup>,
) -> Result<Response, AppError> {
    let session = service.setup(setup, &remote).await?;
    let mut response = opened(session, &config);
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

async fn logout(
    State(service): State<Service>,
    Extension(config): Config,
    RemoteOf(remote): RemoteOf,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    service.logout(session_token(&headers).as_deref(), &remote).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    let expired = format!("{SESSION_COOKIE}=; {}; Max-Age=0", cookie_attributes(&config));
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}

async fn change_password(
    State(service): State<Service>,
    Who(caller): Who,
    Id(id): Id,
    Body(change): Body<PasswordChange>,
) -> Result<StatusCode, AppError> {
    service.change_password(&caller, id, change).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts enrolling a second factor; the body (JSON, e.g. `{}`) is not read.
async fn enrol_second_factor(State(service): State<Service>, Who(caller): Who) -> Result<Json<TotpEnrolment>, AppError> {
    Ok(Json(service.enrol_second_factor(&caller).await?))
}

async fn confirm_second_factor(
    State(service): State<Service>,
    Who(caller): Who,
    Body(code): Body<TotpCode>,
) -> Result<StatusCode, AppError> {
    service.confirm_second_factor(&caller, &code.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Paging {
    limit: Option<i64>,
    offset: Option<i64>,
}

async fn audit(
    State(service): State<Service>,
    Who(caller): Who,
    paging: Result<Query<Paging>, QueryRejection>,
) -> Result<Json<AuditPage>, AppError> {
    let Query(paging) = paging.map_err(|r| {
        AppError::new(StatusCode::BAD_REQUEST, "malformed query", format!("limit and offset are whole numbers ({})", r.body_text()))
    })?;
    Ok(Json(service.audit_log(&caller, paging.limit, paging.offset).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let trusting = HttpConfig { trusted_proxies: vec!["10.0.0.0/24".parse().unwrap()], ..HttpConfig::default() };
        let forwarded = || ["203.0.113.9, 198.51.100.7", "10.0.0.3"].into_iter();
        assert_eq!(client_address(proxy, forwarded(), &HttpConfig::default()), proxy, "no proxy is trusted by default");
        assert_eq!(client_address(proxy, forwarded(), &trusting), "198.51.100.7".parse::<IpAddr>().unwrap());
        let stranger: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(client_address(stranger, forwarded(), &trusting), stranger, "a client cannot claim another address");
        assert_eq!(client_address(proxy, ["not an address"].into_iter(), &trusting), proxy);
    }
}
