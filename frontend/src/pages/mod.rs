//! One module per page.

pub mod account;
pub mod approvals;
pub mod audit;
pub mod candidates;
pub mod charts;
pub mod customers;
pub mod dashboard;
pub mod history;
pub mod hosts;
pub mod login;
pub mod patches;
pub mod release;
pub mod site_databases;
pub mod site_detail;
pub mod site_form;
pub mod site_limits;
pub mod site_releases;
pub mod site_runtime;
pub mod sites;
pub mod users;

use crate::api::ApiResult;
use leptos::prelude::*;
use std::future::Future;

/// What a page shows while loading, after a failure, or once loaded.
pub type Loadable<T> = RwSignal<Option<ApiResult<T>>>;

/// Starts loading into `target`; the page re-renders when the answer arrives.
pub fn load_into<T: Send + Sync + 'static>(target: Loadable<T>, request: impl Future<Output = ApiResult<T>> + 'static) {
    leptos::task::spawn_local(async move { target.set(Some(request.await)) });
}

/// Renders a loadable value: a loading line, the error with its advice, or `loaded`.
pub fn render_loadable<T: Clone + Send + Sync + 'static, V: IntoView + 'static>(
    target: Loadable<T>,
    loaded: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView {
    move || match target.get() {
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Some(Err(error)) => view! { <crate::form::LoadError error=error /> }.into_any(),
        Some(Ok(value)) => loaded(value).into_any(),
    }
}

/// Deletes a row by its API path, then reloads the page's data, or shows why it could not
/// (a host that still runs environments, say) on `form`.
pub fn delete_row(path: String, form: crate::form::FormState, reload: impl Fn() + 'static) {
    leptos::task::spawn_local(async move {
        match crate::api::delete(&path).await {
            Ok(()) => reload(),
            Err(error) => form.error.set(Some(error)),
        }
    });
}

/// Whether the logged-in person may do `action`, asked of core's access policy (the one the
/// server applies to the request), so a page offers only the forms the server would accept.
/// A refusal comes back as the policy's own reason, as a sentence.
pub fn allowed(me: &switchyard_api::Me, action: switchyard_core::access::Action) -> Result<(), String> {
    let principal = switchyard_core::access::Principal { role: me.role, admin: me.admin, customer_id: me.customer_id };
    principal.may(action).map_err(|denied| switchyard_api::sentence(&denied.0))
}

/// What a person sees instead of a page their role cannot use: the page's name and why, never
/// a form the server would refuse.
#[component]
pub fn NotForYou(title: &'static str, reason: String) -> impl IntoView {
    view! {
        <section class="page" id="not-for-you">
            <header class="page-header"><h1>{title}</h1></header>
            <p class="notice" id="not-for-you-reason">{reason}</p>
            <p><a href="/">"Go to the start page"</a></p>
        </section>
    }
}

/// A page whose address names no such thing (`/sites/abc`): said in words, not as "site 0".
#[component]
pub fn NoSuchPage(what: &'static str) -> impl IntoView {
    view! {
        <section class="page" id="no-such-page">
            <h1>"Page not found"</h1>
            <p class="notice">{format!("This address names no {what}: the part after the last slash must be a number. ")}
                <a href="/">"Go to the start page"</a> "."</p>
        </section>
    }
}
