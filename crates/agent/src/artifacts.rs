//! Release candidate uploads: streamed to a temporary file while the sha256 is computed, checked
//! against the hash the caller expects, limited in size, and stored once per hash.

use std::path::PathBuf;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::api::ArtifactInfo;
use crate::error::{io_context, AgentError, Result};
use crate::layout::{check_sha256, random_suffix, sync_dir, Layout};

/// Deletes a partial upload when the request ends early (client gone, limit, bad hash): the
/// handler's future is simply dropped in the first case, so cleanup has to live in `Drop`.
struct PartialFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

pub fn stored(layout: &Layout, sha256: &str) -> Result<Option<ArtifactInfo>> {
    check_sha256(sha256)?;
    match std::fs::metadata(layout.artifact(sha256)) {
        Ok(meta) => Ok(Some(ArtifactInfo { sha256: sha256.to_owned(), size: meta.len() })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AgentError::Io { context: format!("cannot look up candidate {sha256}"), source: e }),
    }
}

/// Streams `body` to `artifacts/<sha256>.tar.gz`. Memory use is one chunk, whatever the size.
pub async fn store(
    layout: &Layout,
    expected_sha256: &str,
    declared_len: Option<u64>,
    max_bytes: u64,
    body: axum::body::Body,
) -> Result<ArtifactInfo> {
    if let Some(existing) = stored(layout, expected_sha256)? {
        return Ok(existing);
    }
    if let Some(len) = declared_len.filter(|len| *len > max_bytes) {
        return Err(too_large(len, max_bytes));
    }
    let partial = PartialFile { path: layout.upload_tmp_dir().join(format!("{expected_sha256}-{}.part", random_suffix())), keep: false };
    let file = tokio::fs::File::create(&partial.path).await.map_err(io_context("cannot create a file for the upload"))?;
    // Body chunks are a few KiB; each tokio file write is a thread hop, so batch them.
    let mut file = tokio::io::BufWriter::with_capacity(1 << 20, file);
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| AgentError::Invalid(format!("the upload was interrupted after {size} bytes ({e}): upload the candidate again")))?;
        size += chunk.len() as u64;
        if size > max_bytes {
            return Err(too_large(size, max_bytes));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io_context("cannot write the upload to disk"))?;
    }
    let actual = hex::encode(hasher.finalize());
    if actual != expected_sha256 {
        return Err(AgentError::Invalid(format!(
            "the uploaded {size} bytes have sha256 {actual}, not the expected {expected_sha256}: check the file and the hash, then upload again"
        )));
    }
    file.flush().await.map_err(io_context("cannot flush the upload to disk"))?;
    file.get_ref().sync_all().await.map_err(io_context("cannot flush the upload to disk"))?;
    drop(file);
    let target = layout.artifact(expected_sha256);
    // Two uploads of the same candidate may race here; both renames leave identical bytes.
    tokio::fs::rename(&partial.path, &target).await.map_err(io_context(format!("cannot store candidate {expected_sha256}")))?;
    let mut partial = partial;
    partial.keep = true;
    sync_dir(&layout.artifacts_dir()).map_err(io_context("cannot sync the artifacts directory"))?;
    tracing::info!("stored candidate {expected_sha256} ({size} bytes)");
    Ok(ArtifactInfo { sha256: expected_sha256.to_owned(), size })
}

fn too_large(size: u64, max: u64) -> AgentError {
    AgentError::TooLarge(format!(
        "the candidate is {size} bytes or more, over the agent's upload limit of {max} bytes: shrink it or start the agent with a larger --max-upload-bytes"
    ))
}
