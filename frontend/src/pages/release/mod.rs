//! A release's page, followed live: while the release is not final it is asked for again every
//! second (and no longer once it is final or the page is left), the elapsed time ticks, and
//! each role sees the decisions the server says it may take now.

mod actions;
mod diff;
mod evidence;
mod live;

use crate::api;
use crate::api::ApiResult;
use crate::format;
use crate::pages::site_releases::StatusBadge;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use std::time::Duration;
use switchyard_api::{ReleaseDetail, ReleaseSummary};

/// A release that will not change again without someone asking: no more polling.
pub fn is_final(summary: &ReleaseSummary) -> bool {
    matches!(summary.status.as_str(), "completed" | "rolled-back")
}

#[component]
pub fn ReleasePage() -> impl IntoView {
    let params = use_params_map();
    let release_id = Memo::new(move |_| params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or(0));
    let detail = RwSignal::new(None::<ApiResult<ReleaseDetail>>);
    let now = RwSignal::new(format::now_ms());
    let in_flight = StoredValue::new(false);

    let fetch = move || {
        if in_flight.get_value() {
            return;
        }
        in_flight.set_value(true);
        let id = release_id.get_untracked();
        leptos::task::spawn_local(async move {
            let answer = api::release(id).await;
            in_flight.set_value(false);
            // The page moved on to another release (Run in production) while this was asked.
            if id != release_id.get_untracked() {
                return;
            }
            // A failed poll of a page that already shows the release keeps what it shows.
            if answer.is_ok() || !matches!(detail.get_untracked(), Some(Ok(_))) {
                detail.set(Some(answer));
            }
        });
    };
    Effect::new(move |_| {
        release_id.track();
        detail.set(None);
        fetch();
    });
    let handle = set_interval_with_handle(
        move || {
            now.set(format::now_ms());
            let settled = detail.with_untracked(|d| match d {
                Some(Ok(detail)) => is_final(&detail.summary),
                // Nothing to follow when the release cannot be read (refused, not found).
                Some(Err(_)) => true,
                None => false,
            });
            if !settled {
                fetch();
            }
        },
        Duration::from_secs(1),
    )
    .ok();
    on_cleanup(move || {
        if let Some(handle) = handle {
            handle.clear();
        }
    });

    let summary = Memo::new(move |_| detail.with(|d| d.as_ref().and_then(|d| d.as_ref().ok()).map(|d| d.summary.clone())));
    let loaded = Memo::new(move |_| detail.with(|d| d.as_ref().map(|d| d.as_ref().map(|_| ()).map_err(Clone::clone))));
    let reload = move || fetch();

    view! {
        <section class="page release-page" id="release-page">
            {move || match loaded.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(Err(error)) => view! {
                    <crate::form::LoadError error=error />
                    <p><a href="/">"Back to the start page"</a></p>
                }.into_any(),
                Some(Ok(())) => view! {
                    <ReleaseHeader summary=summary now=now />
                    <actions::ReleaseActions detail=detail reload=reload />
                    <evidence::EvidenceCard detail=detail now=now />
                    // The diff is what a reviewer reads first, before how the run went.
                    <diff::DocumentDiffCard release_id=release_id.get_untracked() detail=detail />
                    <div class="release-grid">
                        <live::Stages detail=detail />
                        <live::Measurements detail=detail />
                    </div>
                    <live::Timeline detail=detail />
                    <live::Decisions detail=detail />
                    <live::Artifacts detail=detail />
                }.into_any(),
            }}
        </section>
    }
}

#[component]
fn ReleaseHeader(summary: Memo<Option<ReleaseSummary>>, now: RwSignal<f64>) -> impl IntoView {
    let elapsed = move || {
        summary.get().map(|s| {
            let seconds = match (&s.finished_at, format::epoch_ms(&s.created_at)) {
                (None, Some(started)) => (now.get() - started) / 1000.0,
                _ => s.duration_s,
            };
            format::duration(seconds)
        })
    };
    move || {
        summary.get().map(|s| {
            let site_link = s.site_id.map(|id| format!("/sites/{id}")).unwrap_or_else(|| "/sites".into());
            view! {
                <header class="page-header">
                    <div>
                        <p class="breadcrumb">
                            {s.customer.clone()} " / " <a href=site_link id="release-site">{s.site.clone()}</a>
                        </p>
                        <h1 id="release-title">
                            {format!("Release #{} · {} · {}", s.id, s.run, s.workflow)}
                        </h1>
                        <p class="release-status">
                            <StatusBadge status=s.status.clone() />
                            " "
                            <span id="waiting-for">{s.waiting_for.clone()}</span>
                        </p>
                    </div>
                    <dl class="facts">
                        <dt>"Elapsed"</dt>
                        <dd id="elapsed">{elapsed}</dd>
                        <dt>"Document"</dt>
                        <dd>{format!("v{}", s.document_version)}</dd>
                        <dt>"Submitted by"</dt>
                        <dd id="submitted-by">{s.submitted_by.clone()}</dd>
                        <dt>"Started"</dt>
                        <dd>{format::when_precise(&s.created_at)}</dd>
                    </dl>
                </header>
            }
        })
    }
}
