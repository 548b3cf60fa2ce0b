//! Desktop notifications: the shell polls the releases waiting for the signed-in person
//! (`GET /approvals`) and the latest releases (`GET /releases?limit=20`) and notifies about what
//! changed since its previous look: a release now waiting for them, a release that ended.

use crate::backend::{Desktop, OutBody, Outgoing};
use axum::http::Method;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use switchyard_api::API_PREFIX;
use tauri::Manager;

const POLL_EVERY: Duration = Duration::from_secs(4);

/// The fields of a release summary the watcher needs; lenient, so a new field never stops it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Seen {
    pub id: i64,
    #[serde(default)]
    pub site: String,
    #[serde(default)]
    pub run: String,
    #[serde(default)]
    pub workflow: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub waiting_for: String,
    #[serde(default)]
    pub submitted_by: String,
}

/// A notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub title: String,
    pub body: String,
}

/// What the previous look saw. The first look only sets the baseline: opening the app does not
/// replay old news.
#[derive(Debug, Default)]
pub struct Watch {
    approvals: Option<BTreeSet<i64>>,
    releases: Option<BTreeMap<i64, bool>>,
}

fn ended(release: &Seen) -> bool {
    release.outcome.is_some() || matches!(release.status.as_str(), "completed" | "rolled-back")
}

fn describe(release: &Seen) -> String {
    format!("{} {} release #{} of {}", release.workflow, release.run, release.id, release.site).trim().to_owned()
}

impl Watch {
    /// True until a look has read at least one of the lists.
    pub fn is_new(&self) -> bool {
        self.approvals.is_none() && self.releases.is_none()
    }

    /// Compares a look with the previous one. `None` for a list that could not be read (the
    /// person may not see approvals at all): that list keeps its baseline.
    pub fn observe(&mut self, approvals: Option<&[Seen]>, releases: Option<&[Seen]>) -> Vec<Note> {
        let mut notes = Vec::new();
        if let Some(approvals) = approvals {
            let now: BTreeSet<i64> = approvals.iter().map(|r| r.id).collect();
            if let Some(before) = &self.approvals {
                for release in approvals.iter().filter(|r| !before.contains(&r.id)) {
                    let waiting = if release.waiting_for.is_empty() { "waits for your approval" } else { &release.waiting_for };
                    notes.push(Note {
                        title: format!("Approval needed: {}", release.site),
                        body: format!("{} submitted by {}: {waiting}.", describe(release), release.submitted_by),
                    });
                }
            }
            self.approvals = Some(now);
        }
        if let Some(releases) = releases {
            let now: BTreeMap<i64, bool> = releases.iter().map(|r| (r.id, ended(r))).collect();
            if let Some(before) = &self.releases {
                let newest_before = before.keys().next_back().copied().unwrap_or(0);
                for release in releases.iter().filter(|r| ended(r)) {
                    let was_running = before.get(&release.id) == Some(&false);
                    let new_and_done = !before.contains_key(&release.id) && release.id > newest_before;
                    if was_running || new_and_done {
                        let outcome = release.outcome.clone().unwrap_or_else(|| release.status.clone());
                        let title = if outcome == "completed" { "Release completed" } else { "Release rolled back" };
                        let outcome = outcome.replace('-', " ");
                        notes.push(Note { title: format!("{title}: {}", release.site), body: format!("{} {outcome}.", describe(release)) });
                    }
                }
            }
            self.releases = Some(now);
        }
        notes
    }
}

/// Reads a list; a refusal (not signed in, not allowed) or an odd shape is `None`.
async fn look(desktop: &Desktop, path: &str) -> Option<Vec<Seen>> {
    let reply = desktop.send(Outgoing::new(Method::GET, format!("{API_PREFIX}{path}"), OutBody::Empty)).await.ok()?;
    let value: serde_json::Value = reply.json().ok()?;
    // `GET /releases` answers a page; `GET /approvals` a list.
    let list = value.get("releases").cloned().unwrap_or(value);
    serde_json::from_value(list).ok()
}

/// The signed-in person's username.
async fn username(desktop: &Desktop) -> Option<String> {
    let reply = desktop.send(Outgoing::new(Method::GET, format!("{API_PREFIX}/session"), OutBody::Empty)).await.ok()?;
    let session: switchyard_api::SessionInfo = reply.json().ok()?;
    session.me.map(|me| me.username)
}

