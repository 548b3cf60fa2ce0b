//! Who is asking: the session cookie (or a bearer token, for the CLI) turned into a
//! [`Caller`], and the routes that log in, log out and set Switchyard up on first run.

use crate::extract::{Body, Id};
use crate::AppError;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use std::net::SocketAddr;
use switchyard_api::{AuditPage, Login, PasswordChange, SessionInfo, Setup};
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

/// The client's address; the desktop app's in-process requests have none.
fn remote(parts: &Parts) -> String {
    match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(address)) => address.ip().to_string(),
        None => "desktop".to_owned(),
    }
}

/// The session token from the cookie, or from `Authorization: Bearer` (the CLI).
pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    let from_cookie = headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == SESSION_COOKIE && !value.is_empty()).then(|| value.to_owned())
    });
    from_cookie.or_else(|| {
        let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
        value.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
    })
}

pub fn routes() -> Router<Service> {
    Router::new()
        .route("/session", get(session_info).post(login).delete(logout))
        .route("/setup", post(setup))
        .route("/users/{id}/password", put(change_password))
        .route("/audit", get(audit))
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
fn opened(session: NewSession) -> Response {
    let cookie = format!("{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}", session.token, SESSION_DAYS * 24 * 3600);
    let mut response = Json(session.me).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&session.token) {
        response.headers_mut().insert("x-switchyard-session", value);
    }
    response
}

async fn login(State(service): State<Service>, RemoteOf(remote): RemoteOf, Body(login): Body<Login>) -> Result<Response, AppError> {
    Ok(opened(service.login(login, &remote).await?))
}

async fn setup(State(service): State<Service>, RemoteOf(remote): RemoteOf, Body(setup): Body<Setup>) -> Result<Response, AppError> {
    let session = service.setup(setup, &remote).await?;
    let mut response = opened(session);
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

async fn logout(State(service): State<Service>, RemoteOf(remote): RemoteOf, headers: HeaderMap) -> Result<Response, AppError> {
    service.logout(session_token(&headers).as_deref(), &remote).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    let expired = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
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
