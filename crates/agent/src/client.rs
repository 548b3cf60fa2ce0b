//! The typed client Switchyard uses to drive an agent: HTTPS with the agent's self-signed
//! certificate pinned by its sha256 fingerprint (no CA involved), bearer token on every call.

use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::de::DeserializeOwned;
use serde::Serialize;
use switchyard_router::api::{MoveToTemporaryAddress, PointAddress, RouteBack, SetHold, SetMaintenance, SwapEnvironments};
use switchyard_router::{CountersSnapshot, RouteTable};

use crate::api::*;
use crate::error::{AgentError, Result};
use crate::identity::{fingerprint, same_secret};

/// Accepts exactly the certificate with the pinned fingerprint, whatever name or CA it has.
#[derive(Debug)]
struct PinnedCertificate {
    fingerprint: String,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let actual = fingerprint(end_entity);
        if same_secret(&actual, &self.fingerprint) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the agent's certificate has sha256 {actual}, not the registered {}: re-register the host if the agent was reinstalled",
                self.fingerprint
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[derive(Clone)]
pub struct AgentClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for AgentClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentClient").field("base", &self.base).field("token", &"<redacted>").finish()
    }
}

impl AgentClient {
    /// `url` like `https://10.0.0.5:7443`; `fingerprint` the 64 hex digits from registration.
    pub fn new(url: &str, token: &str, fingerprint: &str) -> Result<Self> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = PinnedCertificate { fingerprint: fingerprint.trim().to_ascii_lowercase(), provider: Arc::clone(&provider) };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| AgentError::Internal(format!("cannot set up TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .no_proxy()
            .build()
            .map_err(|source| AgentError::Transport { context: "cannot build the HTTPS client".into(), source })?;
        Ok(AgentClient { base: url.trim_end_matches('/').to_owned(), token: token.to_owned(), http })
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token)
    }

    async fn send(&self, what: &str, request: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        let response = request
            .send()
            .await
            .map_err(|source| AgentError::Transport { context: format!("cannot reach the agent at {} to {what}", self.base), source })?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str::<ErrorBody>(&text).unwrap_or(ErrorBody {
            kind: ErrorKind::Internal,
            message: format!("{what}: HTTP {status}: {text}"),
            retry_safe: true,
        });
        Err(AgentError::Remote { status, body })
    }

