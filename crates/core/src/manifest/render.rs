//! Writes a manifest back as canonical TOML (fixed order, every default spelled out) and as
//! human lines for review screens.

use std::fmt::Write;

use super::{HealthProbe, ReleaseManifest};

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(", "))
}

pub fn toml(m: &ReleaseManifest) -> String {
    let mut out = String::new();
    let web = &m.web;
    let _ = writeln!(out, "[web]\ncommand = {}", quoted(&web.command));
    let _ = writeln!(out, "port_variable = {}", quoted(&web.port_variable));
    let _ = writeln!(out, "stop_signal = {}", quoted(web.stop_signal.as_str()));
    let _ = writeln!(out, "stop_timeout_secs = {}", web.stop_timeout_secs);
    let _ = writeln!(out, "\n[health]");
    let _ = match &m.health.probe {
        HealthProbe::Http { path, expect_status } => {
            writeln!(out, "http_path = {}\nexpect_status = {expect_status}", quoted(path))
        }
        HealthProbe::Command { command } => writeln!(out, "command = {}", quoted(command)),
        HealthProbe::Tcp => writeln!(out, "tcp = true"),
    };
    let _ = writeln!(out, "timeout_secs = {}", m.health.timeout_secs);
    if let Some(migrate) = &m.migrate {
        let _ = writeln!(out, "\n[migrate]\ncommand = {}", quoted(&migrate.command));
        if let Some(down) = &migrate.down {
            let _ = writeln!(out, "down = {}", quoted(down));
        }
        let _ = writeln!(out, "timeout_secs = {}", migrate.timeout_secs);
    }
    if !m.data.sqlite.is_empty() || !m.data.paths.is_empty() {
        let _ = writeln!(out, "\n[data]");
        if !m.data.sqlite.is_empty() {
            let _ = writeln!(out, "sqlite = {}", list(&m.data.sqlite));
        }
        if !m.data.paths.is_empty() {
            let _ = writeln!(out, "paths = {}", list(&m.data.paths));
        }
    }
    if !m.env.is_empty() {
        let _ = writeln!(out, "\n[env]");
        for (name, value) in &m.env {
            let _ = writeln!(out, "{name} = {}", quoted(value));
        }
    }
    out
}

pub fn summary(m: &ReleaseManifest) -> Vec<String> {
    let mut lines = vec![format!("starts: {}", m.web.command)];
    lines.push(format!("stops: {}, then SIGKILL after {} s", m.web.stop_signal, m.web.stop_timeout_secs));
    let within = m.health.timeout_secs;
    lines.push(match &m.health.probe {
        HealthProbe::Http { path, expect_status } => format!("health: HTTP GET {path} expects {expect_status} within {within} s"),
        HealthProbe::Command { command } => {
            format!("health: `{command}` exits 0 within {within} s")
        }
        HealthProbe::Tcp => format!("health: the port accepts a TCP connection within {within} s"),
    });
    if let Some(migrate) = &m.migrate {
        let down = migrate.down.as_ref().map_or(String::from(" (no down migration)"), |d| format!(" (down: {d})"));
        lines.push(format!("migration: {}{down}", migrate.command));
    }
    let kept: Vec<String> = m.data.sqlite.iter().map(|db| format!("SQLite {db}")).chain(m.data.paths.iter().cloned()).collect();
    if !kept.is_empty() {
        lines.push(format!("keeps: {}", kept.join(", ")));
    }
    if !m.env.is_empty() {
        lines.push(format!("sets: {}", m.env.keys().cloned().collect::<Vec<_>>().join(", ")));
    }
    lines
}
