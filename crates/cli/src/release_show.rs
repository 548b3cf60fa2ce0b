//! `switchyard release show|list`: one release in full (summary, stages, decisions, timeline)
//! and the release history as a table.

use crate::follow::{self, Ending};
use crate::remote::Remote;
use crate::table;
use anyhow::{Context, Result};
use reqwest::Method;
use switchyard_api::{HistoryFilter, HistoryPage, ReleaseDetail};

#[derive(clap::Args)]
pub struct ListArgs {
    /// Only this site's releases, by id or name.
    #[arg(long)]
    site: Option<String>,
    /// completed, failed, rejected, rolled-back or running.
    #[arg(long)]
    outcome: Option<String>,
    /// rehearsal or production.
    #[arg(long)]
    run: Option<String>,
    /// How many to show (at most 500).
    #[arg(long, default_value_t = 20)]
    limit: i64,
}

pub async fn show(remote: &Remote, id: i64) -> Result<i32> {
    let detail = follow::read(remote, id).await?;
    print!("{}", summary_text(&detail));
    println!("\nStages:");
    for stage in &detail.stages {
        println!("  {:>2}. {:<8} {}", stage.index + 1, stage.status, stage.title);
    }
    if !detail.decisions.is_empty() {
        println!("\nDecisions:");
        for d in &detail.decisions {
            let comment = if d.comment.is_empty() { String::new() } else { format!(": {}", d.comment) };
            println!("  {}  {} by {} ({}){comment}", table::timestamp(&d.at), d.decision, d.by, d.role);
        }
    }
    println!("\nTimeline (UTC):");
    for entry in &detail.timeline {
        follow::print_entry(entry, None);
    }
    println!();
    match Ending::of(&detail.summary) {
        Some(ending) => follow::print_ending(ending, &detail),
        None => println!("Release {id} is {}; follow it with `switchyard release watch {id}`.", detail.summary.waiting_for),
    }
    Ok(0)
}

fn summary_text(detail: &ReleaseDetail) -> String {
    let s = &detail.summary;
    let run = if s.run == "production" { "production run" } else { "rehearsal" };
    let mut out = format!("Release {}: {run} of {} ({})\n", s.id, s.site, s.customer);
    let mut field = |name: &str, value: String| out.push_str(&format!("  {name:<13} {value}\n"));
    field("status:", format!("{} ({})", s.status, s.waiting_for));
    field("workflow:", format!("{}, patch document v{}", s.workflow, s.document_version));
    let file = detail.candidate.as_ref().map(|c| format!(" ({})", c.filename)).unwrap_or_default();
    field("candidate:", format!("{}{file}", s.candidate_sha256));
    field("submitted:", format!("by {} at {} UTC", s.submitted_by, table::timestamp(&s.created_at)));
    match &s.finished_at {
        Some(at) => field(
            "finished:",
            format!("{} at {} UTC after {}", s.outcome.as_deref().unwrap_or("ended"), table::timestamp(at), table::seconds(s.duration_s)),
        ),
        None => field("running for:", table::seconds(s.duration_s)),
    }
    if s.finished_at.is_some() {
        field("cost:", follow::cost(s));
    }
    if let Some(rollback) = &detail.evidence.rollback {
        let ask = if rollback.needs_acknowledgement { " (approve with --accept-rollback once read)" } else { "" };
        field("rollback:", format!("{}{ask}", rollback.words));
        if let Some(warning) = &rollback.cutover_warning {
            field("cutover:", warning.clone());
        }
    }
    for replay in &detail.evidence.replays {
        field("data:", replay.clone());
    }
    field("you may:", if detail.allowed.is_empty() { "take no decision now".to_owned() } else { detail.allowed.join(", ") });
    out
}

pub async fn list(remote: &Remote, args: ListArgs) -> Result<i32> {
    let site_id = match &args.site {
        Some(site) => Some(remote.site(site).await?.id),
        None => None,
    };
    let filter = HistoryFilter { site_id, outcome: args.outcome, run: args.run, limit: Some(args.limit), ..HistoryFilter::default() };
    let page: HistoryPage =
        remote.send(remote.request(Method::GET, "/releases").query(&filter)).await.context("cannot list the releases")?;
    if page.releases.is_empty() {
        println!("No releases match.");
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = page
        .releases
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.site.clone(),
                r.run.clone(),
                r.workflow.clone(),
                format!("v{}", r.document_version),
                r.status.clone(),
                r.submitted_by.clone(),
                table::timestamp(&r.created_at),
                table::seconds(r.duration_s),
                r.downtime_ms.map_or_else(|| "-".to_owned(), |ms| table::seconds(ms as f64 / 1000.0)),
                r.failed_requests.map_or_else(|| "-".to_owned(), |n| n.to_string()),
            ]
        })
        .collect();
    table::print(&["ID", "SITE", "RUN", "WORKFLOW", "DOC", "STATUS", "BY", "CREATED (UTC)", "DURATION", "DOWNTIME", "FAILED REQ"], &rows);
    if page.total > page.releases.len() as i64 {
        println!("({} of {} releases; --limit shows more)", page.releases.len(), page.total);
    }
    Ok(0)
}
