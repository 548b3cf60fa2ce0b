//! The agent's public-address routing: the router mounted on the agent, its operations on the
//! agent API (each change under an operation id, so a retried swap never swaps back), and the
//! route table persisted so a restarted agent serves the same addresses the same way.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use switchyard_router::api::{MoveToTemporaryAddress, PointAddress, RouteBack, SetHold, SetMaintenance, SwapEnvironments};
use switchyard_router::{CountersSnapshot, Listening, RouteTable, RouterConfig, RouterError};

use crate::api::{ReplaceTable, RouteChange};
use crate::error::{AgentError, Result};
use crate::layout::{read_json, write_json};
use crate::server::{AgentState, ApiJson};

/// The last route change begun: its operation id and the table it leads to.
#[derive(Serialize, serde::Deserialize)]
struct LastChange {
    op_id: String,
    before: RouteTable,
    table: RouteTable,
}

/// The router and where its table is kept.
pub struct Routing {
    router: switchyard_router::Router,
    table_path: PathBuf,
    /// Route changes apply and persist one at a time, so the file always matches the table.
    changing: tokio::sync::Mutex<()>,
}

impl Routing {
    /// Loads the persisted table (empty on first start).
    pub fn load(table_path: PathBuf) -> Result<Self> {
        let router = switchyard_router::Router::new(RouterConfig::default());
        if let Some(dir) = table_path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|source| AgentError::Io { context: format!("cannot create {}", dir.display()), source })?;
        }
        if table_path.exists() {
            let table: RouteTable = read_json(&table_path)?;
            router.set_table(table).map_err(|e| {
                AgentError::Internal(format!("the saved route table {} is not valid ({e}); fix or remove it", table_path.display()))
            })?;
        }
        Ok(Self { router, table_path, changing: tokio::sync::Mutex::new(()) })
    }

    /// Serves public traffic on `addr`.
    pub async fn listen(&self, addr: SocketAddr) -> Result<Listening> {
        self.router.bind(addr).await.map_err(|e| AgentError::Invalid(e.to_string()))
    }

    pub fn table(&self) -> RouteTable {
        self.router.table()
    }

    /// Applies one change and saves the resulting table before answering.
    ///
    /// The operation id and the table it leads to are saved first: an agent killed after
    /// saving the table but before recording the operation (`ops::once`) finds, when the
    /// change is retried, that its table is already that one and answers it instead of
    /// applying the change a second time (a swap would swap back).
    async fn apply(&self, op_id: &str, change: impl FnOnce(&switchyard_router::Router) -> Result<(), RouterError>) -> Result<RouteTable> {
        let _one_at_a_time = self.changing.lock().await;
        let last_path = self.table_path.with_file_name("routes-last-change.json");
        if let Ok(last) = read_json::<LastChange>(&last_path) {
            // A change that left the table as it was (a hold) is applied again: what it
            // changed lived in memory and ended with the agent.
            if last.op_id == op_id && last.before != last.table && last.table == self.router.table() {
                return Ok(last.table);
            }
        }
        let before = self.router.table();
        change(&self.router).map_err(router_error)?;
        let table = self.router.table();
        write_json(&last_path, &LastChange { op_id: op_id.to_owned(), before, table: table.clone() })?;
        write_json(&self.table_path, &table)?;
        Ok(table)
    }
}

fn router_error(error: RouterError) -> AgentError {
    match error {
        RouterError::UnknownSite { .. } | RouterError::UnknownEnvironment { .. } | RouterError::UnknownAddress { .. } => {
            AgentError::NotFound(error.to_string())
        }
        RouterError::DuplicateAddress { .. } | RouterError::AddressInUse { .. } => AgentError::Conflict(error.to_string()),
        other => AgentError::Invalid(other.to_string()),
    }
}

type Shared = State<Arc<AgentState>>;

pub fn routes() -> Router<Arc<AgentState>> {
    Router::new()
        .route("/v1/routes", get(table).put(replace_table))
        .route("/v1/routes/swap", post(swap))
        .route("/v1/routes/move-to-temporary-address", post(move_to_temporary_address))
        .route("/v1/routes/route-back", post(route_back))
        .route("/v1/routes/point", post(point))
        .route("/v1/routes/maintenance", post(maintenance))
        .route("/v1/routes/hold", post(hold))
        .route("/v1/counters", get(counters))
        .route("/v1/metrics", get(metrics))
}

async fn table(State(state): Shared) -> Json<RouteTable> {
    Json(state.routing.table())
}

/// Runs a change once per operation id; a retry gets the table the first call produced.
async fn once<T: Serialize>(
    state: &AgentState,
    kind: &str,
    request: &RouteChange<T>,
    change: impl FnOnce(&switchyard_router::Router) -> Result<(), RouterError>,
) -> Result<Json<RouteTable>> {
    let work = state.routing.apply(&request.op_id, change);
    Ok(Json(state.ops.once(&request.op_id, kind, &request.change, work).await?))
}

async fn replace_table(State(state): Shared, ApiJson(req): ApiJson<RouteChange<ReplaceTable>>) -> Result<Json<RouteTable>> {
    let table = req.change.table.clone();
    once(&state, "routes:replace", &req, move |router| router.set_table(table)).await
}

async fn swap(State(state): Shared, ApiJson(req): ApiJson<RouteChange<SwapEnvironments>>) -> Result<Json<RouteTable>> {
    let c = req.change.clone();
    once(&state, "routes:swap", &req, move |router| router.swap_environments(&c.site, &c.first, &c.second)).await
}

async fn move_to_temporary_address(
    State(state): Shared,
    ApiJson(req): ApiJson<RouteChange<MoveToTemporaryAddress>>,
) -> Result<Json<RouteTable>> {
    let c = req.change.clone();
    once(&state, "routes:move-to-temporary-address", &req, move |router| {
        router.move_to_temporary_address(&c.site, &c.public_address, &c.temporary_address)
    })
    .await
}

async fn route_back(State(state): Shared, ApiJson(req): ApiJson<RouteChange<RouteBack>>) -> Result<Json<RouteTable>> {
    let c = req.change.clone();
    once(&state, "routes:route-back", &req, move |router| router.route_back(&c.site, &c.temporary_address, &c.public_address)).await
}

async fn point(State(state): Shared, ApiJson(req): ApiJson<RouteChange<PointAddress>>) -> Result<Json<RouteTable>> {
    let c = req.change.clone();
    once(&state, "routes:point", &req, move |router| router.point_address(&c.site, &c.address, c.target)).await
}

async fn maintenance(State(state): Shared, ApiJson(req): ApiJson<RouteChange<SetMaintenance>>) -> Result<Json<RouteTable>> {
    let c = req.change.clone();
    once(&state, "routes:maintenance", &req, move |router| router.set_maintenance(&c.site, c.on, c.page)).await
}

async fn hold(State(state): Shared, ApiJson(req): ApiJson<RouteChange<SetHold>>) -> Result<Json<RouteTable>> {
    let c = req.change.clone();
    once(&state, "routes:hold", &req, move |router| match c.hold {
        Some(hold) => router.begin_hold(&c.site, Duration::from_millis(hold.timeout_ms)),
        None => router.end_hold(&c.site),
    })
    .await
}

async fn counters(State(state): Shared) -> Json<CountersSnapshot> {
    Json(state.routing.router.counters())
}

async fn metrics(State(state): Shared) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, switchyard_router::prometheus::CONTENT_TYPE)], state.routing.router.prometheus())
}
