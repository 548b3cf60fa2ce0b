//! `switchyard release`: rehearse and run a patch document, take decisions at its gates, roll
//! it back, and follow it live; `show` and `list` (in `release_show.rs`) read it back.

use crate::follow::{self, Ending};
use crate::release_show;
use crate::remote::{Remote, RemoteArgs};
use anyhow::{Context, Result};
use reqwest::Method;
use std::time::Duration;
use switchyard_api::{Decision, NewReleaseRequest, PatchDocumentRecord, ReleaseSummary};

/// How often a slow decision says it is still waiting.
const PATIENCE: Duration = Duration::from_secs(15);

#[derive(clap::Args)]
pub struct ReleaseArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    #[command(subcommand)]
    command: ReleaseCommand,
}

/// How a command that changes a release follows it afterwards.
#[derive(clap::Args, Clone, Copy)]
pub struct FollowArgs {
    /// Return at once instead of following the release until it waits for someone or ends.
    #[arg(long)]
    no_follow: bool,
    /// Stop following after this many seconds (the release goes on).
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
}

#[derive(clap::Args)]
pub struct Start {
    /// The site, by id or name.
    #[arg(long)]
    site: String,
    /// The patch document version (default: the site's newest).
    #[arg(long)]
    document: Option<u32>,
    #[command(flatten)]
    follow: FollowArgs,
}

#[derive(clap::Args)]
pub struct Decide {
    /// The release's id.
    id: i64,
    /// Why, or what you checked; kept with the decision in the release's record.
    #[arg(long, default_value = "")]
    comment: String,
    /// Approving: you read what a rollback of this release would do (`release show` says it)
    /// and accept it; needed when it says data would be lost.
    #[arg(long)]
    accept_rollback: bool,
    #[command(flatten)]
    follow: FollowArgs,
}

#[derive(clap::Subcommand)]
enum ReleaseCommand {
    /// Rehearse a patch document on a fresh clone of production, and follow it.
    Rehearse(Start),
    /// Start the production run of a rehearsed patch document, and follow it.
    Run {
        #[command(flatten)]
        start: Start,
        /// Progressive rollouts: a customer test account that moves first (repeatable).
        #[arg(long = "pinned-account")]
        pinned_accounts: Vec<String>,
    },
    /// Approve a production run waiting for support's approval.
    Approve(Decide),
    /// Reject a release at a gate; it rolls back.
    Reject(Decide),
    /// Confirm, as the customer, that the release works.
    Confirm(Decide),
    /// Roll a release back (also after it completed).
    Rollback(Decide),
    /// Print a release: summary, stages, decisions and timeline.
    Show {
        /// The release's id.
        id: i64,
    },
    /// List releases, newest first.
    List(release_show::ListArgs),
    /// Print a release's record with its hash chain as JSON, to keep and check offline with
    /// `switchyard audit verify --file FILE`.
    Export {
        /// The release's id.
        id: i64,
    },
    /// Follow a release live until it waits for someone or ends.
    Watch {
        /// The release's id.
        id: i64,
        /// Stop following after this many seconds (the release goes on).
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
    },
}

/// Runs a `release` command; the exit code says how the release ended (see [`Ending`]).
pub async fn run(args: ReleaseArgs) -> Result<i32> {
    let remote = Remote::connect(&args.remote)?;
    match args.command {
        ReleaseCommand::Rehearse(start) => begin(&remote, start, "rehearsal", Vec::new()).await,
        ReleaseCommand::Run { start, pinned_accounts } => begin(&remote, start, "production", pinned_accounts).await,
        ReleaseCommand::Approve(decide) => decision(&remote, decide, "approve").await,
        ReleaseCommand::Reject(decide) => decision(&remote, decide, "reject").await,
        ReleaseCommand::Confirm(decide) => decision(&remote, decide, "confirm").await,
        ReleaseCommand::Rollback(decide) => decision(&remote, decide, "rollback").await,
        ReleaseCommand::Show { id } => release_show::show(&remote, id).await,
        ReleaseCommand::List(list) => release_show::list(&remote, list).await,
        ReleaseCommand::Export { id } => {
            let record: switchyard_api::ReleaseRecordExport =
                remote.get(&format!("/releases/{id}/record")).await.with_context(|| format!("cannot export the record of release {id}"))?;
            println!("{}", serde_json::to_string_pretty(&record)?);
            eprintln!("Release {id}: {} transitions, head hash {}.", record.transitions.len(), record.head_hash);
            Ok(0)
        }
        ReleaseCommand::Watch { id, timeout } => {
            let follow = FollowArgs { no_follow: false, timeout };
            followed(&remote, id, None, follow, false).await
        }
    }
}

