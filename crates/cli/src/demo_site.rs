//! The demo site made real: on first start, `serve` builds two releases of the bundled sample
//! site (1.0.0 and 1.1.0), uploads them as the demo site's candidates, puts 1.0.0 live on the
//! local agent and saves a no-migration patch document to 1.1.0, so a newcomer can rehearse
//! and run a release at once.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use switchyard_api::{GoLive, PatchDocumentDraft};
use switchyard_service::{Caller, Service};

/// The sample site's executable, built beside `switchyard` by the workspace.
fn sample_site_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let beside = exe.parent()?.join("sample-site");
    beside.is_file().then_some(beside)
}

/// A release tarball: `bin/site` starts the sample site with this release's `site.toml`.
pub fn sample_release(binary: &Path, version: &str, schema: u32) -> Result<Vec<u8>> {
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
        builder.append_data(&mut header, path, data).context("cannot build the demo release")?;
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&builder.into_inner().context("cannot build the demo release")?)?;
    Ok(gz.finish()?)
}

async fn upload(service: &Service, site_id: i64, name: &str, bytes: Vec<u8>) -> Result<String> {
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
    let candidate = service.upload_candidate(&Caller::system(), site_id, name, chunks).await?;
    Ok(candidate.sha256)
}

/// Puts the demo site live; prints why not when the sample site is not built.
pub async fn put_demo_live(service: &Service) -> Result<()> {
    let Some(binary) = sample_site_binary() else {
        println!("The sample site is not built beside switchyard, so the demo site stays offline; run `cargo xtask run`.");
        return Ok(());
    };
    let system = Caller::system();
    let site = service.list_sites(&system, None).await?.into_iter().next().context("the demo has no site")?;
    let v1 = upload(service, site.id, "acme-shop-1.0.0.tar.gz", sample_release(&binary, "1.0.0", 1)?).await?;
    let v2 = upload(service, site.id, "acme-shop-1.1.0.tar.gz", sample_release(&binary, "1.1.0", 1)?).await?;
    let live = service.go_live(&system, site.id, GoLive { candidate_sha256: v1, ports: None }).await?;
    let template = service.patch_template(&system, site.id, "no-migration").await?;
    let toml = template.toml.replace(&"0".repeat(64), &v2).replace("target_version = \"1.0.0\"", "target_version = \"1.1.0\"");
    service.save_patch_document(&system, site.id, PatchDocumentDraft { toml }).await?;
    println!("The demo site {} is live at {} (version 1.0.0); a release to 1.1.0 is ready to rehearse.", site.name, live.public_address);
    Ok(())
}
