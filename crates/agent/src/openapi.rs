//! The OpenAPI 3.1 document of the agent's endpoints, served at `/v1/openapi.json`. Written
//! from one table (kept in step with the router by a test that calls every documented route).

use serde_json::{json, Value};

/// Method, path, summary, request body type, response type.
pub const ENDPOINTS: &[(&str, &str, &str, Option<&str>, &str)] = &[
    ("get", "/v1/agent", "Agent version and environment names", None, "AgentInfo"),
    ("get", "/v1/openapi.json", "This document", None, "object"),
    ("get", "/v1/envs", "Environment names", None, "string[]"),
    ("post", "/v1/envs", "Create an environment", Some("CreateEnv"), "EnvInfo"),
    (
        "post",
        "/v1/adopt",
        "Adopt a site already running on the host: an environment for its process, not restarted",
        Some("AdoptEnv"),
        "EnvInfo",
    ),
    ("get", "/v1/envs/{env}", "One environment: config, releases, current and previous release", None, "EnvInfo"),
    (
        "post",
        "/v1/envs/{env}/clone",
        "Clone this environment (code, config, shared data, databases) into a new one",
        Some("CloneEnv"),
        "EnvInfo",
    ),
    ("post", "/v1/envs/{env}/destroy", "Destroy the environment (production needs force)", Some("DestroyEnv"), "Destroyed"),
    ("post", "/v1/envs/{env}/releases", "Unpack an uploaded candidate as a release", Some("UnpackRelease"), "ReleaseInfo"),
    ("post", "/v1/envs/{env}/activate", "Switch current to a release and prune old ones", Some("Activate"), "ActivateResult"),
    ("post", "/v1/envs/{env}/rollback", "Switch current back to the previous release", Some("Rollback"), "ActivateResult"),
    (
        "post",
        "/v1/envs/{env}/steps",
        "Run a command in the current release; the response is NDJSON StepEvent lines",
        Some("RunStep"),
        "StepEvent (NDJSON stream)",
    ),
    ("get", "/v1/envs/{env}/process", "The site process's state and health", None, "ProcessStatus"),
    ("post", "/v1/envs/{env}/process/start", "Start the site and wait for its health check", Some("ProcessAction"), "ProcessStatus"),
    (
        "post",
        "/v1/envs/{env}/process/stop",
        "Stop the site (SIGTERM, then SIGKILL after the stop timeout)",
        Some("ProcessAction"),
        "ProcessStatus",
    ),
    ("post", "/v1/envs/{env}/process/restart", "Stop and start the site", Some("ProcessAction"), "ProcessStatus"),
    (
        "post",
        "/v1/envs/{env}/sync",
        "Copy shared data and databases from another environment into this stopped one",
        Some("SyncEnv"),
        "SyncReport",
    ),
    (
        "get",
        "/v1/databases",
        "The host's databases per server: bound by environments or made by the agent, sizes, leftovers",
        None,
        "DatabaseList",
    ),
    (
        "post",
        "/v1/databases/{server}/{database}/remove",
        "Remove a leftover database the agent made, and its login (409 while something keeps it)",
        Some("RemoveDatabase"),
        "RemovedDatabase",
    ),
    (
        "post",
        "/v1/volumes/{volume}/snapshot",
        "Take a consistent snapshot of a data volume (SQLite through the online backup API)",
        Some("VolumeSnapshot"),
        "SnapshotReport",
    ),
    (
        "post",
        "/v1/volumes/{volume}/restore",
        "Put a snapshot back as the volume's content; every environment using it must be stopped",
        Some("VolumeSnapshot"),
        "SnapshotReport",
    ),
    (
        "post",
        "/v1/envs/{env}/capture/start",
        "Start capturing every change to the environment's databases; answers where each capture starts",
        Some("StartCapture"),
        "CaptureState",
    ),
    (
        "get",
        "/v1/envs/{env}/capture",
        "The changes captured on one database after ?after=SEQ (?database=NAME, ?limit=N), in commit order",
        None,
        "CapturePage",
    ),
    (
        "post",
        "/v1/envs/{env}/capture/stop",
        "Stop capturing: remove the triggers and change tables, drop the replication slots",
        Some("StopCapture"),
        "CaptureStopped",
    ),
    (
        "post",
        "/v1/envs/{env}/capture/replay",
        "Replay another environment's captured changes (from, after) into this one's matching database, moving its id counters past the captured ids",
        Some("ReplayChanges"),
        "Replayed",
    ),
    (
        "get",
        "/v1/envs/{env}/schema",
        "What this environment's databases have that ?compare_with=ENV's lack (added) and the reverse (removed): tables, and columns of the tables both have",
        None,
        "SchemaDifference",
    ),
    ("get", "/v1/artifacts/{sha256}", "Whether a candidate is stored", None, "ArtifactInfo"),
    (
        "put",
        "/v1/artifacts/{sha256}",
        "Upload a candidate (.tar.gz) as the raw body; checked against the sha256 in the path",
        Some("application/gzip"),
        "ArtifactInfo",
    ),
    (
        "get",
        "/v1/routes",
        "The router's table: sites, their environments' backends and what each public address serves",
        None,
        "RouteTable",
    ),
    ("put", "/v1/routes", "Replace the whole route table", Some("ReplaceTable (plus op_id)"), "RouteTable"),
    (
        "post",
        "/v1/routes/swap",
        "Swap two environments of a site everywhere, atomically",
        Some("SwapEnvironments (plus op_id)"),
        "RouteTable",
    ),
    (
        "post",
        "/v1/routes/move-to-temporary-address",
        "Serve production at a temporary address and the site-down page at its public one",
        Some("MoveToTemporaryAddress (plus op_id)"),
        "RouteTable",
    ),
    (
        "post",
        "/v1/routes/route-back",
        "Serve the public address from the temporary one again",
        Some("RouteBack (plus op_id)"),
        "RouteTable",
    ),
    (
        "post",
        "/v1/routes/point",
        "Point an address at an environment, an account split or the site-down page",
        Some("PointAddress (plus op_id)"),
        "RouteTable",
    ),
    ("post", "/v1/routes/maintenance", "Turn a site's site-down page on or off", Some("SetMaintenance (plus op_id)"), "RouteTable"),
    (
        "post",
        "/v1/routes/hold",
        "Hold a site's new requests (or release them) during a cutover",
        Some("SetHold (plus op_id)"),
        "RouteTable",
    ),
    ("get", "/v1/counters", "Requests, 5xx and latency per environment and per address", None, "CountersSnapshot"),
    ("get", "/v1/metrics", "The same counters in Prometheus text format", None, "text/plain"),
];

pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path, summary, request, response) in ENDPOINTS {
        let mut operation = json!({
            "summary": summary,
            "security": [{ "bearer": [] }],
            "responses": {
                "200": { "description": response, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{}", schema_name(response)) } } } },
                "default": { "description": "ErrorBody", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } } }
            }
        });
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if !params.is_empty() {
            operation["parameters"] = Value::Array(params);
        }
        if let Some(request) = request {
            let content = if request.contains('/') {
                json!({ *request: { "schema": { "type": "string", "format": "binary" } } })
            } else {
                json!({ "application/json": { "schema": { "$ref": format!("#/components/schemas/{request}") } } })
            };
            operation["requestBody"] = json!({ "required": true, "content": content });
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = operation;
    }
    let mut schemas = serde_json::Map::new();
    for name in ENDPOINTS.iter().flat_map(|e| [e.3.unwrap_or("object"), e.4]).chain(["ErrorBody"]).map(schema_name) {
        // The wire types live in `api.rs`; the schema names them for clients generated from it.
        schemas.insert(name.clone(), json!({ "type": "object", "description": format!("switchyard_agent::api::{name}") }));
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Switchyard host agent", "version": env!("CARGO_PKG_VERSION") },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": schemas
        },
        "paths": paths
    })
}

fn schema_name(name: &str) -> String {
    name.split([' ', '[', '/']).next().unwrap_or(name).to_owned()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Method, Request};
    use tower::ServiceExt;

    use super::*;
    use crate::api::ErrorBody;
    use crate::layout::Layout;
    use crate::server::{app, AgentState};

    #[tokio::test]
    async fn every_documented_endpoint_is_routed() {
        let root = tempfile::tempdir().unwrap();
        let layout = Layout::new(root.path().to_path_buf());
        layout.prepare().unwrap();
        let state = Arc::new(AgentState {
            layout: layout.clone(),
            token: "t".into(),
            max_upload_bytes: 1024,
            unpack_limits: crate::unpack::UnpackLimits { max_bytes: 1024, max_entries: 10 },
            ops: crate::ops::Ops::new(layout.ops_dir()),
            env_locks: Default::default(),
            steps: crate::steps::Steps::new(layout.clone()),
            supervisor: crate::supervisor::Supervisor::new(layout.clone(), Default::default()),
            routing: crate::routing::Routing::load(root.path().join("table.json")).unwrap(),
            public_addresses: Vec::new(),
        });
        for (method, path, ..) in ENDPOINTS {
            let uri = path.replace("{env}", "web").replace("{sha256}", &"a".repeat(64));
            let request = Request::builder()
                .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
                .uri(&uri)
                .header("authorization", "Bearer t")
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let response = app(Arc::clone(&state)).oneshot(request).await.unwrap();
            assert_ne!(response.status(), 405, "{method} {path} is documented but not routed");
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
            if let Ok(body) = serde_json::from_slice::<ErrorBody>(&bytes) {
                assert!(!body.message.starts_with("no endpoint"), "{method} {path} is documented but not routed");
            }
        }
    }
}
