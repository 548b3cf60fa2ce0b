//! Writes a document back as canonical TOML (fixed key order, so that two versions diff
//! cleanly) and as a one-line-per-step summary for reviewers.

use super::action::Action;
use super::PatchDocument;
use std::fmt::Write;

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

pub fn toml(doc: &PatchDocument) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "[patch]");
    let _ = writeln!(out, "site = {}", quoted(&doc.site));
    let _ = writeln!(out, "version = {}", doc.version);
    let _ = writeln!(out, "target_version = {}", quoted(&doc.target_version));
    let _ = writeln!(out, "candidate_sha256 = {}", quoted(&doc.candidate_sha256));
    let _ = writeln!(out, "workflow = {}", quoted(doc.workflow.as_str()));
    for step in &doc.steps {
        let _ = writeln!(out, "\n[[step]]");
        action_keys(&mut out, &step.action);
        if let Some(note) = &step.note {
            let _ = writeln!(out, "note = {}", quoted(note));
        }
        if let Some(rollback) = &step.rollback {
            let _ = writeln!(out, "\n[step.rollback]");
            action_keys(&mut out, rollback);
        }
    }
    out
}

fn action_keys(out: &mut String, action: &Action) {
    let _ = writeln!(out, "action = {}", quoted(action.name()));
    let _ = match action {
        Action::DeployCandidate | Action::MoveToTemporaryAddress | Action::SwapAddresses => Ok(()),
        Action::RunCommand { command, timeout_secs, migration, compatible_with_previous } => {
            writeln!(out, "command = {}\ntimeout_secs = {timeout_secs}\nmigration = {migration}", quoted(command)).and_then(|()| {
                // Written only when set, so documents without expand steps render as before.
                if *compatible_with_previous {
                    writeln!(out, "compatible_with_previous = true")
                } else {
                    Ok(())
                }
            })
        }
        Action::SyncData { scope } => writeln!(out, "scope = {}", quoted(scope.as_str())),
        Action::SiteDownPage { on } => writeln!(out, "on = {on}"),
        Action::HealthCheck { path, expect_status, retries } => {
            writeln!(out, "path = {}\nexpect_status = {expect_status}\nretries = {retries}", quoted(path))
        }
        Action::ApprovalGate { role } => writeln!(out, "role = {}", quoted(role.as_str())),
        Action::WaitAndWatch { duration_secs, max_5xx_increase } => {
            writeln!(out, "duration_secs = {duration_secs}\nmax_5xx_increase = {}", toml::Value::Float(*max_5xx_increase))
        }
        Action::RolloutStage { percent } => writeln!(out, "percent = {percent}"),
    };
}

pub fn summary(doc: &PatchDocument) -> String {
    let sha = doc.candidate_sha256.get(..12).unwrap_or(&doc.candidate_sha256);
    let mut out = format!("{} → {} · {} · document v{} · candidate {sha}…\n", doc.site, doc.target_version, doc.workflow, doc.version);
    for (index, step) in doc.steps.iter().enumerate() {
        let _ = write!(out, "{:>2}. {}", index + 1, describe(&step.action));
        if let Some(rollback) = &step.rollback {
            let _ = write!(out, " [rollback: {}]", describe(rollback));
        }
        if let Some(note) = &step.note {
            let _ = write!(out, " — {note}");
        }
        out.push('\n');
    }
    out
}

/// A short sentence for one action, as a reviewer would say it.
pub fn describe(action: &Action) -> String {
    match action {
        Action::DeployCandidate => "deploy the candidate".into(),
        Action::RunCommand { command, timeout_secs, migration, compatible_with_previous } => {
            let what = match (migration, compatible_with_previous) {
                (true, true) => "migrate (expand step)",
                (true, false) => "migrate",
                (false, _) => "run",
            };
            format!("{what} `{command}` (timeout {timeout_secs} s)")
        }
        Action::SyncData { scope } => format!("sync live data ({})", scope.as_str()),
        Action::SiteDownPage { on: true } => "site-down page on".into(),
        Action::SiteDownPage { on: false } => "site-down page off".into(),
        Action::MoveToTemporaryAddress => "move production to its temporary address".into(),
        Action::SwapAddresses => "swap addresses".into(),
        Action::HealthCheck { path, expect_status, retries } => {
            format!("health check {path} expects {expect_status} ({retries} retries)")
        }
        Action::ApprovalGate { role } => match role {
            crate::Role::Customer => "customer confirms".into(),
            role => format!("{role} approves"),
        },
        Action::WaitAndWatch { duration_secs, max_5xx_increase } => {
            format!("watch {duration_secs} s (halt if 5xx rate rises by more than {max_5xx_increase} points)")
        }
        Action::RolloutStage { percent } => format!("route {percent} % of accounts to the new version"),
    }
}
