//! A site's releases on its page: starting a rehearsal of a patch-document version, and the
//! list of the site's releases, each linking to its live page.

use super::{load_into, render_loadable, Loadable};
use crate::api;
use crate::form::{FormBanner, FormState};
use crate::format;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use switchyard_api::{HistoryFilter, HistoryPage, NewReleaseRequest, PatchDocumentRecord, ReleaseSummary};
use switchyard_core::validate::FieldError;
use switchyard_core::Invalid;

#[component]
pub fn StartRehearsalCard(site_id: i64) -> impl IntoView {
    let documents: Loadable<Vec<PatchDocumentRecord>> = RwSignal::new(None);
    load_into(documents, api::patch_documents(site_id));
    let version = RwSignal::new(String::new());
    let form = FormState::new();
    let navigate = use_navigate();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // Until the person picks one, the select shows the newest version: rehearse that.
        let newest = documents.with_untracked(|d| d.as_ref().and_then(|d| d.as_ref().ok()).and_then(|d| d.iter().map(|d| d.version).max()));
        let chosen = version.get_untracked().parse::<u32>().ok().or(newest.map(|v| v as u32));
        let checked = match chosen {
            Some(_) => Ok(()),
            None => Err(Invalid(vec![FieldError::new("document_version", "choose the patch-document version to rehearse")])),
        };
        let request =
            NewReleaseRequest { site_id, document_version: chosen.unwrap_or(0), run: "rehearsal".into(), pinned_accounts: Vec::new() };
        let navigate = navigate.clone();
        form.submit(checked, async move { api::start_release(&request).await }, move |release| {
            navigate(&format!("/releases/{}", release.id), Default::default())
        });
    };
    view! {
        <section class="card" id="start-rehearsal">
            <h2>"Rehearse a release"</h2>
            <p class="muted">
                "A rehearsal runs the patch document on a fresh copy of production at a temporary address. "
                "Once you have tested it there and marked it ready, support can run it in production."
            </p>
            {render_loadable(documents, move |documents: Vec<PatchDocumentRecord>| {
                if documents.is_empty() {
                    return view! {
                        <p class="empty">
                            "No patch document yet. " <a href=format!("/sites/{site_id}/patches")>"Write one"</a>
                            " that names the candidate to release, then rehearse it here."
                        </p>
                    }.into_any();
                }
                let newest = documents.iter().map(|d| d.version).max().unwrap_or_default();
                view! {
                    <form class="inline-form" id="rehearsal-form" on:submit=submit.clone() novalidate=true>
                        <FormBanner form=form all=true />
                        <label class="field">
                            <span class="field-label">"Patch document"</span>
                            <select name="document_version" on:change=move |ev| version.set(event_target_value(&ev))>
                                {documents.into_iter().rev().map(|d| {
                                    let value = d.version.to_string();
                                    let selected = d.version == newest;
                                    view! {
                                        <option value=value selected=selected>
                                            {format!("v{} · {} · {} · candidate {}", d.version, d.workflow, d.target_version, format::short_hash(&d.candidate_sha256))}
                                        </option>
                                    }
                                }).collect_view()}
                            </select>
                            {move || form.field_message("document_version").map(|m| view! { <span class="field-error" data-field="document_version">{m}</span> })}
                        </label>
                        <button type="submit" class="button primary" id="start-rehearsal-button" disabled=move || form.busy.get()>
                            "Start rehearsal"
                        </button>
                    </form>
                }.into_any()
            })}
        </section>
    }
}

#[component]
pub fn SiteReleasesCard(site_id: i64) -> impl IntoView {
    let releases: Loadable<HistoryPage> = RwSignal::new(None);
    let filter = HistoryFilter { site_id: Some(site_id), limit: Some(20), ..Default::default() };
    load_into(releases, async move { api::releases(&filter).await });
    view! {
        <section class="card" id="site-releases">
            <h2>"Releases"</h2>
            {render_loadable(releases, |page: HistoryPage| {
                if page.releases.is_empty() {
                    return view! { <p class="empty">"No releases of this site yet."</p> }.into_any();
                }
                view! { <ReleaseTable releases=page.releases /> }.into_any()
            })}
        </section>
    }
}

/// Releases as a table, newest first, each linking to its page. Shared by the site page and
/// the history page.
#[component]
pub fn ReleaseTable(releases: Vec<ReleaseSummary>, #[prop(optional)] show_site: bool) -> impl IntoView {
    view! {
        <table class="table release-table">
            <thead>
                <tr>
                    <th>"Release"</th>
                    {show_site.then(|| view! { <th>"Site"</th><th>"Customer"</th> })}
                    <th>"Run"</th>
                    <th>"Workflow"</th>
                    <th>"Status"</th>
                    <th>"Started"</th>
                    <th class="num">"Duration"</th>
                    <th class="num">"Downtime"</th>
                </tr>
            </thead>
            <tbody>
                {releases.into_iter().map(|r| {
                    view! {
                        <tr class="release-row" data-release-id=r.id data-status=r.status.clone() data-outcome=r.outcome.clone().unwrap_or_default()>
                            <td><a class="release-link" href=format!("/releases/{}", r.id)>{format!("#{} · v{}", r.id, r.document_version)}</a></td>
                            {show_site.then(|| view! { <td>{r.site.clone()}</td><td>{r.customer.clone()}</td> })}
                            <td><span class=format!("badge run-{}", r.run)>{r.run.clone()}</span></td>
                            <td>{r.workflow.clone()}</td>
                            // A finished release's badge says how it ended (failed, rejected, rolled
                            // back: the history figures' words); one under way what it waits for.
                            <td>
                                <StatusBadge status=r.outcome.clone().unwrap_or_else(|| r.status.clone()) />
                                {r.outcome.is_none().then(|| view! { " " <span class="muted small">{r.waiting_for.clone()}</span> })}
                            </td>
                            <td class="when">{format::when(&r.created_at)}</td>
                            <td class="num">{format::duration(r.duration_s)}</td>
                            <td class="num">{format::downtime(r.downtime_ms)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// A release's status as a coloured badge (`running`, `waiting`, `completed`, `rolled-back`, `stalled`).
#[component]
pub fn StatusBadge(status: String) -> impl IntoView {
    view! { <span class=format!("badge status-{status}") data-status=status.clone()>{status.clone()}</span> }
}
