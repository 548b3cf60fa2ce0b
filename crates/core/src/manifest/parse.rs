//! Reads `switchyard.toml` into a [`ReleaseManifest`], collecting every problem with its line
//! and a message that says what to write instead (the patch document's style and position
//! tracking, [`crate::patch::node`]).

use std::collections::BTreeMap;

use toml::Spanned;

use super::*;
use crate::patch::node::{Lines, Node};

type Entries = [(Spanned<String>, Spanned<Node>)];

const TABLES: [&str; 5] = ["web", "health", "migrate", "data", "env"];

pub fn read(source: &str) -> Result<ReleaseManifest, ManifestErrors> {
    let lines = Lines::new(source);
    let root: Node = toml::from_str(source).map_err(|error| {
        let line = error.span().map_or(1, |span| lines.line(span.start));
        let message = crate::toml_words::syntax_in_words(error.message());
        ManifestErrors(vec![ManifestError { line, message }])
    })?;
    let Node::Table(entries) = root else {
        return Err(ManifestErrors(vec![ManifestError {
            line: 1,
            message: "a release manifest is a TOML table; start it with [web]".into(),
        }]));
    };
    let mut errors = Vec::new();
    let (mut web, mut health, mut migrate) = (None, None, Some(None));
    let (mut data, mut env) = (Some(DataPaths::default()), Some(BTreeMap::new()));
    let mut saw_web = false;
    for (key, value) in &entries {
        let line = lines.line(key.span().start);
        let name = key.get_ref().as_str();
        let Node::Table(t) = value.get_ref() else {
            let message = if TABLES.contains(&name) {
                format!("`{name}` is {}; write it as a [{name}] table", value.get_ref().kind())
            } else {
                format!("unknown key `{name}`; a release manifest has only the tables {}", tables())
            };
            errors.push(ManifestError { line, message });
            saw_web |= name == "web";
            continue;
        };
        let mut table =
            Table { entries: t, used: vec![false; t.len()], context: format!("[{name}]"), line, lines: &lines, errors: &mut errors };
        match name {
            "web" => {
                saw_web = true;
                web = table.web();
            }
            "health" => health = Some(table.health()),
            "migrate" => migrate = table.migrate().map(Some),
            "data" => data = table.data(),
            "env" => env = table.env(),
            other => errors.push(ManifestError {
                line,
                message: format!("unknown table [{other}]; a release manifest has only the tables {}", tables()),
            }),
        }
    }
    if !saw_web {
        let message = "there is no [web] table; add [web] with command = \"...\", the command that starts the site".into();
        errors.push(ManifestError { line: 1, message });
    }
    let health = health.unwrap_or(Some(HealthCheck { probe: HealthProbe::Tcp, timeout_secs: DEFAULT_HEALTH_TIMEOUT_SECS }));
    if let (Some(web), Some(env)) = (&web, &env) {
        if web.port_variable != DEFAULT_PORT_VARIABLE && env.contains_key(&web.port_variable) {
            let line = env_line(&entries, &lines, &web.port_variable);
            let message = format!("[env] sets {}, which carries the port ([web] port_variable); remove it from [env]", web.port_variable);
            errors.push(ManifestError { line, message });
        }
    }
    errors.sort_by_key(|e| e.line);
    match (web, health, migrate, data, env) {
        (Some(web), Some(health), Some(migrate), Some(data), Some(env)) if errors.is_empty() => {
            Ok(ReleaseManifest { web, health, migrate, data, env })
        }
        _ => Err(ManifestErrors(errors)),
    }
}

fn tables() -> String {
    TABLES.map(|t| format!("[{t}]")).join(", ")
}

fn env_line(entries: &Entries, lines: &Lines, name: &str) -> usize {
    let env = entries.iter().find(|(k, _)| k.get_ref() == "env");
    let key = env.and_then(|(_, v)| match v.get_ref() {
        Node::Table(t) => t.iter().find(|(k, _)| k.get_ref() == name).map(|(k, _)| k.span().start),
        _ => None,
    });
    key.or(env.map(|(k, _)| k.span().start)).map_or(1, |offset| lines.line(offset))
}

