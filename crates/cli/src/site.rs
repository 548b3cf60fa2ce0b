//! `switchyard site`: `go-live` (a site's first deployment onto the host of its production
//! environment, from a candidate already uploaded, so that releases can follow; repeated after
//! a failure it continues the same attempt, and `--abandon` gives the attempt up), `runtime`
//! (the site's default runtime manifest), `limits` (its candidate limits, `site_limits.rs`), `capture-window` (how long a low-downtime migration's rollback keeps every write, `site_capture_window.rs`), `databases` (its databases and leftover copies, `site_databases.rs`), `adopt` (take over a site already running on its host)
//! and `list`/`show`.

use crate::remote::{Remote, RemoteArgs};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use switchyard_api::{AdoptSite, GoLive, GoLiveAbandoned, Site, SiteDatabase, SiteRuntime, WentLive};

#[derive(clap::Args)]
pub struct SiteArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    #[command(subcommand)]
    command: SiteCommand,
}

/// What `site go-live --help` tells a site's developer their candidate must hold.
const GO_LIVE_HELP: &str = "\
The candidate is checked before anything is created on the host: it must be a readable
.tar.gz whose entries stay inside the release, and it must say how the site starts:

  switchyard.toml at its root:
    [web]     command = \"gunicorn --bind 127.0.0.1:$PORT app.wsgi\"   (required)
              port_variable, stop_signal, stop_timeout_secs            (optional)
    [health]  http_path = \"/health\" (+ expect_status), or command = \"...\", or tcp = true;
              timeout_secs; default: the port accepts a connection
    [migrate] command, down, timeout_secs                               (optional)
    [data]    sqlite = [\"db.sqlite3\"], paths = [\"uploads\"]  (relative to $DATA_DIR)
    [env]     NAME = \"value with ${DATA_DIR}\"
  or a Procfile at its root (web: <command>, release: <migration command>),
  or (legacy) an executable bin/site, run as `bin/site serve`, healthy when GET /health is 2xx.
A candidate with none of these goes live when the site has a runtime manifest
(`switchyard site runtime --site X switchyard.toml`): the host runs it by that one.

The site runs in its release directory with PORT (the port to listen on), DATA_DIR (its data
volume, shared by both versions in a release), SHARED_DIR, RELEASE_DIR and SWITCHYARD_ENV set.
It must turn healthy, or the go-live stops with the site's last log lines.

A go-live that failed is continued by running the same command again (with the same or a
fixed candidate): steps already done are not repeated. `--abandon` removes what it created on
the host (environment, routes) so a fresh go-live can start.";

#[derive(clap::Subcommand)]
enum SiteCommand {
    /// Put a site live for the first time from an uploaded candidate (support staff).
    #[command(after_long_help = GO_LIVE_HELP)]
    GoLive {
        /// The site, by id or name.
        #[arg(long)]
        site: String,
        /// sha256 of the uploaded candidate (see `switchyard candidate list`).
        #[arg(long, required_unless_present = "abandon")]
        candidate: Option<String>,
        /// The two ports the site's environments listen on (`--ports 8101,8102`); left out, the
        /// host's agent chooses free ones.
        #[arg(long, value_delimiter = ',', num_args = 2)]
        ports: Option<Vec<u16>>,
        /// A database the site keeps its data in, as `[NAME=]SERVER/DATABASE/USER` (repeatable):
        /// SERVER is one of the host's `databases.toml`, which holds USER's password.
        #[arg(long = "database", value_parser = parse_database)]
        databases: Vec<SiteDatabase>,
        /// The version the candidate is (`1.0.0`), recorded with the go-live so the dashboard
        /// says what production runs before any release names it.
        #[arg(long = "as-version")]
        as_version: Option<String>,
        /// Give up the site's failed go-live: remove its environment and routes from the host.
        #[arg(long, conflicts_with_all = ["candidate", "ports"])]
        abandon: bool,
    },
    /// Set the site's default runtime manifest from a switchyard.toml file, used for releases
    /// that ship neither a switchyard.toml nor a Procfile (support staff).
    #[command(after_long_help = RUNTIME_HELP)]
    Runtime {
        /// The site, by id or name.
        #[arg(long)]
        site: String,
        /// The switchyard.toml to use (`-` reads standard input).
        #[arg(required_unless_present = "clear")]
        file: Option<PathBuf>,
        /// Remove the site's runtime manifest.
        #[arg(long, conflicts_with = "file")]
        clear: bool,
    },
    /// Take over a site already running on the host of its production environment, so the
    /// next release follows from it; nothing is reinstalled or restarted (support staff).
    #[command(after_long_help = ADOPT_HELP)]
    Adopt {
        /// The site, by id or name.
        #[arg(long)]
        site: String,
        /// The absolute directory the running site is in, on its host.
        #[arg(long)]
        dir: String,
        /// The port it listens on (on the host's 127.0.0.1).
        #[arg(long)]
        port: u16,
        /// The directory it keeps its data in (absolute, or relative to --dir).
        #[arg(long = "data")]
        data_dir: Option<String>,
        /// How it is started, for the record (Switchyard does not run it).
        #[arg(long)]
        command: Option<String>,
    },
    /// Show the site's limits on its release candidates and where each comes from, or set
    /// its own (support staff): `--quota 10GiB --max-unpacked 4GiB --max-entries 200000`.
    Limits(crate::site_limits::LimitsArgs),
    /// Show how many hours after a low-downtime migration's cutover a rollback keeps every
    /// write, or set the site's own (support staff): `--hours 72`, `--clear`.
    CaptureWindow(crate::site_capture_window::CaptureWindowArgs),
    /// List the site's databases on its hosts' database servers (sizes, which environment
    /// uses each, leftover copies), or remove a leftover copy (support staff):
    /// `--remove main/shop_1a2b3c4d`.
    Databases(crate::site_databases::DatabasesArgs),
    /// List the sites you may see.
    List,
    /// Show a site: its key, customer and runtime manifest.
    Show {
        /// The site, by id or name.
        #[arg(long)]
        site: String,
    },
}

const ADOPT_HELP: &str = "\
The host's agent records the running process as environment <key>-blue and routes the site's
public address through its router to the port; the process is not restarted, and visitors who
reach it directly keep reaching it. The next release (no-migration or blue-green) is cloned from
it: the data directory is copied (or, in blue-green production, shared in place), and a rollback
returns to it. The agent never stops or restarts the adopted process; stop it yourself once a
release has replaced it. Refused when the site is already live, the directory is missing on the
host or nothing answers on the port. A failed adoption is continued by the same command, or
given up with `switchyard site go-live --site X --abandon` (the process keeps running).";

const RUNTIME_HELP: &str = "\
The file has the form of a candidate's switchyard.toml (see `switchyard site go-live --help`)
and is checked before it is stored; a problem is reported as switchyard.toml:LINE: message.
The host gets it when the site goes live; releases follow from the live environment.";

pub async fn run(args: SiteArgs) -> Result<i32> {
    let remote = Remote::connect(&args.remote)?;
    match args.command {
        SiteCommand::Limits(limits) => crate::site_limits::run(&remote, limits).await,
        SiteCommand::CaptureWindow(window) => crate::site_capture_window::run(&remote, window).await,
        SiteCommand::Databases(databases) => crate::site_databases::run(&remote, databases).await,
        SiteCommand::Runtime { site, file, clear } => {
            let site = remote.site(&site).await?;
            let manifest = match (file, clear) {
                (_, true) | (None, _) => None,
                (Some(path), false) if path.as_os_str() == "-" => {
                    Some(std::io::read_to_string(std::io::stdin()).context("cannot read the runtime manifest from standard input")?)
                }
                (Some(path), false) => Some(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}; give the path of a switchyard.toml", path.display()))?,
                ),
            };
            let path = format!("/sites/{}/runtime", site.id);
            let saved: Site = remote
                .put(&path, &SiteRuntime { manifest })
                .await
                .with_context(|| format!("cannot set the runtime manifest of site {}", site.name))?;
            match &saved.runtime_manifest {
                Some(text) => println!("Runtime manifest of {} set ({} lines).", saved.name, text.lines().count()),
                None => println!("{} has no runtime manifest now.", saved.name),
            }
            Ok(0)
        }
        SiteCommand::Adopt { site, dir, port, data_dir, command } => {
            let site = remote.site(&site).await?;
            let request = AdoptSite { dir, port, data_dir, command };
            let live: WentLive = remote
                .post(&format!("/sites/{}/adopt", site.id), &request)
                .await
                .with_context(|| format!("cannot adopt site {}", site.name))?;
            println!(
                "{} is adopted: {} now reaches the process on port {port} through the host's router (agent environment {}, go-live {}).",
                site.name, live.public_address, live.environment, live.go_live_id
            );
            Ok(0)
        }
        SiteCommand::List => {
            let sites: Vec<Site> = remote.get("/sites").await.context("cannot list the sites")?;
            let rows: Vec<Vec<String>> = sites
                .iter()
                .map(|s| {
                    let runtime = if s.runtime_manifest.is_some() { "yes" } else { "-" };
                    vec![s.id.to_string(), s.name.clone(), s.key.clone(), s.customer_name.clone(), runtime.to_owned()]
                })
                .collect();
            crate::table::print(&["ID", "NAME", "KEY", "CUSTOMER", "RUNTIME MANIFEST"], &rows);
            Ok(0)
        }
        SiteCommand::Show { site } => {
            let site = remote.site(&site).await?;
            print!("{}", describe(&site));
            Ok(0)
        }
        SiteCommand::GoLive { site, abandon: true, .. } => {
            let site = remote.site(&site).await?;
            let path = format!("/sites/{}/go-live/abandon", site.id);
            let gone: GoLiveAbandoned = remote.post(&path, &serde_json::json!({})).await?;
            println!(
                "Go-live {} of {} abandoned: environment {} removed{}.",
                gone.go_live_id,
                site.name,
                gone.environment,
                if gone.routes_removed { " with its routes" } else { "" }
            );
            Ok(0)
        }
        SiteCommand::GoLive { site, candidate, ports, databases, as_version, .. } => {
            let Some(candidate) = candidate else { bail!("name the candidate with --candidate <sha256>") };
            let site = remote.site(&site).await?;
            let ports = ports.map(|p| [p[0], p[1]]);
            let request = GoLive { candidate_sha256: candidate, ports, databases, version: as_version };
            let live: WentLive = remote.post(&format!("/sites/{}/go-live", site.id), &request).await?;
            println!(
                "{} is live at {} (agent environment {}, go-live {}).",
                site.name, live.public_address, live.environment, live.go_live_id
            );
            Ok(0)
        }
    }
}

/// What `site show` prints.
fn describe(site: &Site) -> String {
    let mut out = format!("Site {} ({}), key {}, customer {}\n", site.id, site.name, site.key, site.customer_name);
    match &site.runtime_manifest {
        Some(text) => {
            out.push_str("Runtime manifest (for releases without switchyard.toml or Procfile):\n");
            for line in text.lines() {
                out.push_str(&format!("  {line}\n"));
            }
        }
        None => out.push_str("No runtime manifest: each release must say how it starts.\n"),
    }
    out
}

/// `[NAME=]SERVER/DATABASE/USER`, as `--database` takes it.
fn parse_database(text: &str) -> Result<SiteDatabase, String> {
    let (name, rest) = match text.split_once('=') {
        Some((name, rest)) => (name.to_owned(), rest),
        None => ("default".to_owned(), text),
    };
    match rest.split('/').collect::<Vec<_>>()[..] {
        [server, database, user] if !server.is_empty() && !database.is_empty() && !user.is_empty() => {
            Ok(SiteDatabase { name, server: server.into(), database: database.into(), user: user.into() })
        }
        _ => Err(format!("{text:?} is not [NAME=]SERVER/DATABASE/USER, e.g. main/shop/shop")),
    }
}
