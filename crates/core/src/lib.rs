//! Switchyard's domain model and its rules, free of IO so that it runs the same on the server,
//! in the desktop app and in the browser (it compiles to wasm).

pub mod access;
pub mod candidate_limits;
pub mod diff;
pub mod draft;
pub mod history_filter;
pub mod login_throttle;
pub mod manifest;
pub mod model;
pub mod next_action;
pub mod patch;
pub mod record;
pub mod schema_change;
mod toml_words;
pub mod validate;
pub mod workflow;

pub use draft::{AccountDraft, AddressDraft, CustomerDraft, EnvironmentDraft, HostDraft, SiteDraft, UserDraft};
pub use model::{EnvironmentKind, Role};
pub use patch::{PatchDocument, PatchError, PatchErrors, WorkflowKind};
pub use validate::{FieldError, Invalid};
