//! The parts of a release's page that change as it runs: its stages, the timeline with each
//! step's output, the decisions people took, its artifacts and what the release cost in
//! downtime. Each part re-renders only when its own slice of the release changed.

use crate::api::ApiResult;
use crate::format;
use leptos::prelude::*;
use switchyard_api::{Candidate, DecisionRecord, ReleaseDetail, StageView, TimelineEntry};

type Detail = RwSignal<Option<ApiResult<ReleaseDetail>>>;

/// A slice of the loaded release, as a memo so unchanged parts are not redrawn each second.
fn slice<T: Clone + PartialEq + Send + Sync + 'static>(detail: Detail, pick: fn(&ReleaseDetail) -> T) -> Memo<Option<T>> {
    Memo::new(move |_| detail.with(|d| d.as_ref().and_then(|d| d.as_ref().ok()).map(pick)))
}

#[component]
pub fn Stages(detail: Detail) -> impl IntoView {
    let stages = slice(detail, |d| d.stages.clone());
    view! {
        <section class="card" id="stages">
            <h2>"Stages"</h2>
            {move || {
                let stages = stages.get().unwrap_or_default();
                if stages.is_empty() {
                    return view! { <p class="empty">"The engine has not planned any stages yet."</p> }.into_any();
                }
                view! {
                    <ol class="stages">
                        {stages.into_iter().map(|stage: StageView| { let (class, status) = (format!("stage stage-{}", stage.status), stage.status.clone()); view! {
                            <li class=class data-status=status.clone()>
                                <span class="stage-mark" aria-hidden="true">{stage_mark(&stage.status)}</span>
                                <span class="stage-title">{stage.title}</span>
                                <span class="stage-status">{stage.status}</span>
                            </li>
                        }}).collect_view()}
                    </ol>
                }.into_any()
            }}
        </section>
    }
}

fn stage_mark(status: &str) -> &'static str {
    match status {
        "done" => "✓",
        "running" => "▶",
        "waiting" => "●",
        "undone" => "↶",
        _ => "○",
    }
}

#[component]
pub fn Measurements(detail: Detail) -> impl IntoView {
    let summary = slice(detail, |d| d.summary.clone());
    view! {
        <section class="card" id="measurements">
            <h2>"What it cost"</h2>
            {move || summary.get().map(|s| {
                let counted = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_else(|| "not measured".into());
                let rolled_back = s.rollback_downtime_ms.is_some();
                view! {
                    <dl class="facts">
                        <dt>{if rolled_back { "Downtime of the run" } else { "Downtime" }}</dt>
                        <dd id="downtime">{format::downtime(s.downtime_ms)}</dd>
                        <dt>"Requests held"</dt>
                        <dd id="held">{format::downtime(s.held_ms)}</dd>
                        <dt>{if rolled_back { "Failed requests in the run" } else { "Failed requests" }}</dt>
                        <dd id="failed-requests">{counted(s.failed_requests)}</dd>
                        {rolled_back.then(|| view! {
                            <dt>"Downtime of the rollback"</dt>
                            <dd id="rollback-downtime">{format::downtime(s.rollback_downtime_ms)}</dd>
                            <dt>"Held in the rollback"</dt>
                            <dd id="rollback-held">{format::downtime(s.rollback_held_ms)}</dd>
                            <dt>"Failed requests in the rollback"</dt>
                            <dd id="rollback-failed-requests">{counted(s.rollback_failed_requests)}</dd>
                        })}
                        <dt>"Outcome"</dt>
                        <dd id="outcome">{s.outcome.clone().unwrap_or_else(|| "not final yet".into())}</dd>
                        <dt>"Finished"</dt>
                        <dd>{s.finished_at.clone().map(|t| format::when_precise(&t)).unwrap_or_else(|| "—".into())}</dd>
                    </dl>
                }
            })}
        </section>
    }
}

#[component]
pub fn Timeline(detail: Detail) -> impl IntoView {
    let timeline = slice(detail, |d| d.timeline.clone());
    view! {
        <section class="card" id="timeline">
            <h2>"Timeline"</h2>
            {move || {
                let entries = timeline.get().unwrap_or_default();
                if entries.is_empty() {
                    return view! { <p class="empty">"Nothing has happened yet."</p> }.into_any();
                }
                view! {
                    <ol class="timeline">
                        {entries.into_iter().map(|entry: TimelineEntry| view! {
                            <li class="timeline-entry" data-seq=entry.seq>
                                <div class="timeline-head">
                                    <time>{format::when_precise(&entry.at)}</time>
                                    <span class="timeline-event">{entry.event}</span>
                                </div>
                                {(!entry.output.is_empty()).then(|| view! { <pre class="step-output">{entry.output}</pre> })}
                                {(!entry.commands.is_empty()).then(|| view! {
                                    <ul class="timeline-commands">
                                        {entry.commands.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}
                                    </ul>
                                })}
                            </li>
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </section>
    }
}

#[component]
pub fn Decisions(detail: Detail) -> impl IntoView {
    let decisions = slice(detail, |d| d.decisions.clone());
    view! {
        <section class="card" id="decisions">
            <h2>"Approvals and decisions"</h2>
            {move || {
                let decisions = decisions.get().unwrap_or_default();
                if decisions.is_empty() {
                    return view! { <p class="empty">"No one has decided anything on this release yet."</p> }.into_any();
                }
                view! {
                    <table class="table">
                        <thead><tr><th>"When"</th><th>"Who"</th><th>"Decision"</th><th>"Comment"</th></tr></thead>
                        <tbody>
                            {decisions.into_iter().map(|d: DecisionRecord| { let decision = d.decision.clone(); view! {
                                <tr class="decision" data-decision=decision>
                                    <td class="when">{format::when_precise(&d.at)}</td>
                                    <td>{format!("{} ({})", d.by, d.role)}</td>
                                    <td>{d.decision}</td>
                                    <td>{d.comment}</td>
                                </tr>
                            }}).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

#[component]
pub fn Artifacts(detail: Detail) -> impl IntoView {
    let artifacts = slice(detail, |d| (d.candidate.clone(), d.summary.candidate_sha256.clone(), d.summary.document_version));
    view! {
        <section class="card" id="artifacts">
            <h2>"Artifacts"</h2>
            {move || artifacts.get().map(|(candidate, sha256, version): (Option<Candidate>, String, i64)| view! {
                <table class="table">
                    <thead><tr><th>"Artifact"</th><th>"sha256"</th><th>"Details"</th></tr></thead>
                    <tbody>
                        <tr class="artifact">
                            <td>{candidate.as_ref().map(|c| c.filename.clone()).unwrap_or_else(|| "release candidate".into())}</td>
                            <td><code class="sha256" id="candidate-sha256">{sha256}</code></td>
                            <td>{candidate.map(|c| format!("{} · uploaded {} by {}", format::bytes(c.size_bytes.max(0) as u64), format::when(&c.uploaded_at), c.uploaded_by)).unwrap_or_default()}</td>
                        </tr>
                        <tr class="artifact">
                            <td>"Patch document"</td>
                            <td>{format!("version {version}")}</td>
                            <td>"shown below"</td>
                        </tr>
                    </tbody>
                </table>
            })}
        </section>
    }
}
