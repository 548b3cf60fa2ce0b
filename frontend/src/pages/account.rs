//! The logged-in person's own page: who they are, a new password, and (in the desktop app)
//! which server the app talks to.

use crate::api;
use crate::form::{FormBanner, FormState, PasswordField};
use crate::session::current_user;
use leptos::prelude::*;
use switchyard_api::PasswordChange;
use switchyard_core::{validate, Invalid};

#[component]
pub fn AccountPage() -> impl IntoView {
    let me = current_user();
    let current = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let repeat = RwSignal::new(String::new());
    let form = FormState::new();
    let saved = RwSignal::new(false);
    let id = me.id;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        let change = PasswordChange { password: password.get_untracked(), current_password: Some(current.get_untracked()) };
        let checked = match validate::password("password", &change.password) {
            Err(problem) => Err(Invalid(vec![problem])),
            Ok(()) if change.password != repeat.get_untracked() => {
                Err(Invalid(vec![validate::FieldError::new("repeat", "the two passwords differ; type the same one twice")]))
            }
            Ok(()) => Ok(()),
        };
        form.submit(checked, async move { api::set_password(id, &change).await }, move |()| {
            current.set(String::new());
            password.set(String::new());
            repeat.set(String::new());
            saved.set(true);
        });
    };
    view! {
        <section class="page narrow" id="account-page">
            <header class="page-header">
                <div>
                    <h1>{me.display_name.clone()}</h1>
                    <p class="muted">{format!("{} · {}{}", me.username, me.role, if me.admin { " · administrator" } else { "" })}</p>
                </div>
            </header>
            <form class="card form" id="password-form" on:submit=submit novalidate=true>
                <h2>"Change your password"</h2>
                <FormBanner form=form />
                <PasswordField label="Current password" name="current_password" value=current form=form />
                <PasswordField label="New password" name="password" value=password form=form autocomplete="new-password"
                    hint="At least 10 characters; a few words make a good one." />
                <PasswordField label="New password again" name="repeat" value=repeat form=form autocomplete="new-password" />
                {move || saved.get().then(|| view! { <p class="saved" id="password-saved">"Password changed."</p> })}
                <div class="actions"><button type="submit" class="button primary">"Change password"</button></div>
            </form>
            {crate::desktop::is_desktop().then(|| view! { <div class="card"><crate::desktop::DesktopSettings /></div> })}
        </section>
    }
}
