//! The audit log: every change anyone made, newest first, a page at a time. The page number is
//! kept in the URL (`?page=2`) so reload and back keep it.

use super::{load_into, render_loadable, Loadable};
use crate::api;
use crate::format;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use switchyard_api::AuditPage;

const PAGE_SIZE: i64 = 50;

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = use_query_map();
    let page = Memo::new(move |_| query.read().get("page").and_then(|p| p.parse::<i64>().ok()).unwrap_or(1).max(1));
    let entries: Loadable<AuditPage> = RwSignal::new(None);
    Effect::new(move |_| {
        let offset = (page.get() - 1) * PAGE_SIZE;
        load_into(entries, api::audit(PAGE_SIZE, offset));
    });
    view! {
        <section class="page" id="audit-page">
            <header class="page-header"><h1>"Audit log"</h1></header>
            {render_loadable(entries, move |audit: AuditPage| {
                if audit.entries.is_empty() {
                    return view! { <p class="empty">"Nothing recorded yet."</p> }.into_any();
                }
                let current = page.get_untracked();
                let pages = ((audit.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
                view! {
                    <table class="table" id="audit">
                        <thead><tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"Target"</th><th>"Detail"</th><th>"From"</th></tr></thead>
                        <tbody>
                            {audit.entries.into_iter().map(|entry| { let action = entry.action.clone(); view! {
                                <tr class="audit-entry" data-action=action>
                                    <td class="when">{format::when_precise(&entry.at)}</td>
                                    <td>{entry.actor}</td>
                                    <td><code>{entry.action}</code></td>
                                    <td>{entry.target}</td>
                                    <td>{entry.detail}</td>
                                    <td class="muted">{entry.remote}</td>
                                </tr>
                            }}).collect_view()}
                        </tbody>
                    </table>
                    <nav class="pager" id="audit-pager">
                        {(current > 1).then(|| view! { <a class="button" id="audit-newer" href=format!("/audit?page={}", current - 1)>"← Newer"</a> })}
                        <span class="muted">{format!("Page {current} of {pages} · {} entries", audit.total)}</span>
                        {(current < pages).then(|| view! { <a class="button" id="audit-older" href=format!("/audit?page={}", current + 1)>"Older →"</a> })}
                    </nav>
                }.into_any()
            })}
        </section>
    }
}
