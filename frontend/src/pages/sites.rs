//! The sites list: every customer site with its customer and environment count.

use super::{load_into, render_loadable, Loadable};
use crate::api;
use leptos::prelude::*;
use switchyard_api::{Overview, Site};

#[component]
pub fn SitesPage() -> impl IntoView {
    let sites: Loadable<Vec<Site>> = RwSignal::new(None);
    load_into(sites, api::sites());
    let overview: Loadable<Overview> = RwSignal::new(None);
    load_into(overview, api::overview());
    view! {
        <section class="page">
            <header class="page-header">
                <h1>"Sites"</h1>
                <a class="button primary" href="/sites/new">"New site"</a>
            </header>
            {move || overview.get().and_then(Result::ok).map(|o| view! {
                <p class="summary" id="overview">
                    {[
                        counted(o.customers, "customer"),
                        counted(o.sites, "site"),
                        counted(o.environments, "environment"),
                        counted(o.hosts, "host"),
                        counted(o.users, "user"),
                    ].join(" · ")}
                </p>
            })}
            {render_loadable(sites, |sites: Vec<Site>| {
                if sites.is_empty() {
                    return view! { <p class="empty">"No sites yet. Create the first one with “New site”."</p> }.into_any();
                }
                view! {
                    <table class="table" id="sites">
                        <thead>
                            <tr>
                                <th>"Site"</th>
                                <th>"Customer"</th>
                                <th class="num">"Environments"</th>
                                <th>"Description"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {sites
                                .into_iter()
                                .map(|site| {
                                    view! {
                                        <tr>
                                            <td><a class="site-link" href=format!("/sites/{}", site.id)>{site.name}</a></td>
                                            <td>{site.customer_name}</td>
                                            <td class="num">{site.environment_count}</td>
                                            <td class="muted">{site.description}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            })}
        </section>
    }
}

/// "1 site", "2 sites".
fn counted(count: i64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
