//! The start page for every role: each site the person may see as a row of what runs where
//! (production and the candidate clone, each with its version and what put it there), its
//! addresses with what the router serves at each now, the last release by what happened, and
//! the one next action for this person as a link to where it is done. The site page shows the
//! same for its site at the top (`SiteStatusCard`).

use super::{load_into, render_loadable, Loadable};
use crate::api;
use crate::format;
use crate::session::{current_user, is_customer};
use leptos::prelude::*;
use switchyard_api::{AddressHealth, Dashboard, EnvironmentVersion, LastRelease, NextStep, SiteDashboard};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let customer = is_customer(&current_user());
    let dashboard: Loadable<Dashboard> = RwSignal::new(None);
    load_into(dashboard, api::dashboard());
    view! {
        <section class="page" id="dashboard-page">
            <header class="page-header">
                <div>
                    <h1>{if customer { "My sites" } else { "What runs where" }}</h1>
                    <p class="muted">"The version each environment runs, what every address serves now, and what to do next."</p>
                </div>
            </header>
            {render_loadable(dashboard, move |dashboard: Dashboard| {
                if dashboard.sites.is_empty() {
                    let advice = if customer {
                        "You have no sites yet. Ask your hosting provider's support team to set yours up."
                    } else {
                        "No sites yet. Create the first one on the Sites page."
                    };
                    return view! { <p class="empty">{advice}</p> }.into_any();
                }
                view! {
                    <table class="table dashboard" id="dashboard">
                        <thead>
                            <tr>
                                <th>"Site"</th>
                                <th>"Production"</th>
                                <th>"Candidate"</th>
                                <th>"Addresses"</th>
                                <th>"Last release"</th>
                                <th>"Next for you"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {dashboard.sites.into_iter().map(|site| view! { <SiteRow site=site /> }).collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            })}
        </section>
    }
}

#[component]
fn SiteRow(site: SiteDashboard) -> impl IntoView {
    let production = site.environments.iter().find(|e| e.environment == "production").cloned();
    let candidate = site.environments.iter().find(|e| e.environment == "candidate").cloned();
    view! {
        <tr class="site-row" data-site-id=site.site_id.to_string()>
            <td>
                <a class="site-link" href=format!("/sites/{}", site.site_id)>{site.site.clone()}</a>
                <div class="muted small">{site.customer.clone()}</div>
            </td>
            <td class="env-cell" data-environment="production"><VersionCell env=production /></td>
            <td class="env-cell" data-environment="candidate"><VersionCell env=candidate /></td>
            <td><Addresses addresses=site.addresses.clone() /></td>
            <td><LastReleaseCell last=site.last_release.clone() /></td>
            <td><NextAction next=site.next.clone() /></td>
        </tr>
    }
}

/// One environment's version, what put it there, and its link.
#[component]
fn VersionCell(env: Option<EnvironmentVersion>) -> impl IntoView {
    let Some(env) = env else { return view! { <span class="muted">"—"</span> }.into_any() };
    let version = env.version.clone().unwrap_or_else(|| format!("candidate {}", short(&env.candidate_sha256)));
    let source = match env.release_id {
        Some(id) => view! { <a href=format!("/releases/{id}")>{env.source.clone()}</a> }.into_any(),
        None => view! { <span>{env.source.clone()}</span> }.into_any(),
    };
    view! {
        <div class="version" title=format!("candidate {}", env.candidate_sha256)>
            <span class="version-number" data-version=version.clone()>{version.clone()}</span>
        </div>
        <div class="muted small">{source} " · " {format::when(&env.since)}</div>
        // The address itself is listed with the others; here a short link keeps the column narrow.
        {env.url.clone().map(|url| {
            let label = if env.environment == "candidate" { "Test it here ↗" } else { "Open ↗" };
            view! {
                <div class="small"><a class="env-link" href=url.clone() title=url.clone() target="_blank" rel="noopener">{label}</a></div>
            }
        })}
        {env.note.clone().map(|note| view! { <div class="small note">{note}</div> })}
    }
    .into_any()
}

#[component]
fn Addresses(addresses: Vec<AddressHealth>) -> impl IntoView {
    if addresses.is_empty() {
        return view! { <span class="muted">"none"</span> }.into_any();
    }
    view! {
        <ul class="addresses">
            {addresses.into_iter().map(|a| {
                let label = match a.url.clone() {
                    Some(url) => view! { <a href=url target="_blank" rel="noopener">{a.address.clone()}</a> }.into_any(),
                    None => view! { <span>{a.address.clone()}</span> }.into_any(),
                };
                // Serving is the normal case: a green dot says it; anything else is spelled out.
                let trouble = (a.health != "serving").then(|| view! { " " <span class=format!("health health-{}", a.health)>{health_word(&a.health)}</span> });
                view! {
                    <li class="address" data-address=a.address.clone() data-health=a.health.clone() title=a.detail.clone()>
                        <span class=format!("health-dot health-{}", a.health) aria-label=health_word(&a.health)>"●"</span>
                        " " {label}
                        {(a.kind == "test").then(|| view! { " " <span class="muted small">"(test)"</span> })}
                        {trouble}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn LastReleaseCell(last: Option<LastRelease>) -> impl IntoView {
    let Some(last) = last else { return view! { <span class="muted">"none yet"</span> }.into_any() };
    let word = last.outcome.clone().unwrap_or_else(|| "under way".into());
    view! {
        <div>
            <a href=format!("/releases/{}", last.id)>{format!("#{} {}", last.id, last.run)}</a>
            " " <span class=format!("badge status-{word}") data-status=word.clone()>{word.clone()}</span>
        </div>
        // "completed" needs no second line; how anything else ended does.
        {(last.words != word).then(|| view! { <div class="small last-words">{last.words.clone()}</div> })}
        <div class="muted small">{format::when(&last.at)}</div>
    }
    .into_any()
}

/// The one next action: a button to where it is done, or why there is nothing to do.
#[component]
pub fn NextAction(next: NextStep) -> impl IntoView {
    match next.href.clone() {
        Some(href) => view! {
            <div class="next-action" data-action=next.action.clone()>
                <a class="button primary small" href=href>{action_label(&next.action)}</a>
                <div class="small">{next.words.clone()}</div>
            </div>
        }
        .into_any(),
        None => view! {
            <div class="next-action" data-action="nothing">
                <span class="muted small">{next.words.clone()}</span>
            </div>
        }
        .into_any(),
    }
}

/// The site's status at the top of its page: the same facts as its dashboard row.
#[component]
pub fn SiteStatusCard(site_id: i64) -> impl IntoView {
    let status: Loadable<SiteDashboard> = RwSignal::new(None);
    load_into(status, api::site_dashboard(site_id));
    view! {
        <section class="card site-status" id="site-status">
            {render_loadable(status, |site: SiteDashboard| {
                let production = site.environments.iter().find(|e| e.environment == "production").cloned();
                let candidate = site.environments.iter().find(|e| e.environment == "candidate").cloned();
                view! {
                    <div class="status-grid">
                        <div class="env-cell" data-environment="production"><h3>"Production"</h3><VersionCell env=production /></div>
                        <div class="env-cell" data-environment="candidate"><h3>"Candidate"</h3><VersionCell env=candidate /></div>
                        <div><h3>"Addresses"</h3><Addresses addresses=site.addresses.clone() /></div>
                        <div><h3>"Last release"</h3><LastReleaseCell last=site.last_release.clone() /></div>
                        <div><h3>"Next for you"</h3><NextAction next=site.next.clone() /></div>
                    </div>
                }
            })}
        </section>
    }
}

fn action_label(action: &str) -> &'static str {
    match action {
        "rehearse" => "Rehearse",
        "test" => "Test it",
        "run-in-production" => "Run in production",
        "approve" => "Review and approve",
        "confirm" => "Check and confirm",
        "retry-rollback" => "Retry the rollback",
        "follow" => "Follow the release",
        "go-live" => "Put it live",
        _ => "Open",
    }
}

fn health_word(health: &str) -> &'static str {
    match health {
        "serving" => "serving",
        "site-down" => "site-down page",
        "held" => "held",
        "not-routed" => "not routed",
        _ => "unknown",
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}
