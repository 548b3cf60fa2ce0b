//! The one API client. Every call goes through [`request`], which picks its transport: `fetch`
//! against the serving origin in a browser, or the desktop shell's `api_request` command (which
//! runs the very same routes in-process) when running inside Tauri.

use serde::de::DeserializeOwned;
use serde::Serialize;
use switchyard_api::{
    Account, AccountDraft, Address, AddressDraft, ApiError, AuditPage, Candidate, Customer, CustomerDraft, Decision, DocumentDiff,
    Environment, EnvironmentDraft, HistoryFilter, HistoryPage, HistoryStats, Host, HostDraft, HostStatus, Login, Me, NewReleaseRequest,
    Overview, PasswordChange, PatchDocumentDraft, PatchDocumentRecord, RecordCheck, ReleaseDetail, ReleaseSummary, SessionInfo, Setup,
    Site, SiteDetail, SiteDraft, SiteRuntime, TotpCode, TotpEnrolment, User, UserDraft, API_PREFIX,
};
use wasm_bindgen::prelude::*;

pub type ApiResult<T> = Result<T, ApiError>;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], catch)]
    async fn invoke(command: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

fn in_desktop_app() -> bool {
    let window = web_sys::window().expect("the UI runs in a browser window");
    js_sys::Reflect::has(&window, &JsValue::from_str("__TAURI__")).unwrap_or(false)
}

/// What either transport hands back: the HTTP status and the body text.
pub(crate) struct RawResponse {
    pub status: u16,
    pub body: String,
}

#[derive(Serialize)]
struct InvokeArgs<'a> {
    method: &'a str,
    path: &'a str,
    body: Option<String>,
}

#[derive(serde::Deserialize)]
struct InvokeReply {
    status: u16,
    body: String,
}

fn unreachable(detail: String) -> ApiError {
    ApiError::new("cannot reach the Switchyard server", detail)
}

async fn send_http(method: &str, path: &str, body: Option<String>) -> ApiResult<RawResponse> {
    use gloo_net::http::{Method, RequestBuilder};
    let method = match method {
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "DELETE" => Method::DELETE,
        _ => Method::GET,
    };
    let builder = RequestBuilder::new(path).method(method).header("Accept", "application/json");
    let request = match body {
        Some(body) => builder.header("Content-Type", "application/json").body(body),
        None => builder.build(),
    }
    .map_err(|e| unreachable(e.to_string()))?;
    let response = request.send().await.map_err(|e| unreachable(format!("{e}; check that `switchyard serve` is running")))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| unreachable(e.to_string()))?;
    Ok(RawResponse { status, body })
}

async fn send_invoke(method: &str, path: &str, body: Option<String>) -> ApiResult<RawResponse> {
    let args = serde_wasm_bindgen::to_value(&InvokeArgs { method, path, body }).map_err(|e| unreachable(e.to_string()))?;
    let reply = invoke("api_request", args).await.map_err(|e| unreachable(format!("the desktop app did not answer: {e:?}")))?;
    let reply: InvokeReply = serde_wasm_bindgen::from_value(reply).map_err(|e| unreachable(e.to_string()))?;
    Ok(RawResponse { status: reply.status, body: reply.body })
}

async fn request<T: DeserializeOwned>(method: &str, path: &str, body: Option<String>) -> ApiResult<T> {
    let path = format!("{API_PREFIX}{path}");
    let raw = if in_desktop_app() { send_invoke(method, &path, body).await? } else { send_http(method, &path, body).await? };
    decode(raw)
}

/// Turns a reply into the value or the server's `ApiError`. A 401 means the session ended (or
/// never began): the app goes back to the login page.
pub(crate) fn decode<T: DeserializeOwned>(raw: RawResponse) -> ApiResult<T> {
    if raw.status == 401 {
        crate::session::expired();
    }
    if (200..300).contains(&raw.status) {
        let text = if raw.body.is_empty() { "null" } else { raw.body.as_str() };
        serde_json::from_str(text)
            .map_err(|e| ApiError::new("unexpected reply from the server", format!("{e}; are the UI and server the same version?")))
    } else {
        Err(serde_json::from_str::<ApiError>(&raw.body).unwrap_or_else(|_| {
            ApiError::new(format!("the server answered {}", raw.status), raw.body.chars().take(200).collect::<String>())
        }))
    }
}

