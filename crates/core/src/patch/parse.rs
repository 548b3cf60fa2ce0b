//! Reads patch-document TOML into typed steps, collecting every field problem with its line
//! and a message that says what to write instead.

use super::action::{Action, Step, SyncScope, WorkflowKind};
use super::node::{Lines, Node};
use super::{PatchDocument, PatchError, PatchErrors};
use crate::{validate, Role};
use toml::Spanned;

type Entries = [(Spanned<String>, Spanned<Node>)];

/// Where the parts of a document are, for the ordering rules' messages.
#[derive(Debug, Default)]
pub struct SourceMap {
    /// Line of `workflow = ...` (or of `[patch]` when missing).
    pub workflow: usize,
    /// Per step: the line of its `action` key and of each other key.
    pub steps: Vec<StepLines>,
    /// The last line, for "add a step" advice.
    pub end: usize,
}

#[derive(Debug, Default)]
pub struct StepLines {
    pub action: usize,
    keys: Vec<(String, usize)>,
}

impl StepLines {
    /// The line of `key` in this step, or of its action when the key is absent.
    pub fn key(&self, key: &str) -> usize {
        self.keys.iter().find(|(k, _)| k == key).map_or(self.action, |(_, line)| *line)
    }
}

/// Syntax errors come back as `Err`; field problems in the returned list, with the document
/// only when every step read.
pub fn read(source: &str) -> Result<(Option<PatchDocument>, SourceMap, Vec<PatchError>), PatchErrors> {
    let lines = Lines::new(source);
    let root: Node = toml::from_str(source).map_err(|error| {
        let line = error.span().map_or(1, |span| lines.line(span.start));
        PatchErrors(vec![PatchError { line, message: crate::toml_words::syntax_in_words(error.message()) }])
    })?;
    let mut reader = Reader { lines: &lines, errors: Vec::new() };
    let mut map = SourceMap { end: lines.last(), ..SourceMap::default() };
    let Node::Table(entries) = root else {
        // toml always yields a table at the root; say so rather than panic in the editor.
        return Err(PatchErrors(vec![PatchError { line: 1, message: "a patch document is a TOML table; start it with [patch]".into() }]));
    };

    let mut patch = None;
    let mut steps = None;
    for (key, value) in &entries {
        let line = lines.line(key.span().start);
        match (key.get_ref().as_str(), value.get_ref()) {
            ("patch", Node::Table(t)) => patch = Some((line, t)),
            ("step", Node::Array(items)) => steps = Some(items),
            ("patch", _) | ("step", _) => {
                reader.error(line, format!("`{}` has the wrong shape; write [patch] once and [[step]] for each step", key.get_ref()))
            }
            (other, _) => reader.error(line, format!("unknown top-level key `{other}`; a document has only [patch] and [[step]] tables")),
        }
    }

    let metadata = match patch {
        Some((line, t)) => reader.metadata(line, t, &mut map),
        None => {
            reader.error(
                1,
                "the document has no [patch] table; start it with [patch] and site, version, target_version, candidate_sha256, workflow"
                    .into(),
            );
            None
        }
    };
    let mut parsed = Vec::new();
    let mut all_read = true;
    for (index, item) in steps.into_iter().flatten().enumerate() {
        let line = lines.line(item.span().start);
        match item.get_ref() {
            Node::Table(t) => {
                let (step, step_lines) = reader.step(index + 1, line, t);
                map.steps.push(step_lines);
                match step {
                    Some(step) => parsed.push(step),
                    None => all_read = false,
                }
            }
            other => {
                all_read = false;
                map.steps.push(StepLines { action: line, keys: vec![] });
                reader.error(line, format!("step {} is {}; write each step as a [[step]] table", index + 1, other.kind()));
            }
        }
    }
    if parsed.is_empty() && all_read {
        reader.error(map.end, "the document has no steps; add [[step]] tables with action = \"...\"".into());
    }
    let document = match metadata {
        Some((site, version, target_version, candidate_sha256, workflow)) if all_read => {
            Some(PatchDocument { site, version, target_version, candidate_sha256, workflow, steps: parsed })
        }
        _ => None,
    };
    Ok((document, map, reader.errors))
}

