//! Reads a Heroku-style `Procfile` (`<process type>: <command>` per line) into a manifest:
//! `web` is the site, `release` its migration; other process types are not Switchyard's to run.

use super::{ManifestError, ManifestErrors, Migration, ReleaseManifest, DEFAULT_MIGRATE_TIMEOUT_SECS};

pub fn read(source: &str) -> Result<ReleaseManifest, ManifestErrors> {
    let mut errors = Vec::new();
    // Each with the line it came from, for "a second web process" messages.
    let mut web: Option<(String, usize)> = None;
    let mut release: Option<(String, usize)> = None;
    let mut last = 1;
    for (index, raw) in source.lines().enumerate() {
        let line = index + 1;
        last = line;
        let text = raw.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let mut error = |message: String| errors.push(ManifestError { line, message });
        let Some((name, command)) = text.split_once(':') else {
            error(format!("{text:?} has no `:`; write each process as `web: <command>`"));
            continue;
        };
        let (name, command) = (name.trim(), command.trim());
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            error(format!("{name:?} is not a process type; use letters, digits, - and _, e.g. `web: <command>`"));
            continue;
        }
        let slot = match name {
            "web" => &mut web,
            "release" => &mut release,
            _ => continue,
        };
        if command.is_empty() {
            error(format!("the {name} process has no command; write `{name}: <command>`"));
        } else if let Some((_, first)) = slot {
            error(format!("a second {name} process (the first is on line {first}); keep one `{name}:` line"));
        } else {
            *slot = Some((command.to_owned(), line));
        }
    }
    if web.is_none() && errors.is_empty() {
        let message = "there is no web process; add a line `web: <command>` that starts the site".into();
        errors.push(ManifestError { line: last, message });
    }
    match web {
        Some((command, _)) if errors.is_empty() => {
            let mut manifest = ReleaseManifest::for_command(&command);
            manifest.migrate = release.map(|(command, _)| Migration { command, down: None, timeout_secs: DEFAULT_MIGRATE_TIMEOUT_SECS });
            Ok(manifest)
        }
        _ => Err(ManifestErrors(errors)),
    }
}
