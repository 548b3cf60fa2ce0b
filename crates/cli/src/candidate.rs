//! `switchyard candidate upload|list|delete|prune`: stream a release tarball to a site's
//! candidates with progress on stderr, list what was uploaded, and remove old ones.

use crate::remote::{Remote, RemoteArgs};
use crate::table;
use anyhow::{Context, Result};
use futures_util::StreamExt;
use reqwest::Method;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchyard_api::{Candidate, CandidatePrune, PrunedCandidates};

#[derive(clap::Args)]
pub struct CandidateArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    #[command(subcommand)]
    command: CandidateCommand,
}

#[derive(clap::Subcommand)]
enum CandidateCommand {
    /// Upload a release tarball (.tar.gz) as a candidate; prints its sha256 on stdout.
    Upload {
        /// The site, by id or name.
        #[arg(long)]
        site: String,
        /// The tarball.
        file: PathBuf,
    },
    /// List a site's candidates, newest first.
    List {
        /// The site, by id or name.
        #[arg(long)]
        site: String,
    },
    /// Delete one candidate (support staff); refused while a release or production uses it.
    Delete {
        /// The site, by id or name.
        #[arg(long)]
        site: String,
        /// The candidate's sha256, as `candidate list` shows it.
        sha256: String,
    },
    /// Delete a site's old candidates: keeps the newest N and any still in use.
    Prune {
        /// The site, by id or name.
        #[arg(long)]
        site: String,
        /// How many of the newest candidates to keep.
        #[arg(long)]
        keep: u32,
    },
}

pub async fn run(args: CandidateArgs) -> Result<i32> {
    let remote = Remote::connect(&args.remote)?;
    match args.command {
        CandidateCommand::Upload { site, file } => upload(&remote, &site, &file).await,
        CandidateCommand::List { site } => list(&remote, &site).await,
        CandidateCommand::Delete { site, sha256 } => {
            let site = remote.site(&site).await?;
            let request = remote.request(Method::DELETE, &format!("/sites/{}/candidates/{sha256}", site.id));
            remote.send_raw(request).await.with_context(|| format!("cannot delete candidate {sha256} of {}", site.name))?;
            println!("Deleted candidate {sha256} of {}.", site.name);
            Ok(0)
        }
        CandidateCommand::Prune { site, keep } => {
            let site = remote.site(&site).await?;
            let pruned: PrunedCandidates = remote
                .post(&format!("/sites/{}/candidates/prune", site.id), &CandidatePrune { keep })
                .await
                .with_context(|| format!("cannot prune the candidates of {}", site.name))?;
            for sha256 in &pruned.deleted {
                println!("deleted {sha256}");
            }
            for kept in &pruned.kept_in_use {
                println!("kept {kept}");
            }
            println!("{}: {} deleted, the newest {keep} kept, {} kept in use.", site.name, pruned.deleted.len(), pruned.kept_in_use.len());
            Ok(0)
        }
    }
}

async fn upload(remote: &Remote, site: &str, file: &std::path::Path) -> Result<i32> {
    let site = remote.site(site).await?;
    let opened = tokio::fs::File::open(file).await.with_context(|| format!("cannot open {} to upload it", file.display()))?;
    let size = opened.metadata().await.with_context(|| format!("cannot read the size of {}", file.display()))?.len();
    let filename = file
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} has no file name the server can keep; rename it", file.display()))?
        .to_owned();
    let progress = Arc::new(Progress::new(&filename, size));
    let counter = Arc::clone(&progress);
    let chunks = tokio_util::io::ReaderStream::with_capacity(opened, 256 * 1024).inspect(move |chunk| {
        if let Ok(bytes) = chunk {
            counter.advance(bytes.len() as u64);
        }
    });
    let request = remote
        .request(Method::POST, &format!("/sites/{}/candidates", site.id))
        .header("x-filename", &filename)
        .header(reqwest::header::CONTENT_TYPE, "application/gzip")
        .body(reqwest::Body::wrap_stream(chunks));
    let reply = remote.send_raw(request).await;
    progress.finish();
    let reply = reply.with_context(|| format!("cannot upload {} to site {} ({})", file.display(), site.id, site.name))?;
    let candidate: Candidate = reply.json().await.context("the server's answer to the upload does not read")?;
    eprintln!(
        "Uploaded {} ({}) to {} as candidate sha256 {}",
        candidate.filename,
        table::bytes(u64::try_from(candidate.size_bytes).unwrap_or(0)),
        site.name,
        candidate.sha256
    );
    println!("{}", candidate.sha256);
    Ok(0)
}

