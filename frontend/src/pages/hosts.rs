//! Hosts: the machines whose agents Switchyard drives.

use super::{allowed, load_into, render_loadable, Loadable, NotForYou};
use crate::api;
use crate::form::{AddOrSaveActions, FormBanner, FormState, PasswordField, RowActions, TextField};
use leptos::prelude::*;
use switchyard_api::{Host, HostDraft, HostStatus};
use switchyard_core::access::Action;

/// Staff read the hosts; only those who may register hosts get the form and the row actions.
#[component]
pub fn HostsPage() -> impl IntoView {
    let me = crate::session::current_user();
    match allowed(&me, Action::ReadOperations) {
        Ok(()) => view! { <HostList editable=allowed(&me, Action::ManageHosts).is_ok() /> }.into_any(),
        Err(reason) => view! { <NotForYou title="Hosts" reason=reason /> }.into_any(),
    }
}

#[component]
fn HostList(editable: bool) -> impl IntoView {
    let hosts: Loadable<Vec<Host>> = RwSignal::new(None);
    let reload = move || load_into(hosts, api::hosts());
    reload();
    let name = RwSignal::new(String::new());
    let agent_url = RwSignal::new(String::new());
    let token = RwSignal::new(String::new());
    let cert_fingerprint = RwSignal::new(String::new());
    let form = FormState::new();
    let list_form = FormState::new();
    let editing = RwSignal::new(None::<i64>);
    let reset = move || {
        editing.set(None);
        name.set(String::new());
        agent_url.set(String::new());
        token.set(String::new());
        cert_fingerprint.set(String::new());
        form.clear();
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let draft = HostDraft {
            name: name.get_untracked(),
            agent_url: agent_url.get_untracked(),
            token_ref: String::new(),
            // Empty keeps the stored token (the server asks again when the URL or certificate changed).
            token: Some(token.get_untracked()).filter(|t| !t.trim().is_empty()),
            cert_fingerprint: cert_fingerprint.get_untracked(),
        };
        let checked = draft.clone().validated().map(|_| ());
        form.submit(checked, async move { api::save_host(editing.get_untracked(), &draft).await }, move |_| {
            reset();
            reload();
        });
    };
    view! {
        <section class="page">
            <header class="page-header"><h1>"Hosts"</h1></header>
            <FormBanner form=list_form />
            {render_loadable(hosts, move |hosts: Vec<Host>| view! {
                <table class="table" id="hosts">
                    <thead><tr><th>"Name"</th><th>"Agent URL"</th><th>"Token"</th><th>"Agent"</th><th></th></tr></thead>
                    <tbody>
                        {hosts.into_iter().map(|host| {
                            let path = format!("/hosts/{}", host.id);
                            let edit = {
                                let host = host.clone();
                                move || {
                                    form.clear();
                                    editing.set(Some(host.id));
                                    name.set(host.name.clone());
                                    agent_url.set(host.agent_url.clone());
                                    token.set(String::new());
                                    cert_fingerprint.set(host.cert_fingerprint.clone());
                                }
                            };
                            view! {
                                <tr>
                                    <td>{host.name}</td>
                                    <td><code>{host.agent_url}</code></td>
                                    <td>{if host.token_stored { "stored" } else { "none: enter it" }}</td>
                                    <td><AgentStatus host_id=host.id /></td>
                                    {if editable {
                                        view! { <RowActions on_edit=edit delete_path=path list_form=list_form reload=reload /> }.into_any()
                                    } else {
                                        view! { <td></td> }.into_any()
                                    }}
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            {editable.then(|| view! {
            <form class="card form" on:submit=submit novalidate=true>
                <h2>{move || if editing.get().is_some() { "Edit host" } else { "Add a host" }}</h2>
                <FormBanner form=form />
                <TextField label="Name" name="name" value=name form=form placeholder="web1" />
                <TextField label="Agent URL" name="agent_url" value=agent_url form=form placeholder="https://web1.example.com:7443" />
                <PasswordField label="Agent token" name="token" value=token form=form autocomplete="off"
                    hint="From the agent's identity/token file. Stored encrypted and never shown again; leave empty to keep the stored one." />
                <TextField label="Certificate fingerprint" name="cert_fingerprint" value=cert_fingerprint form=form
                    placeholder="64 hex digits" hint="The sha256 in the agent's registration.json; Switchyard pins it instead of trusting a CA." />
                <AddOrSaveActions noun="host" editing=editing reset=reset />
            </form>
            })}
        </section>
    }
}

/// Asks the host's agent, live, whether it answers, and says why not when it does not.
#[component]
fn AgentStatus(host_id: i64) -> impl IntoView {
    let status: Loadable<HostStatus> = RwSignal::new(None);
    load_into(status, api::host_status(host_id));
    move || match status.get() {
        None => view! { <span class="muted">"checking…"</span> }.into_any(),
        Some(Err(error)) => view! { <span class="status down">{error.for_people().1}</span> }.into_any(),
        Some(Ok(status)) if status.reachable => {
            let environments = status.environments.len();
            let text = format!(
                "reachable · agent {} · {environments} environment{}",
                status.agent_version.unwrap_or_default(),
                if environments == 1 { "" } else { "s" }
            );
            let isolation = status.isolation.map(|isolation| {
                let who = if isolation.site_users { "each site as its own user" } else { "sites as the agent's user" };
                let line = format!("{who} · limits by {}", isolation.limits);
                let warnings = isolation.warnings.into_iter().map(|w| view! { <li class="status down">{w}</li> }).collect::<Vec<_>>();
                view! {
                    <span class="muted" data-host-isolation=if isolation.site_users { "site-users" } else { "agent-user" }>{line}</span>
                    <ul class="isolation-warnings">{warnings}</ul>
                }
            });
            view! { <span class="status up" data-host-status="up">{text}</span> {isolation} }.into_any()
        }
        Some(Ok(status)) => view! {
            <span class="status down" data-host-status="down">{format!("unreachable: {}", status.problem.unwrap_or_default())}</span>
        }
        .into_any(),
    }
}
