//! Switchyard's store: every entity persisted through sqlx on SQLite, with the schema migrated
//! on open. Queries stay within SQL that PostgreSQL also speaks, so a second backend can follow.
//!
//! Invariant: a failed call writes nothing. Each write is one statement or one transaction, and
//! constraint failures come back as [`StoreError`] variants that say which rule was broken.

mod accounts;
mod addresses;
mod audit;
mod candidate_manifests;
mod candidates;
mod customers;
mod environments;
mod error;
mod go_lives;
mod history;
mod history_csv;
mod hosts;
mod journal;
mod patch_documents;
mod record;
mod sessions;
mod sites;
mod users;
mod watch_windows;

pub use audit::NewAuditEntry;
pub use candidate_manifests::StoredManifest;
pub use candidates::CandidateUsage;
pub use error::StoreError;
pub use go_lives::{GoLiveKind, GoLiveRecord, GoLiveState, NewGoLive};
pub use history::{history_outcome, history_query, HistoryPageRows, HistoryRow, DELETED_SITE};
pub use history_csv::HISTORY_CSV_COLUMNS;
pub use hosts::HostToken;
pub use journal::{Figures, NewRelease, NewTransition, RehearsalRow, ReleaseRecord, SiteReleases, TransitionRecord};
pub use patch_documents::NewPatchDocument;
pub use switchyard_core::history_filter::{HistoryQuery, HistoryScope};
pub use switchyard_core::record::{ChainBreak, RecordCheck, ReleaseRecordExport};
pub use users::SecondFactor;
pub use watch_windows::WatchWindow;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::{Path, PathBuf};
use std::time::Duration;
use switchyard_api::Overview;

/// A handle on the database; cheap to clone, shared by every request.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        restrict(path).map_err(|source| StoreError::Open { path: path.to_owned(), source: sqlx::Error::Io(source) })?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .foreign_keys(true)
            // WAL lets the UI read while the engine writes; NORMAL is durable at each checkpoint
            // and still survives a crash of the process.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open { path: path.to_owned(), source })?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let store = Self { pool, path: path.to_owned() };
        store.backfill_record_chains().await?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for every connection to finish and closes the file, so a restart sees all writes.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a transaction that takes the write lock up front. A deferred transaction that
    /// reads and then writes can fail at once with "database is locked" when another write
    /// finished in between (SQLite cannot upgrade a stale read snapshot); taking the lock first
    /// makes concurrent writers queue behind the busy timeout instead.
    async fn write_transaction(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    pub async fn overview(&self) -> Result<Overview, StoreError> {
        let (customers, sites, environments, hosts, users): (i64, i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM sites), \
             (SELECT COUNT(*) FROM environments), (SELECT COUNT(*) FROM hosts), (SELECT COUNT(*) FROM users)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Overview { customers, sites, environments, hosts, users })
    }

    /// True when nothing was ever created: the signal to seed the demo on first start.
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let overview = self.overview().await?;
        Ok(overview == Overview::default())
    }
}

/// Makes the database file Switchyard's alone (0600) before SQLite opens it: SQLite gives the
/// `-wal` and `-shm` files it creates the database file's mode, and an existing database from
/// before this rule (0644) is closed too, with any journal files beside it.
fn restrict(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

/// Where Switchyard keeps its data unless told otherwise: `$XDG_DATA_HOME/switchyard`
/// (usually `~/.local/share/switchyard`). `None` when there is no home directory.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("dev", "switchyard", "switchyard").map(|dirs| dirs.data_dir().to_owned())
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Checks that a referenced row exists, so a draft pointing nowhere gets a message naming the
/// field instead of a bare foreign-key failure. `table` is always a literal from this crate.
pub(crate) async fn ensure_exists<'e, E: sqlx::SqliteExecutor<'e>>(
    executor: E,
    table: &'static str,
    field: &'static str,
    what: &'static str,
    id: i64,
) -> Result<(), StoreError> {
    ensure_parent(executor, table, what, id).await.map_err(|error| match error {
        StoreError::NotFound { .. } => {
            StoreError::BadReference { field, message: format!("{what} {id} does not exist; choose an existing {what}") }
        }
        other => other,
    })
}

/// Turns "no row changed" into the entity's not-found error.
pub(crate) fn affected(result: sqlx::sqlite::SqliteQueryResult, what: &'static str, id: i64) -> Result<(), StoreError> {
    if result.rows_affected() == 0 {
        Err(StoreError::NotFound { what, id })
    } else {
        Ok(())
    }
}

/// Checks that the row a URL names exists, e.g. the site an environment is created under.
pub(crate) async fn ensure_parent<'e, E: sqlx::SqliteExecutor<'e>>(
    executor: E,
    table: &'static str,
    what: &'static str,
    id: i64,
) -> Result<(), StoreError> {
    let found: Option<i64> = sqlx::query_scalar(&format!("SELECT id FROM {table} WHERE id = $1")).bind(id).fetch_optional(executor).await?;
    found.map(|_| ()).ok_or(StoreError::NotFound { what, id })
}
