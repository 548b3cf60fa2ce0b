//! One agent per root directory: two agents supervising the same environments would start
//! every site twice and fight over its port. The running agent holds an exclusive lock on
//! `<root>/agent.lock` (released by the kernel when the process dies, however it dies) and
//! keeps its process id in the file, so `switchyard serve` can find the agent it started
//! before a crash and re-attach to it instead of starting another.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{io_context, AgentError, Result};

/// The lock a running agent holds for as long as it lives.
#[derive(Debug)]
pub struct RootLock {
    _file: File,
}

/// Whether an agent runs over a root, and its process id if so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootHolder {
    Free,
    Running { pid: u32 },
}

pub fn lock_path(root: &Path) -> PathBuf {
    root.join("agent.lock")
}

/// Takes the root for this process, or says which agent already has it.
pub fn acquire(root: &Path) -> Result<RootLock> {
    let path = lock_path(root);
    let mut file = open(&path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let pid = read_pid(&mut file).map_or_else(|| "unknown".to_owned(), |pid| pid.to_string());
            return Err(AgentError::Conflict(format!(
                "another agent (process {pid}) already runs over {}; stop it first, or give this one another --root",
                root.display()
            )));
        }
        Err(TryLockError::Error(e)) => return Err(io_context(format!("cannot lock {}", path.display()))(e)),
    }
    file.set_len(0).map_err(io_context(format!("cannot write {}", path.display())))?;
    writeln!(file, "{}", std::process::id()).map_err(io_context(format!("cannot write {}", path.display())))?;
    file.sync_all().map_err(io_context(format!("cannot write {}", path.display())))?;
    Ok(RootLock { _file: file })
}

/// Who holds the root now, without taking it (a probe that finds it free lets go at once).
pub fn holder(root: &Path) -> Result<RootHolder> {
    let path = lock_path(root);
    if !path.exists() {
        return Ok(RootHolder::Free);
    }
    let mut file = open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(RootHolder::Free),
        Err(TryLockError::WouldBlock) => Ok(read_pid(&mut file).map_or(RootHolder::Running { pid: 0 }, |pid| RootHolder::Running { pid })),
        Err(TryLockError::Error(e)) => Err(io_context(format!("cannot read {}", path.display()))(e)),
    }
}

fn open(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_context(format!("cannot open {}", path.display())))
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_agent_on_the_same_root_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(holder(dir.path()).unwrap(), RootHolder::Free);
        let first = acquire(dir.path()).unwrap();
        assert_eq!(holder(dir.path()).unwrap(), RootHolder::Running { pid: std::process::id() });
        let refused = acquire(dir.path()).unwrap_err().to_string();
        assert!(refused.contains(&std::process::id().to_string()) && refused.contains("--root"), "{refused}");
        drop(first);
        assert_eq!(holder(dir.path()).unwrap(), RootHolder::Free);
        acquire(dir.path()).unwrap();
    }
}
