//! The one error type handlers return: it renders as `{"error", "detail", "fields"}` with a
//! status that tells the client whether to fix its input (4xx) or try later (5xx).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use switchyard_api::ApiError;
use switchyard_service::ServiceError;

#[derive(Debug)]
pub struct AppError {
    status: StatusCode,
    body: ApiError,
}

impl AppError {
    pub fn new(status: StatusCode, error: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { status, body: ApiError::new(error, detail) }
    }
}

impl From<ServiceError> for AppError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Invalid(invalid) => {
                let mut body = ApiError::new("invalid input", invalid.to_string());
                body.fields = invalid.0;
                Self { status: StatusCode::UNPROCESSABLE_ENTITY, body }
            }
            ServiceError::NotFound(message) => {
                Self::new(StatusCode::NOT_FOUND, "not found", format!("{message}; it may have been deleted"))
            }
            ServiceError::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            ServiceError::Unauthenticated(message) => Self::new(StatusCode::UNAUTHORIZED, "not logged in", message),
            ServiceError::Forbidden(message) => Self::new(StatusCode::FORBIDDEN, "not allowed", message),
            ServiceError::TooManyAttempts(message) => Self::new(StatusCode::TOO_MANY_REQUESTS, "too many attempts", message),
            ServiceError::Unavailable(message) => Self::new(StatusCode::SERVICE_UNAVAILABLE, "host unreachable", message),
            ServiceError::Internal(message) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error",
                format!("{message}; nothing was changed, try again or check the server log"),
            ),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
