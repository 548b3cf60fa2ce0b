//! Idempotent operations: the first successful result of each caller-chosen operation id is
//! stored under `ops/`, so a retried call (also after an agent restart) returns it again
//! instead of applying the change twice. Failed operations leave no state and no record, so
//! retrying them runs them again.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{AgentError, Result};
use crate::layout::{check_op_id, read_json, write_json};

#[derive(Serialize, Deserialize)]
struct OpRecord {
    kind: String,
    request_sha256: String,
    result: serde_json::Value,
    finished_at: String,
}

/// Async mutexes by key, so operations on one environment (or one operation id) run one at a
/// time while unrelated ones run in parallel.
#[derive(Default)]
pub struct KeyedLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl KeyedLocks {
    pub async fn lock(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = self.locks.lock().expect("lock map poisoned").entry(key.to_owned()).or_default().clone();
        lock.lock_owned().await
    }

    /// Locks several keys in a fixed order, so two operations never wait on each other.
    pub async fn lock_all(&self, keys: &[&str]) -> Vec<tokio::sync::OwnedMutexGuard<()>> {
        let mut sorted: Vec<&str> = keys.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut guards = Vec::with_capacity(sorted.len());
        for key in sorted {
            guards.push(self.lock(key).await);
        }
        guards
    }
}

pub struct Ops {
    dir: PathBuf,
    running: KeyedLocks,
}

impl Ops {
    pub fn new(dir: PathBuf) -> Self {
        Ops { dir, running: KeyedLocks::default() }
    }

    /// Runs `run` unless `op_id` already finished; then returns the stored result. Reusing an
    /// id for a different request is refused rather than silently answered with the old result.
    pub async fn once<Req, T, F>(&self, op_id: &str, kind: &str, request: &Req, run: F) -> Result<T>
    where
        Req: Serialize,
        T: Serialize + DeserializeOwned,
        F: Future<Output = Result<T>>,
    {
        check_op_id(op_id)?;
        let request_sha256 = request_digest(kind, request);
        let _running = self.running.lock(op_id).await;
        let path = self.dir.join(format!("{op_id}.json"));
        if path.exists() {
            let record: OpRecord = read_json(&path)?;
            if record.request_sha256 != request_sha256 {
                return Err(AgentError::Conflict(format!(
                    "operation id {op_id} was already used for a different request ({}): choose a new operation id",
                    record.kind
                )));
            }
            tracing::info!("operation {op_id} ({kind}) already done; returning its result");
            return serde_json::from_value(record.result).map_err(|e| {
                AgentError::Internal(format!("stored result of operation {op_id} is unreadable ({e}): remove {}", path.display()))
            });
        }
        let result = run.await?;
        let value = serde_json::to_value(&result).map_err(|e| AgentError::Internal(format!("cannot encode the result of {op_id}: {e}")))?;
        let record = OpRecord { kind: kind.to_owned(), request_sha256, result: value, finished_at: chrono::Utc::now().to_rfc3339() };
        write_json(&path, &record)?;
        Ok(result)
    }
}

pub fn request_digest<Req: Serialize>(kind: &str, request: &Req) -> String {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    hasher.update([0]);
    hasher.update(serde_json::to_vec(request).unwrap_or_default());
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_retry_returns_the_first_result_and_applies_once_even_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let applied = AtomicU32::new(0);
        let apply = || async { Ok::<_, AgentError>(applied.fetch_add(1, Ordering::SeqCst) + 100) };
        let ops = Ops::new(dir.path().to_path_buf());
        let first: u32 = ops.once("op-1", "count", &"req", apply()).await.unwrap();
        let again: u32 = ops.once("op-1", "count", &"req", apply()).await.unwrap();
        // A new Ops over the same directory is what an agent restart sees.
        let restarted = Ops::new(dir.path().to_path_buf());
        let after_restart: u32 = restarted.once("op-1", "count", &"req", apply()).await.unwrap();
        assert_eq!((first, again, after_restart), (100, 100, 100));
        assert_eq!(applied.load(Ordering::SeqCst), 1);

        let err = ops.once::<_, u32, _>("op-1", "count", &"other", apply()).await.unwrap_err().to_string();
        assert!(err.contains("already used for a different request"), "{err}");
    }

    #[tokio::test]
    async fn a_failed_operation_is_not_recorded_so_a_retry_runs_again() {
        let dir = tempfile::tempdir().unwrap();
        let ops = Ops::new(dir.path().to_path_buf());
        let failed = ops.once::<_, u32, _>("op-2", "x", &1, async { Err(AgentError::Conflict("busy".into())) }).await;
        assert!(failed.is_err());
        let ok: u32 = ops.once("op-2", "x", &1, async { Ok(7) }).await.unwrap();
        assert_eq!(ok, 7);
    }
}
