//! The HTTPS API: the router, bearer-token authentication and thin handlers that each call one
//! service function, inside the operation-id journal for anything that changes state.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;

use crate::api::*;
use crate::error::{AgentError, Result};
use crate::identity::same_secret;
use crate::layout::{check_env_name, Layout};
use crate::ops::{KeyedLocks, Ops};
use crate::steps::Steps;
use crate::supervisor::Supervisor;
use crate::unpack::UnpackLimits;
use crate::{artifacts, clone, envs, releases, sync, volumes};

/// Everything handlers share.
pub struct AgentState {
    pub layout: Layout,
    pub token: String,
    pub max_upload_bytes: u64,
    pub unpack_limits: UnpackLimits,
    pub ops: Ops,
    pub env_locks: KeyedLocks,
    pub steps: Arc<Steps>,
    pub supervisor: Supervisor,
    pub routing: crate::routing::Routing,
    /// The router's public listeners, as `GET /v1/agent` reports them.
    pub public_addresses: Vec<std::net::SocketAddr>,
}

type Shared = State<Arc<AgentState>>;

/// JSON bodies whose rejection is an `AgentError`, so a malformed request reads like every
/// other refusal.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AgentError;
    async fn from_request(req: Request, state: &S) -> Result<Self> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(AgentError::Invalid(format!(
                "the request body is not what this endpoint takes ({}): see /v1/openapi.json",
                rejection.body_text()
            ))),
        }
    }
}

pub fn app(state: Arc<AgentState>) -> Router {
    let envs_routes = Router::new()
        .route("/v1/envs", get(list_envs).post(create_env))
        .route("/v1/adopt", post(adopt_env))
        .route("/v1/envs/{env}", get(env_info))
        .route("/v1/envs/{env}/clone", post(clone_env))
        .route("/v1/envs/{env}/destroy", post(destroy_env))
        .route("/v1/envs/{env}/releases", post(unpack_release))
        .route("/v1/envs/{env}/activate", post(activate))
        .route("/v1/envs/{env}/rollback", post(rollback))
        .route("/v1/envs/{env}/steps", post(run_step))
        .route("/v1/envs/{env}/process", get(process_status))
        .route("/v1/envs/{env}/process/{action}", post(process_action))
        .route("/v1/envs/{env}/sync", post(sync_env))
        .route("/v1/envs/{env}/capture", get(capture_changes))
        .route("/v1/envs/{env}/capture/start", post(start_capture))
        .route("/v1/envs/{env}/capture/stop", post(stop_capture))
        .route("/v1/envs/{env}/capture/replay", post(replay_changes))
        .route("/v1/envs/{env}/schema", get(schema_difference))
        .route("/v1/volumes/{volume}/snapshot", post(snapshot_volume))
        .route("/v1/volumes/{volume}/restore", post(restore_volume))
        .route("/v1/databases", get(list_databases))
        .route("/v1/databases/{server}/{database}/remove", post(remove_database));
    Router::new()
        .route("/v1/agent", get(agent_info))
        .route("/v1/openapi.json", get(openapi))
        .merge(envs_routes)
        .merge(crate::routing::routes())
        // Uploads stream to disk with their own limit; the default 2 MB body cap must not apply.
        .route("/v1/artifacts/{sha256}", get(artifact_info).put(upload).layer(DefaultBodyLimit::disable()))
        .fallback(no_endpoint)
        .layer(middleware::from_fn_with_state(Arc::clone(&state), require_token))
        .with_state(state)
}

async fn require_token(State(state): Shared, request: Request, next: Next) -> Response {
    let presented = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if presented.is_some_and(|token| same_secret(token, &state.token)) {
        return next.run(request).await;
    }
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.to_string()).unwrap_or_else(|| "unknown".into());
    tracing::warn!(%peer, method = %request.method(), path = %request.uri().path(), "refused a request without a valid token");
    AgentError::Unauthorized(
        "missing or wrong bearer token: send `Authorization: Bearer <token>` with the token from the agent's registration".into(),
    )
    .into_response()
}

async fn no_endpoint(request: Request) -> AgentError {
    AgentError::NotFound(format!("no endpoint {} {}: see /v1/openapi.json", request.method(), request.uri().path()))
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| AgentError::Internal(format!("a worker task failed: {e}")))?
}

async fn agent_info(State(state): Shared) -> Result<Json<AgentInfo>> {
    Ok(Json(AgentInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        environments: envs::list(&state.layout)?,
        isolation: Some(crate::confine::report(&state.layout)),
        public_addresses: state.public_addresses.clone(),
        captures: crate::capture::in_force(&state.layout)?,
    }))
}

async fn openapi() -> Json<serde_json::Value> {
    Json(crate::openapi::document())
}

