//! A site's page: its release candidates, rehearsals and releases, its data (databases), and
//! (for staff) its environments, addresses and accounts, each with a form to add more for
//! support.

use super::candidates::CandidatesCard;
use super::site_databases::SiteDatabasesCard;
use super::site_limits::CandidateLimitsCard;
use super::site_releases::{SiteReleasesCard, StartRehearsalCard};
use super::site_runtime::RuntimeManifestCard;
use super::{delete_row, load_into, render_loadable, Loadable, NoSuchPage};
use crate::api;
use crate::form::{chosen_id, FormBanner, FormState, SelectField, TextField};
use crate::session::{current_user, is_customer, is_support, may_rehearse};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};
use switchyard_api::{AccountDraft, AddressDraft, EnvironmentDraft, EnvironmentKind, Host, SiteDetail};

/// A site's page, or "page not found" in words when the address names no site (`/sites/abc`).
#[component]
pub fn SiteDetailPage() -> impl IntoView {
    let params = use_params_map();
    let numeric = Memo::new(move |_| params.read().get("id").is_some_and(|id| id.parse::<i64>().is_ok()));
    move || if numeric.get() { view! { <SiteDetail /> }.into_any() } else { view! { <NoSuchPage what="site" /> }.into_any() }
}

#[component]
fn SiteDetail() -> impl IntoView {
    let me = current_user();
    let (support, customer, rehearses) = (is_support(&me), is_customer(&me), may_rehearse(&me));
    let params = use_params_map();
    let site_id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or(0);
    let detail: Loadable<SiteDetail> = RwSignal::new(None);
    let hosts: Loadable<Vec<Host>> = RwSignal::new(None);
    if support {
        load_into(hosts, api::hosts());
    }
    // Reload whenever the id in the URL changes (navigating from one site to another).
    Effect::new(move |_| load_into(detail, api::site(site_id())));
    let reload = move || load_into(detail, api::site(site_id()));

    let navigate = use_navigate();
    let delete_form = FormState::new();
    let delete_site = move |_| {
        let confirmed = web_sys::window()
            .and_then(|w| w.confirm_with_message("Delete this site with all its environments, addresses and accounts?").ok())
            .unwrap_or(false);
        if !confirmed {
            return;
        }
        let navigate = navigate.clone();
        let id = site_id();
        leptos::task::spawn_local(async move {
            match api::delete(&format!("/sites/{id}")).await {
                Ok(()) => navigate("/sites", Default::default()),
                Err(error) => delete_form.error.set(Some(error)),
            }
        });
    };

    view! {
        <section class="page">
            <FormBanner form=delete_form />
            {render_loadable(detail, move |detail: SiteDetail| {
                let site = detail.site.clone();
                view! {
                    <header class="page-header">
                        <div>
                            <p class="breadcrumb">
                                <a href="/sites">{if customer { "My sites" } else { "Sites" }}</a> " / " {site.customer_name.clone()}
                            </p>
                            <h1 id="site-name">{site.name.clone()}</h1>
                            <p class="muted" id="site-key" title="Names the site's environments and routes on its host; fixed when the site was created, kept when it is renamed">
                                "Key " <code>{site.key.clone()}</code>
                            </p>
                            <p class="muted">{site.description.clone()}</p>
                        </div>
                        <div class="actions">
                            {rehearses.then(|| view! { <a class="button" id="patch-documents-link" href=format!("/sites/{}/patches", site.id)>"Patch documents"</a> })}
                            {support.then(|| view! { <a class="button" href=format!("/sites/{}/edit", site.id)>"Edit"</a> })}
                        </div>
                    </header>
                    <super::dashboard::SiteStatusCard site_id=site.id />
                    <CandidatesCard site_id=site.id may_upload=rehearses may_delete=support />
                    {rehearses.then(|| view! { <StartRehearsalCard site_id=site.id /> })}
                    <SiteReleasesCard site_id=site.id />
                    <SiteDatabasesCard site_id=site.id may_remove=support />
                    {(!customer).then(|| view! {
                        <RuntimeManifestCard site_id=site.id manifest=site.runtime_manifest.clone() editable=support />
                        <CandidateLimitsCard site_id=site.id limits=detail.candidate_limits editable=support />
                        <Environments detail=detail.clone() hosts=hosts reload=reload editable=support />
                        <Addresses detail=detail.clone() reload=reload editable=support />
                        <Accounts detail=detail reload=reload editable=support />
                    })}
                }
            })}
            {move || matches!(detail.get(), Some(Err(_))).then(|| view! {
                <p id="site-refused"><a href="/sites">{if customer { "Back to my sites" } else { "Back to the sites" }}</a></p>
            })}
            {support.then(|| view! {
                <footer class="danger-zone">
                    <button class="button danger" on:click=delete_site.clone()>"Delete site"</button>
                </footer>
            })}
        </section>
    }
}

