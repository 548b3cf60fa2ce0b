//! A site's candidate limits card: the quota, largest unpacked size and most entries its
//! candidates are held to, each saying whether the site sets it or the server's default
//! applies; support staff set or clear the site's own (sizes like `2GiB`), checked with core's
//! rule before the request is sent.

use crate::api;
use crate::form::{FormBanner, FormState, TextField};
use leptos::prelude::*;
use switchyard_api::{CandidateLimitsDraft, EffectiveLimit, LimitSource, SiteCandidateLimits};
use switchyard_core::candidate_limits::{human_size, parse_size};
use switchyard_core::{FieldError, Invalid};

/// What a field shows: the site's own value, or nothing for the server's default.
fn own(limit: EffectiveLimit, show: fn(u64) -> String) -> String {
    if limit.source == LimitSource::Site {
        show(limit.value)
    } else {
        String::new()
    }
}

fn count(n: u64) -> String {
    n.to_string()
}

/// Where a limit comes from, in words.
fn explained(limit: EffectiveLimit, show: fn(u64) -> String) -> String {
    match limit.source {
        LimitSource::Site => format!("{} set for this site (server default {})", show(limit.value), show(limit.server_default)),
        LimitSource::Server => format!("{}, the server's default", show(limit.value)),
    }
}

/// The form's text as a draft: blank is the server's default.
fn draft_of(quota: &str, unpacked: &str, entries: &str) -> Result<CandidateLimitsDraft, Invalid> {
    let mut errors = Vec::new();
    let mut size = |field: &str, text: &str| match text.trim() {
        "" => None,
        text => parse_size(text).map_err(|e| errors.push(FieldError::new(field, e))).ok(),
    };
    let quota_bytes = size("quota_bytes", quota);
    let max_unpacked_bytes = size("max_unpacked_bytes", unpacked);
    let max_entries = match entries.trim() {
        "" => None,
        text => text
            .parse::<u64>()
            .map_err(|_| errors.push(FieldError::new("max_entries", format!("{text:?} is not a whole number of entries"))))
            .ok(),
    };
    if errors.is_empty() {
        Ok(CandidateLimitsDraft { quota_bytes, max_unpacked_bytes, max_entries })
    } else {
        Err(Invalid(errors))
    }
}

#[component]
pub fn CandidateLimitsCard(site_id: i64, limits: Option<SiteCandidateLimits>, editable: bool) -> impl IntoView {
    let Some(limits) = limits else { return ().into_any() };
    let shown = RwSignal::new(limits);
    let quota = RwSignal::new(own(limits.quota_bytes, human_size));
    let unpacked = RwSignal::new(own(limits.max_unpacked_bytes, human_size));
    let entries = RwSignal::new(own(limits.max_entries, count));
    let form = FormState::new();
    let saved = RwSignal::new(None::<&'static str>);
    let send = move |draft: Result<CandidateLimitsDraft, Invalid>, done: &'static str| {
        saved.set(None);
        let total = shown.get_untracked().server_total_bytes;
        let draft = draft.and_then(|d| d.validated(total).map(|()| d));
        let checked = draft.as_ref().map(|_| ()).map_err(Clone::clone);
        let request = draft.unwrap_or_default();
        form.submit(checked, async move { api::set_site_candidate_limits(site_id, &request).await }, move |now: SiteCandidateLimits| {
            shown.set(now);
            quota.set(own(now.quota_bytes, human_size));
            unpacked.set(own(now.max_unpacked_bytes, human_size));
            entries.set(own(now.max_entries, count));
            saved.set(Some(done));
        });
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send(draft_of(&quota.get_untracked(), &unpacked.get_untracked(), &entries.get_untracked()), "Saved.");
    };
    view! {
        <section class="card" id="candidate-limits">
            <h2>"Candidate limits"</h2>
            <ul class="plain" id="candidate-limits-effective">
                <li>"Quota: " {move || explained(shown.get().quota_bytes, human_size)}</li>
                <li>"Largest unpacked size: " {move || explained(shown.get().max_unpacked_bytes, human_size)}</li>
                <li>"Most entries: " {move || explained(shown.get().max_entries, count)}</li>
            </ul>
            {editable.then(|| view! {
                <form class="form" on:submit=save novalidate=true>
                    <FormBanner form=form />
                    <p class="muted">"Leave a field empty for the server's default. No limit may pass the server's total quota."</p>
                    <TextField label="Quota" name="quota_bytes" value=quota form=form placeholder="5GiB" />
                    <TextField label="Largest unpacked size" name="max_unpacked_bytes" value=unpacked form=form placeholder="2GiB" />
                    <TextField label="Most entries" name="max_entries" value=entries form=form placeholder="100000" />
                    <div class="actions">
                        <button type="submit" class="button primary" id="candidate-limits-save" disabled=move || form.busy.get()>"Save limits"</button>
                        <button type="button" class="button" id="candidate-limits-clear" on:click=move |_| send(Ok(CandidateLimitsDraft::default()), "Back to the server's defaults.")>"Use the server's defaults"</button>
                        {move || saved.get().map(|s| view! { <span class="muted">{s}</span> })}
                    </div>
                </form>
            })}
        </section>
    }
    .into_any()
}
