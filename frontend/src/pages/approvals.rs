//! Support's approvals queue: production releases waiting for an approval, in the server's
//! order, each opening the release page with its document diff. Refreshed every few seconds.

use super::{load_into, render_loadable, Loadable};
use crate::api;
use crate::format;
use leptos::prelude::*;
use std::time::Duration;
use switchyard_api::ReleaseSummary;

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let queue: Loadable<Vec<ReleaseSummary>> = RwSignal::new(None);
    let reload = move || load_into(queue, api::approvals());
    reload();
    // New submissions appear without a reload while the page is open.
    let handle = set_interval_with_handle(reload, Duration::from_secs(5)).ok();
    on_cleanup(move || {
        if let Some(handle) = handle {
            handle.clear();
        }
    });
    view! {
        <section class="page" id="approvals-page">
            <header class="page-header">
                <h1>"Approvals"</h1>
                <button class="button" id="refresh-approvals" on:click=move |_| reload()>"Refresh"</button>
            </header>
            <p class="muted">"Production releases waiting for support's approval. Open one to read its patch document against the last release."</p>
            {render_loadable(queue, move |queue: Vec<ReleaseSummary>| {
                let now = format::now_ms();
                if queue.is_empty() {
                    return view! { <p class="empty" id="approvals-empty">"Nothing is waiting for approval."</p> }.into_any();
                }
                view! {
                    <table class="table" id="approvals">
                        <thead>
                            <tr>
                                <th>"Release"</th><th>"Site"</th><th>"Customer"</th><th>"Workflow"</th>
                                <th>"Candidate"</th><th>"Submitted by"</th><th>"Waiting"</th><th></th>
                            </tr>
                        </thead>
                        <tbody>
                            {queue.into_iter().map(|r| view! {
                                <tr class="approval" data-release-id=r.id>
                                    <td>{format!("#{} · v{}", r.id, r.document_version)}</td>
                                    <td>{r.site}</td>
                                    <td>{r.customer}</td>
                                    <td>{r.workflow}</td>
                                    <td><code class="sha256" title=r.candidate_sha256.clone()>{format::short_hash(&r.candidate_sha256)}</code></td>
                                    <td>{r.submitted_by}</td>
                                    <td class="age">{format::age(&r.created_at, now)}</td>
                                    <td class="row-actions"><a class="button primary review-link" href=format!("/releases/{}", r.id)>"Review"</a></td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            })}
        </section>
    }
}
