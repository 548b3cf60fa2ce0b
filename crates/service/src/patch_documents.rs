//! Patch documents: checked with core's rules, saved as the site's next version in canonical
//! form, never edited in place. A production run later names the exact version it runs.

use crate::auth::Caller;
use crate::{Service, ServiceError};
use switchyard_api::{PatchDocumentDraft, PatchDocumentRecord};
use switchyard_core::patch::{PatchDocument, WorkflowKind};
use switchyard_core::{FieldError, Invalid};
use switchyard_store::NewPatchDocument;

/// The placeholder a template carries until a candidate is uploaded.
const NO_CANDIDATE_YET: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl Service {
    pub async fn list_patch_documents(&self, caller: &Caller, site_id: i64) -> Result<Vec<PatchDocumentRecord>, ServiceError> {
        self.readable_site(caller, site_id).await?;
        Ok(self.store.list_patch_documents(site_id).await?)
    }

    pub async fn patch_document(&self, caller: &Caller, site_id: i64, version: i64) -> Result<PatchDocumentRecord, ServiceError> {
        self.readable_site(caller, site_id).await?;
        Ok(self.store.patch_document(site_id, version).await?)
    }

    /// Validates the document and saves it as the site's next version. Each problem comes back
    /// as a `toml` field error reading `line N: what to do`.
    pub async fn save_patch_document(
        &self,
        caller: &Caller,
        site_id: i64,
        draft: PatchDocumentDraft,
    ) -> Result<PatchDocumentRecord, ServiceError> {
        let site = self.preparable_site(caller, site_id).await?;
        let document = PatchDocument::parse(&draft.toml)
            .map_err(|errors| Invalid(errors.0.iter().map(|error| FieldError::new("toml", error.to_string())).collect()))?;
        // The site by its name now or its key (which survives renames).
        if document.site != site.name && document.site != site.key {
            return Err(Invalid::single(
                "toml",
                format!(
                    "the document is for site {:?} but is being saved under {:?}; set site = {:?}",
                    document.site, site.name, site.name
                ),
            )
            .into());
        }
        // Only the template's placeholder (no candidate chosen yet; no release starts from it)
        // may name a candidate this site did not upload.
        if document.candidate_sha256 != NO_CANDIDATE_YET {
            self.ensure_candidate_of(&site, &document.candidate_sha256, "toml").await?;
        }
        let render = |version: i64| {
            let mut numbered = document.clone();
            numbered.version = u32::try_from(version).unwrap_or(u32::MAX);
            (numbered.to_toml(), numbered.summary())
        };
        let new = NewPatchDocument {
            workflow: document.workflow.as_str(),
            target_version: &document.target_version,
            candidate_sha256: &document.candidate_sha256,
            render: &render,
        };
        let record = self.store.create_patch_document(site_id, &new).await?;
        self.audit(caller, "patch-document.save", &format!("site {site_id}"), &format!("version {}", record.version)).await;
        Ok(record)
    }

    /// A starting document for `workflow`, filled in for the site, that validates as it is.
    /// A starting document for `workflow`; for an uploaded `candidate`, it names the candidate,
    /// takes the target version from its file name (`notes-2.0.0.tar.gz` → `2.0.0`) and fills
    /// its migration and health checks from the candidate's manifest.
    pub async fn patch_template(
        &self,
        caller: &Caller,
        site_id: i64,
        workflow: &str,
        candidate: Option<&str>,
    ) -> Result<PatchDocumentDraft, ServiceError> {
        let site = self.readable_site(caller, site_id).await?;
        let kind: WorkflowKind = workflow.parse().map_err(|e: String| Invalid::single("workflow", e))?;
        let Some(sha) = candidate.map(str::trim).filter(|sha| !sha.is_empty()) else {
            return Ok(PatchDocumentDraft { toml: PatchDocument::template(kind, &site.name, "1.0.0", NO_CANDIDATE_YET).to_toml() });
        };
        let Some(uploaded) = self.store.candidate(site.id, sha).await? else {
            let message =
                format!("no candidate {sha} was uploaded for site {}; upload it first or pick one from the site's candidates", site.name);
            return Err(Invalid::single("candidate", message).into());
        };
        let target_version = version_in_file_name(&uploaded.filename).unwrap_or("1.0.0");
        let mut template = PatchDocument::template(kind, &site.name, target_version, sha);
        if let Some(manifest) = self.declared_manifest(site.id, sha).await? {
            template = template.filled_from(&manifest);
        }
        Ok(PatchDocumentDraft { toml: template.to_toml() })
    }
}

/// The version in a release file name: from the first `-` followed by a digit to `.tar.gz`
/// (`acme-shop-2.4.0.tar.gz` → `2.4.0`), or the whole name when it starts with a digit.
fn version_in_file_name(filename: &str) -> Option<&str> {
    let stem = filename.strip_suffix(".tar.gz").or_else(|| filename.strip_suffix(".tgz"))?;
    if stem.starts_with(|c: char| c.is_ascii_digit()) {
        return Some(stem);
    }
    let start = stem.char_indices().find(|&(i, c)| c == '-' && stem[i + 1..].starts_with(|d: char| d.is_ascii_digit()))?.0;
    Some(&stem[start + 1..])
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_release_file_name_gives_its_version() {
        use super::version_in_file_name as version;
        assert_eq!(version("notes-2.0.0.tar.gz"), Some("2.0.0"));
        assert_eq!(version("acme-shop-1.10.3-rc1.tgz"), Some("1.10.3-rc1"));
        assert_eq!(version("app2-3.0.tar.gz"), Some("3.0"));
        assert_eq!(version("3.1.tar.gz"), Some("3.1"));
        assert_eq!(version("notes.tar.gz"), None);
        assert_eq!(version("notes-latest.tar.gz"), None);
    }
}
