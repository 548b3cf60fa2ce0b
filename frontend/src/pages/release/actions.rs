//! What the viewer may do with a release now: the decisions the server lists in `allowed`
//! (approve, reject, confirm, rollback; labelled for the role and the run), a comment for
//! them, the confirmation dialog of a rollback, and support's "Run in production" once a
//! rehearsal passed.

use crate::api::{self, ApiResult};
use crate::form::{FormBanner, FormState};
use crate::session::{current_user, is_customer, is_support};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use switchyard_api::{Decision, NewReleaseRequest, ReleaseDetail};
use switchyard_core::schema_change::RollbackStatement;

/// The part of a release the actions depend on; it changes rarely, so the comment box keeps
/// its focus while the page polls.
#[derive(Clone, PartialEq)]
struct ActionContext {
    id: i64,
    allowed: Vec<String>,
    run: String,
    outcome: Option<String>,
    site: String,
    site_id: Option<i64>,
    document_version: i64,
    rollback: Option<RollbackStatement>,
}

#[component]
pub fn ReleaseActions(
    detail: RwSignal<Option<ApiResult<ReleaseDetail>>>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let me = current_user();
    let context = Memo::new(move |_| {
        detail.with(|d| {
            d.as_ref().and_then(|d| d.as_ref().ok()).map(|d| ActionContext {
                id: d.summary.id,
                allowed: d.allowed.clone(),
                run: d.summary.run.clone(),
                outcome: d.summary.outcome.clone(),
                site: d.summary.site.clone(),
                site_id: d.summary.site_id,
                document_version: d.summary.document_version,
                rollback: d.evidence.rollback.clone(),
            })
        })
    });
    let comment = RwSignal::new(String::new());
    let form = FormState::new();
    let rollback_open = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);
    // The approver's confirmation that they read what a rollback would do.
    let acknowledged = RwSignal::new(false);

    let decide = move |action: String, text: String| {
        let Some(id) = context.get_untracked().map(|c| c.id) else { return };
        done.set(None);
        let decision = Decision { comment: text, acknowledge_rollback: action == "approve" && acknowledged.get_untracked() };
        let action_name = action.clone();
        form.submit(Ok(()), async move { api::decide(id, &action, &decision).await }, move |summary| {
            comment.set(String::new());
            rollback_open.set(false);
            done.set(Some(format!("{}: {}", past_tense(&action_name), summary.waiting_for)));
            reload();
        });
    };

    let navigate = use_navigate();
    let support = is_support(&me);
    let customer = is_customer(&me);
    let run_in_production = move |_| {
        let Some(context) = context.get_untracked() else { return };
        let Some(site_id) = context.site_id else { return };
        let request = NewReleaseRequest {
            site_id,
            document_version: context.document_version as u32,
            run: "production".into(),
            pinned_accounts: Vec::new(),
        };
        let navigate = navigate.clone();
        form.submit(Ok(()), async move { api::start_release(&request).await }, move |release| {
            navigate(&format!("/releases/{}", release.id), Default::default())
        });
    };

    move || {
        let Some(context) = context.get() else { return ().into_any() };
        let decisions: Vec<String> = context.allowed.iter().filter(|a| a.as_str() != "rollback").cloned().collect();
        let may_roll_back = context.allowed.iter().any(|a| a == "rollback");
        let passed_rehearsal = support && context.run == "rehearsal" && context.outcome.as_deref() == Some("completed");
        if decisions.is_empty() && !may_roll_back && !passed_rehearsal {
            return view! { <FormBanner form=form all=true /> }.into_any();
        }
        let run = context.run.clone();
        let site = context.site.clone();
        let approving = decisions.iter().any(|a| a == "approve");
        let must_acknowledge = approving && context.rollback.as_ref().is_some_and(|r| r.needs_acknowledgement);
        view! {
            <section class="card actions-card" id="release-actions">
                <FormBanner form=form all=true />
                {move || done.get().map(|text| view! { <p class="banner ok" id="decision-done">{text}</p> })}
                {(!decisions.is_empty()).then(|| view! {
                    <label class="field">
                        <span class="field-label">"Comment"</span>
                        <textarea name="comment" rows="2" placeholder=comment_hint(customer, &run)
                            prop:value=move || comment.get()
                            on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
                    </label>
                })}
                {must_acknowledge.then(|| view! {
                    <label class="acknowledge">
                        <input type="checkbox" id="acknowledge-rollback"
                            prop:checked=move || acknowledged.get()
                            on:change=move |ev| acknowledged.set(event_target_checked(&ev)) />
                        " I have read what a rollback of this release would do (above) and approve with it"
                    </label>
                })}
                <div class="actions">
                    {decisions.into_iter().map(|action| {
                        let label = decision_label(&action, customer, &run);
                        let class = if action == "reject" { "button danger" } else { "button primary" };
                        let id = format!("decide-{action}");
                        let waits_for_acknowledgement = action == "approve" && must_acknowledge;
                        view! {
                            <button type="button" class=class id=id
                                disabled=move || form.busy.get() || (waits_for_acknowledgement && !acknowledged.get())
                                title=waits_for_acknowledgement.then_some("Read what a rollback would do and tick the box above first")
                                on:click=move |_| decide(action.clone(), comment.get_untracked())>
                                {label}
                            </button>
                        }
                    }).collect_view()}
                    {passed_rehearsal.then(|| view! {
                        <button type="button" class="button primary" id="run-production" disabled=move || form.busy.get() on:click=run_in_production.clone()>
                            "Run in production"
                        </button>
                    })}
                    {may_roll_back.then(|| view! {
                        <button type="button" class="button danger" id="rollback-button" on:click=move |_| rollback_open.set(true)>
                            "Roll back…"
                        </button>
                    })}
                </div>
                <Show when=move || rollback_open.get()>
                    <RollbackDialog site=site.clone() statement=context.rollback.clone() form=form open=rollback_open on_confirm=move |reason| decide("rollback".into(), reason) />
                </Show>
            </section>
        }.into_any()
    }
}

