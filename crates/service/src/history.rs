//! Release history for managers (and each customer's own): filtered pages, the charts'
//! numbers and a CSV export, always limited to what the caller may see.

use crate::auth::Caller;
use crate::releases::Loaded;
use crate::{Service, ServiceError};
use switchyard_api::{HistoryFilter, HistoryPage, HistoryStats, ReleaseSummary};
use switchyard_core::history_filter::HistoryScope;
use switchyard_core::workflow::State;
use switchyard_store::HistoryRow;

type Result<T> = std::result::Result<T, ServiceError>;

fn scope(caller: &Caller) -> HistoryScope {
    match caller.principal().only_customer() {
        Some(customer) => HistoryScope::Customer(customer),
        None => HistoryScope::Everything,
    }
}

impl Service {
    pub async fn release_history(&self, caller: &Caller, filter: &HistoryFilter) -> Result<HistoryPage> {
        let page = self.store.release_history(scope(caller), filter).await?;
        let mut releases = Vec::with_capacity(page.rows.len());
        for row in &page.rows {
            releases.push(self.row_summary(caller, row).await?);
        }
        Ok(HistoryPage { total: page.total, releases })
    }

    /// A finished release's summary comes from its row alone; a running one's words (what it
    /// waits for) need its compiled run, so it is loaded.
    async fn row_summary(&self, caller: &Caller, row: &HistoryRow) -> Result<ReleaseSummary> {
        let now = chrono::Utc::now();
        // The stored outcome names the final state; its words are core's.
        let final_state = match row.outcome.as_deref() {
            Some("completed") => Some(State::Completed { undo: Vec::new() }),
            Some("rolled-back") => Some(State::RolledBack { reason: String::new(), cause: Default::default() }),
            _ => None,
        };
        match (row.outcome.as_deref(), final_state.as_ref().and_then(State::final_words)) {
            (Some(outcome), Some(words)) => Ok(row.to_summary(outcome.to_owned(), words.to_owned(), now)),
            _ => {
                let loaded: Loaded = self.readable_release(caller, row.id).await?;
                Ok(loaded.summary())
            }
        }
    }

    pub async fn release_stats(&self, caller: &Caller, filter: &HistoryFilter) -> Result<HistoryStats> {
        Ok(self.store.release_stats(scope(caller), filter).await?)
    }

    /// Every matching release as CSV, with a header line.
    pub async fn release_csv(&self, caller: &Caller, filter: &HistoryFilter) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.store.release_history_csv(scope(caller), filter, &mut out).await?;
        Ok(out)
    }
}
