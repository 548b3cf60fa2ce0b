//! `switchyard patch`: check a patch document or print a workflow's template, offline, so a
//! customer's own CI can refuse a broken runbook before anyone uploads it; and save one to a
//! site on a server, as its next version.

use crate::remote::{Remote, RemoteArgs};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use switchyard_api::{PatchDocumentDraft, PatchDocumentRecord};
use switchyard_core::patch::{PatchDocument, WorkflowKind};

#[derive(clap::Subcommand)]
pub enum PatchCommand {
    /// Check a patch document; prints its steps, or every problem as `FILE:LINE: message`.
    Validate {
        /// The document (TOML); `-` reads standard input.
        file: PathBuf,
    },
    /// Print a starting document for a workflow that validates as it is.
    Template {
        /// no-migration, migration, low-downtime-migration, minor-patch, blue-green or rollout.
        workflow: String,
        /// The site's name as Switchyard knows it.
        #[arg(long)]
        site: String,
        /// The version the site will have after the release.
        #[arg(long, default_value = "1.0.0")]
        target_version: String,
        /// sha256 of the release candidate.
        #[arg(long, default_value = "0000000000000000000000000000000000000000000000000000000000000000")]
        candidate_sha256: String,
    },
    /// Store a patch document from a file as the site's next version, on the server (checked
    /// here first, then by the server); prints the version it was given.
    Save(SaveArgs),
}

#[derive(clap::Args)]
pub struct SaveArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    /// The site, by id or name.
    #[arg(long)]
    site: String,
    /// The document (TOML); `-` reads standard input.
    file: PathBuf,
}

fn read_document(file: &Path) -> Result<String> {
    if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read the document from standard input")
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
    }
}

/// Prints every problem as `FILE:LINE: message`; true when there were none.
fn report(file: &Path, source: &str) -> bool {
    match PatchDocument::parse(source) {
        Ok(_) => true,
        Err(problems) => {
            for problem in &problems.0 {
                eprintln!("{}:{}: {}", file.display(), problem.line, problem.message);
            }
            eprintln!("{} problem(s); nothing was changed", problems.0.len());
            false
        }
    }
}

/// `switchyard patch save`: exit code 0 saved, 1 the document has problems, 2 any other error.
async fn save(args: SaveArgs) -> Result<i32> {
    let source = read_document(&args.file)?;
    if !report(&args.file, &source) {
        return Ok(1);
    }
    let remote = Remote::connect(&args.remote)?;
    let site = remote.site(&args.site).await?;
    let saved: PatchDocumentRecord = remote
        .post(&format!("/sites/{}/patch-documents", site.id), &PatchDocumentDraft { toml: source })
        .await
        .with_context(|| format!("cannot save {} for site {}", args.file.display(), site.name))?;
    println!(
        "Saved {} as version {} of {}'s patch documents ({} to {}).",
        args.file.display(),
        saved.version,
        site.name,
        saved.workflow,
        saved.target_version
    );
    println!("{}", saved.summary);
    Ok(0)
}

/// Runs the command; `Ok(1)` means the document is invalid, `Ok(0)` all went well.
pub async fn run(command: PatchCommand) -> Result<i32> {
    match command {
        PatchCommand::Validate { file } => {
            let source = read_document(&file)?;
            if !report(&file, &source) {
                return Ok(1);
            }
            let document = PatchDocument::parse(&source).expect("reported valid above");
            println!(
                "{}: valid {} document for {}, {} steps",
                file.display(),
                document.workflow.as_str(),
                document.site,
                document.steps.len()
            );
            println!("{}", document.summary());
            Ok(0)
        }
        PatchCommand::Template { workflow, site, target_version, candidate_sha256 } => {
            let kind: WorkflowKind = workflow.parse().map_err(anyhow::Error::msg)?;
            let document = PatchDocument::template(kind, &site, &target_version, &candidate_sha256);
            if let Err(problems) = document.validate() {
                anyhow::bail!("the template does not validate with these values:\n{problems}");
            }
            print!("{}", document.to_toml());
            Ok(0)
        }
        PatchCommand::Save(args) => save(args).await,
    }
}