async fn list_envs(State(state): Shared) -> Result<Json<Vec<String>>> {
    Ok(Json(envs::list(&state.layout)?))
}

async fn create_env(State(state): Shared, ApiJson(req): ApiJson<CreateEnv>) -> Result<Json<EnvInfo>> {
    check_env_name(&req.name)?;
    let _env = state.env_locks.lock(&req.name).await;
    let layout = state.layout.clone();
    let (name, config) = (req.name.clone(), req.config.clone());
    Ok(Json(state.ops.once(&req.op_id, "create_env", &req, blocking(move || envs::create(&layout, &name, &config))).await?))
}

async fn adopt_env(State(state): Shared, ApiJson(req): ApiJson<AdoptEnv>) -> Result<Json<EnvInfo>> {
    check_env_name(&req.name)?;
    let _env = state.env_locks.lock(&req.name).await;
    let (layout, adopting) = (state.layout.clone(), req.clone());
    Ok(Json(state.ops.once(&req.op_id, "adopt_env", &req, blocking(move || crate::adopt::adopt(&layout, &adopting))).await?))
}

async fn env_info(State(state): Shared, Path(env): Path<String>) -> Result<Json<EnvInfo>> {
    check_env_name(&env)?;
    Ok(Json(envs::info(&state.layout, &env)?))
}

async fn clone_env(State(state): Shared, Path(env): Path<String>, ApiJson(req): ApiJson<CloneEnv>) -> Result<Json<EnvInfo>> {
    check_env_name(&env)?;
    check_env_name(&req.target)?;
    let _envs = state.env_locks.lock_all(&[&env, &req.target]).await;
    let work = async {
        let port = match req.port {
            Some(port) => port,
            None => clone::pick_port(&state.layout)?,
        };
        clone::clone_env(&state.layout, &env, &req.target, port, req.share_volume).await
    };
    Ok(Json(state.ops.once(&req.op_id, &format!("clone:{env}"), &req, work).await?))
}

async fn destroy_env(State(state): Shared, Path(env): Path<String>, ApiJson(req): ApiJson<DestroyEnv>) -> Result<Json<Destroyed>> {
    check_env_name(&env)?;
    let _env = state.env_locks.lock(&env).await;
    let work = async {
        let config = envs::load_config(&state.layout, &env)?;
        if config.production && !req.force {
            return Err(AgentError::Conflict(format!("environment {env} is production: destroy it with force=true if you really mean to")));
        }
        state.supervisor.stop(&env).await?;
        // A capture left behind would hold a server's WAL forever.
        crate::capture::stop(&state.layout, &env).await?;
        // Its private database copies go first: a retry finds the environment still there.
        crate::databases::env::drop_owned(&state.layout, &config.databases).await?;
        // The last environment of a volume takes its snapshots' databases along.
        if let Some(volume) = &config.volume {
            if volumes::users(&state.layout, volume)? == [env.clone()] {
                crate::databases::snapshot::drop_all(&state.layout, volume).await?;
            }
        }
        let (layout, name) = (state.layout.clone(), env.clone());
        blocking(move || envs::destroy(&layout, &name, true)).await?;
        Ok(Destroyed { name: env.clone() })
    };
    Ok(Json(state.ops.once(&req.op_id, &format!("destroy:{env}"), &req, work).await?))
}

async fn unpack_release(State(state): Shared, Path(env): Path<String>, ApiJson(req): ApiJson<UnpackRelease>) -> Result<Json<ReleaseInfo>> {
    check_env_name(&env)?;
    let _env = state.env_locks.lock(&env).await;
    let (layout, limits, name, id, sha) =
        (state.layout.clone(), state.unpack_limits.tightened_by(req.limits), env.clone(), req.release_id.clone(), req.sha256.clone());
    let work = blocking(move || releases::unpack_release(&layout, &name, &id, &sha, limits));
    Ok(Json(state.ops.once(&req.op_id, &format!("unpack:{env}"), &req, work).await?))
}

async fn activate(State(state): Shared, Path(env): Path<String>, ApiJson(req): ApiJson<Activate>) -> Result<Json<ActivateResult>> {
    check_env_name(&env)?;
    let _env = state.env_locks.lock(&env).await;
    let (layout, name, id) = (state.layout.clone(), env.clone(), req.release_id.clone());
    let work = blocking(move || releases::activate(&layout, &name, &id));
    Ok(Json(state.ops.once(&req.op_id, &format!("activate:{env}"), &req, work).await?))
}

async fn rollback(State(state): Shared, Path(env): Path<String>, ApiJson(req): ApiJson<Rollback>) -> Result<Json<ActivateResult>> {
    check_env_name(&env)?;
    let _env = state.env_locks.lock(&env).await;
    let (layout, name) = (state.layout.clone(), env.clone());
    let work = blocking(move || releases::rollback(&layout, &name));
    Ok(Json(state.ops.once(&req.op_id, &format!("rollback:{env}"), &req, work).await?))
}

