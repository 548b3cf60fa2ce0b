//! The agent's one error type: what failed, what to do, and which kind of failure it was.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::api::{ErrorBody, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Unauthorized(String),
    /// A command the agent ran (rsync, sqlite3, the site) failed.
    #[error("{0}")]
    CommandFailed(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Internal(String),
    /// Client side: the agent could not be reached or its answer could not be read.
    #[error("{context}: {source}")]
    Transport {
        context: String,
        #[source]
        source: reqwest::Error,
    },
    /// Client side: the agent answered with an error.
    #[error("agent refused: {}", .body.message)]
    Remote { status: u16, body: ErrorBody },
}

pub type Result<T, E = AgentError> = std::result::Result<T, E>;

impl AgentError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            AgentError::NotFound(_) => ErrorKind::NotFound,
            AgentError::Conflict(_) => ErrorKind::Conflict,
            AgentError::Invalid(_) => ErrorKind::InvalidInput,
            AgentError::TooLarge(_) => ErrorKind::TooLarge,
            AgentError::Unauthorized(_) => ErrorKind::Unauthorized,
            AgentError::CommandFailed(_) => ErrorKind::CommandFailed,
            AgentError::Io { .. } | AgentError::Internal(_) | AgentError::Transport { .. } => ErrorKind::Internal,
            AgentError::Remote { body, .. } => body.kind,
        }
    }

    /// Whether the same request may succeed when repeated: every operation leaves no partial
    /// state behind, so only refusals of the input itself are pointless to retry.
    pub fn retry_safe(&self) -> bool {
        match self {
            AgentError::Remote { body, .. } => body.retry_safe,
            AgentError::Invalid(_) | AgentError::TooLarge(_) | AgentError::Unauthorized(_) => false,
            _ => true,
        }
    }

    fn status(&self) -> StatusCode {
        match self.kind() {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::CommandFailed => StatusCode::BAD_GATEWAY,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Wraps an IO error with what the agent was doing, for `map_err`.
pub fn io_context(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> AgentError {
    let context = context.into();
    move |source| AgentError::Io { context, source }
}

impl IntoResponse for AgentError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!("{self}");
        } else {
            tracing::info!("refused: {self}");
        }
        let body = ErrorBody { kind: self.kind(), message: self.to_string(), retry_safe: self.retry_safe() };
        (status, Json(body)).into_response()
    }
}
