//! The go-live journal: each attempt to put a site live for the first time, the step it reached
//! and why it stopped, so a retry continues it and an abandon knows what to remove.

use crate::error::on_unique;
use crate::{affected, ensure_exists, now, Store, StoreError};

/// Where a go-live attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoLiveState {
    /// Under way, or broken off by a crash of Switchyard: a retry continues it.
    Running,
    /// A step failed; `last_error` says which and why. A retry continues it.
    Failed,
    Live,
    /// Given up: what it created on the host was removed.
    Abandoned,
}

impl GoLiveState {
    pub fn as_str(self) -> &'static str {
        match self {
            GoLiveState::Running => "running",
            GoLiveState::Failed => "failed",
            GoLiveState::Live => "live",
            GoLiveState::Abandoned => "abandoned",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "running" => Ok(GoLiveState::Running),
            "failed" => Ok(GoLiveState::Failed),
            "live" => Ok(GoLiveState::Live),
            "abandoned" => Ok(GoLiveState::Abandoned),
            other => Err(StoreError::Conflict(format!("go-live state {other:?} is unknown to this Switchyard; use a newer version"))),
        }
    }

    /// Whether a retry continues the attempt.
    pub fn is_unfinished(self) -> bool {
        matches!(self, GoLiveState::Running | GoLiveState::Failed)
    }
}

/// How a go-live puts the site live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoLiveKind {
    /// A first deployment from an uploaded candidate.
    Candidate,
    /// Taking over a site already running on its host, without restarting it.
    Adoption,
}

impl GoLiveKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GoLiveKind::Candidate => "candidate",
            GoLiveKind::Adoption => "adoption",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "candidate" => Ok(GoLiveKind::Candidate),
            "adoption" => Ok(GoLiveKind::Adoption),
            other => Err(StoreError::Conflict(format!("go-live kind {other:?} is unknown to this Switchyard; use a newer version"))),
        }
    }
}

/// One go-live attempt as journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoLiveRecord {
    pub id: i64,
    pub site_id: i64,
    pub kind: GoLiveKind,
    /// Empty for an adoption.
    pub candidate_sha256: String,
    pub state: GoLiveState,
    pub step: String,
    pub last_error: Option<String>,
    /// 1 for the first try, one more for each retry.
    pub tries: i64,
    pub environment: String,
    pub ports: [u16; 2],
    pub started_by: String,
    /// The version it puts live, when the person who started it named one.
    pub version: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// What a new attempt starts with.
#[derive(Debug, Clone)]
pub struct NewGoLive<'a> {
    pub site_id: i64,
    pub kind: GoLiveKind,
    pub candidate_sha256: &'a str,
    pub environment: &'a str,
    pub ports: [u16; 2],
    pub started_by: &'a str,
}

#[derive(sqlx::FromRow)]
struct GoLiveRow {
    id: i64,
    site_id: i64,
    kind: String,
    candidate_sha256: String,
    state: String,
    step: String,
    last_error: Option<String>,
    tries: i64,
    environment: String,
    blue_port: i64,
    green_port: i64,
    started_by: String,
    version: Option<String>,
    created_at: String,
    updated_at: String,
}

impl TryFrom<GoLiveRow> for GoLiveRecord {
    type Error = StoreError;

