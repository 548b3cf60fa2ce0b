//! What can go wrong in the store, each variant saying which rule was broken and what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} {id} does not exist")]
    NotFound { what: &'static str, id: i64 },
    /// The write would break a uniqueness or dependency rule; the message names it.
    #[error("{0}")]
    Conflict(String),
    /// A draft refers to something that does not exist; `field` names the form field.
    #[error("{message}")]
    BadReference { field: &'static str, message: String },
    #[error("cannot open the database at {path}: {source}; check that the directory exists and is writable")]
    Open { path: PathBuf, source: sqlx::Error },
    #[error("cannot bring the database schema up to date: {0}; restore a backup or use a newer Switchyard")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A release-history filter broke its rules; each message says what to send instead.
    #[error("{0}")]
    InvalidFilter(#[from] switchyard_core::Invalid),
    /// The release-history export could not be written to its destination.
    #[error("cannot write the release history export: {0}")]
    Export(#[source] std::io::Error),
}

/// Maps a unique-constraint failure to a conflict with the caller's wording, and passes any
/// other failure through.
pub(crate) fn on_unique(message: impl FnOnce() -> String) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(message()),
        _ => StoreError::Database(error),
    }
}

/// Maps a foreign-key failure on delete: something still depends on the row. SQLite reports an
/// `ON DELETE RESTRICT` failure with a trigger code rather than the foreign-key one, so the
/// message is checked too.
pub(crate) fn on_dependents(message: impl FnOnce() -> String) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() || db.message().contains("FOREIGN KEY constraint failed") => {
            StoreError::Conflict(message())
        }
        _ => StoreError::Database(error),
    }
}
