//! The release engine: runs the core workflows' releases against a host's agent.
//!
//! Every transition is journaled in the store (with the commands it asks for, each under a
//! deterministic operation id `<release uid>-<journal sequence>-<command index>`) before those
//! commands are sent. The engine then performs them through the agent client, feeds the
//! results back to the workflow as events and journals the next transition. A release waits
//! at approval gates until a person decides through [`Engine::approve`], [`Engine::confirm`] or
//! [`Engine::reject`]; a decision the release accepts ends a watch window in progress rather
//! than waiting it out. After a crash, [`Engine::resume`] reads the last transition and re-sends
//! its commands under the same operation ids, so the agent replays what already happened.
//!
//! Data: in blue-green and rollout production runs both versions serve from the site's agent
//! data volume (one database), so writes survive wherever traffic moves; see `data.rs` for
//! snapshots and their restore, and the `switchyard-engine-run` binary for driving a release
//! from a shell. A low-downtime migration's captures, replays and schema comparison are in
//! `capture.rs`.
//!
//! Invariant: the journal is written before any effect is attempted, and only the engine that
//! appended a transition acts on it (a stale writer's append is refused by the store).

pub mod capture;
mod data;
mod downtime;
mod engine;
mod error;
mod execute;
mod observe;
mod placement;

pub use downtime::{downtime_ms, AddressBaseline};
pub use engine::{Engine, ReleaseStatus, StoredConfig};
pub use error::{EngineError, Result};
pub use execute::ExecConfig;
pub use placement::{
    accounts_address, candidate_address, environment_names, initial_site_routes, initial_site_routes_serving, temporary_address, Placement,
    ReleaseSite,
};
