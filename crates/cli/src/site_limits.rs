//! `switchyard site limits`: a site's own limits on its release candidates (quota, largest
//! unpacked size, most entries), shown with where each comes from, or set by support staff.
//! Sizes read as people write them (`2GiB`, `500MiB`); a limit left out keeps its value.

use crate::remote::Remote;
use anyhow::{bail, Context, Result};
use switchyard_api::{CandidateLimitsDraft, EffectiveLimit, LimitSource, SiteCandidateLimits, SiteDetail};
use switchyard_core::candidate_limits::{human_size, parse_size};

#[derive(clap::Args)]
pub struct LimitsArgs {
    /// The site, by id or name.
    #[arg(long)]
    site: String,
    /// Compressed bytes the site's candidates may take together (`5GiB`).
    #[arg(long, value_parser = size)]
    quota: Option<u64>,
    /// Bytes of files one candidate may unpack to (`2GiB`).
    #[arg(long, value_parser = size)]
    max_unpacked: Option<u64>,
    /// Files, directories and links one candidate may hold.
    #[arg(long)]
    max_entries: Option<u64>,
    /// Go back to the server's defaults (for every limit not given with this command).
    #[arg(long)]
    clear: bool,
}

fn size(text: &str) -> std::result::Result<u64, String> {
    parse_size(text)
}

pub async fn run(remote: &Remote, args: LimitsArgs) -> Result<i32> {
    let site = remote.site(&args.site).await?;
    let detail: SiteDetail = remote.get(&format!("/sites/{}", site.id)).await.with_context(|| format!("cannot read site {}", site.name))?;
    let Some(current) = detail.candidate_limits else {
        bail!("the server does not report candidate limits per site; upgrade switchyard serve");
    };
    let changing = args.clear || args.quota.is_some() || args.max_unpacked.is_some() || args.max_entries.is_some();
    if !changing {
        print!("{}", describe(&site.name, &current));
        return Ok(0);
    }
    let own = |limit: EffectiveLimit| (limit.source == LimitSource::Site && !args.clear).then_some(limit.value);
    let draft = CandidateLimitsDraft {
        quota_bytes: args.quota.or(own(current.quota_bytes)),
        max_unpacked_bytes: args.max_unpacked.or(own(current.max_unpacked_bytes)),
        max_entries: args.max_entries.or(own(current.max_entries)),
    };
    let saved: SiteCandidateLimits = remote
        .put(&format!("/sites/{}/candidate-limits", site.id), &draft)
        .await
        .with_context(|| format!("cannot set the candidate limits of site {}", site.name))?;
    print!("{}", describe(&site.name, &saved));
    Ok(0)
}

/// What `site limits` prints: each limit, its value and where it comes from.
fn describe(site: &str, limits: &SiteCandidateLimits) -> String {
    let line = |name: &str, limit: EffectiveLimit, show: &dyn Fn(u64) -> String| {
        let from = match limit.source {
            LimitSource::Site => format!("set for the site (server default {})", show(limit.server_default)),
            LimitSource::Server => "server default".to_owned(),
        };
        format!("  {name:<13} {:<12} {from}\n", show(limit.value))
    };
    let count = |n: u64| n.to_string();
    let mut out = format!("Candidate limits of {site}:\n");
    out.push_str(&line("quota", limits.quota_bytes, &human_size));
    out.push_str(&line("max unpacked", limits.max_unpacked_bytes, &human_size));
    out.push_str(&line("max entries", limits.max_entries, &count));
    out.push_str(&format!("No site may pass the server's total quota of {}.\n", human_size(limits.server_total_bytes)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_print_with_where_each_comes_from() {
        let limits = SiteCandidateLimits {
            quota_bytes: EffectiveLimit::of(None, 5 << 30),
            max_unpacked_bytes: EffectiveLimit::of(Some(1 << 30), 2 << 30),
            max_entries: EffectiveLimit::of(Some(500), 100_000),
            server_total_bytes: 20 << 30,
        };
        assert_eq!(
            describe("Shop", &limits),
            "Candidate limits of Shop:\n  quota         5 GiB        server default\n  max unpacked  1 GiB        set for the site (server default 2 GiB)\n  max entries   500          set for the site (server default 100000)\nNo site may pass the server's total quota of 20 GiB.\n"
        );
    }
}
