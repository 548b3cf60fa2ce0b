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
    pub async fn save_patch_document(&self, caller: &Caller, site_id: i64, draft: PatchDocumentDraft) -> Result<PatchDocumentRecord, ServiceError> {
        let site = self.preparable_site(caller, site_id).await?;
        let document = PatchDocument::parse(&draft.toml).map_err(|errors| {
            Invalid(errors.0.iter().map(|error| FieldError::new("toml", error.to_string())).collect())
        })?;
        // The site by its name now or its key (which survives renames).
        if document.site != site.name && document.site != site.key {
            return Err(Invalid::single(
                "toml",
                format!("the document is for site {:?} but is being saved under {:?}; set site = {:?}", document.site, site.name, site.name),
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
    pub async fn patch_template(&self, caller: &Caller, site_id: i64, workflow: &str) -> Result<PatchDocumentDraft, ServiceError> {
        let site = self.readable_site(caller, site_id).await?;
        let kind: WorkflowKind = workflow.parse().map_err(|e: String| Invalid::single("workflow", e))?;
        let template = PatchDocument::template(kind, &site.name, "1.0.0", NO_CANDIDATE_YET);
        Ok(PatchDocumentDraft { toml: template.to_toml() })
    }
}
