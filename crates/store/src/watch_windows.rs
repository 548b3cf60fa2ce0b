//! Watch windows as the engine started them: the start time and the counters read then, kept
//! so that a window interrupted by a restart (of the server, or of the engine after a crash)
//! continues with the time already watched instead of starting again from zero.

use crate::{Store, StoreError};

/// A watch window's start.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WatchWindow {
    pub started_at_ms: i64,
    /// JSON the engine wrote: the router's counters at the start.
    pub baseline: String,
}

impl Store {
    /// The window of release `release_id`'s transition `seq`: the one recorded first, or this
    /// one if none was (so two engines racing to start it agree on one start).
    pub async fn open_watch_window(
        &self,
        release_id: i64,
        seq: i64,
        started_at_ms: i64,
        baseline: &str,
    ) -> Result<WatchWindow, StoreError> {
        let mut tx = self.write_transaction().await?;
        sqlx::query(
            "INSERT INTO watch_windows (release_id, seq, started_at_ms, baseline) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (release_id, seq) DO NOTHING",
        )
        .bind(release_id)
        .bind(seq)
        .bind(started_at_ms)
        .bind(baseline)
        .execute(&mut *tx)
        .await?;
        let window = sqlx::query_as("SELECT started_at_ms, baseline FROM watch_windows WHERE release_id = $1 AND seq = $2")
            .bind(release_id)
            .bind(seq)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(window)
    }

    /// The window recorded for a release's transition, if one was started.
    pub async fn watch_window(&self, release_id: i64, seq: i64) -> Result<Option<WatchWindow>, StoreError> {
        Ok(sqlx::query_as("SELECT started_at_ms, baseline FROM watch_windows WHERE release_id = $1 AND seq = $2")
            .bind(release_id)
            .bind(seq)
            .fetch_optional(&self.pool)
            .await?)
    }
}
