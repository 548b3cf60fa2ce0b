//! Routes of release candidates, releases, approvals and history.

use crate::extract::{Body, Id};
use crate::session::Who;
use crate::AppError;
use axum::body::Body as RawBody;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use switchyard_api::{
    AdoptSite, Candidate, Decision, DocumentDiff, GoLive, GoLiveAbandoned, HistoryFilter, HistoryPage, HistoryStats, NewReleaseRequest,
    ReleaseDetail, ReleaseSummary, WentLive,
};
use switchyard_service::{DecisionKind, Service};

type Reply<T> = Result<Json<T>, AppError>;

pub fn routes() -> Router<Service> {
    Router::new()
        .route("/sites/{id}/candidates", get(list_candidates).post(upload_candidate))
        .route("/releases", get(history).post(start_release))
        .route("/releases/stats", get(stats))
        .route("/releases/export.csv", get(export_csv))
        .route("/releases/{id}", get(release))
        .route("/releases/{id}/diff", get(diff))
        .route("/releases/{id}/approve", post(approve))
        .route("/releases/{id}/reject", post(reject))
        .route("/releases/{id}/confirm", post(confirm))
        .route("/releases/{id}/rollback", post(rollback))
        .route("/releases/{id}/resume", post(resume))
        .route("/approvals", get(approvals))
        .route("/sites/{id}/go-live", post(go_live))
        .route("/sites/{id}/go-live/abandon", post(abandon_go_live))
        .route("/sites/{id}/adopt", post(adopt_site))
}

async fn go_live(State(service): State<Service>, Who(caller): Who, Id(site_id): Id, Body(request): Body<GoLive>) -> Reply<WentLive> {
    Ok(Json(service.go_live(&caller, site_id, request).await?))
}

async fn adopt_site(State(service): State<Service>, Who(caller): Who, Id(site_id): Id, Body(request): Body<AdoptSite>) -> Reply<WentLive> {
    Ok(Json(service.adopt_site(&caller, site_id, request).await?))
}

async fn abandon_go_live(State(service): State<Service>, Who(caller): Who, Id(site_id): Id) -> Reply<GoLiveAbandoned> {
    Ok(Json(service.abandon_go_live(&caller, site_id).await?))
}

async fn list_candidates(State(service): State<Service>, Who(caller): Who, Id(site_id): Id) -> Reply<Vec<Candidate>> {
    Ok(Json(service.list_candidates(&caller, site_id).await?))
}

/// The tarball is the raw body, streamed to disk; `X-Filename` names it.
async fn upload_candidate(
    State(service): State<Service>,
    Who(caller): Who,
    Id(site_id): Id,
    headers: HeaderMap,
    body: RawBody,
) -> Result<(StatusCode, Json<Candidate>), AppError> {
    let filename = headers.get("x-filename").and_then(|v| v.to_str().ok()).unwrap_or("");
    let candidate = service.upload_candidate(&caller, site_id, filename, body.into_data_stream()).await?;
    Ok((StatusCode::CREATED, Json(candidate)))
}

async fn start_release(
    State(service): State<Service>,
    Who(caller): Who,
    Body(request): Body<NewReleaseRequest>,
) -> Result<(StatusCode, Json<ReleaseSummary>), AppError> {
    Ok((StatusCode::ACCEPTED, Json(service.start_release(&caller, request).await?)))
}

fn filter(query: Result<Query<HistoryFilter>, QueryRejection>) -> Result<HistoryFilter, AppError> {
    query.map(|Query(filter)| filter).map_err(|r| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "malformed filter",
            format!("site_id, customer_id, limit and offset are whole numbers; from and to are YYYY-MM-DD ({})", r.body_text()),
        )
    })
}

async fn history(
    State(service): State<Service>,
    Who(caller): Who,
    query: Result<Query<HistoryFilter>, QueryRejection>,
) -> Reply<HistoryPage> {
    Ok(Json(service.release_history(&caller, &filter(query)?).await?))
}

async fn stats(
    State(service): State<Service>,
    Who(caller): Who,
    query: Result<Query<HistoryFilter>, QueryRejection>,
) -> Reply<HistoryStats> {
    Ok(Json(service.release_stats(&caller, &filter(query)?).await?))
}

async fn export_csv(
    State(service): State<Service>,
    Who(caller): Who,
    query: Result<Query<HistoryFilter>, QueryRejection>,
) -> Result<Response, AppError> {
    let csv = service.release_csv(&caller, &filter(query)?).await?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (axum::http::header::CONTENT_DISPOSITION, "attachment; filename=\"switchyard-releases.csv\""),
        ],
        csv,
    )
        .into_response())
}

async fn release(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Reply<ReleaseDetail> {
    Ok(Json(service.release_detail(&caller, id).await?))
}

async fn diff(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Reply<DocumentDiff> {
    Ok(Json(service.release_diff(&caller, id).await?))
}

async fn approvals(State(service): State<Service>, Who(caller): Who) -> Reply<Vec<ReleaseSummary>> {
    Ok(Json(service.approvals(&caller).await?))
}

/// A decision's body is optional: an empty body is a decision without a comment.
async fn decide(
    service: Service,
    caller: switchyard_service::Caller,
    id: i64,
    kind: DecisionKind,
    body: axum::body::Bytes,
) -> Reply<ReleaseSummary> {
    let decision: Decision = if body.iter().all(u8::is_ascii_whitespace) {
        Decision::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::new(StatusCode::BAD_REQUEST, "malformed request body", format!("send {{\"comment\": \"...\"}} ({e})")))?
    };
    Ok(Json(service.decide(&caller, id, kind, decision).await?))
}

async fn approve(State(service): State<Service>, Who(caller): Who, Id(id): Id, body: axum::body::Bytes) -> Reply<ReleaseSummary> {
    decide(service, caller, id, DecisionKind::Approve, body).await
}

async fn reject(State(service): State<Service>, Who(caller): Who, Id(id): Id, body: axum::body::Bytes) -> Reply<ReleaseSummary> {
    decide(service, caller, id, DecisionKind::Reject, body).await
}

async fn confirm(State(service): State<Service>, Who(caller): Who, Id(id): Id, body: axum::body::Bytes) -> Reply<ReleaseSummary> {
    decide(service, caller, id, DecisionKind::Confirm, body).await
}

async fn rollback(State(service): State<Service>, Who(caller): Who, Id(id): Id, body: axum::body::Bytes) -> Reply<ReleaseSummary> {
    decide(service, caller, id, DecisionKind::Rollback, body).await
}

async fn resume(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Reply<ReleaseSummary> {
    Ok(Json(service.resume_release(&caller, id).await?))
}