struct Reader<'a> {
    lines: &'a Lines,
    errors: Vec<PatchError>,
}

type Metadata = (String, u32, String, String, WorkflowKind);

impl Reader<'_> {
    fn error(&mut self, line: usize, message: String) {
        self.errors.push(PatchError { line, message });
    }

    fn fields<'e>(&self, entries: &'e Entries, context: String, line: usize) -> Fields<'e> {
        Fields { entries, used: vec![false; entries.len()], context, line, action: None, errors: Vec::new() }
    }

    fn metadata(&mut self, line: usize, entries: &Entries, map: &mut SourceMap) -> Option<Metadata> {
        let mut f = self.fields(entries, "[patch]".into(), line);
        map.workflow = f.line_of("workflow", self.lines).unwrap_or(line);
        let site = f
            .string("site", "site = \"acme-shop\"", self.lines)
            .and_then(|(site, line)| validate::name("site", "site", &site).map_err(|e| f.push(line, e.message)).ok());
        let version = f.int("version", "version = 1", 1, u32::MAX as i64, self.lines).map(|v| v as u32);
        let target = f.string("target_version", "target_version = \"2.4.0\"", self.lines).and_then(|(v, line)| {
            let v = v.trim().to_owned();
            if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
                f.push(line, "target_version must be a version without spaces; write target_version = \"2.4.0\"".into());
                None
            } else {
                Some(v)
            }
        });
        let sha = f
            .string("candidate_sha256", "candidate_sha256 = \"<64 hex digits>\"", self.lines)
            .and_then(|(sha, line)| sha256_problem(&sha).map(|problem| f.push(line, problem)).map_or(Some(sha), |_| None));
        let workflow = f
            .string("workflow", "workflow = \"no-migration\"", self.lines)
            .and_then(|(w, line)| w.parse::<WorkflowKind>().map_err(|e| f.push(line, e)).ok());
        f.reject_unknown(&["site", "version", "target_version", "candidate_sha256", "workflow"], self.lines);
        self.errors.append(&mut f.errors);
        Some((site?, version?, target?, sha?, workflow?))
    }

    fn step(&mut self, number: usize, line: usize, entries: &Entries) -> (Option<Step>, StepLines) {
        let keys = entries.iter().map(|(k, _)| (k.get_ref().clone(), self.lines.line(k.span().start))).collect();
        let action_line = entries.iter().find(|(k, _)| k.get_ref() == "action").map_or(line, |(k, _)| self.lines.line(k.span().start));
        let step_lines = StepLines { action: action_line, keys };
        let mut f = self.fields(entries, format!("step {number}"), action_line);
        let action = f.action(self.lines);
        let note = f.string_opt("note", "note = \"why this step\"", self.lines);
        let rollback = match f.take("rollback", self.lines) {
            None => Some(None),
            Some((key_line, Node::Table(t))) => {
                let context = format!("step {number}'s rollback");
                let mut rf = self.fields(t, context, key_line);
                let action = rf.action(self.lines);
                if let Some(Action::ApprovalGate { .. }) = action {
                    rf.push(key_line, format!("step {number}'s rollback is an approval gate; a rollback must not wait for a person, so use an action that undoes the step"));
                }
                if let Some(Action::WaitAndWatch { .. } | Action::RolloutStage { .. }) = action {
                    rf.push(
                        key_line,
                        format!(
                            "step {number}'s rollback is a {}; a rollback must undo the step, e.g. action = \"run-command\"",
                            action.as_ref().map_or("", |a| a.name())
                        ),
                    );
                }
                rf.reject_unknown_for_action(self.lines, true);
                self.errors.append(&mut rf.errors);
                action.map(Some)
            }
            Some((key_line, other)) => {
                f.push(
                    key_line,
                    format!("step {number}'s rollback is {}; write it as [step.rollback] with action = \"...\"", other.kind()),
                );
                None
            }
        };
        f.reject_unknown_for_action(self.lines, false);
        let ok = f.errors.is_empty();
        self.errors.append(&mut f.errors);
        let step = match (action, rollback) {
            (Some(action), Some(rollback)) if ok => Some(Step { action, note, rollback }),
            _ => None,
        };
        (step, step_lines)
    }
}