async fn run_step(State(state): Shared, Path(env): Path<String>, ApiJson(req): ApiJson<RunStep>) -> Result<Response> {
    check_env_name(&env)?;
    let events = state.steps.run_or_follow(&env, req).await?;
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], Body::from_stream(events)).into_response())
}

async fn process_status(State(state): Shared, Path(env): Path<String>) -> Result<Json<ProcessStatus>> {
    check_env_name(&env)?;
    let config = envs::load_config(&state.layout, &env)?;
    if config.external.is_some() {
        return Ok(Json(blocking(move || Ok(crate::adopt::status(&config))).await?));
    }
    Ok(Json(state.supervisor.status(&env).await?))
}

async fn process_action(
    State(state): Shared,
    Path((env, action)): Path<(String, String)>,
    ApiJson(req): ApiJson<ProcessAction>,
) -> Result<Json<ProcessStatus>> {
    check_env_name(&env)?;
    let _env = state.env_locks.lock(&env).await;
    let kind = format!("{action}:{env}");
    let config = envs::load_config(&state.layout, &env)?;
    if config.external.is_some() {
        // An adopted site's process is the operator's: the agent never stops or restarts it
        // (a sync into it replaces its data files while the router holds its requests).
        let (name, config) = (env.clone(), config.clone());
        let stopping = match action.as_str() {
            "start" | "restart" => false,
            "stop" => true,
            other => return Err(AgentError::NotFound(format!("no process action {other:?}: use start, stop or restart"))),
        };
        let work = blocking(move || if stopping { Ok(crate::adopt::status(&config)) } else { crate::adopt::check_started(&name, &config) });
        return Ok(Json(state.ops.once(&req.op_id, &kind, &req, work).await?));
    }
    let status = match action.as_str() {
        "start" => state.ops.once(&req.op_id, &kind, &req, state.supervisor.start(&env)).await?,
        "stop" => state.ops.once(&req.op_id, &kind, &req, state.supervisor.stop(&env)).await?,
        "restart" => state.ops.once(&req.op_id, &kind, &req, state.supervisor.restart(&env)).await?,
        other => return Err(AgentError::NotFound(format!("no process action {other:?}: use start, stop or restart"))),
    };
    Ok(Json(status))
}

async fn sync_env(State(state): Shared, Path(env): Path<String>, ApiJson(req): ApiJson<SyncEnv>) -> Result<Json<SyncReport>> {
    check_env_name(&env)?;
    check_env_name(&req.from)?;
    let _envs = state.env_locks.lock_all(&[&env, &req.from]).await;
    let work = async {
        if state.supervisor.is_running(&env) {
            return Err(AgentError::Conflict(format!("environment {env} is running: stop it before syncing data into it")));
        }
        sync::sync_env(&state.layout, &req.from, &env).await
    };
    Ok(Json(state.ops.once(&req.op_id, &format!("sync:{env}"), &req, work).await?))
}

async fn start_capture(State(state): Shared, Path(env): Path<String>, ApiJson(req): ApiJson<StartCapture>) -> Result<Json<CaptureState>> {
    check_env_name(&env)?;
    let _env = state.env_locks.lock(&env).await;
    Ok(Json(state.ops.once(&req.op_id, &format!("capture-start:{env}"), &req, crate::capture::start(&state.layout, &env)).await?))
}

async fn capture_changes(State(state): Shared, Path(env): Path<String>, Query(query): Query<CaptureQuery>) -> Result<Json<CapturePage>> {
    check_env_name(&env)?;
    // Draining a slot into the log is one writer at a time.
    let _capture = state.env_locks.lock(&format!("capture:{env}")).await;
    Ok(Json(crate::capture::page(&state.layout, &env, &query).await?))
}

async fn stop_capture(State(state): Shared, Path(env): Path<String>, ApiJson(req): ApiJson<StopCapture>) -> Result<Json<CaptureStopped>> {
    check_env_name(&env)?;
    let _envs = state.env_locks.lock_all(&[&env, &format!("capture:{env}")]).await;
    Ok(Json(state.ops.once(&req.op_id, &format!("capture-stop:{env}"), &req, crate::capture::stop(&state.layout, &env)).await?))
}

async fn replay_changes(State(state): Shared, Path(env): Path<String>, ApiJson(req): ApiJson<ReplayChanges>) -> Result<Json<Replayed>> {
    check_env_name(&env)?;
    check_env_name(&req.from)?;
    // One replay into the target at a time, and the source's log read by one writer.
    let _envs = state.env_locks.lock_all(&[&env, &format!("capture:{}", req.from)]).await;
    let work = crate::capture::replay::replay(&state.layout, &env, &req);
    Ok(Json(state.ops.once(&req.op_id, &format!("capture-replay:{env}"), &req, work).await?))
}

