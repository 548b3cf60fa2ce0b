//! Routes that remove release candidates: one by its sha256, or a site's old ones by policy.

use crate::extract::{Body, Id};
use crate::session::Who;
use crate::AppError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use switchyard_api::{CandidatePrune, PrunedCandidates};
use switchyard_service::Service;

pub fn routes() -> Router<Service> {
    Router::new()
        .route("/sites/{id}/candidates/{sha256}", delete(delete_candidate))
        .route("/sites/{id}/candidates/prune", post(prune_candidates))
}

async fn delete_candidate(
    State(service): State<Service>,
    Who(caller): Who,
    Id((site_id, sha256)): Id<(i64, String)>,
) -> Result<StatusCode, AppError> {
    service.delete_candidate(&caller, site_id, &sha256).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn prune_candidates(
    State(service): State<Service>,
    Who(caller): Who,
    Id(site_id): Id,
    Body(prune): Body<CandidatePrune>,
) -> Result<Json<PrunedCandidates>, AppError> {
    Ok(Json(service.prune_candidates(&caller, site_id, prune.keep).await?))
}
