//! The managers' release history: filters kept in the URL query (so reload, back and a shared
//! link keep them), the charts for those filters, a paged table, and a CSV export of the same.

use super::charts::HistoryCharts;
use super::site_releases::ReleaseTable;
use super::{load_into, render_loadable, Loadable};
use crate::api;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use switchyard_api::{Customer, HistoryFilter, HistoryPage, HistoryStats, Site};
use switchyard_core::WorkflowKind;

const PAGE_SIZE: i64 = 25;

/// The filter a URL query describes; `page` is 1-based.
fn filter_from(query: &ParamsMap) -> (HistoryFilter, i64) {
    let text = |key: &str| query.get(key).filter(|v| !v.is_empty());
    let page = text("page").and_then(|p| p.parse::<i64>().ok()).unwrap_or(1).max(1);
    let filter = HistoryFilter {
        site_id: text("site_id").and_then(|v| v.parse().ok()),
        customer_id: text("customer_id").and_then(|v| v.parse().ok()),
        workflow: text("workflow"),
        outcome: text("outcome"),
        run: text("run"),
        from: text("from"),
        to: text("to"),
        limit: None,
        offset: None,
    };
    (filter, page)
}

#[component]
pub fn HistoryPageView() -> impl IntoView {
    let query = use_query_map();
    let current = Memo::new(move |_| query.with(filter_from));
    let releases: Loadable<HistoryPage> = RwSignal::new(None);
    let stats: Loadable<HistoryStats> = RwSignal::new(None);
    Effect::new(move |_| {
        let (filter, page) = current.get();
        let paged = HistoryFilter { limit: Some(PAGE_SIZE), offset: Some((page - 1) * PAGE_SIZE), ..filter.clone() };
        load_into(releases, async move { api::releases(&paged).await });
        load_into(stats, async move { api::release_stats(&filter).await });
    });
    let sites: Loadable<Vec<Site>> = RwSignal::new(None);
    let customers: Loadable<Vec<Customer>> = RwSignal::new(None);
    load_into(sites, api::sites());
    load_into(customers, api::customers());

    let navigate = use_navigate();
    // Changing a filter starts again at page 1; the URL is the filter's only home.
    let set = move |key: &'static str, value: String| {
        let mut params: Vec<(String, String)> =
            query.get_untracked().into_iter().filter(|(k, _)| k != key && k != "page").map(|(k, v)| (k.to_string(), v)).collect();
        if !value.is_empty() {
            params.push((key.to_string(), value));
        }
        let text = params.iter().map(|(k, v)| format!("{k}={}", js_sys::encode_uri_component(v))).collect::<Vec<_>>().join("&");
        navigate(&format!("/history?{text}"), Default::default());
    };
    let set = StoredValue::new(set);
    let choose = move |key: &'static str| move |ev: leptos::ev::Event| set.with_value(|set| set(key, event_target_value(&ev)));
    let selected = move |key: &'static str, value: String| move || query.with(|q| q.get(key).unwrap_or_default() == value);
    let options = move |pairs: Vec<(String, String)>, key: &'static str| {
        pairs
            .into_iter()
            .map(|(value, text)| view! { <option value=value.clone() selected=selected(key, value)>{text}</option> })
            .collect_view()
    };
    let site_options =
        move || sites.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|s| (s.id.to_string(), s.name)).collect::<Vec<_>>();
    let customer_options = move || {
        customers.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|c| (c.id.to_string(), c.name)).collect::<Vec<_>>()
    };
    let plain = |values: &[&str]| values.iter().map(|v| (v.to_string(), v.to_string())).collect::<Vec<_>>();
    let workflows: Vec<&str> = WorkflowKind::ALL.iter().map(|w| w.as_str()).collect();
    let date = move |key: &'static str| move || query.with(|q| q.get(key).unwrap_or_default());

    view! {
        <section class="page wide" id="history-page">
            <header class="page-header">
                <h1>"Release history"</h1>
                <ExportCsv filter=Signal::derive(move || current.get().0) />
            </header>
            <form class="card filters" id="history-filters" on:submit=|ev| ev.prevent_default()>
                <label class="field"><span class="field-label">"Site"</span>
                    <select name="site_id" on:change=choose("site_id")>
                        <option value="">"All sites"</option>
                        {move || options(site_options(), "site_id")}
                    </select>
                </label>
                <label class="field"><span class="field-label">"Customer"</span>
                    <select name="customer_id" on:change=choose("customer_id")>
                        <option value="">"All customers"</option>
                        {move || options(customer_options(), "customer_id")}
                    </select>
                </label>
                <label class="field"><span class="field-label">"Workflow"</span>
                    <select name="workflow" on:change=choose("workflow")>
                        <option value="">"All workflows"</option>
                        {options(plain(&workflows), "workflow")}
                    </select>
                </label>
                <label class="field"><span class="field-label">"Outcome"</span>
                    <select name="outcome" on:change=choose("outcome")>
                        <option value="">"Any outcome"</option>
                        {options(plain(&["completed", "failed", "rejected", "rolled-back", "running"]), "outcome")}
                    </select>
                </label>
                <label class="field"><span class="field-label">"Run"</span>
                    <select name="run" on:change=choose("run")>
                        <option value="">"Rehearsals and production"</option>
                        {options(plain(&["production", "rehearsal"]), "run")}
                    </select>
                </label>
                <label class="field"><span class="field-label">"From"</span>
                    <input type="date" name="from" prop:value=date("from") on:change=choose("from") />
                </label>
                <label class="field"><span class="field-label">"To"</span>
                    <input type="date" name="to" prop:value=date("to") on:change=choose("to") />
                </label>
                <a class="button" id="clear-filters" href="/history">"Clear"</a>
            </form>
            {render_loadable(stats, |stats: HistoryStats| view! { <HistoryCharts stats=stats /> })}
            {render_loadable(releases, move |page: HistoryPage| {
                if page.releases.is_empty() {
                    return view! { <p class="empty" id="history-empty">"No releases match these filters. Widen them or press Clear."</p> }.into_any();
                }
                let (_, current_page) = current.get_untracked();
                let pages = ((page.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
                let link = move |to: i64| {
                    let mut params: Vec<String> = query.get_untracked().into_iter().filter(|(k, _)| k != "page")
                        .map(|(k, v)| format!("{k}={}", js_sys::encode_uri_component(&v))).collect();
                    params.push(format!("page={to}"));
                    format!("/history?{}", params.join("&"))
                };
                view! {
                    <div id="history-table">
                        <ReleaseTable releases=page.releases show_site=true />
                    </div>
                    <nav class="pager" id="history-pager">
                        {(current_page > 1).then(|| view! { <a class="button" id="history-previous" href=link(current_page - 1)>"← Newer"</a> })}
                        <span class="muted" id="history-count">{format!("Page {current_page} of {pages} · {} releases", page.total)}</span>
                        {(current_page < pages).then(|| view! { <a class="button" id="history-next" href=link(current_page + 1)>"Older →"</a> })}
                    </nav>
                }.into_any()
            })}
        </section>
    }
}

/// Downloads the history for the current filters as CSV: a plain link in a browser, the native
/// save dialog in the desktop app.
#[component]
fn ExportCsv(filter: Signal<HistoryFilter>) -> impl IntoView {
    if crate::desktop::is_desktop() {
        let problem = RwSignal::new(None::<String>);
        let save = move |_| {
            let query = api::query_string(&filter.get_untracked());
            leptos::task::spawn_local(async move {
                problem.set(crate::desktop::save_csv_native(query).await.err().map(|e| e.to_string()));
            });
        };
        view! {
            <div class="actions">
                <button class="button" id="export-csv" on:click=save>"Export CSV…"</button>
                {move || problem.get().map(|p| view! { <span class="field-error">{p}</span> })}
            </div>
        }
        .into_any()
    } else {
        view! { <a class="button" id="export-csv" href=move || api::export_csv_url(&filter.get()) download="releases.csv">"Export CSV"</a> }
            .into_any()
    }
}