/// Whether `name` may name an environment variable: `[A-Z_][A-Z0-9_]*`.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The problem with the `${NAME}` references in `value`, phrased as advice.
fn reference_problem(value: &str) -> Option<String> {
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Some("has a `${` without its closing `}`; write ${NAME}".into());
        };
        let name = &after[..end];
        if !PROVIDED_VARIABLES.contains(&name) {
            return Some(format!("refers to ${{{name}}}, which the agent does not set; use one of {}", PROVIDED_VARIABLES.join(", ")));
        }
        rest = &after[end + 1..];
    }
    None
}

/// A data path's problem: it must stay inside `$DATA_DIR`.
fn path_problem(path: &str) -> Option<&'static str> {
    if path.trim().is_empty() {
        return Some("is empty; write a path inside $DATA_DIR, e.g. \"notes.sqlite3\"");
    }
    if path.starts_with('/') {
        return Some("is absolute; write it relative to $DATA_DIR, e.g. \"notes.sqlite3\"");
    }
    if path.split('/').any(|part| part == "..") || path.contains(['\0', '\n']) {
        return Some("leaves $DATA_DIR; write a path inside it without `..`");
    }
    None
}

/// The keys of one table, taken one by one so that leftovers can be reported as unknown.
struct Table<'e, 'r> {
    entries: &'e Entries,
    used: Vec<bool>,
    /// "[web]", shown before every message.
    context: String,
    line: usize,
    lines: &'r Lines,
    errors: &'r mut Vec<ManifestError>,
}

