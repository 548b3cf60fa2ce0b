//! Release candidates: uploaded tarballs, streamed to disk while their sha256 is computed, then
//! kept under that name forever. What was tested is byte for byte what is deployed.

use crate::auth::Caller;
use crate::candidate_check::{human_bytes, UnpackBudget};
use crate::candidate_manifest::{describe, read_declared_manifest};
use crate::{Service, ServiceError};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use switchyard_agent::api::UnpackCaps;
use switchyard_api::{Candidate, PrunedCandidates};
use switchyard_core::access::Action;
use switchyard_store::CandidateUsage;
use tokio::io::AsyncWriteExt;

type Result<T> = std::result::Result<T, ServiceError>;

/// The largest candidate accepted.
pub const MAX_CANDIDATE_BYTES: u64 = 4 << 30;

/// Limits on candidates: storage quotas (compressed bytes kept in `candidates/`) and how far one
/// candidate may unpack, enforced at upload while the tarball is read through and sent to the
/// agent with every unpack (which also holds its own). `switchyard serve` flags change them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CandidateLimits {
    /// Every site's candidates together, each file counted once.
    pub total_bytes: u64,
    /// One site's candidates.
    pub site_bytes: u64,
    /// Bytes of regular files one candidate may unpack to.
    pub max_unpacked_bytes: u64,
    /// Entries (files, directories, links) one candidate may hold.
    pub max_entries: u64,
}

impl Default for CandidateLimits {
    fn default() -> Self {
        Self { total_bytes: 20 << 30, site_bytes: 5 << 30, max_unpacked_bytes: 2 << 30, max_entries: 100_000 }
    }
}

impl CandidateLimits {
    pub(crate) fn budget(&self) -> UnpackBudget {
        UnpackBudget { max_bytes: self.max_unpacked_bytes, max_entries: self.max_entries }
    }

    /// What an unpack request asks the agent to hold to.
    pub(crate) fn unpack_caps(&self) -> UnpackCaps {
        UnpackCaps { max_bytes: self.max_unpacked_bytes, max_entries: self.max_entries }
    }
}

/// How many more bytes an upload may bring before a limit is reached, and the refusal then.
struct Room {
    bytes: u64,
    refusal: ServiceError,
}

impl Room {
    fn for_upload(limits: &CandidateLimits, site_id: i64, usage: CandidateUsage) -> Self {
        let prune = format!("delete old candidates (switchyard candidate prune --site {site_id} --keep 3)");
        let mut room = Room {
            bytes: MAX_CANDIDATE_BYTES,
            refusal: ServiceError::Invalid(switchyard_core::Invalid::single(
                "body",
                format!("the candidate is larger than {}; ship a smaller artifact", human_bytes(MAX_CANDIDATE_BYTES)),
            )),
        };
        let site_left = limits.site_bytes.saturating_sub(usage.site_bytes);
        if site_left < room.bytes {
            room = Room {
                bytes: site_left,
                refusal: ServiceError::Conflict(format!(
                    "site {site_id}'s candidates would take more than its quota of {} ({} used); {prune}, \
                     or raise the site's quota (switchyard site limits --site {site_id} --quota SIZE) or every site's \
                     (switchyard serve --candidate-quota-site-bytes)",
                    human_bytes(limits.site_bytes),
                    human_bytes(usage.site_bytes)
                )),
            };
        }
        let total_left = limits.total_bytes.saturating_sub(usage.total_bytes);
        if total_left < room.bytes {
            room = Room {
                bytes: total_left,
                refusal: ServiceError::Conflict(format!(
                    "the candidates of all sites would take more than the server's quota of {} ({} used); {prune} or on other sites, \
                     or raise the quota (switchyard serve --candidate-quota-total-bytes)",
                    human_bytes(limits.total_bytes),
                    human_bytes(usage.total_bytes)
                )),
            };
        }
        room
    }
}

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
        // The site's own limits where support set them, the server's defaults otherwise.
        let limits = self.candidate_limits_for(site_id).await?;
        let room = Room::for_upload(&limits, site_id, self.store.candidate_usage(site_id).await?);
        let result = self.receive(&partial, body, room).await;
        let (sha256, size) = match result {
            Ok(done) => done,
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(e);
            }
        };
        let declared = match read_declared_manifest(&partial, &filename, limits.budget()).await {
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

    async fn receive<S, E>(&self, path: &std::path::Path, mut body: S, room: Room) -> Result<(String, u64)>
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
            // Stopped while streaming: nothing past the limit is written.
            if size > room.bytes {
                return Err(room.refusal);
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

impl Service {
    /// Deletes a site's candidate (support staff), refused while a release, a go-live or the
    /// production the site serves uses it. The file goes too unless another site holds it.
    pub async fn delete_candidate(&self, caller: &Caller, site_id: i64, sha256: &str) -> Result<()> {
        caller.may(Action::ChangeInventory)?;
        self.readable_site(caller, site_id).await?;
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            let why = "a candidate is named by its sha256: 64 lower-case hex digits, as switchyard candidate list shows";
            return Err(ServiceError::Invalid(switchyard_core::Invalid::single("sha256", why)));
        }
        self.delete_unused_candidate(site_id, sha256).await?;
        self.audit(caller, "candidate.delete", &format!("site {site_id}"), &format!("sha256 {sha256}")).await;
        Ok(())
    }

    /// Keeps the site's newest `keep` candidates and any in use; deletes the rest, each audited.
    pub async fn prune_candidates(&self, caller: &Caller, site_id: i64, keep: u32) -> Result<PrunedCandidates> {
        caller.may(Action::ChangeInventory)?;
        self.readable_site(caller, site_id).await?;
        let mut pruned = PrunedCandidates { deleted: Vec::new(), kept_in_use: Vec::new() };
        for candidate in self.store.list_candidates(site_id).await?.into_iter().skip(keep as usize) {
            if let Some(why) = self.store.candidate_in_use(site_id, &candidate.sha256).await? {
                pruned.kept_in_use.push(format!("{} ({}): {why}", candidate.sha256, candidate.filename));
                continue;
            }
            self.delete_unused_candidate(site_id, &candidate.sha256).await?;
            let detail = format!("sha256 {} ({}), pruned keeping the newest {keep}", candidate.sha256, candidate.filename);
            self.audit(caller, "candidate.delete", &format!("site {site_id}"), &detail).await;
            pruned.deleted.push(candidate.sha256);
        }
        Ok(pruned)
    }

    async fn delete_unused_candidate(&self, site_id: i64, sha256: &str) -> Result<()> {
        // The store refuses a candidate still in use, checked in its deleting transaction.
        let elsewhere = self.store.delete_candidate(site_id, sha256).await.map_err(|e| match e {
            switchyard_store::StoreError::NotFound { .. } => {
                ServiceError::NotFound(format!("site {site_id} has no candidate {sha256}; list them with switchyard candidate list"))
            }
            other => other.into(),
        })?;
        if !elsewhere {
            let file = self.engines.candidates_dir.join(format!("{sha256}.tar.gz"));
            match tokio::fs::remove_file(&file).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(ServiceError::Internal(format!("deleted candidate {sha256} but cannot remove {}: {e}", file.display())));
                }
                _ => {}
            }
        }
        Ok(())
    }
}
