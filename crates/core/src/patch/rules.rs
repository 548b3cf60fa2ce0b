//! The ordering rules of each workflow, checked once every step reads: approvals before
//! production is touched, the site-down page around a migration, rollout stages that climb
//! to 100 %, and the steps each workflow cannot do without.

use super::action::{Action, WorkflowKind};
use super::parse::SourceMap;
use super::{PatchDocument, PatchError};
use crate::Role;

use WorkflowKind::*;

/// True when the step changes what production serves or stores in this workflow. Steps that
/// only act on the new environment beside production (deploying into a clone) do not.
pub fn affects_production(action: &Action, kind: WorkflowKind) -> bool {
    match action {
        Action::ApprovalGate { .. } | Action::HealthCheck { .. } | Action::WaitAndWatch { .. } => false,
        Action::DeployCandidate => matches!(kind, Migration | MinorPatch),
        // Blue-green environments share the production database, so a migration there does; a
        // low-downtime migration runs on the clone's own copy, which production never reads.
        Action::RunCommand { migration, .. } => matches!(kind, Migration | MinorPatch) || (*migration && kind != LowDowntimeMigration),
        _ => true,
    }
}

pub fn check(doc: &PatchDocument, map: &SourceMap) -> Vec<PatchError> {
    let mut rules = Rules { doc, map, errors: Vec::new() };
    rules.approval_first();
    rules.site_down_page_pairs();
    rules.actions_belong_to_workflow();
    match doc.workflow {
        Migration => rules.migration(),
        LowDowntimeMigration => rules.low_downtime_migration(),
        Rollout => rules.rollout(),
        NoMigration | BlueGreen => rules.swaps_live(),
        MinorPatch => rules.deploys(),
    }
    if matches!(doc.workflow, BlueGreen | Rollout) {
        rules.expand_only();
    }
    rules.health_checked();
    rules.errors
}

struct Rules<'a> {
    doc: &'a PatchDocument,
    map: &'a SourceMap,
    errors: Vec<PatchError>,
}

