//! The service layer: every operation a user can ask for, with its rules applied once.
//!
//! The axum handlers and the desktop app's commands call only this crate; neither validates
//! nor touches the store on its own. Input is validated by `switchyard-core` before the store
//! sees it, so an invalid request never writes a row.

mod auth;
mod demo;
mod error;
mod hosts;
mod inventory;
mod patch_documents;

pub use auth::{Caller, NewSession, SESSION_COOKIE, SESSION_DAYS};
pub use error::ServiceError;
pub use hosts::LOCAL_HOST_NAME;

use switchyard_store::Store;

/// Switchyard's operations over one store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Service {
    store: Store,
}

impl Service {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}
