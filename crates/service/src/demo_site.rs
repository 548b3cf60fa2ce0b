//! The demo site made real: on first start, `serve` and the desktop app build two releases of
//! the bundled sample site (1.0.0 and 1.1.0), upload them as the demo site's candidates, put
//! 1.0.0 live on the local agent and save a no-migration patch document to 1.1.0, so a
//! newcomer can rehearse and run a release at once.

use crate::{Caller, Service, ServiceError};
use std::io::Write;
use std::path::{Path, PathBuf};
use switchyard_api::{GoLive, PatchDocumentDraft, WentLive};

type Result<T> = std::result::Result<T, ServiceError>;

/// The sample site's executable, which the workspace builds beside `switchyard` and the
/// desktop app.
fn sample_site_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let beside = exe.parent()?.join("sample-site");
    beside.is_file().then_some(beside)
}

fn build_failed(e: std::io::Error) -> ServiceError {
    ServiceError::Internal(format!("cannot build the demo release: {e}"))
}

/// A release tarball: `bin/site` starts the sample site with this release's `site.toml`.
fn sample_release(binary: &Path, version: &str, schema: u32) -> Result<Vec<u8>> {
    let script = format!(
        "#!/bin/sh\nhere=$(cd \"$(dirname \"$0\")/..\" && pwd)\nSITE_CONFIG=\"$here/site.toml\" exec '{}' \"$@\"\n",
        binary.display()
    );
    let site_toml = format!("version = \"{version}\"\nschema = {schema}\n");
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data, mode) in [("bin/site", script.as_bytes(), 0o755), ("site.toml", site_toml.as_bytes(), 0o644)] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, data).map_err(build_failed)?;
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&builder.into_inner().map_err(build_failed)?).map_err(build_failed)?;
    gz.finish().map_err(build_failed)
}

impl Service {
    async fn upload_demo(&self, site_id: i64, name: &str, bytes: Vec<u8>) -> Result<String> {
        let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
        Ok(self.upload_candidate(&Caller::system(), site_id, name, chunks).await?.sha256)
    }

    /// Puts the demo's site live from two builds of the sample site; `None` when the sample
    /// site is not built beside this program, so the demo site stays offline.
    pub async fn put_demo_live(&self) -> Result<Option<WentLive>> {
        let Some(binary) = sample_site_binary() else { return Ok(None) };
        let binary = binary.as_path();
        let system = Caller::system();
        let site = self
            .list_sites(&system, None)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ServiceError::Conflict("the demo has no site to put live".into()))?;
        let v1 = self.upload_demo(site.id, "acme-shop-1.0.0.tar.gz", sample_release(binary, "1.0.0", 1)?).await?;
        let v2 = self.upload_demo(site.id, "acme-shop-1.1.0.tar.gz", sample_release(binary, "1.1.0", 1)?).await?;
        let live = self
            .go_live(&system, site.id, GoLive { candidate_sha256: v1, ports: None, databases: Vec::new(), version: Some("1.0.0".into()) })
            .await?;
        let template = self.patch_template(&system, site.id, "no-migration", None).await?;
        let toml = template.toml.replace(&"0".repeat(64), &v2).replace("target_version = \"1.0.0\"", "target_version = \"1.1.0\"");
        self.save_patch_document(&system, site.id, PatchDocumentDraft { toml }).await?;
        Ok(Some(live))
    }
}