/// What is wrong with a candidate checksum, phrased as advice; `None` when it is fine.
pub fn sha256_problem(sha: &str) -> Option<String> {
    if sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let hint = if sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        "write it in lowercase".to_owned()
    } else {
        format!("got {} characters", sha.chars().count())
    };
    Some(format!("candidate_sha256 must be the candidate's sha256 as 64 lowercase hex digits ({hint}); copy it from the upload"))
}

/// The keys of one table, taken one by one so that leftovers can be reported as unknown.
struct Fields<'e> {
    entries: &'e Entries,
    used: Vec<bool>,
    /// "step 3 (run-command)" or "[patch]".
    context: String,
    line: usize,
    /// Set once `action` names a known action.
    action: Option<&'static str>,
    errors: Vec<PatchError>,
}

impl<'e> Fields<'e> {
    fn push(&mut self, line: usize, message: String) {
        self.errors.push(PatchError { line, message });
    }

    fn line_of(&self, key: &str, lines: &Lines) -> Option<usize> {
        self.entries.iter().find(|(k, _)| k.get_ref() == key).map(|(k, _)| lines.line(k.span().start))
    }

    fn take_spanned(&mut self, key: &str) -> Option<(usize, &'e Spanned<String>, &'e Node)> {
        let index = self.entries.iter().position(|(k, _)| k.get_ref() == key)?;
        self.used[index] = true;
        let (k, v) = &self.entries[index];
        Some((index, k, v.get_ref()))
    }

    fn take(&mut self, key: &str, lines: &Lines) -> Option<(usize, &'e Node)> {
        let (_, k, v) = self.take_spanned(key)?;
        Some((lines.line(k.span().start), v))
    }

    fn missing(&mut self, key: &str, example: &str) {
        let message = format!("{} has no {key}; add {example}", self.context);
        self.push(self.line, message);
    }

    fn wrong_type(&mut self, line: usize, key: &str, found: &Node, example: &str) {
        let message = format!("{}: {key} is {}; write {example}", self.context, found.kind());
        self.push(line, message);
    }

    /// Takes `key` and converts it, reporting it missing (when `required`) or of the wrong
    /// type. `Err(())` means a problem was reported; `Ok(None)` that an optional key is absent.
    fn typed<T>(
        &mut self,
        key: &str,
        example: &str,
        lines: &Lines,
        required: bool,
        convert: fn(&Node) -> Option<T>,
    ) -> Result<Option<(T, usize)>, ()> {
        let Some((_, k, v)) = self.take_spanned(key) else {
            if required {
                self.missing(key, example);
                return Err(());
            }
            return Ok(None);
        };
        let line = lines.line(k.span().start);
        match convert(v) {
            Some(value) => Ok(Some((value, line))),
            None => {
                self.wrong_type(line, key, v, example);
                Err(())
            }
        }
    }

    fn string_at(&mut self, key: &str, example: &str, lines: &Lines, required: bool) -> Option<(String, usize)> {
        let text = |n: &Node| match n {
            Node::Str(s) => Some(s.clone()),
            _ => None,
        };
        self.typed(key, example, lines, required, text).ok().flatten()
    }

    fn string(&mut self, key: &str, example: &str, lines: &Lines) -> Option<(String, usize)> {
        self.string_at(key, example, lines, true)
    }

    fn string_opt(&mut self, key: &str, example: &str, lines: &Lines) -> Option<String> {
        self.string_at(key, example, lines, false).map(|(s, _)| s)
    }

