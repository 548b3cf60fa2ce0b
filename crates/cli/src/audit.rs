//! `switchyard audit verify`: checks the hash chains of the audit log and the release journal,
//! on the database file itself (offline, `--database` or `--data`), through a running server's
//! API, or for one exported release record (`--file`), and prints the head hashes to keep.

use crate::remote::{Remote, RemoteArgs};
use anyhow::{Context, Result};
use std::path::PathBuf;
use switchyard_api::{RecordCheck, ReleaseRecordExport};

#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(clap::Subcommand)]
enum AuditCommand {
    /// Check that no audit-log row or journaled transition was edited, deleted or inserted
    /// behind Switchyard's back; names the first broken row. Exit 0 intact, 1 broken, 2 error.
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// Check this database file directly, without a server (e.g. a copy of `switchyard.db`).
    #[arg(long, conflicts_with_all = ["data", "file"])]
    database: Option<PathBuf>,
    /// Check `switchyard.db` in this data directory (what `switchyard serve --data` uses).
    #[arg(long, conflicts_with = "file")]
    data: Option<PathBuf>,
    /// Check a release record written by `switchyard release export ID > FILE`, offline.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Without `--database`, `--data` or `--file`: ask this server (`GET /audit/verify`).
    #[command(flatten)]
    remote: RemoteArgs,
}

pub async fn run(args: AuditArgs) -> Result<i32> {
    let AuditCommand::Verify(args) = args.command;
    if let Some(file) = args.file {
        return verify_file(&file);
    }
    let check = match (args.database, args.data) {
        (Some(path), _) => on_file(path).await?,
        (None, Some(dir)) => on_file(dir.join("switchyard.db")).await?,
        (None, None) => {
            let remote = Remote::connect(&args.remote)?;
            remote.get::<RecordCheck>("/audit/verify").await.context("cannot verify the record on the server")?
        }
    };
    Ok(report(&check))
}

async fn on_file(path: PathBuf) -> Result<RecordCheck> {
    anyhow::ensure!(path.is_file(), "there is no database at {}; pass the path of switchyard.db with --database", path.display());
    let store = switchyard_store::Store::open(&path).await.with_context(|| format!("cannot open {}", path.display()))?;
    let check = store.verify_record().await.with_context(|| format!("cannot read the record in {}", path.display()))?;
    store.close().await;
    Ok(check)
}

fn report(check: &RecordCheck) -> i32 {
    println!("audit log: {} rows, head hash {}", check.audit_rows, check.audit_head);
    println!("release journal: {} releases, {} transitions, head hash {}", check.releases, check.transitions, check.journal_head);
    if check.intact() {
        println!("intact: no row was edited, deleted or inserted outside Switchyard.");
        println!(
            "Keep the head hashes somewhere Switchyard cannot write: a chain recomputed after tampering verifies too, but not to them."
        );
        0
    } else {
        for broken in &check.breaks {
            println!("BROKEN: {broken}");
        }
        println!("The record was changed outside Switchyard at the row named; compare with a backup or an export from before.");
        1
    }
}

fn verify_file(file: &PathBuf) -> Result<i32> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let export: ReleaseRecordExport = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a release record; write one with `switchyard release export ID > FILE`", file.display()))?;
    match export.verify() {
        Ok(head) => {
            println!("release {}: {} transitions intact, head hash {head}", export.release.id, export.transitions.len());
            Ok(0)
        }
        Err(broken) => {
            println!("BROKEN: {broken}");
            Ok(1)
        }
    }
}
