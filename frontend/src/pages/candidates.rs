//! A site's release candidates: the uploaded tarballs with their sha256, a delete button for
//! support staff (the server refuses one a release or production uses, and says which), and the
//! upload form with a progress bar (a browser file input, or the native file picker in the
//! desktop app).

use super::{load_into, render_loadable, Loadable};
use crate::api;
use crate::format;
use leptos::prelude::*;
use switchyard_api::{ApiError, Candidate};
use wasm_bindgen::JsCast;

/// Where an upload stands.
#[derive(Clone, Debug, PartialEq)]
enum UploadState {
    Idle,
    Sending { sent: u64, total: u64 },
    Done(Candidate),
    Failed(ApiError),
}

#[component]
pub fn CandidatesCard(site_id: i64, may_upload: bool, may_delete: bool) -> impl IntoView {
    let candidates: Loadable<Vec<Candidate>> = RwSignal::new(None);
    let reload = move || load_into(candidates, api::candidates(site_id));
    let delete_error = RwSignal::new(None::<ApiError>);
    let delete = move |sha256: String| {
        delete_error.set(None);
        leptos::task::spawn_local(async move {
            match api::delete_candidate(site_id, &sha256).await {
                Ok(()) => reload(),
                Err(error) => delete_error.set(Some(error)),
            }
        });
    };
    reload();
    view! {
        <section class="card" id="candidates">
            <h2>"Release candidates"</h2>
            {move || delete_error.get().map(|error| view! {
                <div class="banner error" id="candidate-delete-error" role="alert">
                    <strong>{error.for_people().0}</strong> " " <span>{error.for_people().1}</span>
                </div>
            })}
            {render_loadable(candidates, move |list: Vec<Candidate>| {
                if list.is_empty() {
                    return view! {
                        <p class="empty">"No candidates yet. Upload the release tarball (.tar.gz) you want to rehearse."</p>
                    }.into_any();
                }
                view! {
                    <table class="table" id="candidate-list">
                        <thead><tr><th>"File"</th><th>"sha256"</th><th class="num">"Size"</th><th>"Uploaded"</th><th>"Declares"</th>{may_delete.then(|| view! { <th></th> })}</tr></thead>
                        <tbody>
                            {list.into_iter().map(|c| { let declared = declares(&c); view! {
                                <tr class="candidate" data-sha256=c.sha256.clone()>
                                    <td>{c.filename}</td>
                                    <td><code class="sha256" title=c.sha256.clone()>{format::short_hash(&c.sha256)}</code></td>
                                    <td class="num">{format::bytes(c.size_bytes.max(0) as u64)}</td>
                                    <td>{format!("{} by {}", format::when(&c.uploaded_at), c.uploaded_by)}</td>
                                    <td class="manifest">{declared}</td>
                                    {may_delete.then(|| { let sha256 = c.sha256.clone(); view! {
                                        <td><button type="button" class="button danger candidate-delete" on:click=move |_| delete(sha256.clone())>"Delete"</button></td>
                                    }})}
                                </tr>
                            }}).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            })}
            {may_upload.then(|| view! { <UploadForm site_id=site_id on_uploaded=reload /> })}
        </section>
    }
}

/// What the candidate's manifest says the agent will do with it, one line each.
fn declares(candidate: &Candidate) -> AnyView {
    match &candidate.manifest {
        Some(manifest) => view! {
            <ul class="manifest-summary" title=manifest.source.file_name()>
                {manifest.summary.iter().map(|line| view! { <li>{line.clone()}</li> }).collect_view()}
            </ul>
        }
        .into_any(),
        None => view! { <span class="muted">"no manifest: the site's default settings apply"</span> }.into_any(),
    }
}

#[component]
fn UploadForm(site_id: i64, on_uploaded: impl Fn() + Copy + 'static) -> impl IntoView {
    let state = RwSignal::new(UploadState::Idle);
    let chosen = RwSignal::new(None::<String>);
    let input = NodeRef::<leptos::html::Input>::new();
    let busy = move || matches!(state.get(), UploadState::Sending { .. });
    let on_progress = move |sent: u64, total: u64| state.set(UploadState::Sending { sent, total });
    let finish = move |result: api::ApiResult<Option<Candidate>>| match result {
        Ok(Some(candidate)) => {
            state.set(UploadState::Done(candidate));
            on_uploaded();
        }
        Ok(None) => state.set(UploadState::Idle),
        Err(error) => state.set(UploadState::Failed(error)),
    };

    let upload_in_browser = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let file = input.get_untracked().and_then(|input| input.files()).and_then(|files| files.get(0));
        let Some(file) = file else {
            state.set(UploadState::Failed(ApiError::new("no file chosen", "choose the release tarball first, then upload it")));
            return;
        };
        state.set(UploadState::Sending { sent: 0, total: file.size() as u64 });
        leptos::task::spawn_local(async move {
            finish(crate::upload::upload_candidate(site_id, file, on_progress).await.map(Some));
        });
    };
    let upload_natively = move |_| {
        state.set(UploadState::Sending { sent: 0, total: 0 });
        leptos::task::spawn_local(async move {
            finish(crate::desktop::upload_candidate_native(site_id, on_progress).await);
        });
    };
    let on_file = move |ev: leptos::ev::Event| {
        let name = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            .and_then(|input| input.files())
            .and_then(|files| files.get(0))
            .map(|file| format!("{} ({})", file.name(), format::bytes(file.size() as u64)));
        chosen.set(name);
        state.set(UploadState::Idle);
    };

    view! {
        <div class="upload" id="upload">
            {if crate::desktop::is_desktop() {
                view! {
                    <div class="actions">
                        <button type="button" class="button primary" id="upload-native" on:click=upload_natively disabled=busy>
                            "Choose a file and upload…"
                        </button>
                    </div>
                }.into_any()
            } else {
                view! {
                    <form class="inline-form" id="upload-form" on:submit=upload_in_browser>
                        <label class="field">
                            <span class="field-label">"Release tarball"</span>
                            <input type="file" name="candidate" node_ref=input accept=".tar.gz,.tgz,application/gzip" on:change=on_file />
                            {move || chosen.get().map(|text| view! { <span class="field-hint">{text}</span> })}
                        </label>
                        <button type="submit" class="button primary" disabled=busy>"Upload"</button>
                    </form>
                }.into_any()
            }}
            {move || match state.get() {
                UploadState::Idle => ().into_any(),
                UploadState::Sending { sent, total } => {
                    let percent = (sent.min(total) * 100).checked_div(total).unwrap_or(0) as u32;
                    view! {
                        <div class="progress" id="upload-progress" data-percent=percent>
                            <progress max="100" value=percent></progress>
                            <span class="progress-text">
                                {format!("{percent} % · {} of {}", format::bytes(sent), format::bytes(total))}
                                {(total > 0 && sent >= total).then_some(" · the server is checking the file…")}
                            </span>
                        </div>
                    }.into_any()
                }
                UploadState::Done(candidate) => view! {
                    <div class="banner ok" id="upload-done">
                        <strong>{format!("Uploaded {} ({}).", candidate.filename, format::bytes(candidate.size_bytes.max(0) as u64))}</strong>
                        " sha256 " <code id="uploaded-sha256">{candidate.sha256}</code>
                    </div>
                }.into_any(),
                UploadState::Failed(error) => view! {
                    <div class="banner error" id="upload-error" role="alert">
                        <strong>{error.for_people().0}</strong> " " <span>{error.for_people().1}</span>
                        // A manifest's problems come one per line, each with its line number.
                        {error.fields.into_iter().map(|f| view! { <pre class="field-problem">{f.message}</pre> }).collect_view()}
                    </div>
                }.into_any(),
            }}
        </div>
    }
}
