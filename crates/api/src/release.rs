//! Release candidates, releases as people follow them, decisions and history.

use serde::{Deserialize, Serialize};

/// An uploaded release candidate: immutable, named by the sha256 of its bytes.
/// `POST /sites/{id}/candidates` takes the tarball as the raw request body (header
/// `X-Filename` names it) and streams it to disk while hashing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub sha256: String,
    pub site_id: i64,
    pub filename: String,
    pub size_bytes: i64,
    pub uploaded_by: String,
    pub uploaded_at: String,
    /// What the candidate's release manifest declares, read at upload; absent when it ships
    /// none (its site's default manifest, or the legacy `bin/site` convention, applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<CandidateManifest>,
}

/// `POST /sites/{id}/candidates/prune`: keep the newest `keep` candidates (and any in use),
/// delete the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidatePrune {
    pub keep: u32,
}

/// What a prune did: the candidates deleted, and those past `keep` kept because something
/// uses them (each with why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrunedCandidates {
    pub deleted: Vec<String>,
    pub kept_in_use: Vec<String>,
}

/// A candidate's `switchyard.toml` or `Procfile`, as the agent will read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateManifest {
    pub source: switchyard_core::manifest::ManifestSource,
    /// The manifest in canonical TOML (a Procfile rendered as the equivalent manifest).
    pub toml: String,
    /// One line per thing it declares: how it starts, its health check, migration, data.
    pub summary: Vec<String>,
}

/// `POST /releases`: start a rehearsal (on a fresh clone of production) or, once this
/// candidate and document version passed one, the production run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReleaseRequest {
    pub site_id: i64,
    pub document_version: u32,
    /// `rehearsal` or `production`.
    pub run: String,
    /// Progressive rollouts: the customer's test accounts that move first.
    #[serde(default)]
    pub pinned_accounts: Vec<String>,
}

/// `POST /releases/{id}/approve|reject|confirm|rollback`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Decision {
    #[serde(default)]
    pub comment: String,
    /// The approver read what a rollback of this release would do (`evidence.rollback`) and
    /// accepts it; needed when it says data would be lost.
    #[serde(default)]
    pub acknowledge_rollback: bool,
}

/// A release as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseSummary {
    pub id: i64,
    pub site: String,
    pub site_id: Option<i64>,
    pub customer: String,
    pub customer_id: Option<i64>,
    /// `rehearsal` or `production`.
    pub run: String,
    /// `no-migration`, `migration`, `minor-patch`, `blue-green` or `rollout`.
    pub workflow: String,
    pub document_version: i64,
    pub candidate_sha256: String,
    pub submitted_by: String,
    /// `running`, `waiting` (for a person), `completed`, `rolled-back` or `stalled`.
    pub status: String,
    /// In words: `waiting for support's approval`, `completed; only a rollback ...`.
    pub waiting_for: String,
    /// How it ended once final: `completed`, `failed`, `rejected` or `rolled-back`.
    pub outcome: Option<String>,
    /// The production run's downtime and failed requests (a rollback's are apart).
    pub downtime_ms: Option<i64>,
    pub failed_requests: Option<i64>,
    /// The part of `downtime_ms` requests were held: answered late, not refused.
    #[serde(default)]
    pub held_ms: Option<i64>,
    /// The rollback's own figures, once it was rolled back.
    #[serde(default)]
    pub rollback_downtime_ms: Option<i64>,
    #[serde(default)]
    pub rollback_held_ms: Option<i64>,
    #[serde(default)]
    pub rollback_failed_requests: Option<i64>,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// From creation to finish, or to now while running.
    pub duration_s: f64,
}

/// One stage of a release's run, with where the release is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageView {
    pub index: usize,
    /// In words: `deploy candidate 3f2a… into candidate`, `support's approval`.
    pub title: String,
    /// `done`, `running`, `waiting`, `pending` or `undone`.
    pub status: String,
}

/// One journaled transition: what happened, when, and what the engine did next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub seq: i64,
    pub at: String,
    /// What happened (`approved by sam: looks fine`, `command succeeded`); `started` for the first.
    pub event: String,
    /// Output a command produced, if any.
    pub output: String,
    /// The commands sent next, in words.
    pub commands: Vec<String>,
}

