//! The database holds password hashes, sessions and the audit log: its file and the WAL and
//! shared-memory files SQLite makes beside it are readable by Switchyard's user alone, also
//! when an older Switchyard left them open to everyone.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use switchyard_store::Store;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[tokio::test]
async fn the_database_and_its_wal_and_shm_files_are_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchyard.db");
    let store = Store::open(&path).await.unwrap();
    // A write makes SQLite create the -wal and -shm files if it had not yet.
    assert!(store.is_empty().await.unwrap());
    for file in ["switchyard.db", "switchyard.db-wal", "switchyard.db-shm"] {
        assert_eq!(mode(&dir.path().join(file)), 0o600, "{file}");
    }
    store.close().await;

    // A database an older Switchyard left 0644 is closed on the next open.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = Store::open(&path).await.unwrap();
    assert_eq!(mode(&path), 0o600);
    store.close().await;
}
