//! The API's routes. Each handler extracts its input, calls one service method and returns JSON.

use crate::extract::{Body, Id};
use crate::session::Who;
use crate::AppError;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use switchyard_api::{
    Account, AccountDraft, Address, AddressDraft, CandidateLimitsDraft, CaptureWindow, CaptureWindowDraft, Customer, CustomerDraft,
    Environment, EnvironmentDraft, Host, HostDraft, HostStatus, Overview, PatchDocumentDraft, PatchDocumentRecord, Site,
    SiteCandidateLimits, SiteDetail, SiteDraft, SiteRuntime, User, UserDraft,
};
use switchyard_service::Service;

type Reply<T> = Result<Json<T>, AppError>;
type Created<T> = Result<(StatusCode, Json<T>), AppError>;
type Deleted = Result<StatusCode, AppError>;

pub fn routes() -> Router<Service> {
    Router::new()
        .route("/overview", get(overview))
        .route("/dashboard", get(dashboard))
        .route("/sites/{id}/dashboard", get(site_dashboard))
        .route("/customers", get(list_customers).post(create_customer))
        .route("/customers/{id}", get(customer).put(update_customer).delete(delete_customer))
        .route("/sites", get(list_sites).post(create_site))
        .route("/sites/{id}", get(site).put(update_site).delete(delete_site))
        .route("/sites/{id}/runtime", axum::routing::put(set_site_runtime))
        .route("/sites/{id}/candidate-limits", axum::routing::put(set_site_candidate_limits))
        .route("/sites/{id}/capture-window", axum::routing::get(site_capture_window).put(set_site_capture_window))
        .route("/sites/{id}/environments", get(list_environments).post(create_environment))
        .route("/sites/{id}/addresses", axum::routing::post(create_address))
        .route("/sites/{id}/accounts", axum::routing::post(create_account))
        .route("/sites/{id}/patch-documents", get(list_patch_documents).post(save_patch_document))
        .route("/sites/{id}/patch-documents/{version}", get(patch_document))
        .route("/sites/{id}/patch-template", get(patch_template))
        .route("/environments/{id}", get(environment).put(update_environment).delete(delete_environment))
        .route("/addresses/{id}", axum::routing::put(update_address).delete(delete_address))
        .route("/accounts/{id}", axum::routing::put(update_account).delete(delete_account))
        .route("/hosts", get(list_hosts).post(create_host))
        .route("/hosts/{id}", get(host).put(update_host).delete(delete_host))
        .route("/hosts/{id}/status", get(host_status))
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", get(user).put(update_user).delete(delete_user))
        .fallback(unknown_route)
}

async fn unknown_route() -> AppError {
    AppError::new(StatusCode::NOT_FOUND, "no such API route", "see the API routes listed in ARCHITECTURE.md")
}

fn created<T>(value: T) -> (StatusCode, Json<T>) {
    (StatusCode::CREATED, Json(value))
}

async fn overview(State(service): State<Service>, Who(caller): Who) -> Reply<Overview> {
    Ok(Json(service.overview(&caller).await?))
}

async fn dashboard(State(service): State<Service>, Who(caller): Who) -> Reply<switchyard_api::Dashboard> {
    Ok(Json(service.dashboard(&caller).await?))
}