async fn list(remote: &Remote, site: &str) -> Result<i32> {
    let site = remote.site(site).await?;
    let mut candidates: Vec<Candidate> = remote
        .get(&format!("/sites/{}/candidates", site.id))
        .await
        .with_context(|| format!("cannot list the candidates of {}", site.name))?;
    if candidates.is_empty() {
        println!("{} has no candidates yet; upload one with `switchyard candidate upload --site {} FILE`", site.name, site.id);
        return Ok(0);
    }
    candidates.sort_by(|a, b| b.uploaded_at.cmp(&a.uploaded_at));
    let rows: Vec<Vec<String>> = candidates
        .iter()
        .map(|c| {
            vec![
                c.sha256.clone(),
                c.filename.clone(),
                table::bytes(u64::try_from(c.size_bytes).unwrap_or(0)),
                c.uploaded_by.clone(),
                table::timestamp(&c.uploaded_at),
            ]
        })
        .collect();
    table::print(&["SHA256", "FILE", "SIZE", "UPLOADED BY", "UPLOADED AT (UTC)"], &rows);
    Ok(0)
}

/// Upload progress on stderr: redrawn in place on a terminal (at most ten times a second),
/// otherwise one line per quarter so logs stay short.
struct Progress {
    name: String,
    total: u64,
    sent: AtomicU64,
    terminal: bool,
    shown: Mutex<Shown>,
}

struct Shown {
    at: Option<Instant>,
    quarter: u64,
}

impl Progress {
    fn new(name: &str, total: u64) -> Self {
        let progress = Self {
            name: name.to_owned(),
            total,
            sent: AtomicU64::new(0),
            terminal: std::io::stderr().is_terminal(),
            shown: Mutex::new(Shown { at: None, quarter: 0 }),
        };
        progress.show(0, true);
        progress
    }

    fn advance(&self, bytes: u64) {
        let sent = self.sent.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.show(sent, false);
    }

    fn percent(&self, sent: u64) -> u64 {
        (sent.min(self.total) * 100).checked_div(self.total).unwrap_or(100)
    }

    fn show(&self, sent: u64, first: bool) {
        let Ok(mut shown) = self.shown.lock() else { return };
        let percent = self.percent(sent);
        let line = format!("uploading {}: {percent:>3} % ({} of {})", self.name, table::bytes(sent), table::bytes(self.total));
        let mut stderr = std::io::stderr().lock();
        if self.terminal {
            let due = shown.at.is_none_or(|at| at.elapsed() >= Duration::from_millis(100)) || sent >= self.total;
            if due {
                let _ = write!(stderr, "\r{line}\x1b[K");
                let _ = stderr.flush();
                shown.at = Some(Instant::now());
            }
        } else {
            let quarter = percent / 25;
            if first || quarter > shown.quarter {
                let _ = writeln!(stderr, "{line}");
                shown.quarter = quarter;
            }
        }
    }

    /// Ends the in-place line so what follows starts on its own.
    fn finish(&self) {
        if self.terminal {
            let sent = self.sent.load(Ordering::Relaxed);
            let Ok(mut shown) = self.shown.lock() else { return };
            shown.at = None;
            drop(shown);
            self.show(sent, false);
            eprintln!();
        }
    }
}