#[component]
fn Environments(
    detail: SiteDetail,
    hosts: Loadable<Vec<Host>>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
    editable: bool,
) -> impl IntoView {
    let site_id = detail.site.id;
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new("test".to_string());
    let host = RwSignal::new(String::new());
    let form = FormState::new();
    let host_options = Signal::derive(move || {
        hosts.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|h| (h.id.to_string(), h.name)).collect::<Vec<_>>()
    });
    let kind_options =
        Signal::derive(|| EnvironmentKind::ALL.iter().map(|k| (k.as_str().to_string(), k.as_str().to_string())).collect::<Vec<_>>());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let draft = EnvironmentDraft {
            name: name.get_untracked(),
            kind: kind.get_untracked().parse().unwrap_or(EnvironmentKind::Test),
            host_id: chosen_id(&host.get_untracked()),
        };
        let checked = draft.clone().validated().map(|_| ());
        form.submit(checked, async move { api::create_environment(site_id, &draft).await }, move |_| reload());
    };
    view! {
        <section class="card" id="environments">
            <h2>"Environments"</h2>
            {if detail.environments.is_empty() {
                view! { <p class="empty">"No environments yet."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead><tr><th>"Name"</th><th>"Kind"</th><th>"Host"</th><th></th></tr></thead>
                        <tbody>
                            {detail.environments.into_iter().map(|env| {
                                let path = format!("/environments/{}", env.id);
                                view! {
                                    <tr>
                                        <td>{env.name}</td>
                                        <td><span class=format!("badge {}", env.kind)>{env.kind.as_str()}</span></td>
                                        <td>{env.host_name}</td>
                                        <td class="row-actions">
                                            {editable.then(|| view! {
                                                <button class="link danger" on:click=move |_| delete_row(path.clone(), form, reload)>"Remove"</button>
                                            })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            {editable.then(|| view! {
                <form class="inline-form" on:submit=submit novalidate=true>
                    <FormBanner form=form />
                    <TextField label="Name" name="name" value=name form=form placeholder="staging" />
                    <SelectField label="Kind" name="kind" value=kind options=kind_options form=form />
                    <SelectField label="Host" name="host_id" value=host options=host_options form=form />
                    <button type="submit" class="button">"Add environment"</button>
                </form>
            })}
        </section>
    }
}

#[component]
fn Addresses(detail: SiteDetail, reload: impl Fn() + Copy + Send + Sync + 'static, editable: bool) -> impl IntoView {
    let site_id = detail.site.id;
    let value = RwSignal::new(String::new());
    let environment = RwSignal::new(String::new());
    let form = FormState::new();
    let environments = detail.environments.clone();
    let env_name = move |id: Option<i64>| {
        id.and_then(|id| environments.iter().find(|e| e.id == id)).map(|e| e.name.clone()).unwrap_or_else(|| "not routed".into())
    };
    let env_options: Vec<(String, String)> = detail.environments.iter().map(|e| (e.id.to_string(), e.name.clone())).collect();
    let env_options = Signal::derive(move || env_options.clone());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let chosen = environment.get_untracked();
        let draft =
            AddressDraft { value: value.get_untracked(), environment_id: if chosen.is_empty() { None } else { Some(chosen_id(&chosen)) } };
        let checked = draft.clone().validated().map(|_| ());
        form.submit(checked, async move { api::create_address(site_id, &draft).await }, move |_| reload());
    };
    view! {
        <section class="card" id="addresses">
            <h2>"Addresses"</h2>
            {if detail.addresses.is_empty() {
                view! { <p class="empty">"No public addresses yet."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead><tr><th>"Address"</th><th>"Routed to"</th><th></th></tr></thead>
                        <tbody>
                            {detail.addresses.into_iter().map(|address| {
                                let path = format!("/addresses/{}", address.id);
                                view! {
                                    <tr>
                                        <td><code>{address.value}</code></td>
                                        <td>{env_name(address.environment_id)}</td>
                                        <td class="row-actions">
                                            {editable.then(|| view! {
                                                <button class="link danger" on:click=move |_| delete_row(path.clone(), form, reload)>"Remove"</button>
                                            })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            {editable.then(|| view! {
                <form class="inline-form" on:submit=submit novalidate=true>
                    <FormBanner form=form />
                    <TextField label="Address" name="value" value=value form=form placeholder="shop.example.com" />
                    <SelectField label="Routed to" name="environment_id" value=environment options=env_options form=form />
                    <button type="submit" class="button">"Add address"</button>
                </form>
            })}
        </section>
    }
}

#[component]
fn Accounts(detail: SiteDetail, reload: impl Fn() + Copy + Send + Sync + 'static, editable: bool) -> impl IntoView {
    let site_id = detail.site.id;
    let subdomain = RwSignal::new(String::new());
    let tags = RwSignal::new(String::new());
    let form = FormState::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let draft = AccountDraft {
            subdomain: subdomain.get_untracked(),
            tags: tags.get_untracked().split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect(),
        };
        let checked = draft.clone().validated().map(|_| ());
        form.submit(checked, async move { api::create_account(site_id, &draft).await }, move |_| reload());
    };
    view! {
        <section class="card" id="accounts">
            <h2>"Customer accounts"</h2>
            {if detail.accounts.is_empty() {
                view! { <p class="empty">"No accounts: this site serves one audience."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead><tr><th>"Subdomain"</th><th>"Tags"</th><th></th></tr></thead>
                        <tbody>
                            {detail.accounts.into_iter().map(|account| {
                                let path = format!("/accounts/{}", account.id);
                                view! {
                                    <tr>
                                        <td><code>{account.subdomain}</code></td>
                                        <td>{account.tags.into_iter().map(|t| view! { <span class="badge tag">{t}</span> }).collect_view()}</td>
                                        <td class="row-actions">
                                            {editable.then(|| view! {
                                                <button class="link danger" on:click=move |_| delete_row(path.clone(), form, reload)>"Remove"</button>
                                            })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            {editable.then(|| view! {
                <form class="inline-form" on:submit=submit novalidate=true>
                    <FormBanner form=form />
                    <TextField label="Subdomain" name="subdomain" value=subdomain form=form placeholder="bob" />
                    <TextField label="Tags" name="tags" value=tags form=form placeholder="beta, vip" />
                    <button type="submit" class="button">"Add account"</button>
                </form>
            })}
        </section>
    }
}
