//! Errors the service reports, by kind, so every front end can map them the same way.

use switchyard_core::Invalid;
use switchyard_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input broke one or more rules; each names its field.
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Nobody is logged in, or the session ended.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller's role may not do this; the message says who may.
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed tries (logins): the message says when to try again.
    #[error("{0}")]
    TooManyAttempts(String),
    /// A host or agent the operation needs cannot be reached; trying later may work.
    #[error("{0}")]
    Unavailable(String),
    /// Something outside the user's control failed; the message says what.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { .. } => Self::NotFound(error.to_string()),
            StoreError::Conflict(message) => Self::Conflict(message),
            StoreError::BadReference { field, message } => Self::Invalid(Invalid::single(field, message)),
            StoreError::InvalidFilter(invalid) => Self::Invalid(invalid),
            other => {
                tracing::error!(error = %other, "store failure");
                Self::Internal(other.to_string())
            }
        }
    }
}
