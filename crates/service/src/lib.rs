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
mod capture_window;
mod dashboard;
mod demo;
mod demo_site;
mod engines;
mod error;
mod go_live;
mod history;
mod hosts;
mod inventory;
mod local_agent;
mod login;
mod patch_documents;
mod record;
mod release_data;
mod release_evidence;
mod release_view;
mod releases;
mod second_factor;
mod secrets;
mod site_databases;
mod site_limits;
mod site_runtime;
mod totp;

pub use auth::{Caller, NewSession, SESSION_COOKIE, SESSION_DAYS};
pub use candidates::{CandidateLimits, MAX_CANDIDATE_BYTES};
pub use error::ServiceError;
pub use hosts::LOCAL_HOST_NAME;
pub use local_agent::LocalAgent;
pub use login::{MAX_PASSWORD_BYTES, MAX_USERNAME_BYTES};
pub use releases::DecisionKind;

use engines::Engines;
use std::sync::Arc;
use switchyard_store::Store;

/// Switchyard's operations over one store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Service {
    store: Store,
    engines: Arc<Engines>,
    /// The key that seals agent tokens and second-factor secrets, beside the database.
    secrets: Arc<secrets::Secrets>,
    logins: Arc<login::Throttles>,
    candidate_limits: CandidateLimits,
}

impl Service {
    /// Release candidates are kept in `candidates/` beside the database file, the secrets key
    /// in `secrets.key` there.
    pub fn new(store: Store) -> Self {
        Self::with_limits(store, CandidateLimits::default())
    }

    /// The same service with other candidate quotas and unpack limits (`switchyard serve`
    /// flags). Call it before the service is used: its engines start afresh with the limits.
    pub fn with_candidate_limits(self, limits: CandidateLimits) -> Self {
        Self::with_limits(self.store, limits)
    }

    fn with_limits(store: Store, candidate_limits: CandidateLimits) -> Self {
        let data_dir = store.path().parent().map(std::path::Path::to_path_buf).unwrap_or_default();
        let secrets = Arc::new(secrets::Secrets::in_dir(&data_dir));
        let engines = Engines::new(data_dir.join("candidates"), Arc::clone(&secrets), Some(candidate_limits.unpack_caps()));
        Self { store, engines: Arc::new(engines), secrets, logins: Arc::default(), candidate_limits }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}
