//! The sites list: every customer site with its customer and environment count, or for a
//! customer user "My sites", the ones the server lets them see.

use super::{load_into, render_loadable, Loadable};
use crate::api;
use crate::session::{current_user, is_customer, is_support};
use leptos::prelude::*;
use switchyard_api::{Overview, Site};

#[component]
pub fn SitesPage() -> impl IntoView {
    let me = current_user();
    let customer = is_customer(&me);
    let sites: Loadable<Vec<Site>> = RwSignal::new(None);
    load_into(sites, api::sites());
    let overview: Loadable<Overview> = RwSignal::new(None);
    if !customer {
        load_into(overview, api::overview());
    }
    view! {
        <section class="page" id="sites-page">
            <header class="page-header">
                <h1>{if customer { "My sites" } else { "Sites" }}</h1>
                {is_support(&me).then(|| view! { <a class="button primary" id="new-site" href="/sites/new">"New site"</a> })}
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
            {render_loadable(sites, move |sites: Vec<Site>| {
                if sites.is_empty() {
                    let advice = if customer {
                        "You have no sites yet. Ask your hosting provider's support team to set yours up."
                    } else {
                        "No sites yet. Create the first one with “New site”."
                    };
                    return view! { <p class="empty">{advice}</p> }.into_any();
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