    /// A whole number in `min..=max`; `default` makes the key optional.
    fn int_at(&mut self, key: &str, example: &str, range: (i64, i64), lines: &Lines, default: Option<i64>) -> Option<i64> {
        let int = |n: &Node| match n {
            Node::Int(i) => Some(*i),
            _ => None,
        };
        let (n, line) = match self.typed(key, example, lines, default.is_none(), int) {
            Err(()) => return None,
            Ok(None) => return default,
            Ok(Some(found)) => found,
        };
        let (min, max) = range;
        if (min..=max).contains(&n) {
            return Some(n);
        }
        let message = format!("{}: {key} is {n}; use a whole number from {min} to {max}, e.g. {example}", self.context);
        self.push(line, message);
        None
    }

    fn int(&mut self, key: &str, example: &str, min: i64, max: i64, lines: &Lines) -> Option<i64> {
        self.int_at(key, example, (min, max), lines, None)
    }

    fn bool_at(&mut self, key: &str, example: &str, lines: &Lines, default: Option<bool>) -> Option<bool> {
        let boolean = |n: &Node| match n {
            Node::Bool(b) => Some(*b),
            _ => None,
        };
        match self.typed(key, example, lines, default.is_none(), boolean) {
            Err(()) => None,
            Ok(None) => default,
            Ok(Some((b, _))) => Some(b),
        }
    }

    fn percent_points(&mut self, key: &str, example: &str, lines: &Lines) -> Option<f64> {
        let number = |n: &Node| match n {
            Node::Float(x) => Some(*x),
            Node::Int(i) => Some(*i as f64),
            _ => None,
        };
        let (value, line) = self.typed(key, example, lines, true, number).ok().flatten()?;
        if (0.0..=100.0).contains(&value) {
            return Some(value);
        }
        let message = format!("{}: {key} is {value}; it is in percentage points, from 0 to 100, e.g. {example}", self.context);
        self.push(line, message);
        None
    }

