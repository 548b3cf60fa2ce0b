//! `switchyard site go-live`: a site's first deployment onto the host of its production
//! environment, from a candidate already uploaded, so that releases can follow.

use crate::remote::{Remote, RemoteArgs};
use anyhow::Result;
use switchyard_api::{GoLive, WentLive};

#[derive(clap::Args)]
pub struct SiteArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    #[command(subcommand)]
    command: SiteCommand,
}

#[derive(clap::Subcommand)]
enum SiteCommand {
    /// Put a site live for the first time from an uploaded candidate (support staff).
    GoLive {
        /// The site, by id or name.
        #[arg(long)]
        site: String,
        /// sha256 of the uploaded candidate (see `switchyard candidate list`).
        #[arg(long)]
        candidate: String,
        /// The two ports the site's environments listen on, when its host is another machine
        /// (`--ports 8101,8102`); free ones are picked on this machine.
        #[arg(long, value_delimiter = ',', num_args = 2)]
        ports: Option<Vec<u16>>,
    },
}

pub async fn run(args: SiteArgs) -> Result<i32> {
    let remote = Remote::connect(&args.remote)?;
    match args.command {
        SiteCommand::GoLive { site, candidate, ports } => {
            let site = remote.site(&site).await?;
            let ports = ports.map(|p| [p[0], p[1]]);
            let request = GoLive { candidate_sha256: candidate, ports };
            let live: WentLive = remote.post(&format!("/sites/{}/go-live", site.id), &request).await?;
            println!("{} is live at {} (agent environment {}).", site.name, live.public_address, live.environment);
            Ok(0)
        }
    }
}
