//! Release candidates: uploaded tarballs, streamed to disk while their sha256 is computed, then
//! kept under that name forever. What was tested is byte for byte what is deployed.

use crate::auth::Caller;
use crate::candidate_manifest::{describe, read_declared_manifest};
use crate::{Service, ServiceError};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use switchyard_api::Candidate;
use tokio::io::AsyncWriteExt;

type Result<T> = std::result::Result<T, ServiceError>;

/// The largest candidate accepted.
pub const MAX_CANDIDATE_BYTES: u64 = 4 << 30;

/// A gzip stream starts with these two bytes; anything else is not a `.tar.gz`.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

fn check_filename(filename: &str) -> Result<String> {
    let name = filename.trim();
    let bad = |why: &str| {
        Err(ServiceError::Invalid(switchyard_core::Invalid::single("filename", format!("{why}; name the upload like shop-2.4.0.tar.gz"))))
    };
    if name.is_empty() {
        return bad("the upload has no file name (send it in the X-Filename header)");
    }
    if name.len() > 200 || name.contains(['/', '\\', '\0']) {
        return bad("the file name must be a plain name of at most 200 characters");
    }
    Ok(name.to_owned())
}

impl Service {
    /// Streams `body` into the candidates directory, hashing as it goes, and records it for the
    /// site. An upload that fails part way leaves nothing behind.
    pub async fn upload_candidate<S, E>(&self, caller: &Caller, site_id: i64, filename: &str, body: S) -> Result<Candidate>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        self.preparable_site(caller, site_id).await?;
        let filename = check_filename(filename)?;
        let dir = &self.engines.candidates_dir;
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| ServiceError::Internal(format!("cannot create the candidates directory {}: {e}", dir.display())))?;
        let partial = dir.join(format!(".upload-{}", hex::encode(rand::random::<[u8; 8]>())));
        let result = self.receive(&partial, body).await;
        let (sha256, size) = match result {
            Ok(done) => done,
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(e);
            }
        };
        let declared = match read_declared_manifest(&partial, &filename).await {
            Ok(declared) => declared,
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(e);
            }
        };
        let kept = dir.join(format!("{sha256}.tar.gz"));
        tokio::fs::rename(&partial, &kept)
            .await
            .map_err(|e| ServiceError::Internal(format!("cannot keep the candidate as {}: {e}", kept.display())))?;
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        let mut candidate = self.store.record_candidate(site_id, &sha256, &filename, size, (caller.user_id(), &caller.me.username)).await?;
        if let Some((source, manifest)) = declared {
            let toml = manifest.render();
            self.store.record_candidate_manifest(site_id, &sha256, source, &toml).await?;
            candidate.manifest = describe(source, &toml);
        }
        self.audit(caller, "candidate.upload", &format!("site {site_id}"), &format!("{filename} sha256 {sha256} ({size} bytes)")).await;
        Ok(candidate)
    }

    async fn receive<S, E>(&self, path: &std::path::Path, mut body: S) -> Result<(String, u64)>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let internal = |e: std::io::Error| ServiceError::Internal(format!("cannot write the upload to {}: {e}", path.display()));
        let mut file = tokio::fs::File::create(path).await.map_err(internal)?;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut head: Vec<u8> = Vec::with_capacity(2);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                ServiceError::Invalid(switchyard_core::Invalid::single(
                    "body",
                    format!("the upload broke off after {size} bytes ({e}); upload again"),
                ))
            })?;
            size += chunk.len() as u64;
            if size > MAX_CANDIDATE_BYTES {
                return Err(ServiceError::Invalid(switchyard_core::Invalid::single(
                    "body",
                    format!("the candidate is larger than {} GiB; ship a smaller artifact", MAX_CANDIDATE_BYTES >> 30),
                )));
            }
            if head.len() < 2 {
                head.extend(chunk.iter().take(2 - head.len()));
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(internal)?;
        }
        if head[..] != GZIP_MAGIC[..] {
            let what = if size == 0 { "the upload is empty".to_owned() } else { "the upload is not a gzip-compressed tarball".to_owned() };
            return Err(ServiceError::Invalid(switchyard_core::Invalid::single(
                "body",
                format!("{what}; upload the release as a .tar.gz"),
            )));
        }
        file.sync_all().await.map_err(internal)?;
        Ok((hex::encode(hasher.finalize()), size))
    }

    pub async fn list_candidates(&self, caller: &Caller, site_id: i64) -> Result<Vec<Candidate>> {
        self.readable_site(caller, site_id).await?;
        let candidates = self.store.list_candidates(site_id).await?;
        self.with_manifests(site_id, candidates).await
    }
}