    async fn call<T: DeserializeOwned>(&self, what: &str, method: Method, path: &str, body: Option<&(impl Serialize + Sync)>) -> Result<T> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = self.send(what, request).await?;
        response
            .json()
            .await
            .map_err(|source| AgentError::Transport { context: format!("cannot read the agent's answer to {what}"), source })
    }

    pub async fn agent_info(&self) -> Result<AgentInfo> {
        self.call("read the agent info", Method::GET, "/v1/agent", None::<&()>).await
    }

    pub async fn openapi(&self) -> Result<serde_json::Value> {
        self.call("read the OpenAPI document", Method::GET, "/v1/openapi.json", None::<&()>).await
    }

    pub async fn list_envs(&self) -> Result<Vec<String>> {
        self.call("list environments", Method::GET, "/v1/envs", None::<&()>).await
    }

    pub async fn create_env(&self, req: &CreateEnv) -> Result<EnvInfo> {
        self.call("create an environment", Method::POST, "/v1/envs", Some(req)).await
    }

    /// Adopts a site already running on the host (see [`AdoptEnv`]).
    pub async fn adopt_env(&self, req: &AdoptEnv) -> Result<EnvInfo> {
        self.call("adopt a running site", Method::POST, "/v1/adopt", Some(req)).await
    }

    pub async fn env(&self, env: &str) -> Result<EnvInfo> {
        self.call("read an environment", Method::GET, &format!("/v1/envs/{env}"), None::<&()>).await
    }

    pub async fn clone_env(&self, source: &str, req: &CloneEnv) -> Result<EnvInfo> {
        self.call("clone an environment", Method::POST, &format!("/v1/envs/{source}/clone"), Some(req)).await
    }

    pub async fn destroy_env(&self, env: &str, req: &DestroyEnv) -> Result<Destroyed> {
        self.call("destroy an environment", Method::POST, &format!("/v1/envs/{env}/destroy"), Some(req)).await
    }

    pub async fn artifact(&self, sha256: &str) -> Result<Option<ArtifactInfo>> {
        match self.call("look up a candidate", Method::GET, &format!("/v1/artifacts/{sha256}"), None::<&()>).await {
            Ok(info) => Ok(Some(info)),
            Err(AgentError::Remote { status, .. }) if status == StatusCode::NOT_FOUND.as_u16() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Streams the file at `path` to the agent unless a candidate with that hash is stored.
    pub async fn upload_candidate(&self, path: &Path, sha256: &str) -> Result<ArtifactInfo> {
        if let Some(info) = self.artifact(sha256).await? {
            return Ok(info);
        }
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|source| AgentError::Io { context: format!("cannot open candidate {}", path.display()), source })?;
        let len = file
            .metadata()
            .await
            .map_err(|source| AgentError::Io { context: format!("cannot read the size of {}", path.display()), source })?
            .len();
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024));
        self.upload_body(sha256, body, Some(len)).await
    }

    /// Uploads candidate bytes held in memory (small archives, tests).
    pub async fn upload_bytes(&self, bytes: Vec<u8>, sha256: &str) -> Result<ArtifactInfo> {
        let len = bytes.len() as u64;
        self.upload_body(sha256, reqwest::Body::from(bytes), Some(len)).await
    }

    /// Uploads a candidate from any body (a stream for large or generated candidates).
    pub async fn upload_body(&self, sha256: &str, body: reqwest::Body, len: Option<u64>) -> Result<ArtifactInfo> {
        let mut request =
            self.request(Method::PUT, &format!("/v1/artifacts/{sha256}")).header(reqwest::header::CONTENT_TYPE, "application/gzip");
        if let Some(len) = len {
            request = request.header(reqwest::header::CONTENT_LENGTH, len);
        }
        let response = self.send("upload a candidate", request.body(body)).await?;
        response
            .json()
            .await
            .map_err(|source| AgentError::Transport { context: "cannot read the agent's answer to the upload".into(), source })
    }

    pub async fn unpack_release(&self, env: &str, req: &UnpackRelease) -> Result<ReleaseInfo> {
        self.call("unpack a release", Method::POST, &format!("/v1/envs/{env}/releases"), Some(req)).await
    }

    pub async fn activate(&self, env: &str, req: &Activate) -> Result<ActivateResult> {
        self.call("activate a release", Method::POST, &format!("/v1/envs/{env}/activate"), Some(req)).await
    }

    pub async fn rollback(&self, env: &str, req: &Rollback) -> Result<ActivateResult> {
        self.call("roll back", Method::POST, &format!("/v1/envs/{env}/rollback"), Some(req)).await
    }

    /// Runs a step, calling `on_event` for each event as it arrives, and sums up the result.
    pub async fn run_step(&self, env: &str, req: &RunStep, mut on_event: impl FnMut(&StepEvent)) -> Result<StepResult> {
        let response = self.send("run a step", self.request(Method::POST, &format!("/v1/envs/{env}/steps")).json(req)).await?;
        let mut stream = response.bytes_stream();
        let mut pending: Vec<u8> = Vec::new();
        let mut result =
            StepResult { code: None, timed_out: false, interrupted: false, duration_ms: 0, stdout: String::new(), stderr: String::new() };
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|source| AgentError::Transport {
                context: format!("the output stream of step {} broke off; run it again with the same operation id to replay it", req.op_id),
                source,
            })?;
            pending.extend_from_slice(&chunk);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let event: StepEvent = serde_json::from_slice(&line)
                    .map_err(|e| AgentError::Internal(format!("the agent sent an unreadable step event ({e})")))?;
                on_event(&event);
                match event {
                    StepEvent::Output { stream: OutputStream::Stdout, data } => result.stdout.push_str(&data),
                    StepEvent::Output { stream: OutputStream::Stderr, data } => result.stderr.push_str(&data),
                    StepEvent::Exit { code, timed_out, interrupted, duration_ms } => {
                        (result.code, result.timed_out, result.interrupted, result.duration_ms) =
                            (code, timed_out, interrupted, duration_ms);
                        return Ok(result);
                    }
                }
            }
        }
        Err(AgentError::Internal(format!(
            "the output stream of step {} ended without an exit event; run it again with the same operation id to replay it",
            req.op_id
        )))
    }

    pub async fn process_status(&self, env: &str) -> Result<ProcessStatus> {
        self.call("read the process status", Method::GET, &format!("/v1/envs/{env}/process"), None::<&()>).await
    }

    pub async fn start(&self, env: &str, op_id: &str) -> Result<ProcessStatus> {
        self.process_action(env, "start", op_id).await
    }

    pub async fn stop(&self, env: &str, op_id: &str) -> Result<ProcessStatus> {
        self.process_action(env, "stop", op_id).await
    }

    pub async fn restart(&self, env: &str, op_id: &str) -> Result<ProcessStatus> {
        self.process_action(env, "restart", op_id).await
    }

    async fn process_action(&self, env: &str, action: &str, op_id: &str) -> Result<ProcessStatus> {
        let req = ProcessAction { op_id: op_id.to_owned() };
        self.call(&format!("{action} the site"), Method::POST, &format!("/v1/envs/{env}/process/{action}"), Some(&req)).await
    }

    pub async fn sync_env(&self, target: &str, req: &SyncEnv) -> Result<SyncReport> {
        self.call("sync data", Method::POST, &format!("/v1/envs/{target}/sync"), Some(req)).await
    }

    /// Starts capturing every change to `env`'s databases; answers where each capture starts.
    pub async fn start_capture(&self, env: &str, req: &StartCapture) -> Result<CaptureState> {
        self.call("start change capture", Method::POST, &format!("/v1/envs/{env}/capture/start"), Some(req)).await
    }

    /// A page of the changes captured on one of `env`'s databases after `query.after`.
    pub async fn captured_changes(&self, env: &str, query: &CaptureQuery) -> Result<CapturePage> {
        let mut path = format!("/v1/envs/{env}/capture?after={}", query.after);
        if let Some(database) = &query.database {
            path.push_str(&format!("&database={}", url_encode(database)));
        }
        if let Some(limit) = query.limit {
            path.push_str(&format!("&limit={limit}"));
        }
        self.call("read captured changes", Method::GET, &path, None::<&()>).await
    }

    /// Replays `req.from`'s captured changes into `env`'s matching database; a refusal is in
    /// the answer, with the change and the database's reason.
    pub async fn replay_changes(&self, env: &str, req: &ReplayChanges) -> Result<Replayed> {
        self.call("replay captured changes", Method::POST, &format!("/v1/envs/{env}/capture/replay"), Some(req)).await
    }

    /// What `env`'s databases have that `compare_with`'s lack (`added`), and the reverse
    /// (`removed`): a migrated candidate against production says what its migration changed.
    pub async fn schema_difference(&self, env: &str, compare_with: &str) -> Result<SchemaDifference> {
        let path = format!("/v1/envs/{env}/schema?compare_with={}", url_encode(compare_with));
        self.call("compare the schemas", Method::GET, &path, None::<&()>).await
    }

    /// Stops capture on `env`, removing what it installed; safe to repeat.
    pub async fn stop_capture(&self, env: &str, req: &StopCapture) -> Result<CaptureStopped> {
        self.call("stop change capture", Method::POST, &format!("/v1/envs/{env}/capture/stop"), Some(req)).await
    }

    pub async fn snapshot_volume(&self, volume: &str, req: &VolumeSnapshot) -> Result<SnapshotReport> {
        self.call("snapshot a data volume", Method::POST, &format!("/v1/volumes/{volume}/snapshot"), Some(req)).await
    }

    /// Restores a snapshot; refused while an environment using the volume runs.
    pub async fn restore_volume(&self, volume: &str, req: &VolumeSnapshot) -> Result<SnapshotReport> {
        self.call("restore a data volume", Method::POST, &format!("/v1/volumes/{volume}/restore"), Some(req)).await
    }

    /// The host's databases per server: bound, made by the agent, leftovers, sizes.
    pub async fn databases(&self) -> Result<DatabaseList> {
        self.call("list the databases", Method::GET, "/v1/databases", None::<&()>).await
    }

    /// Removes a leftover database the agent made (and its login); once per `op_id`.
    pub async fn remove_database(&self, server: &str, database: &str, op_id: &str) -> Result<RemovedDatabase> {
        let req = RemoveDatabase { op_id: op_id.to_owned() };
        self.call("remove a leftover database", Method::POST, &format!("/v1/databases/{server}/{database}/remove"), Some(&req)).await
    }

    /// The router's table: what every public address serves.
    pub async fn routes(&self) -> Result<RouteTable> {
        self.call("read the route table", Method::GET, "/v1/routes", None::<&()>).await
    }

    pub async fn replace_routes(&self, op_id: &str, table: RouteTable) -> Result<RouteTable> {
        self.route_change("replace the route table", Method::PUT, "/v1/routes", op_id, ReplaceTable { table }).await
    }

    /// Swaps two environments of a site everywhere, atomically; once per `op_id`.
    pub async fn swap(&self, op_id: &str, change: SwapEnvironments) -> Result<RouteTable> {
        self.route_change("swap environments", Method::POST, "/v1/routes/swap", op_id, change).await
    }

    pub async fn move_to_temporary_address(&self, op_id: &str, change: MoveToTemporaryAddress) -> Result<RouteTable> {
        self.route_change("move production to a temporary address", Method::POST, "/v1/routes/move-to-temporary-address", op_id, change)
            .await
    }

    pub async fn route_back(&self, op_id: &str, change: RouteBack) -> Result<RouteTable> {
        self.route_change("route the public address back", Method::POST, "/v1/routes/route-back", op_id, change).await
    }

    pub async fn point(&self, op_id: &str, change: PointAddress) -> Result<RouteTable> {
        self.route_change("point an address", Method::POST, "/v1/routes/point", op_id, change).await
    }

    pub async fn maintenance(&self, op_id: &str, change: SetMaintenance) -> Result<RouteTable> {
        self.route_change("switch the site-down page", Method::POST, "/v1/routes/maintenance", op_id, change).await
    }

    pub async fn hold(&self, op_id: &str, change: SetHold) -> Result<RouteTable> {
        self.route_change("hold or release requests", Method::POST, "/v1/routes/hold", op_id, change).await
    }

    pub async fn counters(&self) -> Result<CountersSnapshot> {
        self.call("read the router's counters", Method::GET, "/v1/counters", None::<&()>).await
    }

    /// The router's counters in Prometheus text format.
    pub async fn metrics(&self) -> Result<String> {
        let response = self.send("read the metrics", self.request(Method::GET, "/v1/metrics")).await?;
        response.text().await.map_err(|source| AgentError::Transport { context: "cannot read the metrics".into(), source })
    }

    async fn route_change<T: Serialize + Sync>(
        &self,
        what: &str,
        method: Method,
        path: &str,
        op_id: &str,
        change: T,
    ) -> Result<RouteTable> {
        let request = RouteChange { op_id: op_id.to_owned(), change };
        self.call(what, method, path, Some(&request)).await
    }
}

/// Percent-encodes a query value (a database name such as `shared/site.db`).
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
