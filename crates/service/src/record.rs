//! The tamper-evident record as the staff see it: the hash chains of the audit log and the
//! release journal checked on request, and one release's record exported with its chain.

use crate::{Caller, Service, ServiceError};
use switchyard_core::access::Action;
use switchyard_store::{RecordCheck, ReleaseRecordExport};

type Result<T> = std::result::Result<T, ServiceError>;

impl Service {
    /// Checks every chain and names the first broken row of each (`GET /audit/verify`).
    pub async fn verify_record(&self, caller: &Caller) -> Result<RecordCheck> {
        caller.may(Action::ReadAudit)?;
        Ok(self.store.verify_record().await?)
    }

    /// A release's record with its chain, for `switchyard audit verify --file` to check offline.
    pub async fn release_record(&self, caller: &Caller, release_id: i64) -> Result<ReleaseRecordExport> {
        caller.may(Action::ReadAudit)?;
        Ok(self.store.release_record_export(release_id).await?)
    }
}
