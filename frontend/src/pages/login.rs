//! The two pages shown before anyone is logged in: logging in, and the first-run set-up that
//! creates the administrator on a fresh install.

use crate::api;
use crate::form::{FormBanner, FormState, PasswordField, TextField};
use crate::session::use_session;
use leptos::prelude::*;
use switchyard_api::{Login, Setup};
use switchyard_core::{validate, Invalid};

#[component]
pub fn LoginPage(notice: Option<String>) -> impl IntoView {
    let session = use_session();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let form = FormState::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let login = Login {
            username: username.get_untracked().trim().to_lowercase(),
            password: password.get_untracked(),
            code: Some(code.get_untracked().trim().to_owned()).filter(|c| !c.is_empty()),
        };
        let mut missing = Vec::new();
        if login.username.is_empty() {
            missing.push(validate::FieldError::new("username", "enter your username"));
        }
        if login.password.is_empty() {
            missing.push(validate::FieldError::new("password", "enter your password"));
        }
        let checked = if missing.is_empty() { Ok(()) } else { Err(Invalid(missing)) };
        form.submit(checked, async move { api::login(&login).await }, move |me| session.logged_in(me));
    };
    view! {
        <section class="page narrow auth-page" id="login-page">
            <header class="page-header"><h1>"Log in to Switchyard"</h1></header>
            {notice.map(|notice| view! { <p class="banner info" id="session-notice">{notice}</p> })}
            <form class="card form" id="login-form" on:submit=submit novalidate=true>
                <FormBanner form=form />
                <TextField label="Username" name="username" value=username form=form />
                <PasswordField label="Password" name="password" value=password form=form />
                <TextField label="Authenticator code" name="code" value=code form=form placeholder="123456"
                    hint="Only if your account has a second factor: the 6 digits your authenticator app shows." />
                <div class="actions">
                    <button type="submit" class="button primary" disabled=move || form.busy.get()>"Log in"</button>
                </div>
                <p class="muted">"Forgotten your password? Ask a Switchyard administrator to set a new one on the Users page."</p>
            </form>
            {crate::desktop::is_desktop().then(|| view! { <div class="card"><crate::desktop::DesktopSettings /></div> })}
        </section>
    }
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let session = use_session();
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let repeat = RwSignal::new(String::new());
    let form = FormState::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let setup = Setup {
            username: username.get_untracked().trim().to_lowercase(),
            display_name: display_name.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
        };
        let mut problems = Vec::new();
        if let Err(problem) = validate::slug("username", "username", &setup.username) {
            problems.push(problem);
        }
        if let Err(problem) = validate::password("password", &setup.password) {
            problems.push(problem);
        } else if setup.password != repeat.get_untracked() {
            problems.push(validate::FieldError::new("repeat", "the two passwords differ; type the same one twice"));
        }
        let checked = if problems.is_empty() { Ok(()) } else { Err(Invalid(problems)) };
        form.submit(checked, async move { api::setup(&setup).await }, move |me| session.logged_in(me));
    };
    view! {
        <section class="page narrow auth-page" id="setup-page">
            <header class="page-header"><h1>"Welcome to Switchyard"</h1></header>
            <p>
                "No one has an account yet. Create the administrator: a support user who can also add "
                "users for colleagues, managers and customers."
            </p>
            <form class="card form" id="setup-form" on:submit=submit novalidate=true>
                <FormBanner form=form />
                <TextField label="Username" name="username" value=username form=form placeholder="admin" />
                <TextField label="Display name" name="display_name" value=display_name form=form placeholder="Alex Admin" />
                <PasswordField label="Password" name="password" value=password form=form hint="At least 10 characters; a few words make a good one." />
                <PasswordField label="Password again" name="repeat" value=repeat form=form />
                <div class="actions">
                    <button type="submit" class="button primary" disabled=move || form.busy.get()>"Create administrator"</button>
                </div>
            </form>
            // Joining a team's server needs no local administrator: the mode is chosen here too.
            {crate::desktop::is_desktop().then(|| view! { <div class="card"><crate::desktop::DesktopSettings /></div> })}
        </section>
    }
}
