//! The one error body every failed API call returns.

use serde::{Deserialize, Serialize};
use std::fmt;
use switchyard_core::FieldError;

/// `{"error": what failed, "detail": what to do, "fields": [...]}`. `fields` names each form
/// field that broke a rule so the UI can show the message beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

impl ApiError {
    pub fn new(error: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { error: error.into(), detail: detail.into(), fields: Vec::new() }
    }

    pub fn field_message(&self, field: &str) -> Option<&str> {
        self.fields.iter().find(|f| f.field == field).map(|f| f.message.as_str())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.detail.is_empty() {
            f.write_str(&self.error)
        } else {
            write!(f, "{}: {}", self.error, self.detail)
        }
    }
}

impl std::error::Error for ApiError {}
