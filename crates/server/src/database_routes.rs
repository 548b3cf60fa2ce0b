//! Routes of a site's databases: the list its page shows, and removing a leftover copy.

use crate::extract::{Body, Id};
use crate::session::Who;
use crate::AppError;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use switchyard_api::{RemoveSiteDatabase, SiteDatabases};
use switchyard_service::Service;

pub fn routes() -> Router<Service> {
    Router::new().route("/sites/{id}/databases", get(site_databases)).route("/sites/{id}/databases/remove", post(remove_site_database))
}

async fn site_databases(State(service): State<Service>, Who(caller): Who, Id(site_id): Id) -> Result<Json<SiteDatabases>, AppError> {
    Ok(Json(service.site_databases(&caller, site_id).await?))
}

async fn remove_site_database(
    State(service): State<Service>,
    Who(caller): Who,
    Id(site_id): Id,
    Body(request): Body<RemoveSiteDatabase>,
) -> Result<Json<SiteDatabases>, AppError> {
    Ok(Json(service.remove_site_database(&caller, site_id, request).await?))
}
