//! What a candidate's release manifest declares: read from the tarball once at upload (a
//! manifest that does not parse refuses the upload with its lines), stored beside the
//! candidate, shown with it, and used to fill patch-document templates and to go live.

use crate::candidate_check::{inspect_candidate, CandidateRefusal, UnpackBudget};
use crate::{Service, ServiceError};
use std::path::Path;
use switchyard_api::{Candidate, CandidateManifest};
use switchyard_core::manifest::{ManifestSource, ReleaseManifest};
use switchyard_core::Invalid;

type Result<T> = std::result::Result<T, ServiceError>;

/// The manifest the tarball at `path` declares, if any. A tarball that is not a readable
/// gzip + tar, or whose manifest does not parse, is refused with what to fix.
pub async fn read_declared_manifest(
    path: &Path,
    filename: &str,
    budget: UnpackBudget,
) -> Result<Option<(ManifestSource, ReleaseManifest)>> {
    let owned = path.to_owned();
    let inspected = tokio::task::spawn_blocking(move || inspect_candidate(&owned, budget))
        .await
        .map_err(|e| ServiceError::Internal(format!("the candidate inspection stopped: {e}")))?;
    let contents = match inspected {
        Ok(contents) => contents,
        // Nothing to start it by is the site's business (its default manifest) or go-live's.
        Err(CandidateRefusal::NoStartCommand { .. }) => return Ok(None),
        Err(refusal) => {
            // The refusal names the file being received; the uploader knows it by its own name.
            let received = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            return Err(Invalid::single("body", refusal.to_string().replace(&received, filename)).into());
        }
    };
    // inspect_candidate parsed it already, refusing one that does not parse with its lines.
    Ok(contents.declared)
}

/// The API's view of a stored manifest.
pub fn describe(source: ManifestSource, toml: &str) -> Option<CandidateManifest> {
    // Stored manifests were parsed at upload; one that no longer parses is not shown.
    let manifest = ReleaseManifest::parse(toml).ok()?;
    Some(CandidateManifest { source, toml: toml.to_owned(), summary: manifest.summary() })
}

impl Service {
    /// `candidates` with what each one's manifest declares.
    pub(crate) async fn with_manifests(&self, site_id: i64, mut candidates: Vec<Candidate>) -> Result<Vec<Candidate>> {
        let manifests = self.store.candidate_manifests(site_id).await?;
        for candidate in &mut candidates {
            if let Some(stored) = manifests.iter().find(|m| m.sha256 == candidate.sha256) {
                candidate.manifest = describe(stored.source, &stored.toml);
            }
        }
        Ok(candidates)
    }

    /// The manifest candidate `sha256` of the site runs by: the one it declared at upload, else
    /// the site's default runtime manifest, as the agent picks them.
    pub(crate) async fn declared_manifest(&self, site_id: i64, sha256: &str) -> Result<Option<ReleaseManifest>> {
        let stored = self.store.candidate_manifest(site_id, sha256).await?;
        match stored.and_then(|m| ReleaseManifest::parse(&m.toml).ok()) {
            Some(declared) => Ok(Some(declared)),
            None => self.site_runtime_manifest(site_id).await,
        }
    }
}
