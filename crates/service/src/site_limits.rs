//! A site's own candidate limits: support staff set a quota, a largest unpacked size and a
//! most entries per candidate for one site (`PUT /sites/{id}/candidate-limits`), each
//! overriding the server's default (`switchyard serve --candidate-*`); the site page shows the
//! effective limits and where each comes from. Uploads, go-live and every release's unpack use
//! the effective limits.

use crate::auth::Caller;
use crate::{CandidateLimits, Service, ServiceError};
use switchyard_api::{CandidateLimitsDraft, EffectiveLimit, SiteCandidateLimits};
use switchyard_core::access::Action;
use switchyard_core::candidate_limits::human_size;

type Result<T> = std::result::Result<T, ServiceError>;

impl CandidateLimits {
    /// These (the server's) limits with a site's own in place of the defaults.
    pub fn with_site(&self, own: &CandidateLimitsDraft) -> CandidateLimits {
        CandidateLimits {
            total_bytes: self.total_bytes,
            site_bytes: own.quota_bytes.unwrap_or(self.site_bytes),
            max_unpacked_bytes: own.max_unpacked_bytes.unwrap_or(self.max_unpacked_bytes),
            max_entries: own.max_entries.unwrap_or(self.max_entries),
        }
    }

    /// The limits a site is held to, each saying where it comes from.
    pub fn explained(&self, own: &CandidateLimitsDraft) -> SiteCandidateLimits {
        SiteCandidateLimits {
            quota_bytes: EffectiveLimit::of(own.quota_bytes, self.site_bytes),
            max_unpacked_bytes: EffectiveLimit::of(own.max_unpacked_bytes, self.max_unpacked_bytes),
            max_entries: EffectiveLimit::of(own.max_entries, self.max_entries),
            server_total_bytes: self.total_bytes,
        }
    }
}

impl Service {
    /// The limits `site_id`'s candidates are held to now.
    pub(crate) async fn candidate_limits_for(&self, site_id: i64) -> Result<CandidateLimits> {
        Ok(self.candidate_limits.with_site(&self.store.site_candidate_limits(site_id).await?))
    }

    /// The site's effective candidate limits and where each comes from, for its page.
    pub(crate) async fn explained_candidate_limits(&self, site_id: i64) -> Result<SiteCandidateLimits> {
        Ok(self.candidate_limits.explained(&self.store.site_candidate_limits(site_id).await?))
    }

    /// Sets the site's own candidate limits (support staff); a `None` field goes back to the
    /// server's default. No limit may pass the server's total quota. Audited.
    pub async fn set_site_candidate_limits(
        &self,
        caller: &Caller,
        site_id: i64,
        draft: CandidateLimitsDraft,
    ) -> Result<SiteCandidateLimits> {
        caller.may(Action::ChangeInventory)?;
        let site = self.store.site(site_id).await?;
        draft.validated(self.candidate_limits.total_bytes)?;
        self.store.set_site_candidate_limits(site_id, &draft).await?;
        let shown = |v: Option<u64>, size: bool| match v {
            Some(v) if size => human_size(v),
            Some(v) => v.to_string(),
            None => "server default".to_owned(),
        };
        let detail = format!(
            "candidate limits of {}: quota {}, max unpacked {}, max entries {}",
            site.name,
            shown(draft.quota_bytes, true),
            shown(draft.max_unpacked_bytes, true),
            shown(draft.max_entries, false)
        );
        self.audit(caller, "site.candidate-limits", &format!("site {site_id}"), &detail).await;
        self.explained_candidate_limits(site_id).await
    }
}
