//! The engine's one error type: which kind of failure it was and whether resuming may help.

use switchyard_core::workflow::Refusal;
use switchyard_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The workflow refused a run or a decision; the message says why and what it accepts.
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// The release's placement cannot be worked out from the host's route table.
    #[error("{0}")]
    Placement(String),
    /// The patch document stored with a release does not read.
    #[error("the patch document of release {release} does not read: {message}")]
    Document { release: i64, message: String },
    /// The agent could not be reached. Nothing was journaled for the attempt, so resuming the
    /// release re-sends the same commands under the same operation ids.
    #[error("{context}: {message}; resume the release once the agent is reachable")]
    AgentUnreachable { context: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A journal entry or a workflow answer the engine cannot use: a bug, never user input.
    #[error("internal engine error: {0}")]
    Internal(String),
}

impl EngineError {
    /// Whether calling the same engine method again (resume, approve) may succeed.
    pub fn retry_safe(&self) -> bool {
        matches!(self, EngineError::AgentUnreachable { .. } | EngineError::Store(StoreError::Conflict(_)))
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