/// One look: what to notify about since `watch`'s previous look. Nobody approves what they
/// submitted, so their own releases waiting for approval are not news to them.
pub async fn poll(desktop: &Desktop, watch: &mut Watch) -> Vec<Note> {
    let me = username(desktop).await;
    let approvals = look(desktop, "/approvals")
        .await
        .map(|waiting| waiting.into_iter().filter(|r| Some(&r.submitted_by) != me.as_ref()).collect::<Vec<_>>());
    let releases = look(desktop, "/releases?limit=20").await;
    watch.observe(approvals.as_deref(), releases.as_deref())
}

static WATCHING: AtomicBool = AtomicBool::new(false);

/// Starts the watcher once per app run; later calls (a page reload) change nothing.
#[tauri::command]
pub fn watch_notifications(app: tauri::AppHandle) {
    if WATCHING.swap(true, Ordering::SeqCst) {
        return;
    }
    tauri::async_runtime::spawn(async move {
        let mut watch = Watch::default();
        let mut watching_for = None;
        loop {
            let desktop = app.state::<Desktop>();
            // A new session (log in, log out, another mode) starts a new baseline.
            let session = match desktop.session_cookie() {
                Some(cookie) => Some((cookie, desktop.mode().await)),
                None => None,
            };
            if session != watching_for {
                watch = Watch::default();
                watching_for = session.clone();
            }
            if session.is_some() {
                let first = watch.is_new();
                for note in poll(&desktop, &mut watch).await {
                    show(&app, &note);
                }
                if first && !watch.is_new() {
                    tracing::info!("notifications: first look taken; changes from now on are notified");
                }
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    });
}

fn show(app: &tauri::AppHandle, note: &Note) {
    use tauri_plugin_notification::NotificationExt;
    tracing::info!("notification: {}: {}", note.title, note.body);
    if let Err(error) = app.notification().builder().title(&note.title).body(&note.body).show() {
        tracing::warn!("cannot show a desktop notification ({error}); is a notification service running?");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(id: i64, status: &str, outcome: Option<&str>) -> Seen {
        Seen {
            id,
            site: "Acme Shop".into(),
            run: "production".into(),
            workflow: "blue-green".into(),
            status: status.into(),
            outcome: outcome.map(str::to_owned),
            waiting_for: if status == "waiting" { "waiting for support's approval".into() } else { String::new() },
            submitted_by: "casey".into(),
        }
    }

    #[test]
    fn the_first_look_is_only_a_baseline() {
        let mut watch = Watch::default();
        let notes = watch.observe(Some(&[release(3, "waiting", None)]), Some(&[release(2, "completed", Some("completed"))]));
        assert_eq!(notes, vec![]);
    }

    #[test]
    fn a_release_that_starts_waiting_for_approval_is_announced_once() {
        let mut watch = Watch::default();
        watch.observe(Some(&[]), Some(&[]));
        let waiting = [release(4, "waiting", None)];
        let notes = watch.observe(Some(&waiting), None);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(notes[0].title, "Approval needed: Acme Shop");
        assert!(notes[0].body.contains("waiting for support's approval"), "{}", notes[0].body);
        assert_eq!(watch.observe(Some(&waiting), None), vec![]);
    }

    #[test]
    fn releases_that_end_are_announced_with_their_outcome_and_old_ones_are_not() {
        let mut watch = Watch::default();
        watch.observe(None, Some(&[release(5, "running", None), release(1, "completed", Some("completed"))]));
        let notes = watch.observe(
            None,
            Some(&[
                release(7, "rolled-back", Some("rolled-back")),
                release(5, "completed", Some("completed")),
                release(1, "completed", Some("completed")),
            ]),
        );
        let titles: Vec<&str> = notes.iter().map(|n| n.title.as_str()).collect();
        assert_eq!(titles, ["Release rolled back: Acme Shop", "Release completed: Acme Shop"]);
        assert_eq!(notes[0].body, "blue-green production release #7 of Acme Shop rolled back.");
        assert_eq!(notes[1].body, "blue-green production release #5 of Acme Shop completed.");
    }
}
