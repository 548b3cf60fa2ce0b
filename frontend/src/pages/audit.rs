//! The audit log: every change anyone made, newest first, a page at a time. The page number is
//! kept in the URL (`?page=2`) so reload and back keep it. Above it, the record's status: the
//! server checks the hash chains of the audit log and release journal and names a broken row.

use super::{allowed, load_into, render_loadable, Loadable, NotForYou};
use crate::api;
use crate::format;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use switchyard_api::{AuditPage, RecordCheck};
use switchyard_core::access::Action;

const PAGE_SIZE: i64 = 50;

#[component]
pub fn AuditLogPage() -> impl IntoView {
    match allowed(&crate::session::current_user(), Action::ReadAudit) {
        Ok(()) => view! { <AuditLog /> }.into_any(),
        Err(reason) => view! { <NotForYou title="Audit log" reason=reason /> }.into_any(),
    }
}

#[component]
fn AuditLog() -> impl IntoView {
    let query = use_query_map();
    let page = Memo::new(move |_| query.read().get("page").and_then(|p| p.parse::<i64>().ok()).unwrap_or(1).max(1));
    let entries: Loadable<AuditPage> = RwSignal::new(None);
    Effect::new(move |_| {
        let offset = (page.get() - 1) * PAGE_SIZE;
        load_into(entries, api::audit(PAGE_SIZE, offset));
    });
    let record: Loadable<RecordCheck> = RwSignal::new(None);
    load_into(record, api::verify_record());
    view! {
        <section class="page" id="audit-page">
            <header class="page-header"><h1>"Audit log"</h1></header>
            {render_loadable(record, |check: RecordCheck| {
                if check.intact() {
                    view! {
                        <div class="banner ok" id="record-status" data-intact="true">
                            <strong>"The record is intact."</strong>
                            {format!(
                                " {} audit entries and {} transitions of {} releases checked; no row was edited, deleted or inserted outside Switchyard. ",
                                check.audit_rows, check.transitions, check.releases
                            )}
                            "Keep the head hash elsewhere to notice a rewritten chain: "
                            <code id="record-audit-head">{check.audit_head}</code>
                        </div>
                    }.into_any()
                } else {
                    view! {
                        <div class="banner error" id="record-status" data-intact="false" role="alert">
                            <strong>"The record was changed outside Switchyard."</strong>
                            <ul>{check.breaks.into_iter().map(|b| view! { <li class="record-break">{b.to_string()}</li> }).collect_view()}</ul>
                            "Compare with a backup or an exported release record from before."
                        </div>
                    }.into_any()
                }
            })}
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