/// A modal that asks why, and for the site's name typed out, before anything is rolled back.
#[component]
fn RollbackDialog(
    site: String,
    /// What the rollback does to visitors' writes, as the release page says it.
    statement: Option<RollbackStatement>,
    form: FormState,
    open: RwSignal<bool>,
    on_confirm: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let typed = RwSignal::new(String::new());
    let expected = site.clone();
    let ready = move || typed.get().trim() == expected && !reason.get().trim().is_empty();
    view! {
        <div class="modal-backdrop">
            <div class="modal" id="rollback-dialog" role="dialog" aria-modal="true" aria-labelledby="rollback-title">
                <h2 id="rollback-title">"Roll back this release?"</h2>
                <p>
                    "Every stage that ran is undone, newest first, and the site serves exactly what it served before. "
                    "This is recorded with your name and reason."
                </p>
                {statement.map(|s| view! {
                    <p class=if s.keeps_every_write { "rollback-statement keeps" } else { "rollback-statement loses" } id="rollback-dialog-statement">
                        {s.words}
                    </p>
                })}
                <FormBanner form=form all=true />
                <label class="field">
                    <span class="field-label">"Reason"</span>
                    <textarea name="reason" rows="2" placeholder="What is wrong?"
                        prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))></textarea>
                </label>
                <label class="field">
                    <span class="field-label">{format!("Type the site's name, {site}, to confirm")}</span>
                    <input type="text" name="confirm-site" autocomplete="off"
                        prop:value=move || typed.get() on:input=move |ev| typed.set(event_target_value(&ev)) />
                </label>
                {move || form.busy.get().then(|| view! {
                    <p class="muted" id="rollback-pending">
                        "Sent. The rollback starts as soon as the step that is running lets go; this page follows it."
                    </p>
                })}
                <div class="actions">
                    <button type="button" class="button danger" id="rollback-confirm"
                        disabled=move || !ready() || form.busy.get()
                        on:click=move |_| on_confirm(reason.get_untracked().trim().to_owned())>
                        "Roll back"
                    </button>
                    <button type="button" class="button" id="rollback-cancel" on:click=move |_| open.set(false)>"Cancel"</button>
                </div>
            </div>
        </div>
    }
}

/// What each decision's button says to the person who takes it.
fn decision_label(action: &str, customer: bool, run: &str) -> String {
    match (action, customer, run) {
        ("confirm", true, "rehearsal") => "Tested, ready".into(),
        ("confirm", _, "production") => "Confirm production".into(),
        ("confirm", _, _) => "Confirm".into(),
        ("reject", true, _) => "Report a problem".into(),
        ("reject", false, _) => "Reject".into(),
        ("approve", _, _) => "Approve".into(),
        (other, _, _) => other.into(),
    }
}

fn comment_hint(customer: bool, run: &str) -> &'static str {
    match (customer, run) {
        (true, "rehearsal") => "What did you test? What did you find?",
        (true, _) => "What did you check at the temporary address?",
        (false, _) => "Why you decide this way (recorded with your name)",
    }
}

fn past_tense(action: &str) -> &'static str {
    match action {
        "approve" => "Approved",
        "reject" => "Rejected",
        "confirm" => "Confirmed",
        "rollback" => "Rollback requested",
        _ => "Done",
    }
}