async fn schema_difference(
    State(state): Shared,
    Path(env): Path<String>,
    Query(query): Query<SchemaQuery>,
) -> Result<Json<SchemaDifference>> {
    check_env_name(&env)?;
    let other = query.compare_with.ok_or_else(|| {
        AgentError::Invalid(format!(
            "say which environment to compare {env}'s schema with: ?compare_with=ENV (production, for a candidate)"
        ))
    })?;
    check_env_name(&other)?;
    Ok(Json(crate::capture::schema::difference(&state.layout, &env, &other).await?))
}

async fn snapshot_volume(
    State(state): Shared,
    Path(volume): Path<String>,
    ApiJson(req): ApiJson<VolumeSnapshot>,
) -> Result<Json<SnapshotReport>> {
    crate::layout::check_volume_name(&volume)?;
    let _volume = state.env_locks.lock(&format!("volume:{volume}")).await;
    let work = async {
        // With every site on the volume stopped, its databases are copied exactly and checked.
        // An adopted process runs whatever the agent was asked: it never counts as stopped.
        let users = volumes::users(&state.layout, &volume)?;
        let adopted = users.iter().any(|env| envs::load_config(&state.layout, env).is_ok_and(|c| c.external.is_some()));
        let quiet = !adopted && !users.iter().any(|env| state.supervisor.is_running(env));
        volumes::snapshot(&state.layout, &volume, &req.snapshot, quiet).await
    };
    Ok(Json(state.ops.once(&req.op_id, &format!("snapshot:{volume}"), &req, work).await?))
}

async fn restore_volume(
    State(state): Shared,
    Path(volume): Path<String>,
    ApiJson(req): ApiJson<VolumeSnapshot>,
) -> Result<Json<SnapshotReport>> {
    crate::layout::check_volume_name(&volume)?;
    let users = volumes::users(&state.layout, &volume)?;
    let mut keys: Vec<&str> = users.iter().map(String::as_str).collect();
    let volume_key = format!("volume:{volume}");
    keys.push(&volume_key);
    let _locks = state.env_locks.lock_all(&keys).await;
    let work = async {
        let running: Vec<&String> = users.iter().filter(|env| state.supervisor.is_running(env)).collect();
        if !running.is_empty() {
            return Err(AgentError::Conflict(format!(
                "data volume {volume} is in use by running environment(s) {running:?}: stop them before restoring a snapshot"
            )));
        }
        volumes::restore(&state.layout, &volume, &req.snapshot).await
    };
    Ok(Json(state.ops.once(&req.op_id, &format!("restore:{volume}"), &req, work).await?))
}

async fn list_databases(State(state): Shared) -> Result<Json<DatabaseList>> {
    Ok(Json(crate::databases::inventory::list(&state.layout).await?))
}

async fn remove_database(
    State(state): Shared,
    Path((server, database)): Path<(String, String)>,
    ApiJson(req): ApiJson<RemoveDatabase>,
) -> Result<Json<RemovedDatabase>> {
    crate::databases::check_identifier("database", &database)?;
    // Never beside the clone or snapshot that is making it (a retry of a finished removal
    // finds no entry and needs no lock: its answer is the recorded one).
    let key = crate::databases::inventory::lock_key(&state.layout, &server, &database);
    let _owner = match &key {
        Some(key) => Some(state.env_locks.lock(key).await),
        None => None,
    };
    let work = crate::databases::inventory::remove(&state.layout, &server, &database);
    Ok(Json(state.ops.once(&req.op_id, &format!("remove-database:{server}/{database}"), &req, work).await?))
}

async fn artifact_info(State(state): Shared, Path(sha256): Path<String>) -> Result<Json<ArtifactInfo>> {
    artifacts::stored(&state.layout, &sha256)?
        .map(Json)
        .ok_or_else(|| AgentError::NotFound(format!("no candidate with sha256 {sha256} is stored: upload it with PUT")))
}

async fn upload(State(state): Shared, Path(sha256): Path<String>, headers: HeaderMap, body: Body) -> Response {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let close = [(header::CONNECTION, "close")];
    match artifacts::stored(&state.layout, &sha256) {
        // Stored once per hash: the body is not read, so this connection cannot be reused.
        Ok(Some(info)) => return (close, Json(info)).into_response(),
        Ok(None) => {}
        Err(e) => return (close, e).into_response(),
    }
    match artifacts::store(&state.layout, &sha256, declared, state.max_upload_bytes, body).await {
        Ok(info) => (StatusCode::OK, Json(info)).into_response(),
        // The rest of a refused body is never read, so the connection cannot carry another
        // request; saying so keeps the client from reusing it and failing its next call.
        Err(e) => (close, e).into_response(),
    }
}
