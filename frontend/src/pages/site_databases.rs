//! A site's "Data" card: its databases on its hosts' database servers with their sizes, which
//! environment uses each, the copies Switchyard made (rehearsals, snapshots) and leftovers
//! marked; support staff remove a leftover after confirming on the page (the server refuses
//! anything still in use or declared by the operator, and says why). Customers see the list.

use super::{load_into, render_loadable, Loadable};
use crate::api;
use crate::format;
use leptos::prelude::*;
use switchyard_api::{ApiError, RemoveSiteDatabase, SiteDatabaseEntry, SiteDatabases};

/// A row's stable identity in the page: host, server and database.
fn row_id(d: &SiteDatabaseEntry) -> String {
    format!("{}/{}/{}", d.host_id, d.server, d.database)
}

fn size_of(d: &SiteDatabaseEntry) -> String {
    match (d.size_bytes, d.tables) {
        (Some(bytes), Some(1)) => format!("{} · 1 table", format::bytes(bytes)),
        (Some(bytes), Some(tables)) => format!("{} · {tables} tables", format::bytes(bytes)),
        (Some(bytes), None) => format::bytes(bytes),
        _ => "not on the server".to_owned(),
    }
}

#[component]
pub fn SiteDatabasesCard(site_id: i64, may_remove: bool) -> impl IntoView {
    let listed: Loadable<SiteDatabases> = RwSignal::new(None);
    load_into(listed, api::site_databases(site_id));
    // The row waiting for its removal to be confirmed, and what the last removal answered.
    let confirming = RwSignal::new(None::<String>);
    let failed = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let remove = move |entry: SiteDatabaseEntry| {
        failed.set(None);
        busy.set(true);
        let request = RemoveSiteDatabase { host_id: Some(entry.host_id), server: entry.server, database: entry.database };
        leptos::task::spawn_local(async move {
            match api::remove_site_database(site_id, &request).await {
                Ok(now) => {
                    confirming.set(None);
                    listed.set(Some(Ok(now)));
                }
                Err(error) => failed.set(Some(error)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card" id="site-databases">
            <h2>"Data"</h2>
            {move || failed.get().map(|error| view! {
                <div class="banner error" id="database-remove-error" role="alert">
                    <strong>{error.for_people().0}</strong> " " <span>{error.for_people().1}</span>
                </div>
            })}
            {render_loadable(listed, move |list: SiteDatabases| {
                let problems = list.problems.clone();
                let table = if list.databases.is_empty() {
                    view! { <p class="empty" id="site-databases-empty">"The site keeps no data on database servers."</p> }.into_any()
                } else {
                    view! {
                        <table class="table" id="site-database-list">
                            <thead><tr><th>"Database"</th><th>"Server"</th><th>"Kind"</th><th class="num">"Size"</th><th>"Used by"</th><th></th></tr></thead>
                            <tbody>
                                {list.databases.into_iter().map(|d| database_row(d, may_remove, confirming, busy, remove)).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                };
                view! {
                    {table}
                    {problems.into_iter().map(|p| view! { <p class="banner warning site-database-problem">{p}</p> }).collect_view()}
                }
            })}
        </section>
    }
}

fn database_row(
    d: SiteDatabaseEntry,
    may_remove: bool,
    confirming: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
    remove: impl Fn(SiteDatabaseEntry) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = row_id(&d);
    let kind = match &d.made_for {
        Some(made_for) => format!("{} ({made_for})", d.origin.label()),
        None => d.origin.label().to_owned(),
    };
    let used_by = if d.used_by.is_empty() { "nothing".to_owned() } else { d.used_by.join(", ") };
    let removable = may_remove && d.leftover;
    let waiting = {
        let id = id.clone();
        move || confirming.get().as_deref() == Some(id.as_str())
    };
    let entry = d.clone();
    view! {
        <tr class="site-database" class:leftover=d.leftover data-database=d.database.clone() data-server=d.server.clone() data-origin=d.origin.label()>
            <td><code class="database-name">{d.database.clone()}</code></td>
            <td>{format!("{} on {} ({})", d.server, d.host_name, d.kind)}</td>
            <td class="database-kind">{kind}</td>
            <td class="num database-size">{size_of(&d)}</td>
            <td class="database-used-by">{used_by}</td>
            <td>
                {d.leftover.then(|| view! { <span class="badge warning database-leftover" title="Made by Switchyard and kept by nothing any more">"leftover"</span> })}
                {removable.then(|| view! {
                    {move || if waiting() {
                        let entry = entry.clone();
                        view! {
                            <span class="confirm">
                                "Remove it and its login? "
                                <button type="button" class="button danger database-remove-confirm" disabled=move || busy.get() on:click=move |_| remove(entry.clone())>"Yes, remove"</button>
                                <button type="button" class="button database-remove-cancel" on:click=move |_| confirming.set(None)>"Cancel"</button>
                            </span>
                        }.into_any()
                    } else {
                        let id = id.clone();
                        view! { <button type="button" class="button danger database-remove" on:click=move |_| confirming.set(Some(id.clone()))>"Remove"</button> }.into_any()
                    }}
                })}
            </td>
        </tr>
    }
}
