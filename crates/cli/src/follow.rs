//! Following a release live: poll `GET /releases/{id}` every second, print each new timeline
//! entry and where the release is, until it waits for a person, ends, or the time is up.

use crate::remote::{ApiFailure, Remote};
use crate::table;
use anyhow::{Context, Result};
use std::io::Write;
use std::time::{Duration, Instant};
use switchyard_api::{ReleaseDetail, ReleaseSummary, TimelineEntry};

/// How often the release is read again.
const POLL: Duration = Duration::from_secs(1);
/// Command output shown per timeline entry while following; `release show` shows all of it.
const OUTPUT_LINES: usize = 12;
/// Failed reads in a row (server restarting, network) tolerated before giving up.
const READ_ATTEMPTS: u32 = 10;

/// Where a followed release stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// At an approval or confirmation gate, waiting for a person.
    Waiting,
    Completed,
    RolledBack,
    /// Its rollback could not finish; a person has to look and request it again.
    Stalled,
}

impl Ending {
    /// `None` while it runs.
    pub fn of(summary: &ReleaseSummary) -> Option<Self> {
        match summary.status.as_str() {
            "waiting" => Some(Self::Waiting),
            "completed" => Some(Self::Completed),
            "rolled-back" => Some(Self::RolledBack),
            "stalled" => Some(Self::Stalled),
            _ => None,
        }
    }

    /// 0 when it completed or waits at a gate, or ended rolled back because the user asked
    /// for that (a rollback or a rejection); 1 when it ended rolled back otherwise or stalled.
    pub fn exit_code(self, rollback_requested: bool) -> i32 {
        match self {
            Self::Waiting | Self::Completed => 0,
            Self::RolledBack if rollback_requested => 0,
            Self::RolledBack | Self::Stalled => 1,
        }
    }
}

/// Reads a release, retrying a few times when the server does not answer (but not when it
/// answers with an error, which retrying would not change).
pub async fn read(remote: &Remote, id: i64) -> Result<ReleaseDetail> {
    let mut attempt = 1;
    loop {
        match remote.get::<ReleaseDetail>(&format!("/releases/{id}")).await {
            Ok(detail) => return Ok(detail),
            Err(e) if e.downcast_ref::<ApiFailure>().is_none() && attempt < READ_ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(POLL).await;
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read release {id}")),
        }
    }
}

