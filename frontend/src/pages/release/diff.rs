//! The release's patch document as a diff against the one last released to production on the
//! same site, so the reviewer reads what changed, not the whole runbook again.

use crate::api::{self, ApiResult};
use crate::pages::{load_into, render_loadable, Loadable};
use leptos::prelude::*;
use switchyard_api::{DocumentDiff, ReleaseDetail};

#[component]
pub fn DocumentDiffCard(release_id: i64, detail: RwSignal<Option<ApiResult<ReleaseDetail>>>) -> impl IntoView {
    let diff: Loadable<DocumentDiff> = RwSignal::new(None);
    load_into(diff, api::release_diff(release_id));
    let version = move || detail.with(|d| d.as_ref().and_then(|d| d.as_ref().ok()).map(|d| d.summary.document_version));
    view! {
        <section class="card" id="document-diff">
            <h2>{move || format!("Patch document v{}", version().unwrap_or_default())}</h2>
            {render_loadable(diff, |diff: DocumentDiff| {
                let against = match (diff.against_version, diff.against_release) {
                    (None, None) if diff.against_go_live.is_some() => view! {
                        <p class="muted" id="diff-against">
                            {format!(
                                "No release with a patch document came before: production runs what {} put live. Every line is new.",
                                diff.against_go_live.clone().unwrap_or_default()
                            )}
                        </p>
                    }.into_any(),
                    (Some(version), Some(release)) => view! {
                        <p class="muted" id="diff-against">
                            "Compared with version " {version} ", last released to production by "
                            <a href=format!("/releases/{release}")>{format!("release #{release}")}</a> "."
                        </p>
                    }.into_any(),
                    _ => view! {
                        <p class="muted" id="diff-against">"Nothing was released to production on this site before: every line is new."</p>
                    }.into_any(),
                };
                let added = diff.lines.iter().filter(|l| l.kind == "added").count();
                let removed = diff.lines.iter().filter(|l| l.kind == "removed").count();
                view! {
                    {against}
                    <p class="diff-counts"><span class="added">{format!("+{added}")}</span> " " <span class="removed">{format!("−{removed}")}</span></p>
                    <pre class="diff">
                        {diff.lines.into_iter().map(|line| {
                            let sign = match line.kind.as_str() { "added" => "+ ", "removed" => "- ", _ => "  " };
                            view! { <span class=format!("diff-line {}", line.kind)>{sign}{line.text}"\n"</span> }
                        }).collect_view()}
                    </pre>
                }.into_any()
            })}
        </section>
    }
}
