//! A site's patch documents: the saved versions, and an editor that opens on the latest one,
//! checks the document with the server's own rules on every keystroke (core runs in the
//! browser), numbers its lines and marks each line a problem is on, starts from a template for
//! any workflow, and saves the next version.

use super::{load_into, render_loadable, Loadable, NoSuchPage};
use crate::api;
use crate::form::{FormBanner, FormState};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use switchyard_api::{Candidate, PatchDocumentDraft, PatchDocumentRecord, SiteDetail};
use switchyard_core::patch::{PatchDocument, PatchError, WorkflowKind};

/// A site's patch documents, or "page not found" in words when the address names no site (`/sites/abc`).
#[component]
pub fn PatchDocumentsPage() -> impl IntoView {
    let params = use_params_map();
    let numeric = Memo::new(move |_| params.read().get("id").is_some_and(|id| id.parse::<i64>().is_ok()));
    move || if numeric.get() { view! { <PatchDocuments /> }.into_any() } else { view! { <NoSuchPage what="site" /> }.into_any() }
}

#[component]
fn PatchDocuments() -> impl IntoView {
    // Who writes documents (the site's customer, support); managers read the versions.
    let writes = crate::session::may_rehearse(&crate::session::current_user());
    let params = use_params_map();
    let site_id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or(0);
    let site: Loadable<SiteDetail> = RwSignal::new(None);
    let versions: Loadable<Vec<PatchDocumentRecord>> = RwSignal::new(None);
    load_into(site, api::site(site_id()));
    let reload = move || load_into(versions, api::patch_documents(site_id()));
    reload();
    // A template for a chosen candidate names it and runs the migration its manifest declares.
    let candidates: Loadable<Vec<Candidate>> = RwSignal::new(None);
    load_into(candidates, api::candidates(site_id()));
    let template_candidate = RwSignal::new(String::new());

    let source = RwSignal::new(String::new());
    let workflow = RwSignal::new(WorkflowKind::ALL[0].as_str().to_owned());
    let form = FormState::new();
    let saved = RwSignal::new(None::<i64>);
    // Checked in the browser with the same parser and rules the server applies on save.
    let checked = Memo::new(move |_| {
        let text = source.get();
        if text.trim().is_empty() {
            None
        } else {
            Some(PatchDocument::parse(&text).map(|doc| doc.summary()).map_err(|e| e.0))
        }
    });
    // The editor opens on the latest saved version, once, unless something was typed already.
    let opened = RwSignal::new(false);
    Effect::new(move |_| {
        if opened.get_untracked() {
            return;
        }
        if let Some(Ok(list)) = versions.get() {
            opened.set(true);
            if let Some(latest) = list.iter().max_by_key(|r| r.version) {
                if source.get_untracked().trim().is_empty() {
                    source.set(latest.toml.clone());
                }
            }
        }
    });
    let problem_lines = move || match checked.get() {
        Some(Err(problems)) => problems.iter().map(|p| p.line).collect::<Vec<_>>(),
        _ => Vec::new(),
    };

    let load_template = move |_| {
        let kind = workflow.get_untracked();
        let candidate = template_candidate.get_untracked();
        leptos::task::spawn_local(async move {
            match api::patch_template(site_id(), &kind, &candidate).await {
                Ok(draft) => {
                    form.clear();
                    source.set(draft.toml);
                }
                Err(error) => form.error.set(Some(error)),
            }
        });
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(None);
        let draft = PatchDocumentDraft { toml: source.get_untracked() };
        // The live check above already shows problems; the server's verdict is the one that counts.
        form.submit(Ok(()), async move { api::save_patch_document(site_id(), &draft).await }, move |record| {
            saved.set(Some(record.version));
            source.set(record.toml);
            reload();
        });
    };

    view! {
        <section class="page">
            <header class="page-header">
                <div>
                    <p class="breadcrumb">
                        <a href="/sites">"Sites"</a> " / "
                        <a href=move || format!("/sites/{}", site_id())>
                            {move || site.get().and_then(Result::ok).map(|d| d.site.name).unwrap_or_default()}
                        </a>
                    </p>
                    <h1>"Patch documents"</h1>
                </div>
            </header>
            <div class="split">
                {(!writes).then(|| view! {
                    <div class="card editor" id="document-reader">
                        <p class="notice">"Customers and support staff write patch documents; pick a version to read it."</p>
                        <pre class="code" id="document-text">{move || source.get()}</pre>
                    </div>
                })}
                {writes.then(|| view! {
                <form class="card form editor" on:submit=save novalidate=true>
                    <FormBanner form=form />
                    <div class="actions">
                        <select name="workflow" on:change=move |ev| workflow.set(event_target_value(&ev))>
                            {WorkflowKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.as_str()}</option> }).collect_view()}
                        </select>
                        <select name="candidate" id="template-candidate" title="the candidate to release: its manifest fills the migration"
                            on:change=move |ev| template_candidate.set(event_target_value(&ev))>
                            <option value="">"no candidate yet"</option>
                            {move || candidates.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|c| {
                                let label = match &c.manifest {
                                    Some(_) => format!("{} (declares a manifest)", c.filename),
                                    None => c.filename.clone(),
                                };
                                view! { <option value=c.sha256.clone()>{label}</option> }
                            }).collect_view()}
                        </select>
                        <button type="button" class="button" on:click=load_template>"Start from template"</button>
                    </div>
                    <div class="code-editor">
                        // As many rows as lines, never wrapped, so each number stays beside its line.
                        <ol class="gutter" id="editor-lines" aria-hidden="true">
                            {move || {
                                let bad = problem_lines();
                                (1..=source.with(|s| s.lines().count().max(1))).map(|n| {
                                    let class = if bad.contains(&n) { "bad" } else { "" };
                                    view! { <li class=class data-line=n>{n}</li> }
                                }).collect_view()
                            }}
                        </ol>
                        <textarea
                            name="toml"
                            class="code"
                            wrap="off"
                            rows=move || source.with(|s| s.lines().count() + 1).max(26)
                            spellcheck="false"
                            placeholder="Write the patch document here, or start from a template."
                            prop:value=move || source.get()
                            // An edit moves the document on: the last save's verdict no longer applies to it.
                            on:input=move |ev| { form.clear(); saved.set(None); source.set(event_target_value(&ev)) }
                        ></textarea>
                    </div>
                    {move || match checked.get() {
                        None => ().into_any(),
                        Some(Ok(summary)) => view! {
                            <div class="check ok" id="check">
                                <strong>"Valid."</strong>
                                <pre>{summary}</pre>
                            </div>
                        }.into_any(),
                        Some(Err(problems)) => view! {
                            <ul class="check problems" id="check">
                                {problems.into_iter().map(|p: PatchError| view! {
                                    <li data-line=p.line><strong>{format!("Line {}: ", p.line)}</strong>{p.message}</li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }}
                    {move || form.error.get().filter(|e| !e.fields.is_empty()).map(|e| view! {
                        <ul class="check problems">
                            {e.fields.into_iter().map(|f| view! { <li>{f.message}</li> }).collect_view()}
                        </ul>
                    })}
                    {move || saved.get().map(|v| view! { <p class="saved" id="saved">{format!("Saved as version {v}.")}</p> })}
                    <div class="actions">
                        <button type="submit" class="button primary">"Save as new version"</button>
                    </div>
                </form>
                })}
                <aside class="card versions">
                    <h2>"Versions"</h2>
                    {render_loadable(versions, move |versions: Vec<PatchDocumentRecord>| {
                        if versions.is_empty() {
                            return view! { <p class="empty">"None saved yet."</p> }.into_any();
                        }
                        view! {
                            <ul class="version-list" id="versions">
                                {versions.into_iter().map(|record| {
                                    let toml = record.toml.clone();
                                    view! {
                                        <li>
                                            <button class="link" on:click=move |_| { form.clear(); saved.set(None); source.set(toml.clone()) }>
                                                {format!("v{} · {} · {}", record.version, record.workflow, record.target_version)}
                                            </button>
                                            <span class="muted">{record.created_at.chars().take(16).collect::<String>().replace('T', " ")}</span>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    })}
                </aside>
            </div>
        </section>
    }
}