fn json<T: Serialize>(value: &T) -> Option<String> {
    Some(serde_json::to_string(value).expect("drafts always serialise"))
}

pub async fn get<T: DeserializeOwned>(path: &str) -> ApiResult<T> {
    request("GET", path, None).await
}

pub async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> ApiResult<T> {
    request("POST", path, json(body)).await
}

pub async fn put<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> ApiResult<T> {
    request("PUT", path, json(body)).await
}

pub async fn delete(path: &str) -> ApiResult<()> {
    request("DELETE", path, None).await
}

pub async fn overview() -> ApiResult<Overview> {
    get("/overview").await
}

pub async fn sites() -> ApiResult<Vec<Site>> {
    get("/sites").await
}

pub async fn dashboard() -> ApiResult<switchyard_api::Dashboard> {
    get("/dashboard").await
}

pub async fn site_dashboard(id: i64) -> ApiResult<switchyard_api::SiteDashboard> {
    get(&format!("/sites/{id}/dashboard")).await
}

pub async fn site(id: i64) -> ApiResult<SiteDetail> {
    get(&format!("/sites/{id}")).await
}

/// Creates (no id) or updates (an id) a member of `collection`, e.g. `/sites`.
pub async fn save<B: Serialize, T: DeserializeOwned>(collection: &str, id: Option<i64>, draft: &B) -> ApiResult<T> {
    match id {
        Some(id) => put(&format!("{collection}/{id}"), draft).await,
        None => post(collection, draft).await,
    }
}

pub async fn save_site(id: Option<i64>, draft: &SiteDraft) -> ApiResult<Site> {
    save("/sites", id, draft).await
}

pub async fn set_site_runtime(id: i64, runtime: &SiteRuntime) -> ApiResult<Site> {
    put(&format!("/sites/{id}/runtime"), runtime).await
}

pub async fn set_site_candidate_limits(
    id: i64,
    limits: &switchyard_api::CandidateLimitsDraft,
) -> ApiResult<switchyard_api::SiteCandidateLimits> {
    put(&format!("/sites/{id}/candidate-limits"), limits).await
}

pub async fn site_databases(site_id: i64) -> ApiResult<switchyard_api::SiteDatabases> {
    get(&format!("/sites/{site_id}/databases")).await
}

pub async fn remove_site_database(site_id: i64, request: &switchyard_api::RemoveSiteDatabase) -> ApiResult<switchyard_api::SiteDatabases> {
    post(&format!("/sites/{site_id}/databases/remove"), request).await
}

pub async fn customers() -> ApiResult<Vec<Customer>> {
    get("/customers").await
}

pub async fn save_customer(id: Option<i64>, draft: &CustomerDraft) -> ApiResult<Customer> {
    save("/customers", id, draft).await
}

pub async fn hosts() -> ApiResult<Vec<Host>> {
    get("/hosts").await
}

pub async fn host_status(id: i64) -> ApiResult<HostStatus> {
    get(&format!("/hosts/{id}/status")).await
}

pub async fn save_host(id: Option<i64>, draft: &HostDraft) -> ApiResult<Host> {
    save("/hosts", id, draft).await
}

pub async fn users() -> ApiResult<Vec<User>> {
    get("/users").await
}

pub async fn save_user(id: Option<i64>, draft: &UserDraft) -> ApiResult<User> {
    save("/users", id, draft).await
}

pub async fn create_environment(site_id: i64, draft: &EnvironmentDraft) -> ApiResult<Environment> {
    post(&format!("/sites/{site_id}/environments"), draft).await
}

pub async fn create_address(site_id: i64, draft: &AddressDraft) -> ApiResult<Address> {
    post(&format!("/sites/{site_id}/addresses"), draft).await
}

pub async fn create_account(site_id: i64, draft: &AccountDraft) -> ApiResult<Account> {
    post(&format!("/sites/{site_id}/accounts"), draft).await
}

