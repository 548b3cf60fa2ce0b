//! `switchyard patch`: check a patch document or print a workflow's template, offline, so a
//! customer's own CI can refuse a broken runbook before anyone uploads it.

use anyhow::{Context, Result};
use std::path::PathBuf;
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
        /// no-migration, migration, minor-patch, blue-green or rollout.
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
}

/// Runs the command; `Ok(false)` means the document is invalid (exit code 1).
pub fn run(command: PatchCommand) -> Result<bool> {
    match command {
        PatchCommand::Validate { file } => {
            let source = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("cannot read the document from standard input")?
            } else {
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?
            };
            match PatchDocument::parse(&source) {
                Ok(document) => {
                    println!("{}: valid {} document for {}, {} steps", file.display(), document.workflow.as_str(), document.site, document.steps.len());
                    println!("{}", document.summary());
                    Ok(true)
                }
                Err(problems) => {
                    for problem in &problems.0 {
                        eprintln!("{}:{}: {}", file.display(), problem.line, problem.message);
                    }
                    eprintln!("{} problem(s); nothing was changed", problems.0.len());
                    Ok(false)
                }
            }
        }
        PatchCommand::Template { workflow, site, target_version, candidate_sha256 } => {
            let kind: WorkflowKind = workflow.parse().map_err(anyhow::Error::msg)?;
            let document = PatchDocument::template(kind, &site, &target_version, &candidate_sha256);
            if let Err(problems) = document.validate() {
                anyhow::bail!("the template does not validate with these values:\n{problems}");
            }
            print!("{}", document.to_toml());
            Ok(true)
        }
    }
}
