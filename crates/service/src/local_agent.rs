//! The host agent `switchyard serve` and the desktop app run inside their own process,
//! registered as host `local`, so a fresh install has one real host for its releases.

use crate::{Service, ServiceError};
use std::net::SocketAddr;
use std::path::Path;
use switchyard_agent::Registration;

/// A running in-process agent; [`LocalAgent::stop`] stops it and the sites it supervises.
pub struct LocalAgent {
    pub registration: Registration,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), switchyard_agent::AgentError>>,
}

impl std::fmt::Debug for LocalAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalAgent").field("url", &self.registration.url).finish_non_exhaustive()
    }
}

impl LocalAgent {
    /// Starts the agent over `<data_dir>/agent`, listening on `listen` (port 0 picks one) and
    /// serving public traffic on `public_listen`, and registers it as host `local`.
    pub async fn start(
        data_dir: &Path,
        listen: SocketAddr,
        public_listen: Vec<SocketAddr>,
        service: &Service,
    ) -> Result<Self, ServiceError> {
        let root = data_dir.join("agent");
        let args = switchyard_agent::AgentArgs {
            root: root.clone(),
            listen,
            max_upload_bytes: 4 << 30,
            max_unpacked_bytes: 16 << 30,
            max_unpacked_entries: 500_000,
            tls_names: Vec::new(),
            public_listen,
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(switchyard_agent::run_until(
            args,
            async move {
                let _ = stopped.await;
            },
            move |registration| {
                let _ = ready_tx.send(registration.clone());
            },
        ));
        let Ok(registration) = ready_rx.await else {
            let failure = match task.await {
                Ok(Err(error)) => error.to_string(),
                Ok(Ok(())) => "it stopped at once".to_owned(),
                Err(join) => join.to_string(),
            };
            return Err(ServiceError::Unavailable(format!("the local host agent did not start on {listen}: {failure}")));
        };
        let token_file = switchyard_agent::layout::Layout::new(root).identity_dir().join("token");
        let agent = Self { registration, stop, task };
        let registered = service.register_local_agent(&agent.registration.url, &agent.registration.fingerprint, &token_file).await;
        if let Err(error) = registered {
            agent.stop().await;
            return Err(ServiceError::Internal(format!("cannot register the local agent as host \"local\": {error}")));
        }
        Ok(agent)
    }

    /// Stops the agent and the sites it supervises.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!("the local agent stopped with an error: {error}"),
            Err(error) => tracing::error!("the local agent task failed: {error}"),
        }
    }
}
