//! The patch document: the exact, versioned steps of one release, written as TOML, validated
//! with line-numbered advice, rendered back canonically and summarised for review.
//!
//! The same document runs first on a clone (the rehearsal) and then on production; the
//! workflow machines in [`crate::workflow`] compile it into commands.

mod action;
mod from_manifest;
pub(crate) mod node;
mod parse;
mod render;
mod rules;
mod template;

pub use action::{Action, Step, SyncScope, WorkflowKind};

use serde::{Deserialize, Serialize};
use std::fmt;

/// A release's patch document. Built by [`PatchDocument::parse`] (checked) or by hand and then
/// checked with [`PatchDocument::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchDocument {
    /// The site this document releases, by name.
    pub site: String,
    /// The document's own revision; a production run needs a rehearsal of this exact revision.
    pub version: u32,
    /// The version string of the site after the release, e.g. `2.4.0`.
    pub target_version: String,
    /// sha256 of the uploaded release candidate, 64 lowercase hex digits.
    pub candidate_sha256: String,
    pub workflow: WorkflowKind,
    pub steps: Vec<Step>,
}

/// One problem in a document, at the line where it can be fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchError {
    /// 1-based line in the TOML source.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Every problem found in a document, in line order, so an editor can mark them all at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("the patch document has {} problem(s):\n{}", .0.len(), lines(.0))]
pub struct PatchErrors(pub Vec<PatchError>);

fn lines(errors: &[PatchError]) -> String {
    errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
}

impl PatchErrors {
    /// The messages as `line N: ...` strings, handy for tests and plain-text output.
    pub fn messages(&self) -> Vec<String> {
        self.0.iter().map(|e| e.to_string()).collect()
    }
}

impl PatchDocument {
    /// Reads and checks a document: syntax, every field, then the ordering rules of its workflow.
    pub fn parse(source: &str) -> Result<PatchDocument, PatchErrors> {
        let (document, map, mut errors) = parse::read(source)?;
        // Ordering rules only make sense once every step reads; otherwise a step that failed
        // to parse would show up again as "missing site-down page" and the like.
        if errors.is_empty() {
            if let Some(document) = &document {
                errors.extend(rules::check(document, &map));
            }
        }
        errors.sort_by_key(|e| e.line);
        match document {
            Some(document) if errors.is_empty() => Ok(document),
            _ => Err(PatchErrors(errors)),
        }
    }

    /// Checks a document built in code. Line numbers refer to its canonical rendering
    /// ([`PatchDocument::to_toml`]), which is what a user would be shown.
    pub fn validate(&self) -> Result<(), PatchErrors> {
        Self::parse(&self.to_toml()).map(|_| ())
    }

    /// The canonical TOML text: fixed key order, one `[[step]]` table per step.
    pub fn to_toml(&self) -> String {
        render::toml(self)
    }

    /// One line per step, for review screens and diffs between document versions.
    pub fn summary(&self) -> String {
        render::summary(self)
    }

    /// A starting document for `kind` that validates cleanly; customers edit it from there.
    pub fn template(kind: WorkflowKind, site: &str, target_version: &str, candidate_sha256: &str) -> PatchDocument {
        template::template(kind, site, target_version, candidate_sha256)
    }
}

#[cfg(test)]
mod expand_tests;
#[cfg(test)]
mod tests;