pub async fn patch_documents(site_id: i64) -> ApiResult<Vec<PatchDocumentRecord>> {
    get(&format!("/sites/{site_id}/patch-documents")).await
}

pub async fn save_patch_document(site_id: i64, draft: &PatchDocumentDraft) -> ApiResult<PatchDocumentRecord> {
    post(&format!("/sites/{site_id}/patch-documents"), draft).await
}

/// `candidate` is an uploaded candidate's sha256, or empty for a template without one.
pub async fn patch_template(site_id: i64, workflow: &str, candidate: &str) -> ApiResult<PatchDocumentDraft> {
    get(&format!("/sites/{site_id}/patch-template?workflow={workflow}&candidate={candidate}")).await
}

pub async fn session() -> ApiResult<SessionInfo> {
    get("/session").await
}

pub async fn login(login: &Login) -> ApiResult<Me> {
    post("/session", login).await
}

pub async fn logout() -> ApiResult<()> {
    delete("/session").await
}

pub async fn setup(setup: &Setup) -> ApiResult<Me> {
    post("/setup", setup).await
}

pub async fn set_password(user_id: i64, change: &PasswordChange) -> ApiResult<()> {
    put(&format!("/users/{user_id}/password"), change).await
}

/// Starts enrolling a second factor: the secret, shown this once.
pub async fn enrol_second_factor() -> ApiResult<TotpEnrolment> {
    post("/session/totp", &serde_json::json!({})).await
}

pub async fn confirm_second_factor(code: &TotpCode) -> ApiResult<()> {
    post("/session/totp/confirm", code).await
}

pub async fn candidates(site_id: i64) -> ApiResult<Vec<Candidate>> {
    get(&format!("/sites/{site_id}/candidates")).await
}

/// Starts a rehearsal or production run; the server answers at once and runs it in the background.
pub async fn start_release(request: &NewReleaseRequest) -> ApiResult<ReleaseSummary> {
    post("/releases", request).await
}

pub async fn releases(filter: &HistoryFilter) -> ApiResult<HistoryPage> {
    get(&format!("/releases?{}", query_string(filter))).await
}

pub async fn release_stats(filter: &HistoryFilter) -> ApiResult<HistoryStats> {
    get(&format!("/releases/stats?{}", query_string(filter))).await
}

pub async fn release(id: i64) -> ApiResult<ReleaseDetail> {
    get(&format!("/releases/{id}")).await
}

pub async fn release_diff(id: i64) -> ApiResult<DocumentDiff> {
    get(&format!("/releases/{id}/diff")).await
}

/// `action` is one of the decisions `ReleaseDetail::allowed` lists: approve, reject, confirm, rollback.
pub async fn decide(id: i64, action: &str, decision: &Decision) -> ApiResult<ReleaseSummary> {
    post(&format!("/releases/{id}/{action}"), decision).await
}

pub async fn approvals() -> ApiResult<Vec<ReleaseSummary>> {
    get("/approvals").await
}

/// The record's hash chains checked by the server; names the first broken row of each.
pub async fn verify_record() -> ApiResult<RecordCheck> {
    get("/audit/verify").await
}

pub async fn delete_candidate(site_id: i64, sha256: &str) -> ApiResult<()> {
    delete(&format!("/sites/{site_id}/candidates/{sha256}")).await
}

pub async fn audit(limit: i64, offset: i64) -> ApiResult<AuditPage> {
    get(&format!("/audit?limit={limit}&offset={offset}")).await
}

/// The CSV export's address for a filter, for a plain download link in a browser.
pub fn export_csv_url(filter: &HistoryFilter) -> String {
    format!("{API_PREFIX}/releases/export.csv?{}", query_string(filter))
}

/// A flat serialisable value (a filter) as a URL query: `site_id=3&run=production`.
pub fn query_string<T: Serialize>(value: &T) -> String {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(value) else { return String::new() };
    fields
        .into_iter()
        .filter_map(|(key, value)| {
            let text = match value {
                serde_json::Value::Null => return None,
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            Some(format!("{key}={}", js_sys::encode_uri_component(&text)))
        })
        .collect::<Vec<_>>()
        .join("&")
}