    /// Reads `action` and the keys that action needs; the context gains the action's name.
    fn action(&mut self, lines: &Lines) -> Option<Action> {
        let (name, line) = self.string("action", "action = \"run-command\"", lines)?;
        let Some(&known) = Action::NAMES.iter().find(|n| **n == name) else {
            let message = format!("{}: unknown action {name:?}; use one of {}", self.context, Action::NAMES.join(", "));
            self.push(line, message);
            return None;
        };
        self.action = Some(known);
        self.context = format!("{} ({name})", self.context);
        let before = self.errors.len();
        let action = match name.as_str() {
            "deploy-candidate" => Some(Action::DeployCandidate),
            "run-command" => {
                let command = self.string("command", "command = \"...\"", lines).and_then(|(c, line)| {
                    if c.trim().is_empty() {
                        let message =
                            format!("{}: command is empty; write the command to run, e.g. command = \"bin/migrate\"", self.context);
                        self.push(line, message);
                        None
                    } else {
                        Some(c)
                    }
                });
                let timeout = self.int("timeout_secs", "timeout_secs = 300", 1, 86_400, lines);
                let migration = self.bool_at("migration", "migration = true", lines, Some(false));
                let key = "compatible_with_previous";
                let compatible = self.bool_at(key, "compatible_with_previous = true", lines, Some(false));
                // Only a migration changes the schema the previous release must serve.
                if let (Some(false), Some(true), Some(line)) = (migration, compatible, self.line_of(key, lines)) {
                    let message = format!("{}: compatible_with_previous = true says a migration is an expand step, but this step is not a migration; set migration = true or remove compatible_with_previous", self.context);
                    self.push(line, message);
                }
                Some(Action::RunCommand {
                    command: command?,
                    timeout_secs: timeout? as u32,
                    migration: migration?,
                    compatible_with_previous: compatible?,
                })
            }
            "sync-data" => {
                let scope = match self.string_at("scope", "scope = \"all\"", lines, false) {
                    None => Some(SyncScope::All),
                    Some((s, line)) => SyncScope::ALL.into_iter().find(|x| x.as_str() == s).or_else(|| {
                        let message = format!("{}: unknown scope {s:?}; use files, database or all", self.context);
                        self.push(line, message);
                        None
                    }),
                };
                Some(Action::SyncData { scope: scope? })
            }
            "site-down-page" => Some(Action::SiteDownPage { on: self.bool_at("on", "on = true", lines, None)? }),
            "move-to-temporary-address" => Some(Action::MoveToTemporaryAddress),
            "swap-addresses" => Some(Action::SwapAddresses),
            "health-check" => {
                let path = self.string("path", "path = \"/health\"", lines).and_then(|(p, line)| {
                    if p.starts_with('/') && !p.chars().any(char::is_whitespace) {
                        Some(p)
                    } else {
                        let message = format!("{}: path {p:?} must start with / and have no spaces, e.g. path = \"/health\"", self.context);
                        self.push(line, message);
                        None
                    }
                });
                let status = self.int_at("expect_status", "expect_status = 200", (100, 599), lines, Some(200));
                let retries = self.int_at("retries", "retries = 3", (0, 100), lines, Some(3));
                Some(Action::HealthCheck { path: path?, expect_status: status? as u16, retries: retries? as u32 })
            }
            "approval-gate" => {
                let role = self.string("role", "role = \"support\"", lines).and_then(|(r, line)| match r.parse::<Role>() {
                    Ok(Role::Manager) => {
                        let message = format!("{}: managers review history and do not approve releases; use role = \"support\" (approval) or role = \"customer\" (confirmation)", self.context);
                        self.push(line, message);
                        None
                    }
                    Ok(role) => Some(role),
                    Err(_) => {
                        let message = format!("{}: unknown role {r:?}; use role = \"support\" (approval) or role = \"customer\" (confirmation)", self.context);
                        self.push(line, message);
                        None
                    }
                });
                Some(Action::ApprovalGate { role: role? })
            }
            "wait-and-watch" => {
                let duration = self.int("duration_secs", "duration_secs = 600", 1, 86_400, lines);
                let rate = self.percent_points("max_5xx_increase", "max_5xx_increase = 1.0", lines);
                Some(Action::WaitAndWatch { duration_secs: duration? as u32, max_5xx_increase: rate? })
            }
            "rollout-stage" => Some(Action::RolloutStage { percent: self.int("percent", "percent = 25", 1, 100, lines)? as u8 }),
            _ => None,
        };
        action.filter(|_| self.errors.len() == before)
    }

    /// `nested` is for a rollback table, which has no note and no rollback of its own. Without
    /// a known action only keys that no action has are reported, since the rest may be right.
    fn reject_unknown_for_action(&mut self, lines: &Lines, nested: bool) {
        let mut allowed: Vec<&str> = if nested { vec!["action"] } else { vec!["action", "note", "rollback"] };
        match self.action {
            Some(name) => allowed.extend(Action::keys(name)),
            None => {
                let any_action: Vec<&str> = Action::NAMES.iter().flat_map(|n| Action::keys(n)).copied().collect();
                self.used.iter_mut().zip(self.entries).for_each(|(used, (k, _))| {
                    *used |= any_action.contains(&k.get_ref().as_str());
                });
            }
        }
        self.reject_unknown(&allowed, lines);
    }

    fn reject_unknown(&mut self, allowed: &[&str], lines: &Lines) {
        for (index, (k, _)) in self.entries.iter().enumerate() {
            let key = k.get_ref();
            // An allowed key left unread belongs to an action that failed to parse; its own
            // error already says what to fix.
            if self.used[index] || allowed.contains(&key.as_str()) {
                continue;
            }
            let message = format!("{}: unknown key `{key}`; the keys here are {}", self.context, allowed.join(", "));
            self.errors.push(PatchError { line: lines.line(k.span().start), message });
        }
    }
}