/// Follows release `id`, printing timeline entries after `seen` (all when `None`), and
/// reports how it stopped. Stops with an error after `timeout`.
pub async fn follow(remote: &Remote, id: i64, seen: Option<i64>, timeout: Duration) -> Result<(Ending, ReleaseDetail)> {
    let deadline = Instant::now() + timeout;
    let mut seen = seen.unwrap_or(i64::MIN);
    let mut place = String::new();
    println!("Following release {id} (Ctrl-C stops following; the release goes on without you).");
    loop {
        let detail = read(remote, id).await?;
        for entry in &detail.timeline {
            if entry.seq > seen {
                print_entry(entry, Some(OUTPUT_LINES));
                seen = entry.seq;
            }
        }
        let now = where_it_is(&detail);
        if now != place {
            println!("  ▸ {now}");
            place = now;
        }
        let _ = std::io::stdout().flush();
        if let Some(ending) = Ending::of(&detail.summary) {
            let detail = if ending == Ending::Waiting { detail } else { measured(remote, detail).await };
            return Ok((ending, detail));
        }
        if Instant::now() >= deadline {
            anyhow::bail!(
                "stopped following release {id} after {} s (--timeout); it is still {}; follow it again with `switchyard release watch {id}`",
                timeout.as_secs(),
                detail.summary.waiting_for
            );
        }
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// Downtime and failed requests are recorded just after a release ends; wait a few seconds
/// for them rather than report "not measured" too early.
async fn measured(remote: &Remote, mut detail: ReleaseDetail) -> ReleaseDetail {
    for _ in 0..5 {
        if detail.summary.downtime_ms.is_some() {
            break;
        }
        tokio::time::sleep(POLL).await;
        match read(remote, detail.summary.id).await {
            Ok(again) => detail = again,
            Err(_) => break,
        }
    }
    detail
}

/// `stage 3 of 5: swap addresses (running)`, or the release's own words when it is not at a
/// stage (rolling back, finished).
fn where_it_is(detail: &ReleaseDetail) -> String {
    let total = detail.stages.len();
    match detail.stages.iter().find(|s| s.status == "running" || s.status == "waiting") {
        Some(stage) if detail.summary.status != "completed" => {
            format!("stage {} of {total}: {} ({})", stage.index + 1, stage.title, stage.status)
        }
        _ => detail.summary.waiting_for.clone(),
    }
}

/// One timeline entry: time and event, the command output indented, the commands sent next.
pub fn print_entry(entry: &TimelineEntry, max_output_lines: Option<usize>) {
    println!("{}  #{:<3} {}", table::clock(&entry.at), entry.seq, entry.event);
    let lines: Vec<&str> = entry.output.lines().filter(|l| !l.trim().is_empty()).collect();
    let shown = max_output_lines.map_or(lines.len(), |max| max.min(lines.len()));
    for line in &lines[lines.len() - shown..] {
        println!("                | {line}");
    }
    if shown < lines.len() {
        println!("                | ({} earlier lines; `switchyard release show` prints them all)", lines.len() - shown);
    }
    for command in &entry.commands {
        println!("                next: {command}");
    }
}

/// What happened at the end, in words, with the command to continue when there is one.
pub fn print_ending(ending: Ending, detail: &ReleaseDetail) {
    let s = &detail.summary;
    let id = s.id;
    match ending {
        Ending::Waiting => {
            println!("Release {id} is {}.", s.waiting_for);
            let confirmation = s.waiting_for.contains("confirmation");
            let (yes, comment) = if confirmation { ("confirm", "what you checked") } else { ("approve", "why") };
            println!("Continue with:  switchyard release {yes} {id} --comment \"{comment}\"");
            println!("or stop it:     switchyard release reject {id} --comment \"why not\"");
            if !detail.allowed.iter().any(|d| d == yes) {
                let who = if confirmation { "the site's customer" } else { "a support user other than the submitter" };
                println!("(Not yours to {yes}: {who} does.)");
            }
        }
        Ending::Completed => {
            println!("Release {id} completed: {}.", cost(s));
            if s.run == "production" {
                println!("Roll it back if needed with:  switchyard release rollback {id} --comment \"why\"");
            } else if let Some(site) = s.site_id {
                println!("Run it in production with:  switchyard release run --site {site} --document {}", s.document_version);
            }
        }
        Ending::RolledBack => {
            println!("Release {id} rolled back: {}.", cost(s));
            if let Some(why) = reason(detail) {
                println!("Why: {why}");
            }
        }
        Ending::Stalled => {
            println!("Release {id} is {}.", s.waiting_for);
            println!("Look at the host, then retry with:  switchyard release rollback {id} --comment \"retry\"");
        }
    }
}

/// `downtime 0.35 s, 0 failed requests`.
pub fn cost(s: &ReleaseSummary) -> String {
    let seconds = |ms: i64| table::seconds(ms as f64 / 1000.0);
    let part = |downtime: Option<i64>, held: Option<i64>, failed: Option<i64>| {
        let downtime = downtime.map_or_else(|| "downtime not measured".to_owned(), |ms| format!("downtime {}", seconds(ms)));
        let held = held.filter(|ms| *ms > 0).map(|ms| format!(" ({} of it held)", seconds(ms))).unwrap_or_default();
        let failed = failed.map_or_else(|| "failed requests not counted".to_owned(), |n| format!("{n} failed request(s)"));
        format!("{downtime}{held}, {failed}")
    };
    let run = part(s.downtime_ms, s.held_ms, s.failed_requests);
    match s.rollback_downtime_ms {
        Some(_) => {
            format!("production run: {run}; rollback: {}", part(s.rollback_downtime_ms, s.rollback_held_ms, s.rollback_failed_requests))
        }
        None => run,
    }
}

/// The newest failure or request that turned the release back.
fn reason(detail: &ReleaseDetail) -> Option<String> {
    let turned = |e: &&TimelineEntry| {
        e.event.starts_with("failed")
            || e.event.contains("check failed")
            || e.event.starts_with("rejected by")
            || e.event.starts_with("rollback requested by")
    };
    let entry = detail.timeline.iter().rev().find(turned)?;
    let first_line = entry.output.lines().map(str::trim).find(|l| !l.is_empty());
    Some(match first_line {
        Some(line) => format!("{}: {line}", entry.event),
        None => entry.event.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unrequested_rollback_or_a_stall_fails_the_command() {
        assert_eq!(Ending::Waiting.exit_code(false), 0);
        assert_eq!(Ending::Completed.exit_code(false), 0);
        assert_eq!(Ending::RolledBack.exit_code(true), 0);
        assert_eq!(Ending::RolledBack.exit_code(false), 1);
        assert_eq!(Ending::Stalled.exit_code(true), 1);
    }
}