/// A person's decision on a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub at: String,
    pub by: String,
    pub role: String,
    /// `approved`, `rejected`, `confirmed` or `rollback requested`.
    pub decision: String,
    pub comment: String,
}

/// `GET /releases/{id}`: everything a release's page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseDetail {
    pub summary: ReleaseSummary,
    pub stages: Vec<StageView>,
    pub timeline: Vec<TimelineEntry>,
    pub decisions: Vec<DecisionRecord>,
    pub candidate: Option<Candidate>,
    pub document_toml: String,
    /// Which decisions the caller may take now: any of `approve`, `reject`, `confirm`, `rollback`.
    pub allowed: Vec<String>,
    /// What a decision rests on. Absent from an older server.
    #[serde(default)]
    pub evidence: ReleaseEvidence,
}

/// What a person deciding on a release needs in front of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseEvidence {
    /// The passed rehearsal of the same candidate and document version a production run rests on.
    pub rehearsal: Option<RehearsalEvidence>,
    /// Where the customer tests this run now: the candidate's address (`candidate.<public>`), or
    /// a migration's temporary address while production is checked there.
    pub test_address: Option<String>,
    /// The same as a link through the host's public listener (with its port when not 80).
    pub test_url: Option<String>,
    /// How it ended, named by what happened (`failed at step 4 of 9 (…): …`, `rolled back by
    /// sam: …`), or what it waits for.
    pub outcome_words: String,
    /// When the watch window in progress ends (RFC 3339), so the page counts down.
    pub watch_ends_at: Option<String>,
    /// Why the decision the run waits for is not offered to this person (`sam submitted this
    /// release and cannot approve it; …`), when it waits for a decision they cannot take.
    pub not_offered: Option<String>,
    /// What rolling this production run back would do to visitors' writes, said before anyone
    /// approves it (absent for a rehearsal).
    #[serde(default)]
    pub rollback: Option<switchyard_core::schema_change::RollbackStatement>,
    /// The writes captured, replayed and refused by this run's cutover and rollback, in words.
    #[serde(default)]
    pub replays: Vec<String>,
}

/// A rehearsal as evidence: its result, and who marked it tested and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RehearsalEvidence {
    pub release_id: i64,
    pub outcome: Option<String>,
    pub confirmed_by: Option<String>,
    pub confirmed_at: Option<String>,
    pub comment: String,
}

/// One line of a document diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    /// `same`, `added` or `removed`.
    pub kind: String,
    pub text: String,
}

/// `GET /releases/{id}/diff`: the release's patch document against the last one released to
/// production on the same site (or all added when none was).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentDiff {
    pub against_version: Option<i64>,
    pub against_release: Option<i64>,
    /// When no release came before, what production runs since the site went live without a
    /// patch document: `go-live #1 (1.0.0)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub against_go_live: Option<String>,
    pub lines: Vec<DiffLine>,
}

/// Filters of `GET /releases` (query string), all optional. Dates are `YYYY-MM-DD`, inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HistoryFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// `completed`, `failed`, `rejected`, `rolled-back` or `running`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// `rehearsal` or `production`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Page size (default 50, at most 500) and offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
}

/// `GET /releases`: one page, newest first, and how many match in all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub total: i64,
    pub releases: Vec<ReleaseSummary>,
}

/// One ISO week of releases matching a filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeekStats {
    /// The Monday that starts the week, `YYYY-MM-DD`.
    pub week: String,
    pub releases: i64,
    pub completed: i64,
    pub failed: i64,
    pub rejected: i64,
    pub rolled_back: i64,
    /// Mean duration of the week's finished releases, seconds.
    pub mean_duration_s: f64,
    /// Total measured downtime, seconds.
    pub downtime_s: f64,
    pub failed_requests: i64,
}

/// Runs counted by how they ended (core's `workflow::Outcome`, the one definition the table's
/// outcome filter, the charts and the CSV use too).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    pub total: i64,
    pub completed: i64,
    /// A step, a health check or a watch window failed it.
    pub failed: i64,
    /// Support rejected it at the approval, or the customer at the confirmation.
    pub rejected: i64,
    /// Someone asked for the rollback (before or after it completed).
    pub rolled_back: i64,
    pub running: i64,
}

