//! `switchyard site capture-window`: how many hours after a low-downtime migration's cutover a
//! rollback still keeps every write, shown, or set by support staff (`--hours 72`, `--clear`
//! for the default).

use crate::remote::Remote;
use anyhow::{Context, Result};
use switchyard_api::{CaptureWindow, CaptureWindowDraft};

#[derive(clap::Args)]
pub struct CaptureWindowArgs {
    /// The site, by id or name.
    #[arg(long)]
    site: String,
    /// Whole hours from 1 to 720 (30 days).
    #[arg(long, conflicts_with = "clear")]
    hours: Option<u32>,
    /// Go back to Switchyard's default.
    #[arg(long)]
    clear: bool,
}

pub async fn run(remote: &Remote, args: CaptureWindowArgs) -> Result<i32> {
    let site = remote.site(&args.site).await?;
    let path = format!("/sites/{}/capture-window", site.id);
    let window: CaptureWindow = if args.hours.is_some() || args.clear {
        remote
            .put(&path, &CaptureWindowDraft { hours: args.hours })
            .await
            .with_context(|| format!("cannot set the capture window of site {}", site.name))?
    } else {
        remote.get(&path).await.with_context(|| format!("cannot read the capture window of site {}", site.name))?
    };
    println!("{}", describe(&site.name, &window));
    Ok(0)
}

fn describe(site: &str, window: &CaptureWindow) -> String {
    let from = if window.site_own { "set for the site" } else { "Switchyard's default" };
    format!(
        "Capture window of {site}: {} hours ({from}). A low-downtime migration's rollback keeps every write for this long after its cutover.",
        window.hours
    )
}
