//! A site's default runtime manifest: `switchyard.toml` text kept in the inventory for releases
//! that ship neither a `switchyard.toml` nor a `Procfile` (a tarball the customer did not
//! change). Checked with core's manifest parser before it is stored, handed to the host agent
//! as the environment's `default_manifest` when the site goes live (releases clone that
//! environment, so they follow it), and used where a candidate declares nothing: the
//! candidate check, the first migration and patch templates.

use crate::auth::Caller;
use crate::{Service, ServiceError};
use switchyard_api::{Site, SiteRuntime};
use switchyard_core::access::Action;
use switchyard_core::manifest::{ReleaseManifest, MANIFEST_FILE};
use switchyard_core::Invalid;

type Result<T> = std::result::Result<T, ServiceError>;

/// The manifest text as it will be stored: blank text clears it, anything else must parse.
pub fn checked_runtime_manifest(request: &SiteRuntime) -> std::result::Result<Option<String>, Invalid> {
    let Some(text) = request.manifest.as_deref().filter(|text| !text.trim().is_empty()) else {
        return Ok(None);
    };
    ReleaseManifest::parse(text).map_err(|problems| {
        Invalid::single(
            "manifest",
            format!("the site's runtime manifest is not valid; fix these lines:\n{}", problems.in_file(MANIFEST_FILE)),
        )
    })?;
    Ok(Some(text.to_owned()))
}

impl Service {
    /// Sets or clears the site's default runtime manifest (support staff and administrators).
    pub async fn set_site_runtime(&self, caller: &Caller, site_id: i64, request: SiteRuntime) -> Result<Site> {
        caller.may(Action::ChangeInventory)?;
        let manifest = checked_runtime_manifest(&request)?;
        let site = self.store.set_site_runtime_manifest(site_id, manifest.as_deref()).await?;
        let detail = match &manifest {
            Some(text) => format!("runtime manifest of {} set ({} lines)", site.name, text.lines().count()),
            None => format!("runtime manifest of {} cleared", site.name),
        };
        self.audit(caller, "site.runtime", &format!("site {site_id}"), &detail).await;
        Ok(site)
    }

    /// The site's default runtime manifest, parsed; `None` when it has none (or, for a text
    /// stored by an older Switchyard, one that no longer parses).
    pub(crate) async fn site_runtime_manifest(&self, site_id: i64) -> Result<Option<ReleaseManifest>> {
        let text = self.store.site_runtime_manifest(site_id).await?;
        Ok(text.and_then(|text| ReleaseManifest::parse(&text).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runtime_manifest_that_does_not_parse_is_refused_with_its_line_and_blank_text_clears_it() {
        let bad = SiteRuntime { manifest: Some("[web]\ncommand = \"php -S 127.0.0.1:$PORT\"\nport = 8000\n".into()) };
        let refused = checked_runtime_manifest(&bad).unwrap_err();
        let message = refused.message_for("manifest").unwrap();
        assert!(message.contains("switchyard.toml:3: "), "{message}");
        assert_eq!(checked_runtime_manifest(&SiteRuntime { manifest: Some("  \n".into()) }).unwrap(), None);
        assert_eq!(checked_runtime_manifest(&SiteRuntime { manifest: None }).unwrap(), None);
        let good = "[web]\ncommand = \"php -S 127.0.0.1:$PORT\"\n";
        assert_eq!(checked_runtime_manifest(&SiteRuntime { manifest: Some(good.into()) }).unwrap().as_deref(), Some(good));
    }
}
