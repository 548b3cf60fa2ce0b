//! The application shell: header, navigation and the routes of every page.

use crate::pages::{customers::CustomersPage, hosts::HostsPage, patches::PatchDocumentsPage, site_detail::SiteDetailPage, site_form::SiteFormPage, sites::SitesPage, users::UsersPage};
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::use_location;
use leptos_router::path;

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <header class="topbar">
                <a class="brand" href="/">
                    <span class="brand-mark">"⇄"</span>
                    " Switchyard"
                </a>
                <nav class="nav">
                    <NavLink href="/sites" label="Sites" />
                    <NavLink href="/hosts" label="Hosts" />
                    <NavLink href="/customers" label="Customers" />
                    <NavLink href="/users" label="Users" />
                </nav>
            </header>
            <main class="content">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=SitesPage />
                    <Route path=path!("/sites") view=SitesPage />
                    <Route path=path!("/sites/new") view=SiteFormPage />
                    <Route path=path!("/sites/:id") view=SiteDetailPage />
                    <Route path=path!("/sites/:id/edit") view=SiteFormPage />
                    <Route path=path!("/sites/:id/patches") view=PatchDocumentsPage />
                    <Route path=path!("/hosts") view=HostsPage />
                    <Route path=path!("/customers") view=CustomersPage />
                    <Route path=path!("/users") view=UsersPage />
                </Routes>
            </main>
        </Router>
    }
}

#[component]
fn NavLink(href: &'static str, label: &'static str) -> impl IntoView {
    let location = use_location();
    let active = move || {
        let path = location.pathname.get();
        path.starts_with(href) || (href == "/sites" && path == "/")
    };
    view! {
        <a href=href class="nav-link" class:active=active>
            {label}
        </a>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    view! {
        <section class="page">
            <h1>"Page not found"</h1>
            <p>"Nothing lives at this address. " <a href="/sites">"Go to the sites"</a> "."</p>
        </section>
    }
}