impl<'e> Table<'e, '_> {
    fn push(&mut self, line: usize, message: String) {
        let message = format!("{}: {message}", self.context);
        self.errors.push(ManifestError { line, message });
    }

    fn take(&mut self, key: &str) -> Option<(usize, &'e Node)> {
        let index = self.entries.iter().position(|(k, _)| k.get_ref() == key)?;
        self.used[index] = true;
        let (k, v) = &self.entries[index];
        Some((self.lines.line(k.span().start), v.get_ref()))
    }

    fn wrong_type(&mut self, line: usize, key: &str, found: &Node, example: &str) {
        self.push(line, format!("{key} is {}; write {example}", found.kind()));
    }

    /// `Err(())`: a problem was reported. `Ok(None)`: the key is absent (reported if `required`).
    fn string(&mut self, key: &str, example: &str, required: bool) -> Result<Option<(String, usize)>, ()> {
        match self.take(key) {
            None if required => {
                let line = self.line;
                self.push(line, format!("{key} is missing; add {example}"));
                Err(())
            }
            None => Ok(None),
            Some((line, Node::Str(s))) => Ok(Some((s.clone(), line))),
            Some((line, other)) => {
                self.wrong_type(line, key, other, example);
                Err(())
            }
        }
    }

    /// A shell command line: a non-empty string.
    fn command(&mut self, key: &str, example: &str, required: bool) -> Result<Option<String>, ()> {
        match self.string(key, example, required)? {
            Some((c, line)) if c.trim().is_empty() => {
                self.push(line, format!("{key} is empty; write the command to run, e.g. {example}"));
                Err(())
            }
            found => Ok(found.map(|(c, _)| c)),
        }
    }

    fn int(&mut self, key: &str, example: &str, (min, max): (i64, i64), default: i64) -> Option<i64> {
        let (line, n) = match self.take(key) {
            None => return Some(default),
            Some((line, Node::Int(n))) => (line, *n),
            Some((line, other)) => {
                self.wrong_type(line, key, other, example);
                return None;
            }
        };
        if (min..=max).contains(&n) {
            return Some(n);
        }
        self.push(line, format!("{key} is {n}; use a whole number from {min} to {max}, e.g. {example}"));
        None
    }

    fn strings(&mut self, key: &str, example: &str) -> Option<Vec<(String, usize)>> {
        let (line, items) = match self.take(key) {
            None => return Some(Vec::new()),
            Some((line, Node::Array(items))) => (line, items),
            Some((line, other)) => {
                self.wrong_type(line, key, other, example);
                return None;
            }
        };
        let mut out = Vec::new();
        for item in items {
            match item.get_ref() {
                Node::Str(s) => out.push((s.clone(), self.lines.line(item.span().start))),
                other => {
                    self.push(line, format!("{key} holds {}; write a list of strings, e.g. {example}", other.kind()));
                    return None;
                }
            }
        }
        Some(out)
    }

    /// Reports the keys nobody took; returns whether the table had none.
    fn finish(&mut self, allowed: &[&str]) -> bool {
        let mut clean = true;
        let entries = self.entries;
        for (index, (k, _)) in entries.iter().enumerate() {
            if self.used[index] {
                continue;
            }
            clean = false;
            let line = self.lines.line(k.span().start);
            self.push(line, format!("unknown key `{}`; the keys here are {}", k.get_ref(), allowed.join(", ")));
        }
        clean
    }

    fn web(&mut self) -> Option<WebProcess> {
        let command = self.command("command", "command = \"gunicorn --bind 127.0.0.1:$PORT app.wsgi\"", true);
        let port_variable = match self.string("port_variable", "port_variable = \"PORT\"", false) {
            Ok(None) => Ok(DEFAULT_PORT_VARIABLE.to_owned()),
            Ok(Some((v, line))) if !is_variable_name(&v) => {
                self.push(
                    line,
                    format!("port_variable {v:?} is not a variable name; use capitals, digits and _, e.g. port_variable = \"APP_PORT\""),
                );
                Err(())
            }
            Ok(Some((v, line))) if v != "PORT" && PROVIDED_VARIABLES.contains(&v.as_str()) => {
                self.push(line, format!("port_variable {v} is set by the agent to something else; pick another name, e.g. \"APP_PORT\""));
                Err(())
            }
            Ok(Some((v, _))) => Ok(v),
            Err(()) => Err(()),
        };
        let names = StopSignal::ALL.map(StopSignal::as_str).join(", ");
        let stop_signal = match self.string("stop_signal", "stop_signal = \"SIGTERM\"", false) {
            Ok(None) => Ok(StopSignal::Term),
            Ok(Some((s, line))) => StopSignal::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| {
                self.push(line, format!("unknown stop_signal {s:?}; use one of {names}"));
            }),
            Err(()) => Err(()),
        };
        let timeout = self.int("stop_timeout_secs", "stop_timeout_secs = 10", (1, 3600), DEFAULT_STOP_TIMEOUT_SECS.into());
        let clean = self.finish(&["command", "port_variable", "stop_signal", "stop_timeout_secs"]);
        Some(WebProcess {
            command: command.ok()??,
            port_variable: port_variable.ok()?,
            stop_signal: stop_signal.ok()?,
            stop_timeout_secs: timeout? as u32,
        })
        .filter(|_| clean)
    }

    fn health(&mut self) -> Option<HealthCheck> {
        let table_line = self.line;
        let path = self.string("http_path", "http_path = \"/health\"", false).and_then(|found| match found {
            Some((p, line)) if !p.starts_with('/') || p.chars().any(char::is_whitespace) => {
                self.push(line, format!("http_path {p:?} must start with / and have no spaces, e.g. http_path = \"/health\""));
                Err(())
            }
            found => Ok(found),
        });
        let status_line = self.entries.iter().find(|(k, _)| k.get_ref() == "expect_status").map(|(k, _)| self.lines.line(k.span().start));
        let status = self.int("expect_status", "expect_status = 200", (100, 599), DEFAULT_EXPECT_STATUS.into());
        let command = self.command("command", "command = \"curl -fsS localhost:$PORT/\"", false);
        let tcp = match self.take("tcp") {
            None => Ok(None),
            Some((_, Node::Bool(true))) => Ok(Some(true)),
            Some((line, Node::Bool(false))) => {
                self.push(line, "tcp = false turns no check on; write tcp = true, or http_path or command instead".into());
                Err(())
            }
            Some((line, other)) => {
                self.wrong_type(line, "tcp", other, "tcp = true");
                Err(())
            }
        };
        let timeout = self.int("timeout_secs", "timeout_secs = 30", (1, 3600), DEFAULT_HEALTH_TIMEOUT_SECS.into());
        let clean = self.finish(&["http_path", "expect_status", "command", "tcp", "timeout_secs"]);
        let (path, command, tcp) = (path.ok()?, command.ok()?, tcp.ok()?);
        if let (None, Some(line)) = (&path, status_line) {
            self.push(line, "expect_status goes with http_path; add http_path = \"/health\" or remove expect_status".into());
            return None;
        }
        let probe = match (path, command, tcp) {
            (Some((path, _)), None, None) => HealthProbe::Http { path, expect_status: status? as u16 },
            (None, Some(command), None) => HealthProbe::Command { command },
            (None, None, Some(_)) => HealthProbe::Tcp,
            (None, None, None) => {
                self.push(table_line, "says no check; add one of http_path = \"/health\", command = \"...\" or tcp = true".into());
                return None;
            }
            _ => {
                self.push(table_line, "has more than one check; keep exactly one of http_path, command and tcp = true".into());
                return None;
            }
        };
        Some(HealthCheck { probe, timeout_secs: timeout? as u32 }).filter(|_| clean)
    }

    fn migrate(&mut self) -> Option<Migration> {
        let command = self.command("command", "command = \"python3 manage.py migrate --noinput\"", true);
        let down = self.command("down", "down = \"python3 manage.py migrate app 0001\"", false);
        let timeout = self.int("timeout_secs", "timeout_secs = 600", (1, 86_400), DEFAULT_MIGRATE_TIMEOUT_SECS.into());
        let clean = self.finish(&["command", "down", "timeout_secs"]);
        Some(Migration { command: command.ok()??, down: down.ok()?, timeout_secs: timeout? as u32 }).filter(|_| clean)
    }

    fn data(&mut self) -> Option<DataPaths> {
        let paths = |table: &mut Self, key: &str, example: &str| {
            let found = table.strings(key, example)?;
            let before = table.errors.len();
            for (path, line) in &found {
                if let Some(problem) = path_problem(path) {
                    table.push(*line, format!("{key} entry {path:?} {problem}"));
                }
            }
            Some(found.into_iter().map(|(p, _)| p).collect::<Vec<_>>()).filter(|_| table.errors.len() == before)
        };
        let sqlite = paths(self, "sqlite", "sqlite = [\"notes.sqlite3\"]");
        let other = paths(self, "paths", "paths = [\"uploads\"]");
        let clean = self.finish(&["sqlite", "paths"]);
        Some(DataPaths { sqlite: sqlite?, paths: other? }).filter(|_| clean)
    }

    fn env(&mut self) -> Option<BTreeMap<String, String>> {
        let mut env = BTreeMap::new();
        let mut clean = true;
        let entries = self.entries;
        for (index, (k, v)) in entries.iter().enumerate() {
            self.used[index] = true;
            let (name, line) = (k.get_ref(), self.lines.line(k.span().start));
            let problem = match v.get_ref() {
                _ if !is_variable_name(name) => Some(format!("{name:?} is not a variable name; use capitals, digits and _, e.g. NOTES_DB")),
                _ if PROVIDED_VARIABLES.contains(&name.as_str()) => {
                    Some(format!("{name} is set by the agent and cannot be overridden; remove it (refer to it as ${{{name}}})"))
                }
                Node::Str(value) => reference_problem(value).map(|p| format!("{name} {p}")),
                other => Some(format!("{name} is {}; write it as a string, e.g. {name} = \"value\"", other.kind())),
            };
            match (problem, v.get_ref()) {
                (Some(problem), _) => {
                    clean = false;
                    self.push(line, problem);
                }
                (None, Node::Str(value)) => {
                    env.insert(name.clone(), value.clone());
                }
                (None, _) => clean = false,
            }
        }
        Some(env).filter(|_| clean)
    }
}
