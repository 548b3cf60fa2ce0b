//! The application shell: the session gate (first-run set-up, login, or the app), the top bar
//! with who is logged in, the navigation each role is offered, and the routes of every page.

use crate::pages::account::AccountPage;
use crate::pages::approvals::ApprovalsPage;
use crate::pages::audit::AuditLogPage;
use crate::pages::dashboard::DashboardPage;
use crate::pages::history::HistoryPageView;
use crate::pages::login::{LoginPage, SetupPage};
use crate::pages::release::ReleasePage;
use crate::pages::{
    customers::CustomersPage, hosts::HostsPage, patches::PatchDocumentsPage, site_detail::SiteDetailPage, site_form::SiteFormPage,
    sites::SitesPage, users::UsersPage,
};
use crate::session::{Session, SessionState};
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::use_location;
use leptos_router::path;
use switchyard_api::{Me, Role};

#[component]
pub fn App() -> impl IntoView {
    let session = Session::start();
    // Only the kind of state matters here; a new login re-renders the shell for the new user.
    let state = Memo::new(move |_| session.state.get());
    view! {
        <Router>
            {move || match state.get() {
                SessionState::Loading => view! { <Bar me=None /><main class="content"><p class="muted">"Loading…"</p></main> }.into_any(),
                SessionState::Unreachable(error) => view! {
                    <Bar me=None />
                    <main class="content">
                        <crate::form::LoadError error=error />
                        <button class="button" on:click=move |_| session.refresh()>"Try again"</button>
                        // A team-mode desktop whose server is down can switch back to standalone here.
                        {crate::desktop::is_desktop().then(|| view! { <div class="card"><crate::desktop::DesktopSettings /></div> })}
                    </main>
                }.into_any(),
                SessionState::NeedsSetup => view! { <Bar me=None /><main class="content"><SetupPage /></main> }.into_any(),
                SessionState::LoggedOut { notice } => view! { <Bar me=None /><main class="content"><LoginPage notice=notice /></main> }.into_any(),
                SessionState::LoggedIn(me) => view! { <Shell me=me /> }.into_any(),
            }}
        </Router>
    }
}

#[component]
fn Shell(me: Me) -> impl IntoView {
    view! {
        <Bar me=Some(me) />
        <main class="content">
            <Routes fallback=NotFound>
                <Route path=path!("/") view=DashboardPage />
                <Route path=path!("/sites") view=SitesPage />
                <Route path=path!("/sites/new") view=SiteFormPage />
                <Route path=path!("/sites/:id") view=SiteDetailPage />
                <Route path=path!("/sites/:id/edit") view=SiteFormPage />
                <Route path=path!("/sites/:id/patches") view=PatchDocumentsPage />
                <Route path=path!("/releases/:id") view=ReleasePage />
                <Route path=path!("/approvals") view=ApprovalsPage />
                <Route path=path!("/history") view=HistoryPageView />
                <Route path=path!("/audit") view=AuditLogPage />
                <Route path=path!("/hosts") view=HostsPage />
                <Route path=path!("/customers") view=CustomersPage />
                <Route path=path!("/users") view=UsersPage />
                <Route path=path!("/account") view=AccountPage />
            </Routes>
        </main>
    }
}

/// The pages each role is offered, in the order of their work.
fn navigation(me: &Me) -> Vec<(&'static str, &'static str)> {
    match me.role {
        Role::Customer => vec![("/", "Dashboard"), ("/sites", "My sites")],
        Role::Support => {
            let mut links = vec![
                ("/", "Dashboard"),
                ("/sites", "Sites"),
                ("/approvals", "Approvals"),
                ("/hosts", "Hosts"),
                ("/customers", "Customers"),
            ];
            if me.admin {
                links.push(("/users", "Users"));
            }
            links.push(("/audit", "Audit"));
            links
        }
        Role::Manager => {
            let mut links = vec![("/", "Dashboard"), ("/history", "History"), ("/sites", "Sites")];
            if me.admin {
                links.push(("/users", "Users"));
            }
            links.push(("/audit", "Audit"));
            links
        }
    }
}

#[component]
fn Bar(me: Option<Me>) -> impl IntoView {
    let session = crate::session::use_session();
    let links = me.as_ref().map(navigation).unwrap_or_default();
    let home = "/";
    view! {
        <header class="topbar">
            <a class="brand" href=home>
                <span class="brand-mark">"⇄"</span>
                " Switchyard"
            </a>
            <nav class="nav" id="nav">
                {links.into_iter().map(|(href, label)| view! { <NavLink href=href label=label /> }).collect_view()}
            </nav>
            {me.map(|me| {
                let role = if me.admin { format!("{} · administrator", me.role) } else { me.role.to_string() };
                view! {
                    <div class="whoami" id="whoami">
                        <a class="whoami-name" id="whoami-name" href="/account" title="Your account">{me.display_name.clone()}</a>
                        <span class="whoami-role" id="whoami-role" data-role=me.role.as_str()>{role}</span>
                        <button class="button small" id="logout" on:click=move |_| session.log_out()>"Log out"</button>
                    </div>
                }
            })}
        </header>
    }
}

#[component]
fn NavLink(href: &'static str, label: &'static str) -> impl IntoView {
    let location = use_location();
    // Every path starts with "/": the dashboard is active on the start page alone.
    let active = move || {
        let path = location.pathname.get();
        if href == "/" {
            path == "/"
        } else {
            path.starts_with(href)
        }
    };
    view! {
        <a href=href class="nav-link" class:active=active data-nav=href>
            {label}
        </a>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    view! {
        <section class="page">
            <h1>"Page not found"</h1>
            <p>"Nothing lives at this address. " <a href="/">"Go to the start page"</a> "."</p>
        </section>
    }
}