impl Rules<'_> {
    fn at(&mut self, index: usize, message: String) {
        let line = self.map.steps.get(index).map_or(self.map.end, |s| s.action);
        self.errors.push(PatchError { line, message });
    }

    /// Points at one key of a step, e.g. the `percent` of a rollout stage.
    fn at_key(&mut self, index: usize, key: &str, message: String) {
        let line = self.map.steps.get(index).map_or(self.map.end, |s| s.key(key));
        self.errors.push(PatchError { line, message });
    }

    fn whole(&mut self, message: String) {
        self.errors.push(PatchError { line: self.map.workflow.max(1), message });
    }

    /// "step 3 (run-command)", as users count.
    fn name(&self, index: usize) -> String {
        format!("step {} ({})", index + 1, self.doc.steps[index].action.name())
    }

    fn find(&self, wanted: impl Fn(&Action) -> bool) -> Option<usize> {
        self.doc.steps.iter().position(|s| wanted(&s.action))
    }

    fn rfind(&self, wanted: impl Fn(&Action) -> bool) -> Option<usize> {
        self.doc.steps.iter().rposition(|s| wanted(&s.action))
    }

    fn approval_first(&mut self) {
        let kind = self.doc.workflow;
        let first = self.find(|a| affects_production(a, kind));
        let approval = self.find(|a| matches!(a, Action::ApprovalGate { role: Role::Support }));
        if let Some(first) = first {
            if approval.is_none_or(|a| a > first) {
                let message = format!(
                    "{} affects production but no support approval comes before it; add a step with action = \"approval-gate\" and role = \"support\" before step {}",
                    self.name(first),
                    first + 1
                );
                self.at(first, message);
            }
        }
    }

    fn site_down_page_pairs(&mut self) {
        let mut on_since = None;
        for (index, step) in self.doc.steps.iter().enumerate() {
            match (&step.action, on_since) {
                (Action::SiteDownPage { on: true }, Some(since)) => {
                    let message =
                        format!("{} turns the site-down page on, but step {} already did; remove one of them", self.name(index), since + 1);
                    self.at(index, message);
                }
                (Action::SiteDownPage { on: false }, None) => {
                    let message = format!(
                        "{} turns the site-down page off, but it is not on; remove it or turn it on earlier with on = true",
                        self.name(index)
                    );
                    self.at(index, message);
                }
                (Action::SiteDownPage { on }, _) => on_since = on.then_some(index),
                _ => {}
            }
        }
        if let Some(since) = on_since {
            let message = format!(
                "{} turns the site-down page on and no later step turns it off; add a site-down-page step with on = false",
                self.name(since)
            );
            self.at(since, message);
        }
    }

    fn actions_belong_to_workflow(&mut self) {
        let kind = self.doc.workflow;
        for (index, step) in self.doc.steps.iter().enumerate() {
            let advice = match &step.action {
                Action::RunCommand { migration: true, .. } if matches!(kind, NoMigration | MinorPatch) => {
                    format!("runs a migration, which a {kind} release must not; use workflow = \"migration\" (or \"blue-green\"), or set migration = false")
                }
                Action::RolloutStage { .. } if kind != Rollout => {
                    "routes a share of accounts, which only a rollout does; use workflow = \"rollout\" or remove the step".into()
                }
                Action::MoveToTemporaryAddress if kind != Migration => {
                    "moves production to its temporary address, which only a migration release does; remove the step".into()
                }
                Action::SiteDownPage { .. } if kind == LowDowntimeMigration => {
                    "shows the site-down page, but a low-downtime migration keeps the site live while it migrates a clone; remove the step, or use workflow = \"migration\"".into()
                }
                Action::SyncData { .. } if kind == LowDowntimeMigration => {
                    "syncs data, but a low-downtime migration's cutover replays every write captured since the clone instead; remove the step".into()
                }
                Action::SwapAddresses if matches!(kind, MinorPatch | Rollout) => {
                    format!("swaps addresses, but a {kind} release does not; remove the step")
                }
                _ => continue,
            };
            let message = format!("{} {advice}", self.name(index));
            self.at(index, message);
        }
    }

    fn migration(&mut self) {
        let Some(first) = self.find(Action::is_migration) else {
            self.whole(
                "a migration release needs a run-command step with migration = true; add one, or use workflow = \"no-migration\"".into(),
            );
            return;
        };
        let last = self.rfind(Action::is_migration).unwrap_or(first);
        let down_on = self.find(|a| matches!(a, Action::SiteDownPage { on: true }));
        if down_on.is_none_or(|on| on > first) {
            let message = format!(
                "{} migrates before the site-down page is on; add a site-down-page step with on = true before it",
                self.name(first)
            );
            self.at(first, message);
        }
        let down_off = self.rfind(|a| matches!(a, Action::SiteDownPage { on: false }));
        if down_off.is_none_or(|off| off < last) {
            let message = format!(
                "{} migrates but the site-down page is not turned off after it; add a site-down-page step with on = false after step {}",
                self.name(last),
                last + 1
            );
            self.at(last, message);
        }
        let moved = self.find(|a| matches!(a, Action::MoveToTemporaryAddress));
        if moved.is_none_or(|m| m > first) {
            let message = format!(
                "{} migrates before production moved to its temporary address; add action = \"move-to-temporary-address\" before it",
                self.name(first)
            );
            self.at(first, message);
        }
        // Production is stopped while it changes, so every change belongs inside the window the
        // site-down page covers, and nothing may change what the customer has already confirmed.
        let changes_code = |a: &Action| matches!(a, Action::DeployCandidate | Action::RunCommand { .. });
        if let Some(on) = down_on {
            for index in (0..on).filter(|&i| changes_code(&self.doc.steps[i].action)) {
                let message = format!(
                    "{} changes production before the site-down page is on (step {}); move it after that step",
                    self.name(index),
                    on + 1
                );
                self.at(index, message);
            }
        }
        let confirmation =
            (last..self.doc.steps.len()).find(|&i| matches!(self.doc.steps[i].action, Action::ApprovalGate { role: Role::Customer }));
        if let Some(confirmed) = confirmation {
            for index in (confirmed + 1..self.doc.steps.len()).filter(|&i| changes_code(&self.doc.steps[i].action)) {
                let message = format!(
                    "{} changes production after the customer confirmed it at step {}; move it before that step",
                    self.name(index),
                    confirmed + 1
                );
                self.at(index, message);
            }
        }
        let swap = self.rfind(|a| matches!(a, Action::SwapAddresses));
        match swap.filter(|&s| s > last) {
            None => {
                let message = format!("{} migrates but no later step swaps production back to its public address; add action = \"swap-addresses\" after the customer's confirmation", self.name(last));
                self.at(last, message);
            }
            Some(swap) => {
                let confirmed = (last..swap).any(|i| matches!(self.doc.steps[i].action, Action::ApprovalGate { role: Role::Customer }));
                if !confirmed {
                    let message = format!("{} puts production back live before the customer confirmed it at the temporary address; add an approval-gate with role = \"customer\" before it", self.name(swap));
                    self.at(swap, message);
                }
            }
        }
    }

    /// A low-downtime migration deploys and migrates a clone while production serves, the
    /// customer checks the clone, and only then the cutover (the swap) puts it live.
    fn low_downtime_migration(&mut self) {
        let Some(first) = self.find(Action::is_migration) else {
            self.whole("a low-downtime migration release needs a run-command step with migration = true; add one, or use workflow = \"no-migration\"".into());
            return;
        };
        let last = self.rfind(Action::is_migration).unwrap_or(first);
        if self.find(|a| matches!(a, Action::DeployCandidate)).is_none_or(|d| d > first) {
            let message = format!(
                "{} migrates before the candidate is deployed on the clone; add action = \"deploy-candidate\" before it, so the migration runs the new release's own command",
                self.name(first)
            );
            self.at(first, message);
        }
        let Some(swap) = self.rfind(|a| matches!(a, Action::SwapAddresses)).filter(|&s| s > last) else {
            let message = format!(
                "{} migrates the clone but no later step puts it live; add action = \"swap-addresses\" (the cutover) after the customer's confirmation",
                self.name(last)
            );
            self.at(last, message);
            return;
        };
        let confirmed = (last..swap).find(|&i| matches!(self.doc.steps[i].action, Action::ApprovalGate { role: Role::Customer }));
        let Some(confirmed) = confirmed else {
            let message = format!(
                "{} puts the migrated clone live before the customer checked it at its test address; add an approval-gate with role = \"customer\" before it",
                self.name(swap)
            );
            self.at(swap, message);
            return;
        };
        let changes_code = |a: &Action| matches!(a, Action::DeployCandidate | Action::RunCommand { .. });
        for index in (confirmed + 1..self.doc.steps.len()).filter(|&i| changes_code(&self.doc.steps[i].action)) {
            let message = format!(
                "{} changes the release after the customer confirmed it at step {}; move it before that step",
                self.name(index),
                confirmed + 1
            );
            self.at(index, message);
        }
    }

    fn rollout(&mut self) {
        let stages: Vec<(usize, u8)> = self
            .doc
            .steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s.action {
                Action::RolloutStage { percent } => Some((i, percent)),
                _ => None,
            })
            .collect();
        if stages.is_empty() {
            self.whole("a rollout needs rollout-stage steps, e.g. percent = 5, 25 and 100; add them".into());
            return;
        }
        for pair in stages.windows(2) {
            let ((before, p0), (index, p1)) = (pair[0], pair[1]);
            if p1 <= p0 {
                let message = format!("{} routes {p1} % after step {} routed {p0} %; stages must increase", self.name(index), before + 1);
                self.at_key(index, "percent", message);
            }
        }
        for (n, &(index, percent)) in stages.iter().enumerate() {
            let next = stages.get(n + 1).map_or(self.doc.steps.len(), |s| s.0);
            let watched = (index + 1..next).any(|i| matches!(self.doc.steps[i].action, Action::WaitAndWatch { .. }));
            if !watched {
                let message = format!("{} routes {percent} % without watching it; add a wait-and-watch step after it", self.name(index));
                self.at(index, message);
            }
        }
        let &(last, percent) = stages.last().expect("stages is not empty");
        if percent != 100 {
            let message = format!("{} is the last stage but routes {percent} %; a rollout ends with every account on one version, so add a stage with percent = 100", self.name(last));
            self.at_key(last, "percent", message);
        }
        let first = stages[0].0;
        match self.find(|a| matches!(a, Action::DeployCandidate)) {
            Some(deploy) if deploy < first => {}
            _ => {
                let message = format!(
                    "{} routes accounts before the candidate is deployed; add action = \"deploy-candidate\" before it",
                    self.name(first)
                );
                self.at(first, message);
            }
        }
    }

    fn swaps_live(&mut self) {
        let Some(swap) = self.find(|a| matches!(a, Action::SwapAddresses)) else {
            let kind = self.doc.workflow;
            self.whole(format!("a {kind} release needs a swap-addresses step to put the new environment live; add one"));
            return;
        };
        if self.doc.workflow == BlueGreen {
            if self.find(|a| matches!(a, Action::DeployCandidate)).is_none_or(|d| d > swap) {
                let message = format!(
                    "{} swaps before the candidate is deployed beside production; add action = \"deploy-candidate\" before it",
                    self.name(swap)
                );
                self.at(swap, message);
            }
            if let Some(late) = self.rfind(Action::is_migration).filter(|&m| m > swap) {
                let message = format!(
                    "{} migrates after the swap, while the new version already serves; move it before step {}",
                    self.name(late),
                    swap + 1
                );
                self.at(late, message);
            }
        }
    }

    /// Blue-green and rollout keep the previous release serving on the one database both
    /// versions share, so every migration there must be an expand step it can run on, and a
    /// rollout migrates before any account reaches the new version.
    fn expand_only(&mut self) {
        let kind = self.doc.workflow;
        for index in (0..self.doc.steps.len()).filter(|&i| self.doc.steps[i].action.is_migration()) {
            if !self.doc.steps[index].action.is_expand_migration() {
                let message = format!(
                    "{} runs a migration the previous release may not serve: the old version keeps serving on the shared database during a {kind} release, so a migration there must be an expand step that the release before {} can run on; mark it compatible_with_previous = true after checking that it only adds (new tables, nullable or defaulted columns), split destructive changes (dropping or renaming columns) into a later contract release with workflow = \"migration\", or use workflow = \"migration\" for this one",
                    self.name(index),
                    self.doc.target_version,
                );
                self.at(index, message);
            }
        }
        let first_stage = self.find(|a| matches!(a, Action::RolloutStage { .. }));
        if let (Some(stage), Some(late)) = (first_stage, self.rfind(Action::is_migration)) {
            if late > stage {
                let message = format!(
                    "{} migrates after step {} routed accounts to the new version; move it before step {}",
                    self.name(late),
                    stage + 1,
                    stage + 1
                );
                self.at(late, message);
            }
        }
    }

    fn deploys(&mut self) {
        let changes = self.find(|a| matches!(a, Action::DeployCandidate | Action::RunCommand { .. }));
        if changes.is_none() {
            self.whole("a minor patch needs a deploy-candidate or run-command step that applies it; add one".into());
        }
    }

    /// The last change must be followed by a health check, so a broken release is caught by
    /// the machine instead of by the site's users. (Rollout stages are watched instead.)
    fn health_checked(&mut self) {
        let last_change = self.rfind(|a| matches!(a, Action::DeployCandidate | Action::RunCommand { .. } | Action::SwapAddresses));
        let last_check = self.rfind(|a| matches!(a, Action::HealthCheck { .. }));
        match (last_change, last_check) {
            (Some(change), check) if check.is_none_or(|c| c < change) => {
                let message = format!(
                    "{} is not followed by a health check; add action = \"health-check\" with path = \"/health\" after it",
                    self.name(change)
                );
                self.at(change, message);
            }
            (None, None) => self.whole("the document has no health check; add action = \"health-check\" with path = \"/health\"".into()),
            _ => {}
        }
    }
}
