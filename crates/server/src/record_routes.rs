//! Routes of the tamper-evident record: the chains checked (`GET /audit/verify`) and a release's
//! record exported with its chain (`GET /releases/{id}/record`).

use crate::extract::Id;
use crate::session::Who;
use crate::AppError;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use switchyard_api::{RecordCheck, ReleaseRecordExport};
use switchyard_service::Service;

pub fn routes() -> Router<Service> {
    Router::new().route("/audit/verify", get(verify)).route("/releases/{id}/record", get(release_record))
}

async fn verify(State(service): State<Service>, Who(caller): Who) -> Result<Json<RecordCheck>, AppError> {
    Ok(Json(service.verify_record(&caller).await?))
}

async fn release_record(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Result<Json<ReleaseRecordExport>, AppError> {
    Ok(Json(service.release_record(&caller, id).await?))
}
