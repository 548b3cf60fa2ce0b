//! Hosts: the machines whose agents Switchyard drives.

use super::{delete_row, load_into, render_loadable, Loadable};
use crate::api;
use crate::form::{FormBanner, FormState, TextField};
use leptos::prelude::*;
use switchyard_api::{Host, HostDraft};

#[component]
pub fn HostsPage() -> impl IntoView {
    let hosts: Loadable<Vec<Host>> = RwSignal::new(None);
    let reload = move || load_into(hosts, api::hosts());
    reload();
    let name = RwSignal::new(String::new());
    let agent_url = RwSignal::new(String::new());
    let token_ref = RwSignal::new(String::new());
    let form = FormState::new();
    let list_form = FormState::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let draft = HostDraft { name: name.get_untracked(), agent_url: agent_url.get_untracked(), token_ref: token_ref.get_untracked() };
        if let Err(invalid) = draft.clone().validated() {
            return form.reject(invalid);
        }
        form.clear();
        leptos::task::spawn_local(async move {
            match api::create_host(&draft).await {
                Ok(_) => {
                    name.set(String::new());
                    agent_url.set(String::new());
                    token_ref.set(String::new());
                    reload();
                }
                Err(error) => form.error.set(Some(error)),
            }
        });
    };
    view! {
        <section class="page">
            <header class="page-header"><h1>"Hosts"</h1></header>
            <FormBanner form=list_form />
            {render_loadable(hosts, move |hosts: Vec<Host>| view! {
                <table class="table" id="hosts">
                    <thead><tr><th>"Name"</th><th>"Agent URL"</th><th>"Token from"</th><th></th></tr></thead>
                    <tbody>
                        {hosts.into_iter().map(|host| {
                            let path = format!("/hosts/{}", host.id);
                            view! {
                                <tr>
                                    <td>{host.name}</td>
                                    <td><code>{host.agent_url}</code></td>
                                    <td><code>{host.token_ref}</code></td>
                                    <td class="row-actions">
                                        <button class="link danger" on:click=move |_| delete_row(path.clone(), list_form, reload)>"Remove"</button>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            <form class="card form" on:submit=submit novalidate=true>
                <h2>"Add a host"</h2>
                <FormBanner form=form />
                <TextField label="Name" name="name" value=name form=form placeholder="web1" />
                <TextField label="Agent URL" name="agent_url" value=agent_url form=form placeholder="https://web1.example.com:7443" />
                <TextField label="Token reference" name="token_ref" value=token_ref form=form placeholder="env:WEB1_AGENT_TOKEN"
                    hint="Where the agent's token is kept (env:NAME or file:/path); the token itself is never stored." />
                <div class="actions"><button type="submit" class="button primary">"Add host"</button></div>
            </form>
        </section>
    }
}
