//! A site's capture window: how long after a low-downtime migration's cutover the new
//! version's writes stay captured, so a rollback keeps them. Support staff set it per site
//! (`PUT /sites/{id}/capture-window`, audited); once a completed release's window has passed,
//! a sweep stops the new version's capture (a PostgreSQL slot holds the server's write-ahead
//! log for as long as it exists) and records when, and the release page's statement says a
//! rollback would now lose the writes since the cutover.

use std::time::Duration;

use switchyard_api::{CaptureWindow, CaptureWindowDraft};
use switchyard_core::access::Action;
use switchyard_core::schema_change::{checked_capture_window, DEFAULT_CAPTURE_WINDOW_HOURS};
use switchyard_core::Invalid;

use crate::auth::Caller;
use crate::{Service, ServiceError};

type Result<T> = std::result::Result<T, ServiceError>;

/// How often the sweep looks for capture windows that have passed.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

impl Service {
    /// The site's capture window in hours: its own, else the default.
    pub(crate) async fn capture_window_hours(&self, site_id: Option<i64>) -> Result<u32> {
        Ok(match site_id {
            Some(id) => self.store.site_capture_window(id).await?.unwrap_or(DEFAULT_CAPTURE_WINDOW_HOURS),
            None => DEFAULT_CAPTURE_WINDOW_HOURS,
        })
    }

    /// The site's capture window and whether it is the site's own.
    pub async fn site_capture_window(&self, caller: &Caller, site_id: i64) -> Result<CaptureWindow> {
        self.readable_site(caller, site_id).await?;
        let own = self.store.site_capture_window(site_id).await?;
        Ok(CaptureWindow { hours: own.unwrap_or(DEFAULT_CAPTURE_WINDOW_HOURS), site_own: own.is_some() })
    }

    /// Sets the site's capture window (support staff); `None` goes back to the default.
    /// Applies to releases completed from now on and to those whose window is still open.
    pub async fn set_site_capture_window(&self, caller: &Caller, site_id: i64, draft: CaptureWindowDraft) -> Result<CaptureWindow> {
        caller.may(Action::ChangeInventory)?;
        let site = self.store.site(site_id).await?;
        let hours = match draft.hours {
            Some(hours) => Some(checked_capture_window(hours).map_err(|message| Invalid::single("hours", message))?),
            None => None,
        };
        self.store.set_site_capture_window(site_id, hours).await?;
        let words = hours.map_or_else(|| format!("the default {DEFAULT_CAPTURE_WINDOW_HOURS} hours"), |h| format!("{h} hours"));
        self.audit(caller, "site.capture-window", &format!("site {site_id}"), &format!("capture window of {}: {words}", site.name)).await;
        self.site_capture_window(caller, site_id).await
    }

    /// Closes every capture window that has passed; a host that cannot be reached is tried
    /// again on the next sweep.
    pub async fn close_passed_capture_windows(&self) -> Result<usize> {
        let mut closed = 0;
        for record in self.store.open_capture_windows().await? {
            let Some(finished) = record.finished_at.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) else { continue };
            let hours = self.capture_window_hours(record.site_id).await?;
            if chrono::Utc::now() < finished + chrono::Duration::hours(i64::from(hours)) {
                continue;
            }
            let Some(site) = self.store.site_of_release(record.site_id).await? else { continue };
            let target = self.engines.for_site(&self.store, &site).await?;
            match target.engine.close_capture_window(record.id).await {
                Ok(()) => {
                    closed += 1;
                    let detail = format!("after {hours} hours: a rollback no longer keeps the writes made since the cutover");
                    self.audit(&Caller::system(), "release.capture-window-closed", &format!("release {}", record.id), &detail).await;
                }
                Err(e) => tracing::warn!("cannot close the capture window of release {}: {e}", record.id),
            }
        }
        Ok(closed)
    }

    /// Runs [`Service::close_passed_capture_windows`] every minute for as long as the process.
    pub fn sweep_capture_windows(&self) {
        let service = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = service.close_passed_capture_windows().await {
                    tracing::warn!("cannot close passed capture windows: {e}");
                }
                tokio::time::sleep(SWEEP_EVERY).await;
            }
        });
    }
}
