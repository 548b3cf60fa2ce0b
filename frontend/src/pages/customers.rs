//! Customers: the companies whose sites are released.

use super::{allowed, load_into, render_loadable, Loadable, NotForYou};
use crate::api;
use crate::form::{AddOrSaveActions, FormBanner, FormState, RowActions, TextField};
use leptos::prelude::*;
use switchyard_api::{Customer, CustomerDraft};
use switchyard_core::access::Action;

/// Staff read the customers; only those who may change the inventory get the form.
#[component]
pub fn CustomersPage() -> impl IntoView {
    let me = crate::session::current_user();
    match allowed(&me, Action::ReadOperations) {
        Ok(()) => view! { <CustomerList editable=allowed(&me, Action::ChangeInventory).is_ok() /> }.into_any(),
        Err(reason) => view! { <NotForYou title="Customers" reason=reason /> }.into_any(),
    }
}

#[component]
fn CustomerList(editable: bool) -> impl IntoView {
    let customers: Loadable<Vec<Customer>> = RwSignal::new(None);
    let reload = move || load_into(customers, api::customers());
    reload();
    let name = RwSignal::new(String::new());
    let contact_email = RwSignal::new(String::new());
    let form = FormState::new();
    let list_form = FormState::new();
    let editing = RwSignal::new(None::<i64>);
    let reset = move || {
        editing.set(None);
        name.set(String::new());
        contact_email.set(String::new());
        form.clear();
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let draft = CustomerDraft { name: name.get_untracked(), contact_email: contact_email.get_untracked() };
        let checked = draft.clone().validated().map(|_| ());
        form.submit(checked, async move { api::save_customer(editing.get_untracked(), &draft).await }, move |_| {
            reset();
            reload();
        });
    };
    view! {
        <section class="page">
            <header class="page-header"><h1>"Customers"</h1></header>
            <FormBanner form=list_form />
            {render_loadable(customers, move |customers: Vec<Customer>| view! {
                <table class="table" id="customers">
                    <thead><tr><th>"Name"</th><th>"Contact"</th><th></th></tr></thead>
                    <tbody>
                        {customers.into_iter().map(|c| {
                            let path = format!("/customers/{}", c.id);
                            let edit = {
                                let c = c.clone();
                                move || {
                                    form.clear();
                                    editing.set(Some(c.id));
                                    name.set(c.name.clone());
                                    contact_email.set(c.contact_email.clone());
                                }
                            };
                            view! {
                                <tr>
                                    <td>{c.name}</td>
                                    <td>{c.contact_email}</td>
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
                <h2>{move || if editing.get().is_some() { "Edit customer" } else { "Add a customer" }}</h2>
                <FormBanner form=form />
                <TextField label="Name" name="name" value=name form=form placeholder="Acme Outfitters" />
                <TextField label="Contact e-mail" name="contact_email" value=contact_email form=form placeholder="web@acme.example" />
                <AddOrSaveActions noun="customer" editing=editing reset=reset />
            </form>
            })}
        </section>
    }
}
