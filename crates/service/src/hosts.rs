//! Talking to hosts: asking a registered agent whether it answers, and registering the local
//! agent that `switchyard serve` starts beside itself.

use crate::auth::Caller;
use crate::{Service, ServiceError};
use std::path::Path;
use std::time::Duration;
use switchyard_agent::api::ErrorKind;
use switchyard_agent::{AgentClient, AgentError};
use switchyard_api::{Host, HostDraft, HostIsolation, HostStatus};
use switchyard_core::access::Action;
use switchyard_core::Invalid;

/// The host the demo and `switchyard serve` use for the agent on this machine.
pub const LOCAL_HOST_NAME: &str = "local";

/// How long a status check waits for an agent before calling it unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

impl Service {
    /// Asks the host's agent who it is, over HTTPS with the registered certificate pinned.
    pub async fn host_status(&self, caller: &Caller, id: i64) -> Result<HostStatus, ServiceError> {
        caller.may(Action::ReadOperations)?;
        let host = self.store.host(id).await?;
        let status = match probe(&host).await {
            Ok(info) => HostStatus {
                host_id: id,
                reachable: true,
                agent_version: Some(info.version),
                environments: info.environments,
                problem: None,
                isolation: info.isolation.map(host_isolation),
            },
            Err(problem) => HostStatus {
                host_id: id,
                reachable: false,
                agent_version: None,
                environments: Vec::new(),
                problem: Some(problem),
                isolation: None,
            },
        };
        Ok(status)
    }

    /// Points the `local` host at the agent this process started (creating the host if the
    /// operator deleted it), so the demo's environments are reachable at once.
    pub async fn register_local_agent(&self, url: &str, fingerprint: &str, token_file: &Path) -> Result<Host, ServiceError> {
        let draft = HostDraft {
            name: LOCAL_HOST_NAME.into(),
            agent_url: url.into(),
            token_ref: format!("file:{}", token_file.display()),
            cert_fingerprint: fingerprint.into(),
        };
        match self.store.host_by_name(LOCAL_HOST_NAME).await? {
            Some(host) => self.update_host(&crate::Caller::system(), host.id, draft).await,
            None => self.create_host(&crate::Caller::system(), draft).await,
        }
    }
}

fn host_isolation(isolation: switchyard_agent::api::Isolation) -> HostIsolation {
    let limits = match isolation.limits {
        switchyard_agent::api::LimitsMechanism::CgroupV2 => "cgroup v2",
        switchyard_agent::api::LimitsMechanism::Rlimits => "rlimits",
    };
    HostIsolation { site_users: isolation.site_users, limits: limits.into(), warnings: isolation.warnings }
}

async fn probe(host: &Host) -> Result<switchyard_agent::api::AgentInfo, String> {
    let client = agent_client(host)?;
    match tokio::time::timeout(PROBE_TIMEOUT, client.agent_info()).await {
        Ok(Ok(info)) => Ok(info),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("the agent at {} did not answer within {PROBE_TIMEOUT:?}; is it running?", host.agent_url)),
    }
}

/// A client for the host's agent with its certificate pinned, or why there cannot be one.
pub(crate) fn agent_client(host: &Host) -> Result<AgentClient, String> {
    if host.cert_fingerprint.is_empty() {
        return Err(format!(
            "no certificate fingerprint is registered for host {}; copy it from the agent's registration.json and edit the host",
            host.name
        ));
    }
    let token = resolve_token(&host.token_ref)?;
    AgentClient::new(&host.agent_url, &token, &host.cert_fingerprint)
        .map_err(|e| format!("cannot set up a client for host {}: {e}", host.name))
}

/// Reads the token a host's `token_ref` points at: `env:NAME` or `file:/path`.
fn resolve_token(token_ref: &str) -> Result<String, String> {
    let token = match token_ref.split_once(':') {
        Some(("env", name)) => std::env::var(name)
            .map_err(|_| format!("the agent token is to come from ${name}, which is not set in Switchyard's environment"))?,
        Some(("file", path)) => std::fs::read_to_string(path).map_err(|e| format!("cannot read the agent token from {path}: {e}"))?,
        _ => return Err(format!("token reference {token_ref:?} is not env:NAME or file:/path; edit the host")),
    };
    let token = token.trim().to_owned();
    if token.is_empty() {
        return Err(format!("the agent token from {token_ref} is empty"));
    }
    Ok(token)
}

/// What an agent's failure means to a Switchyard user, by its kind, so a refusal of the
/// request (a 4xx) is never reported as an unreachable host. `doing` says what was asked,
/// e.g. "start the site": the message reads "cannot start the site on host web-1: …".
pub(crate) fn agent_failure(host: &Host, doing: &str, error: AgentError) -> ServiceError {
    let message = match &error {
        AgentError::Remote { body, .. } => body.message.clone(),
        other => other.to_string(),
    };
    let message = format!("cannot {doing} on host {}: {message}", host.name);
    if let AgentError::Transport { .. } = error {
        return ServiceError::Unavailable(format!("{message}; check that the agent runs, then try again"));
    }
    match error.kind() {
        ErrorKind::InvalidInput | ErrorKind::TooLarge | ErrorKind::CommandFailed => ServiceError::Invalid(Invalid::single("host", message)),
        ErrorKind::Conflict => ServiceError::Conflict(message),
        ErrorKind::NotFound => ServiceError::NotFound(message),
        ErrorKind::Unauthorized => ServiceError::Conflict(format!(
            "{message}; the host's token is not the agent's: copy it from the agent's registration and edit the host"
        )),
        ErrorKind::Internal => ServiceError::Internal(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_agent::api::ErrorBody;

    fn host() -> Host {
        Host {
            id: 1,
            name: "web-1".into(),
            agent_url: "https://10.0.0.5:7443".into(),
            token_ref: "env:T".into(),
            cert_fingerprint: String::new(),
            created_at: String::new(),
        }
    }

    #[test]
    fn an_agent_refusal_keeps_its_kind_and_says_what_was_asked_of_which_host() {
        let cases = [
            (ErrorKind::InvalidInput, "entry ../x escapes", "invalid"),
            (ErrorKind::CommandFailed, "the site did not answer 2xx", "invalid"),
            (ErrorKind::Conflict, "port 8101 is already in use", "conflict"),
            (ErrorKind::NotFound, "no environment notes-blue", "not found"),
            (ErrorKind::Unauthorized, "wrong token", "conflict"),
            (ErrorKind::Internal, "disk full", "internal"),
        ];
        for (kind, agent_said, expected) in cases {
            let error = AgentError::Remote { status: 400, body: ErrorBody { kind, message: agent_said.into(), retry_safe: false } };
            let mapped = agent_failure(&host(), "start the site", error);
            let got = match &mapped {
                ServiceError::Invalid(_) => "invalid",
                ServiceError::Conflict(_) => "conflict",
                ServiceError::NotFound(_) => "not found",
                ServiceError::Internal(_) => "internal",
                other => panic!("{agent_said} became {other:?}"),
            };
            assert_eq!(got, expected, "{agent_said}");
            let text = mapped.to_string();
            assert!(text.starts_with("cannot start the site on host web-1: ") && text.contains(agent_said), "{text}");
        }
    }
}
