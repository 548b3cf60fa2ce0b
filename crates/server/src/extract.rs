//! Extractors whose rejections speak the API's error format instead of axum's plain text.

use crate::AppError;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// A JSON body; a malformed or mistyped body is a 400 that says which part is wrong.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    let status = rejection.status();
    let detail = match &rejection {
        JsonRejection::MissingJsonContentType(_) => "send the body as JSON with Content-Type: application/json".to_owned(),
        JsonRejection::JsonSyntaxError(_) => format!("the body is not valid JSON ({})", rejection.body_text()),
        JsonRejection::JsonDataError(_) => format!("the JSON does not have the expected fields ({})", rejection.body_text()),
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => {
            "the body is too large for this request (logins and passwords: 16 KiB, everything else: 2 MB); send less".to_owned()
        }
        _ => rejection.body_text(),
    };
    AppError::new(status, "malformed request body", detail)
}

/// Numeric ids from the path (one, or a tuple such as site and version); `/sites/abc` is a
/// 400, not a 404 or a panic.
pub struct Id<T = i64>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Id<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(Self(id)),
            Err(rejection) => Err(path_rejection(rejection)),
        }
    }
}

fn path_rejection(rejection: PathRejection) -> AppError {
    AppError::new(StatusCode::BAD_REQUEST, "malformed id in the URL", format!("ids are whole numbers ({})", rejection.body_text()))
}
