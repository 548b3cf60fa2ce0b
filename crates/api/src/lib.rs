//! Wire types of Switchyard's JSON API, shared by the server, the desktop shell and the web UI
//! so that a field renamed on one side fails to compile on the other.
//!
//! Drafts (what a client sends to create or edit) come from `switchyard-core`, which also owns
//! their validation; this crate adds what the server sends back.

mod auth;
mod dashboard;
mod databases;
mod entity;
mod error;
mod release;

pub use auth::{AuditEntry, AuditPage, Login, Me, PasswordChange, SessionInfo, Setup, TotpCode, TotpEnrolment};
pub use dashboard::{AddressHealth, Dashboard, EnvironmentVersion, LastRelease, NextStep, SiteDashboard};
pub use databases::{DatabaseOrigin, RemoveSiteDatabase, SiteDatabaseEntry, SiteDatabases};
pub use entity::{
    Account, Address, Customer, Environment, Host, HostIsolation, HostStatus, Overview, PatchDocumentDraft, PatchDocumentRecord, Site,
    SiteDetail, User,
};
pub use error::{sentence, ApiError};
pub use release::{
    AdoptSite, Candidate, CandidateManifest, CandidatePrune, CaptureWindow, CaptureWindowDraft, Decision, DecisionRecord, DiffLine,
    DocumentDiff, GoLive, GoLiveAbandoned, HistoryFilter, HistoryPage, HistoryStats, NewReleaseRequest, OutcomeCounts, PrunedCandidates,
    RehearsalEvidence, ReleaseDetail, ReleaseEvidence, ReleaseSummary, SiteDatabase, SiteRuntime, StageView, TimelineEntry, WeekStats,
    WentLive,
};
pub use switchyard_core::candidate_limits::{CandidateLimitsDraft, EffectiveLimit, LimitSource, SiteCandidateLimits};
pub use switchyard_core::record::{ChainBreak, RecordCheck, ReleaseRecordExport};
pub use switchyard_core::{
    AccountDraft, AddressDraft, CustomerDraft, EnvironmentDraft, EnvironmentKind, FieldError, HostDraft, Role, SiteDraft, UserDraft,
};

/// The prefix every API route lives under, so the web UI's own routes never collide with it.
pub const API_PREFIX: &str = "/api/v1";
