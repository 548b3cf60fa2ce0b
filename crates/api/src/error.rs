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

impl ApiError {
    /// What a person reads: a headline sentence for the kind of failure (the wire's short
    /// codes, such as `conflict`, are for programs) and the detail as a sentence, without the
    /// backticks the server's messages quote commands in.
    pub fn for_people(&self) -> (String, String) {
        let headline = match self.error.as_str() {
            "invalid input" => "Please check what you entered.".to_owned(),
            "not found" => "That is not there.".to_owned(),
            "conflict" => "That clashes with how things stand now.".to_owned(),
            "not logged in" => "You are not logged in.".to_owned(),
            "not allowed" => "You may not do that.".to_owned(),
            "too many attempts" => "Too many attempts.".to_owned(),
            "host unreachable" => "A host could not be reached.".to_owned(),
            "internal error" => "Something went wrong on the server.".to_owned(),
            other => sentence(other),
        };
        (headline, sentence(&self.detail))
    }
}

/// `text` as a sentence: backticks gone, a capital first letter and a full stop at the end.
pub fn sentence(text: &str) -> String {
    let text = text.replace('`', "");
    let text = text.trim();
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?', ':']) {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::ApiError;

    #[test]
    fn a_person_reads_sentences_not_codes_or_markup() {
        let error = ApiError::new("conflict", "environment shop-green is running: stop it with `switchyard site stop`");
        let (headline, detail) = error.for_people();
        assert_eq!(headline, "That clashes with how things stand now.");
        assert_eq!(detail, "Environment shop-green is running: stop it with switchyard site stop.");
        assert_eq!(ApiError::new("no file chosen", "").for_people(), ("No file chosen.".to_owned(), String::new()));
        assert_eq!(ApiError::new("not found", "site 4 does not exist.").for_people().1, "Site 4 does not exist.");
    }
}
