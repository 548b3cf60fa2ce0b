//! The service layer: every operation a user can ask for, with its rules applied once.
//!
//! The axum handlers and the desktop app's commands call only this crate; neither validates
//! nor touches the store on its own. Input is validated by `switchyard-core` before the store
//! sees it, so an invalid request never writes a row.

mod adopt;
mod auth;
mod candidate_check;
mod candidate_manifest;
mod candidates;
mod demo;
mod demo_site;
mod engines;
mod error;
mod go_live;
mod history;
mod hosts;
mod inventory;
mod local_agent;
mod patch_documents;
mod release_view;
mod releases;
mod site_runtime;

pub use auth::{Caller, NewSession, SESSION_COOKIE, SESSION_DAYS};
pub use candidates::MAX_CANDIDATE_BYTES;
pub use error::ServiceError;
pub use hosts::LOCAL_HOST_NAME;
pub use local_agent::LocalAgent;
pub use releases::DecisionKind;

use engines::Engines;
use std::sync::Arc;
use switchyard_store::Store;

/// Switchyard's operations over one store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Service {
    store: Store,
    engines: Arc<Engines>,
}

impl Service {
    /// Release candidates are kept in `candidates/` beside the database file.
    pub fn new(store: Store) -> Self {
        let dir = store.path().parent().map(|p| p.join("candidates")).unwrap_or_else(|| "candidates".into());
        Self { store, engines: Arc::new(Engines::new(dir)) }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}
