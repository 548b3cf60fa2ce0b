//! The logged-in person's own page: who they are, a new password, a second factor (support
//! staff and administrators), and (in the desktop app) which server the app talks to.

use crate::api;
use crate::form::{FormBanner, FormState, PasswordField, TextField};
use crate::session::current_user;
use leptos::prelude::*;
use switchyard_api::{PasswordChange, Role, TotpCode, TotpEnrolment};
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
    let may_enrol = me.role == Role::Support || me.admin;
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
            {may_enrol.then(|| view! { <SecondFactor /> })}
            {crate::desktop::is_desktop().then(|| view! { <div class="card"><crate::desktop::DesktopSettings /></div> })}
        </section>
    }
}

/// Enrolling a TOTP second factor: the secret is shown once, a code from the app switches it on.
#[component]
fn SecondFactor() -> impl IntoView {
    let enrolment = RwSignal::new(None::<TotpEnrolment>);
    let code = RwSignal::new(String::new());
    let done = RwSignal::new(false);
    let start_form = FormState::new();
    let confirm_form = FormState::new();
    let start = move |_| start_form.submit(Ok(()), api::enrol_second_factor(), move |started| enrolment.set(Some(started)));
    let confirm = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = TotpCode { code: code.get_untracked().trim().to_owned() };
        confirm_form.submit(Ok(()), async move { api::confirm_second_factor(&body).await }, move |()| {
            enrolment.set(None);
            done.set(true);
        });
    };
    view! {
        <div class="card form" id="second-factor">
            <h2>"Second factor"</h2>
            <FormBanner form=start_form />
            {move || match (done.get(), enrolment.get()) {
                (true, _) => view! { <p class="saved" id="second-factor-on">"Second factor on: logging in now needs a code too."</p> }.into_any(),
                (false, None) => view! {
                    <p class="muted">"Log in with a code from an authenticator app as well as your password."</p>
                    <div class="actions"><button type="button" class="button" id="enrol-second-factor" on:click=start>"Set up a second factor"</button></div>
                }.into_any(),
                (false, Some(started)) => view! {
                    <p>"Add this to your authenticator app now; it is not shown again:"</p>
                    <p><code id="otpauth-uri">{started.otpauth_uri}</code></p>
                    <p class="muted">{format!("Or type the key by hand: {}", started.secret)}</p>
                    <form on:submit=confirm novalidate=true>
                        <FormBanner form=confirm_form />
                        <TextField label="Code from the app" name="totp_code" value=code form=confirm_form placeholder="123456" />
                        <div class="actions"><button type="submit" class="button primary">"Switch it on"</button></div>
                    </form>
                }.into_any(),
            }}
        </div>
    }
}