/// `GET /releases/stats`: the charts' data for the same filters as `GET /releases`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryStats {
    /// Every matching run, rehearsals and production runs together: each count equals the
    /// table's total for the same filters plus that outcome.
    pub all: OutcomeCounts,
    pub production: OutcomeCounts,
    pub rehearsals: OutcomeCounts,
    /// Failed out of finished production runs, 0..=1 (rehearsals are where failing is cheap).
    pub failure_rate: f64,
    /// Rolled back out of production runs that completed or were rolled back on request, 0..=1.
    pub rollback_rate: f64,
    pub weeks: Vec<WeekStats>,
}

/// `POST /sites/{id}/go-live`: puts a site live on the host of its production environment
/// for the first time, from an uploaded candidate, so that releases can follow. The candidate
/// says how it starts: `switchyard.toml` or a `Procfile` at its root (legacy: an executable
/// `bin/site`, run as `bin/site serve`); the site listens on `$PORT` and keeps its live data
/// under `$DATA_DIR`: the site's data volume on the host, which a rehearsal copies and the
/// two versions of a blue-green or rollout release share. Each attempt is journaled: after a
/// failure the same request (or one with a fixed candidate) continues it, and
/// `POST /sites/{id}/go-live/abandon` removes what it created on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoLive {
    pub candidate_sha256: String,
    /// The ports of the site's two environments on the host; left out, the host's agent
    /// chooses free ones (for a remote host too). A retry keeps the ports its attempt started
    /// with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<[u16; 2]>,
    /// The databases the site keeps its data in, on servers its host declares in the agent's
    /// `databases.toml` (where their passwords are: none travels through Switchyard). The site
    /// gets each as `DATABASE_URL` (`DATABASE_URL_<NAME>` for others than `default`); its
    /// rehearsals get copies of their own. Give the same ones when retrying a go-live.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<SiteDatabase>,
    /// The version this candidate is (`1.0.0`), recorded with the go-live so the dashboard
    /// says what production runs before any release names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// One database of a site on a database server its host knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteDatabase {
    /// What the site calls it: `default` is `DATABASE_URL`.
    #[serde(default = "default_database_name")]
    pub name: String,
    /// A server of the host's `databases.toml`.
    pub server: String,
    pub database: String,
    /// The login the site uses (its password is in `databases.toml`).
    pub user: String,
}

fn default_database_name() -> String {
    "default".to_owned()
}

/// `PUT /sites/{id}/runtime`: the site's default runtime manifest (`switchyard.toml` text, see
/// docs/candidates.md), used for releases that ship neither a `switchyard.toml` nor a
/// `Procfile`; `null` clears it. Checked with core's manifest parser: a text that does not
/// parse is refused (422) with `switchyard.toml:LINE: message` lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRuntime {
    pub manifest: Option<String>,
}

/// `POST /sites/{id}/adopt`: takes over a site already running on the host of its production
/// environment, one Switchyard did not deploy, so the next release follows from it. Nothing is
/// installed or restarted: environment `<key>-blue` describes the running process (its port,
/// its directory) and the site's public address is routed through the host agent's router to
/// it. `data_dir` (absolute, or relative to `dir`) is where it keeps its data: releases copy
/// it, or serve from it. Refused when the site is already live, the directory is missing on
/// the host, or nothing answers on the port. Journaled like a go-live (retry with the same
/// request, `POST /sites/{id}/go-live/abandon` to give it up; the process is left running).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdoptSite {
    pub dir: String,
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
    /// How the process is started, for the record (Switchyard does not run it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// What going live did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WentLive {
    /// The journaled attempt that put the site live.
    pub go_live_id: i64,
    pub public_address: String,
    /// The agent environment now serving production.
    pub environment: String,
}

/// `POST /sites/{id}/go-live/abandon`: what giving up a failed go-live removed from the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoLiveAbandoned {
    pub go_live_id: i64,
    /// The agent environment destroyed (with its releases and, once unused, its data volume).
    pub environment: String,
    /// Whether the site's routes were removed from the host's router.
    pub routes_removed: bool,
}

/// `GET|PUT /sites/{id}/capture-window`: how many hours after a low-downtime migration's
/// cutover a rollback still keeps every write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureWindow {
    pub hours: u32,
    /// Whether the site set its own; otherwise it is Switchyard's default.
    pub site_own: bool,
}

/// The body of `PUT /sites/{id}/capture-window`; `null` hours go back to the default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureWindowDraft {
    pub hours: Option<u32>,
}