/// Starts a rehearsal or a production run of a saved patch document version.
async fn begin(remote: &Remote, start: Start, run: &str, pinned_accounts: Vec<String>) -> Result<i32> {
    let site = remote.site(&start.site).await?;
    let document_version = match start.document {
        Some(version) => version,
        None => newest_document(remote, site.id, &site.name).await?,
    };
    let request = NewReleaseRequest { site_id: site.id, document_version, run: run.to_owned(), pinned_accounts };
    let summary: ReleaseSummary = remote
        .post("/releases", &request)
        .await
        .with_context(|| format!("cannot start the {run} of {} with patch document v{document_version}", site.name))?;
    println!(
        "Release {}: {} of {} ({} workflow, patch document v{}, candidate {}), submitted by {}.",
        summary.id,
        if run == "production" { "production run" } else { "rehearsal" },
        summary.site,
        summary.workflow,
        summary.document_version,
        short(&summary.candidate_sha256),
        summary.submitted_by
    );
    followed(remote, summary.id, None, start.follow, false).await
}

async fn newest_document(remote: &Remote, site_id: i64, site_name: &str) -> Result<u32> {
    let documents: Vec<PatchDocumentRecord> = remote
        .get(&format!("/sites/{site_id}/patch-documents"))
        .await
        .with_context(|| format!("cannot list the patch documents of {site_name}"))?;
    let newest = documents.iter().map(|d| d.version).max().with_context(|| {
        format!("{site_name} has no patch document yet; save one on the site's page (`switchyard patch template` prints a start)")
    })?;
    u32::try_from(newest).context("the newest patch document version is out of range; pass --document")
}

/// Records approve, reject, confirm or rollback, then follows what the release does next.
async fn decision(remote: &Remote, decide: Decide, kind: &str) -> Result<i32> {
    let id = decide.id;
    // Entries already journaled are not news; the decision's own entry and what follows are.
    let before = follow::read(remote, id).await?;
    let seen = before.timeline.iter().map(|e| e.seq).max();
    let body = Decision { comment: decide.comment, acknowledge_rollback: decide.accept_rollback };
    let request = remote.request(Method::POST, &format!("/releases/{id}/{kind}")).json(&body);
    // The server records a decision once the step in progress is done, which for a watch
    // window can be many minutes: wait as long as the user would follow, saying so.
    let limit = Duration::from_secs(decide.follow.timeout.max(120));
    let recorded = remote.send_within::<ReleaseSummary>(request, limit);
    tokio::pin!(recorded);
    let mut patience = tokio::time::interval_at(tokio::time::Instant::now() + PATIENCE, PATIENCE);
    let summary = loop {
        tokio::select! {
            result = &mut recorded => break result.with_context(|| format!("cannot {kind} release {id}"))?,
            _ = patience.tick() => println!(
                "Still waiting for the server to record the {} (it finishes the release's current step first: {}).",
                past_tense(kind),
                before.summary.waiting_for
            ),
        }
    };
    println!("Release {id}: {} recorded; it is now {}.", past_tense(kind), summary.waiting_for);
    let rollback_requested = matches!(kind, "reject" | "rollback");
    followed(remote, id, seen, decide.follow, rollback_requested).await
}

async fn followed(remote: &Remote, id: i64, seen: Option<i64>, follow: FollowArgs, rollback_requested: bool) -> Result<i32> {
    if follow.no_follow {
        println!("Not following; follow it with `switchyard release watch {id}`.");
        return Ok(0);
    }
    let (ending, detail): (Ending, _) = follow::follow(remote, id, seen, Duration::from_secs(follow.timeout)).await?;
    follow::print_ending(ending, &detail);
    Ok(ending.exit_code(rollback_requested))
}

fn past_tense(kind: &str) -> &'static str {
    match kind {
        "approve" => "approval",
        "reject" => "rejection",
        "confirm" => "confirmation",
        _ => "rollback request",
    }
}

pub fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}
