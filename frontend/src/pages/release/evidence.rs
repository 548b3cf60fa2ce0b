//! What a decision on the release rests on, near the top of its page: the rehearsal a
//! production run rests on (link, result, who marked it tested and when), where the customer
//! tests it now as a link, the watch window counting down, how the run ended by what happened,
//! and why the decision it waits for is not offered to this person.

use crate::api::ApiResult;
use crate::format;
use leptos::prelude::*;
use switchyard_api::{ReleaseDetail, ReleaseEvidence};

#[component]
pub fn EvidenceCard(detail: RwSignal<Option<ApiResult<ReleaseDetail>>>, now: RwSignal<f64>) -> impl IntoView {
    let evidence =
        Memo::new(move |_| detail.with(|d| d.as_ref().and_then(|d| d.as_ref().ok()).map(|d| (d.evidence.clone(), d.summary.run.clone()))));
    let countdown = move || {
        let ends = evidence.get().and_then(|(e, _)| e.watch_ends_at).and_then(|t| format::epoch_ms(&t))?;
        let left = ((ends - now.get()) / 1000.0).max(0.0);
        Some(format!("{:02}:{:02}", (left / 60.0).floor() as u64, (left % 60.0).floor() as u64))
    };
    move || {
        let (evidence, run) = evidence.get()?;
        let ReleaseEvidence { rehearsal, test_address, test_url, outcome_words, watch_ends_at, not_offered, rollback, replays, .. } =
            evidence;
        Some(view! {
            <section class="card" id="release-evidence">
                <div class="evidence">
                    <div id="outcome-words">
                        <h3>"Where it stands"</h3>
                        <p>{outcome_words}</p>
                        {not_offered.map(|why| view! { <p class="not-offered" id="not-offered">{why}</p> })}
                    </div>
                    {(run == "production").then(|| view! {
                        <div id="rehearsal-evidence">
                            <h3>"Rehearsal it rests on"</h3>
                            {match rehearsal {
                                Some(r) => view! {
                                    <p>
                                        <a href=format!("/releases/{}", r.release_id) id="rehearsal-link">{format!("Rehearsal #{}", r.release_id)}</a>
                                        " " {r.outcome.clone().unwrap_or_else(|| "under way".into())}
                                    </p>
                                    {r.confirmed_by.clone().map(|by| view! {
                                        <p class="small" id="rehearsal-confirmed">
                                            {format!("Marked tested by {by}")}
                                            {r.confirmed_at.clone().map(|at| format!(" {}", format::when_precise(&at)))}
                                        </p>
                                    })}
                                    {(!r.comment.is_empty()).then(|| view! { <blockquote class="comment">{r.comment.clone()}</blockquote> })}
                                }.into_any(),
                                None => view! { <p class="muted">"No passed rehearsal of this candidate and document is on record."</p> }.into_any(),
                            }}
                        </div>
                    })}
                    {test_address.map(|address| view! {
                        <div id="test-address">
                            <h3>"Test it at"</h3>
                            {match test_url {
                                Some(url) => view! { <a id="test-link" href=url.clone() target="_blank" rel="noopener">{url.clone()}</a> }.into_any(),
                                None => view! { <span id="test-host">{address}</span> }.into_any(),
                            }}
                        </div>
                    })}
                    {rollback.map(|statement| view! {
                        <div id="rollback-statement" class=if statement.keeps_every_write { "rollback-statement keeps" } else { "rollback-statement loses" }>
                            <h3>"If it is rolled back"</h3>
                            <p>{statement.words}</p>
                            {statement.cutover_warning.map(|warning| view! { <p class="cutover-warning">{warning}</p> })}
                        </div>
                    })}
                    {(!replays.is_empty()).then(|| view! {
                        <div id="replays">
                            <h3>"Writes captured and replayed"</h3>
                            <ul>{replays.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}</ul>
                        </div>
                    })}
                    {watch_ends_at.map(|_| view! {
                        <div id="watch-window">
                            <h3>"Watch window ends in"</h3>
                            <span class="countdown" id="watch-countdown">{countdown}</span>
                        </div>
                    })}
                </div>
            </section>
        })
    }
}