async fn site_dashboard(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Reply<switchyard_api::SiteDashboard> {
    Ok(Json(service.site_dashboard(&caller, id).await?))
}

async fn list_customers(State(service): State<Service>, Who(caller): Who) -> Reply<Vec<Customer>> {
    Ok(Json(service.list_customers(&caller).await?))
}

async fn customer(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Reply<Customer> {
    Ok(Json(service.customer(&caller, id).await?))
}

async fn create_customer(State(service): State<Service>, Who(caller): Who, Body(draft): Body<CustomerDraft>) -> Created<Customer> {
    Ok(created(service.create_customer(&caller, draft).await?))
}

async fn update_customer(
    State(service): State<Service>,
    Who(caller): Who,
    Id(id): Id,
    Body(draft): Body<CustomerDraft>,
) -> Reply<Customer> {
    Ok(Json(service.update_customer(&caller, id, draft).await?))
}

async fn delete_customer(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Deleted {
    service.delete_customer(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct SiteFilter {
    customer_id: Option<i64>,
}

async fn list_sites(
    State(service): State<Service>,
    Who(caller): Who,
    filter: Result<Query<SiteFilter>, QueryRejection>,
) -> Reply<Vec<Site>> {
    let Query(filter) = filter.map_err(|rejection| {
        AppError::new(StatusCode::BAD_REQUEST, "malformed query", format!("customer_id is a whole number ({})", rejection.body_text()))
    })?;
    Ok(Json(service.list_sites(&caller, filter.customer_id).await?))
}

async fn site(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Reply<SiteDetail> {
    Ok(Json(service.site(&caller, id).await?))
}

async fn create_site(State(service): State<Service>, Who(caller): Who, Body(draft): Body<SiteDraft>) -> Created<Site> {
    Ok(created(service.create_site(&caller, draft).await?))
}

async fn update_site(State(service): State<Service>, Who(caller): Who, Id(id): Id, Body(draft): Body<SiteDraft>) -> Reply<Site> {
    Ok(Json(service.update_site(&caller, id, draft).await?))
}

async fn set_site_runtime(State(service): State<Service>, Who(caller): Who, Id(id): Id, Body(runtime): Body<SiteRuntime>) -> Reply<Site> {
    Ok(Json(service.set_site_runtime(&caller, id, runtime).await?))
}

async fn set_site_candidate_limits(
    State(service): State<Service>,
    Who(caller): Who,
    Id(id): Id,
    Body(limits): Body<CandidateLimitsDraft>,
) -> Reply<SiteCandidateLimits> {
    Ok(Json(service.set_site_candidate_limits(&caller, id, limits).await?))
}

async fn site_capture_window(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Reply<CaptureWindow> {
    Ok(Json(service.site_capture_window(&caller, id).await?))
}

async fn set_site_capture_window(
    State(service): State<Service>,
    Who(caller): Who,
    Id(id): Id,
    Body(draft): Body<CaptureWindowDraft>,
) -> Reply<CaptureWindow> {
    Ok(Json(service.set_site_capture_window(&caller, id, draft).await?))
}

async fn delete_site(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Deleted {
    service.delete_site(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_environments(State(service): State<Service>, Who(caller): Who, Id(site_id): Id) -> Reply<Vec<Environment>> {
    Ok(Json(service.list_environments(&caller, site_id).await?))
}

async fn environment(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Reply<Environment> {
    Ok(Json(service.environment(&caller, id).await?))
}

async fn create_environment(
    State(service): State<Service>,
    Who(caller): Who,
    Id(site_id): Id,
    Body(draft): Body<EnvironmentDraft>,
) -> Created<Environment> {
    Ok(created(service.create_environment(&caller, site_id, draft).await?))
}

async fn update_environment(
    State(service): State<Service>,
    Who(caller): Who,
    Id(id): Id,
    Body(draft): Body<EnvironmentDraft>,
) -> Reply<Environment> {
    Ok(Json(service.update_environment(&caller, id, draft).await?))
}

async fn delete_environment(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Deleted {
    service.delete_environment(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_address(
    State(service): State<Service>,
    Who(caller): Who,
    Id(site_id): Id,
    Body(draft): Body<AddressDraft>,
) -> Created<Address> {
    Ok(created(service.create_address(&caller, site_id, draft).await?))
}

async fn update_address(State(service): State<Service>, Who(caller): Who, Id(id): Id, Body(draft): Body<AddressDraft>) -> Reply<Address> {
    Ok(Json(service.update_address(&caller, id, draft).await?))
}

async fn delete_address(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Deleted {
    service.delete_address(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_account(
    State(service): State<Service>,
    Who(caller): Who,
    Id(site_id): Id,
    Body(draft): Body<AccountDraft>,
) -> Created<Account> {
    Ok(created(service.create_account(&caller, site_id, draft).await?))
}

async fn update_account(State(service): State<Service>, Who(caller): Who, Id(id): Id, Body(draft): Body<AccountDraft>) -> Reply<Account> {
    Ok(Json(service.update_account(&caller, id, draft).await?))
}

async fn delete_account(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Deleted {
    service.delete_account(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_hosts(State(service): State<Service>, Who(caller): Who) -> Reply<Vec<Host>> {
    Ok(Json(service.list_hosts(&caller).await?))
}

async fn host(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Reply<Host> {
    Ok(Json(service.host(&caller, id).await?))
}

async fn host_status(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Reply<HostStatus> {
    Ok(Json(service.host_status(&caller, id).await?))
}

async fn create_host(State(service): State<Service>, Who(caller): Who, Body(draft): Body<HostDraft>) -> Created<Host> {
    Ok(created(service.create_host(&caller, draft).await?))
}

async fn update_host(State(service): State<Service>, Who(caller): Who, Id(id): Id, Body(draft): Body<HostDraft>) -> Reply<Host> {
    Ok(Json(service.update_host(&caller, id, draft).await?))
}

async fn delete_host(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Deleted {
    service.delete_host(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_users(State(service): State<Service>, Who(caller): Who) -> Reply<Vec<User>> {
    Ok(Json(service.list_users(&caller).await?))
}

async fn user(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Reply<User> {
    Ok(Json(service.user(&caller, id).await?))
}

async fn create_user(State(service): State<Service>, Who(caller): Who, Body(draft): Body<UserDraft>) -> Created<User> {
    Ok(created(service.create_user(&caller, draft).await?))
}

async fn update_user(State(service): State<Service>, Who(caller): Who, Id(id): Id, Body(draft): Body<UserDraft>) -> Reply<User> {
    Ok(Json(service.update_user(&caller, id, draft).await?))
}

async fn delete_user(State(service): State<Service>, Who(caller): Who, Id(id): Id) -> Deleted {
    service.delete_user(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_patch_documents(State(service): State<Service>, Who(caller): Who, Id(site_id): Id) -> Reply<Vec<PatchDocumentRecord>> {
    Ok(Json(service.list_patch_documents(&caller, site_id).await?))
}

async fn save_patch_document(
    State(service): State<Service>,
    Who(caller): Who,
    Id(site_id): Id,
    Body(draft): Body<PatchDocumentDraft>,
) -> Created<PatchDocumentRecord> {
    Ok(created(service.save_patch_document(&caller, site_id, draft).await?))
}

async fn patch_document(
    State(service): State<Service>,
    Who(caller): Who,
    Id((site_id, version)): Id<(i64, i64)>,
) -> Reply<PatchDocumentRecord> {
    Ok(Json(service.patch_document(&caller, site_id, version).await?))
}

#[derive(Deserialize)]
struct TemplateQuery {
    workflow: String,
    /// An uploaded candidate's sha256: the template names it and is filled from its manifest.
    candidate: Option<String>,
}

async fn patch_template(
    State(service): State<Service>,
    Who(caller): Who,
    Id(site_id): Id,
    query: Result<Query<TemplateQuery>, QueryRejection>,
) -> Reply<PatchDocumentDraft> {
    let Query(query) = query.map_err(|rejection| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "malformed query",
            format!("add ?workflow=no-migration (or migration, minor-patch, blue-green, rollout) ({})", rejection.body_text()),
        )
    })?;
    Ok(Json(service.patch_template(&caller, site_id, &query.workflow, query.candidate.as_deref()).await?))
}
