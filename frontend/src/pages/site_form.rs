//! Create or edit a site. The draft is checked with the server's own rules before it is sent,
//! and whatever the server still refuses (a duplicate name) is shown in place.

use super::{allowed, load_into, Loadable, NoSuchPage, NotForYou};
use crate::api;
use crate::form::{chosen_id, FormBanner, FormState, SelectField, TextField};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};
use switchyard_api::{Customer, SiteDraft};
use switchyard_core::access::Action;

/// Only those who may change the inventory create or edit sites (so no one is offered a form
/// with an empty customer list); an edit address that names no site says so.
#[component]
pub fn SiteFormPage() -> impl IntoView {
    let params = use_params_map();
    let malformed = params.read_untracked().get("id").is_some_and(|id| id.parse::<i64>().is_err());
    match allowed(&crate::session::current_user(), Action::ChangeInventory) {
        Err(reason) => view! { <NotForYou title="Sites" reason=reason /> }.into_any(),
        Ok(()) if malformed => view! { <NoSuchPage what="site" /> }.into_any(),
        Ok(()) => view! { <SiteForm /> }.into_any(),
    }
}

#[component]
fn SiteForm() -> impl IntoView {
    let params = use_params_map();
    let site_id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok());
    let editing = site_id().is_some();

    let name = RwSignal::new(String::new());
    let customer = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let form = FormState::new();

    let customers: Loadable<Vec<Customer>> = RwSignal::new(None);
    load_into(customers, api::customers());
    if let Some(id) = site_id() {
        leptos::task::spawn_local(async move {
            match api::site(id).await {
                Ok(detail) => {
                    name.set(detail.site.name);
                    customer.set(detail.site.customer_id.to_string());
                    description.set(detail.site.description);
                }
                Err(error) => form.error.set(Some(error)),
            }
        });
    }
    let customer_options = Signal::derive(move || {
        customers.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|c| (c.id.to_string(), c.name)).collect::<Vec<_>>()
    });

    let navigate = use_navigate();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let draft = SiteDraft {
            name: name.get_untracked(),
            customer_id: chosen_id(&customer.get_untracked()),
            description: description.get_untracked(),
        };
        let checked = draft.clone().validated().map(|_| ());
        let navigate = navigate.clone();
        let id = site_id();
        form.submit(checked, async move { api::save_site(id, &draft).await }, move |site| {
            navigate(&format!("/sites/{}", site.id), Default::default())
        });
    };

    let title = if editing { "Edit site" } else { "New site" };
    view! {
        <section class="page narrow">
            <header class="page-header">
                <h1>{title}</h1>
            </header>
            <form class="card form" on:submit=submit novalidate=true>
                <FormBanner form=form />
                <TextField label="Name" name="name" value=name form=form placeholder="Acme Shop" />
                <SelectField label="Customer" name="customer_id" value=customer options=customer_options form=form />
                <label class="field">
                    <span class="field-label">"Description"</span>
                    <textarea
                        name="description"
                        rows="3"
                        prop:value=move || description.get()
                        on:input=move |ev| description.set(event_target_value(&ev))
                    ></textarea>
                    {move || form.field_message("description").map(|m| view! { <span class="field-error" data-field="description">{m}</span> })}
                </label>
                <div class="actions">
                    <button type="submit" class="button primary" disabled=move || form.busy.get()>
                        {if editing { "Save site" } else { "Create site" }}
                    </button>
                    <a class="button" href=move || site_id().map(|id| format!("/sites/{id}")).unwrap_or_else(|| "/sites".into())>
                        "Cancel"
                    </a>
                </div>
            </form>
        </section>
    }
}
