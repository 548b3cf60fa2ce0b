//! Talking to hosts: asking a registered agent whether it answers, and registering the local
//! agent that `switchyard serve` starts beside itself.
//!
//! A host's token is entered once and kept sealed (see `secrets.rs`); it is only ever sent to
//! the host's agent URL over HTTPS with the certificate pinned at registration. The old
//! `token_ref` (`env:NAME`, `file:/path`) is no longer read for any host: it let anyone who may
//! edit hosts send any of the server's files or variables to a URL of their choice. The local
//! agent is registered again with its token at every start, so it moves over by itself.

use crate::auth::Caller;
use crate::secrets::{Purpose, Secrets};
use crate::{Service, ServiceError};
use std::path::Path;
use std::time::Duration;
use switchyard_agent::api::ErrorKind;
use switchyard_agent::{AgentClient, AgentError};
use switchyard_api::{Host, HostDraft, HostIsolation, HostStatus};
use switchyard_core::access::Action;
use switchyard_core::Invalid;
use switchyard_store::Store;

/// The host the demo and `switchyard serve` use for the agent on this machine.
pub const LOCAL_HOST_NAME: &str = "local";

/// How long a status check waits for an agent before calling it unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

impl Service {
    /// Asks the host's agent who it is, over HTTPS with the registered certificate pinned.
    pub async fn host_status(&self, caller: &Caller, id: i64) -> Result<HostStatus, ServiceError> {
        caller.may(Action::ReadOperations)?;
        let host = self.store.host(id).await?;
        let status = match probe(&self.store, &self.secrets, &host).await {
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
        // The agent's own token file, which this process wrote: read here, by Switchyard,
        // never through a reference someone could point elsewhere.
        let token = std::fs::read_to_string(token_file)
            .map_err(|e| ServiceError::Internal(format!("cannot read the local agent's token from {}: {e}", token_file.display())))?;
        let draft = HostDraft {
            name: LOCAL_HOST_NAME.into(),
            agent_url: url.into(),
            token_ref: String::new(),
            token: Some(token.trim().to_owned()),
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

async fn probe(store: &Store, secrets: &Secrets, host: &Host) -> Result<switchyard_agent::api::AgentInfo, String> {
    let client = agent_client(store, secrets, host).await?;
    match tokio::time::timeout(PROBE_TIMEOUT, client.agent_info()).await {
        Ok(Ok(info)) => Ok(info),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("the agent at {} did not answer within {PROBE_TIMEOUT:?}; is it running?", host.agent_url)),
    }
}

/// A client for the host's agent with its certificate pinned and its stored token, or why
/// there cannot be one. No message repeats the token or names anything outside Switchyard.
pub(crate) async fn agent_client(store: &Store, secrets: &Secrets, host: &Host) -> Result<AgentClient, String> {
    if host.cert_fingerprint.is_empty() {
        return Err(format!(
            "no certificate fingerprint is registered for host {}; copy it from the agent's registration.json and edit the host",
            host.name
        ));
    }
    if !host.agent_url.starts_with("https://") {
        // Plain HTTP would send the token to whoever answers, pin or no pin.
        return Err(format!(
            "host {} has the agent URL {}; Switchyard sends agent tokens only over HTTPS with the pinned certificate: edit the host to use https://",
            host.name, host.agent_url
        ));
    }
    let stored = store.host_token(host.id).await.map_err(|e| format!("cannot read the token of host {}: {e}", host.name))?;
    let token = match stored.sealed {
        Some(sealed) => secrets.open(Purpose::HostToken, &sealed).map_err(|e| e.to_string())?.ok_or_else(|| {
            format!(
                "the stored token of host {} cannot be decrypted (was the server's secrets key replaced?); enter the agent's token on the host again",
                host.name
            )
        })?,
        None if !stored.legacy_ref.is_empty() => {
            return Err(format!(
                "host {} names its token by a reference, which Switchyard no longer reads; enter the agent's token on the host (it is stored encrypted)",
                host.name
            ))
        }
        None => return Err(format!("no agent token is stored for host {}; enter the agent's token on the host", host.name)),
    };
    AgentClient::new(&host.agent_url, &token, &host.cert_fingerprint)
        .map_err(|e| format!("cannot set up a client for host {}: {e}", host.name))
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
            token_stored: true,
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
