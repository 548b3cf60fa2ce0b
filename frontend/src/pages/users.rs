//! Users and their roles (customers, support staff and managers), who administers
//! Switchyard, and passwords: set when a user is created, optionally replaced when edited.

use super::{allowed, load_into, render_loadable, Loadable, NotForYou};
use crate::api;
use crate::form::{chosen_id, AddOrSaveActions, FormBanner, FormState, PasswordField, RowActions, SelectField, TextField};
use leptos::prelude::*;
use switchyard_api::{Customer, Role, User, UserDraft};
use switchyard_core::access::Action;

/// Only administrators manage users; anyone else is told so, with no form to fill in.
#[component]
pub fn UsersPage() -> impl IntoView {
    match allowed(&crate::session::current_user(), Action::ManageUsers) {
        Ok(()) => view! { <UserList /> }.into_any(),
        Err(reason) => view! { <NotForYou title="Users" reason=reason /> }.into_any(),
    }
}

#[component]
fn UserList() -> impl IntoView {
    let users: Loadable<Vec<User>> = RwSignal::new(None);
    let customers: Loadable<Vec<Customer>> = RwSignal::new(None);
    let reload = move || load_into(users, api::users());
    reload();
    load_into(customers, api::customers());
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let role = RwSignal::new("support".to_string());
    let customer = RwSignal::new(String::new());
    let admin = RwSignal::new(false);
    let password = RwSignal::new(String::new());
    let form = FormState::new();
    let list_form = FormState::new();
    let editing = RwSignal::new(None::<i64>);
    let reset = move || {
        editing.set(None);
        username.set(String::new());
        display_name.set(String::new());
        role.set("support".to_string());
        customer.set(String::new());
        admin.set(false);
        password.set(String::new());
        form.clear();
    };
    let role_options = Signal::derive(|| Role::ALL.iter().map(|r| (r.as_str().to_string(), r.as_str().to_string())).collect::<Vec<_>>());
    let customer_options = Signal::derive(move || {
        customers.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|c| (c.id.to_string(), c.name)).collect::<Vec<_>>()
    });
    let customer_name = move |id: Option<i64>| {
        let list = customers.get().and_then(Result::ok).unwrap_or_default();
        id.and_then(|id| list.into_iter().find(|c| c.id == id)).map(|c| c.name).unwrap_or_default()
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let chosen = customer.get_untracked();
        let draft = UserDraft {
            username: username.get_untracked(),
            display_name: display_name.get_untracked(),
            role: role.get_untracked().parse().unwrap_or(Role::Support),
            customer_id: if chosen.is_empty() { None } else { Some(chosen_id(&chosen)) },
            admin: admin.get_untracked(),
            // Empty keeps the current password when editing; a new user without one cannot log in yet.
            password: Some(password.get_untracked()).filter(|p| !p.is_empty()),
        };
        let checked = draft.clone().validated().map(|_| ());
        form.submit(checked, async move { api::save_user(editing.get_untracked(), &draft).await }, move |_| {
            reset();
            reload();
        });
    };
    view! {
        <section class="page">
            <header class="page-header"><h1>"Users"</h1></header>
            <FormBanner form=list_form />
            {render_loadable(users, move |users: Vec<User>| view! {
                <table class="table" id="users">
                    <thead><tr><th>"Username"</th><th>"Name"</th><th>"Role"</th><th>"Customer"</th><th>"Administrator"</th><th>"Can log in"</th><th></th></tr></thead>
                    <tbody>
                        {users.into_iter().map(|u| {
                            let path = format!("/users/{}", u.id);
                            let edit = {
                                let u = u.clone();
                                move || {
                                    form.clear();
                                    editing.set(Some(u.id));
                                    username.set(u.username.clone());
                                    display_name.set(u.display_name.clone());
                                    role.set(u.role.as_str().to_string());
                                    customer.set(u.customer_id.map(|id| id.to_string()).unwrap_or_default());
                                    admin.set(u.admin);
                                    password.set(String::new());
                                }
                            };
                            let name = u.username.clone();
                            view! {
                                <tr class="user" data-username=name>
                                    <td>{u.username}</td>
                                    <td>{u.display_name}</td>
                                    <td><span class="badge">{u.role.as_str()}</span></td>
                                    <td>{customer_name(u.customer_id)}</td>
                                    <td class="user-admin">{if u.admin { "yes" } else { "" }}</td>
                                    <td class="user-can-log-in" data-can-log-in=u.can_log_in.to_string()>
                                        {if u.can_log_in { "yes" } else { "no: set a password" }}
                                    </td>
                                    <RowActions on_edit=edit delete_path=path list_form=list_form reload=reload />
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            <form class="card form" on:submit=submit novalidate=true>
                <h2>{move || if editing.get().is_some() { "Edit user" } else { "Add a user" }}</h2>
                <FormBanner form=form />
                <TextField label="Username" name="username" value=username form=form placeholder="sam" />
                <TextField label="Display name" name="display_name" value=display_name form=form placeholder="Sam Support" />
                <SelectField label="Role" name="role" value=role options=role_options form=form />
                <SelectField label="Customer (customer users only)" name="customer_id" value=customer options=customer_options form=form />
                <label class="field checkbox">
                    <span>
                        <input type="checkbox" name="admin" prop:checked=move || admin.get() on:change=move |ev| admin.set(event_target_checked(&ev)) />
                        " Administrator (support and managers only: may manage users)"
                    </span>
                    {move || form.field_message("admin").map(|m| view! { <span class="field-error" data-field="admin">{m}</span> })}
                </label>
                {move || {
                    let (label, hint) = if editing.get().is_some() {
                        ("Set a new password", "Leave empty to keep the current one.")
                    } else {
                        ("Password", "At least 10 characters. Leave empty and the user cannot log in until one is set.")
                    };
                    view! { <PasswordField label=label name="password" value=password form=form hint=hint autocomplete="new-password" /> }
                }}
                <AddOrSaveActions noun="user" editing=editing reset=reset />
            </form>
        </section>
    }
}
