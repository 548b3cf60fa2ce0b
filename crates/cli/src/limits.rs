//! `switchyard serve`'s limits on release candidates: storage quotas and how far one candidate
//! may unpack (checked at upload and sent to the agent with every unpack).

use switchyard_service::CandidateLimits;

#[derive(clap::Args, Debug, Clone)]
pub struct CandidateLimitArgs {
    /// Bytes all sites' candidates may take together (each file counted once).
    #[arg(long, default_value_t = CandidateLimits::default().total_bytes)]
    candidate_quota_total_bytes: u64,
    /// Bytes one site's candidates may take.
    #[arg(long, default_value_t = CandidateLimits::default().site_bytes)]
    candidate_quota_site_bytes: u64,
    /// Bytes of files one candidate may unpack to (stops gzip bombs at upload and on the host).
    #[arg(long, default_value_t = CandidateLimits::default().max_unpacked_bytes)]
    candidate_max_unpacked_bytes: u64,
    /// Files, directories and links one candidate may hold.
    #[arg(long, default_value_t = CandidateLimits::default().max_entries)]
    candidate_max_entries: u64,
}

impl From<CandidateLimitArgs> for CandidateLimits {
    fn from(args: CandidateLimitArgs) -> Self {
        CandidateLimits {
            total_bytes: args.candidate_quota_total_bytes,
            site_bytes: args.candidate_quota_site_bytes,
            max_unpacked_bytes: args.candidate_max_unpacked_bytes,
            max_entries: args.candidate_max_entries,
        }
    }
}