    fn try_from(r: GoLiveRow) -> Result<Self, StoreError> {
        let port = |p: i64| {
            u16::try_from(p).map_err(|_| StoreError::Conflict(format!("go-live {} has port {p} on record, which is not a port", r.id)))
        };
        Ok(GoLiveRecord {
            id: r.id,
            site_id: r.site_id,
            state: GoLiveState::parse(&r.state)?,
            kind: GoLiveKind::parse(&r.kind)?,
            ports: [port(r.blue_port)?, port(r.green_port)?],
            candidate_sha256: r.candidate_sha256,
            step: r.step,
            last_error: r.last_error,
            tries: r.tries,
            environment: r.environment,
            started_by: r.started_by,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const SELECT: &str = "SELECT id, site_id, kind, candidate_sha256, state, step, last_error, tries, environment, blue_port, green_port, \
     started_by, version, created_at, updated_at FROM go_lives";

impl Store {
    /// Journals a new attempt, running. Refused while the site has an unfinished one.
    pub async fn start_go_live(&self, new: NewGoLive<'_>) -> Result<GoLiveRecord, StoreError> {
        let mut tx = self.write_transaction().await?;
        ensure_exists(&mut *tx, "sites", "site_id", "site", new.site_id).await?;
        let at = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO go_lives (site_id, candidate_sha256, state, step, environment, blue_port, green_port, started_by, created_at, updated_at, kind) \
             VALUES ($1, $2, 'running', '', $3, $4, $5, $6, $7, $7, $8) RETURNING id",
        )
        .bind(new.site_id)
        .bind(new.candidate_sha256)
        .bind(new.environment)
        .bind(i64::from(new.ports[0]))
        .bind(i64::from(new.ports[1]))
        .bind(new.started_by)
        .bind(&at)
        .bind(new.kind.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(on_unique(|| format!("site {} already has a go-live under way: retry it, or abandon it first", new.site_id)))?;
        tx.commit().await?;
        self.go_live(id).await
    }

    pub async fn go_live(&self, id: i64) -> Result<GoLiveRecord, StoreError> {
        let row: Option<GoLiveRow> = sqlx::query_as(&format!("{SELECT} WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.ok_or(StoreError::NotFound { what: "go-live", id })?.try_into()
    }

    /// The site's newest attempt, whatever its state.
    pub async fn latest_go_live(&self, site_id: i64) -> Result<Option<GoLiveRecord>, StoreError> {
        let row: Option<GoLiveRow> = sqlx::query_as(&format!("{SELECT} WHERE site_id = $1 ORDER BY id DESC LIMIT 1"))
            .bind(site_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(GoLiveRecord::try_from).transpose()
    }

    /// Records the version the attempt puts live, as its starter named it (a retry may name it
    /// again, or correct it).
    pub async fn go_live_version(&self, id: i64, version: &str) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE go_lives SET version = $2 WHERE id = $1").bind(id).bind(version).execute(&self.pool).await?;
        affected(result, "go-live", id)
    }

    /// Marks the attempt running again for a retry, with the candidate this try deploys, and
    /// answers it as it now stands.
    pub async fn retry_go_live(&self, id: i64, candidate_sha256: &str) -> Result<GoLiveRecord, StoreError> {
        let result = sqlx::query(
            "UPDATE go_lives SET state = 'running', candidate_sha256 = $2, tries = tries + 1, updated_at = $3 \
             WHERE id = $1 AND state IN ('running', 'failed')",
        )
        .bind(id)
        .bind(candidate_sha256)
        .bind(now())
        .execute(&self.pool)
        .await?;
        affected(result, "unfinished go-live", id)?;
        self.go_live(id).await
    }

    /// Records that `step` finished.
    pub async fn go_live_step_done(&self, id: i64, step: &str) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE go_lives SET step = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(step)
            .bind(now())
            .execute(&self.pool)
            .await?;
        affected(result, "go-live", id)
    }

    /// Records the ports the site's environments really use (e.g. as the agent chose them).
    pub async fn go_live_ports(&self, id: i64, ports: [u16; 2]) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE go_lives SET blue_port = $2, green_port = $3, updated_at = $4 WHERE id = $1")
            .bind(id)
            .bind(i64::from(ports[0]))
            .bind(i64::from(ports[1]))
            .bind(now())
            .execute(&self.pool)
            .await?;
        affected(result, "go-live", id)
    }

    /// Ends the attempt (`Live`, `Abandoned`) or stops it with the error (`Failed`).
    pub async fn go_live_ended(&self, id: i64, state: GoLiveState, error: Option<&str>) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE go_lives SET state = $2, last_error = $3, updated_at = $4 WHERE id = $1")
            .bind(id)
            .bind(state.as_str())
            .bind(error)
            .bind(now())
            .execute(&self.pool)
            .await?;
        affected(result, "go-live", id)
    }
}
