//! A site's runtime manifest card: the `switchyard.toml` text that runs releases shipping
//! neither a `switchyard.toml` nor a `Procfile`, checked with core's manifest parser on every
//! keystroke (the same rules the server applies on save) and saved or cleared by support.

use crate::api;
use crate::form::{FormBanner, FormState};
use leptos::prelude::*;
use switchyard_api::SiteRuntime;
use switchyard_core::manifest::{ReleaseManifest, MANIFEST_FILE};

#[component]
pub fn RuntimeManifestCard(site_id: i64, manifest: Option<String>, editable: bool) -> impl IntoView {
    let source = RwSignal::new(manifest.unwrap_or_default());
    let form = FormState::new();
    let saved = RwSignal::new(None::<&'static str>);
    let checked = Memo::new(move |_| {
        let text = source.get();
        if text.trim().is_empty() {
            None
        } else {
            Some(ReleaseManifest::parse(&text).map(|m| m.summary()).map_err(|e| e.in_file(MANIFEST_FILE)))
        }
    });
    let send = move |manifest: Option<String>| {
        saved.set(None);
        let request = SiteRuntime { manifest };
        form.submit(Ok(()), async move { api::set_site_runtime(site_id, &request).await }, move |site| {
            source.set(site.runtime_manifest.clone().unwrap_or_default());
            saved.set(Some(if site.runtime_manifest.is_some() { "Saved." } else { "Cleared." }));
        });
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send(Some(source.get_untracked()));
    };
    view! {
        <section class="card" id="runtime-manifest">
            <h2>"Runtime manifest"</h2>
            <p class="muted">
                "How the host runs a release that ships neither switchyard.toml nor a Procfile, e.g. a tarball the customer did not change. "
                "The host gets it when the site goes live."
            </p>
            <form class="form editor" on:submit=save novalidate=true>
                <FormBanner form=form />
                <textarea
                    name="runtime_manifest"
                    class="code"
                    rows="12"
                    spellcheck="false"
                    readonly=!editable
                    placeholder="[web]\ncommand = \"php -S 127.0.0.1:$PORT\""
                    prop:value=move || source.get()
                    on:input=move |ev| source.set(event_target_value(&ev))
                ></textarea>
                {move || match checked.get() {
                    None => view! { <p class="empty" id="runtime-check">"No runtime manifest: each release says how it starts."</p> }.into_any(),
                    Some(Ok(summary)) => view! {
                        <div class="check ok" id="runtime-check">
                            <strong>"Valid."</strong>
                            <pre>{summary.join("\n")}</pre>
                        </div>
                    }.into_any(),
                    Some(Err(problems)) => view! {
                        <ul class="check problems" id="runtime-check">
                            {problems.lines().map(|p| view! { <li>{p.to_owned()}</li> }).collect_view()}
                        </ul>
                    }.into_any(),
                }}
                {move || form.field_message("manifest").map(|m| view! { <p class="field-error">{m}</p> })}
                {editable.then(|| view! {
                    <div class="actions">
                        <button type="submit" class="button primary" id="runtime-save" disabled=move || form.busy.get()>"Save runtime manifest"</button>
                        <button type="button" class="button" id="runtime-clear" on:click=move |_| send(None)>"Clear"</button>
                        {move || saved.get().map(|s| view! { <span class="muted">{s}</span> })}
                    </div>
                })}
            </form>
        </section>
    }
}
