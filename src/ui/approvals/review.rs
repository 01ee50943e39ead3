//! One change request: what it changes, who asked and why, where it stands against the policy,
//! the decisions so far, and the decision controls for those who may decide.

use super::{Cancel, Decide, load_review, state_tone};
use crate::domain::change::{ChangeReview, Verdict};
use crate::ui::CsrfField;
use crate::ui::components::{Badge, ErrorNotice, FieldError, FormError, Loading, PageHeader, submission_error, successes};
use crate::ui::roles::diff::{BlastView, DiffView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ReviewPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let decide = ServerAction::<Decide>::new();
    let cancel = ServerAction::<Cancel>::new();
    let (decided, cancelled) = (successes(decide), successes(cancel));
    let review = Resource::new(move || (id.get(), decided.get(), cancelled.get()), |(id, _, _)| load_review(id));
    view! {
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match review.await {
                    Ok(review) => view! { <ReviewView review decide cancel/> }.into_any(),
                    Err(e) => view! { <Title text="Change request"/><PageHeader title="Change request"/><ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ReviewView(review: ChangeReview, decide: ServerAction<Decide>, cancel: ServerAction<Cancel>) -> impl IntoView {
    let ChangeReview { request, diff, base_version, status, blast, holders_pinned, holders_moving, cannot_decide, can_cancel } = review;
    let decide_error = submission_error(decide);
    let cancel_error = submission_error(cancel);
    let title = format!("{}: {}", request.kind.label(), request.subject);
    let subject = request.subject.clone();
    // An acknowledgement is about a drift finding; every other request about a role.
    let (about, about_href) = match &request.payload {
        crate::domain::change::ChangePayload::Acknowledge { drift_id, .. } => ("Finding", Some(format!("/drift/{drift_id}"))),
        _ => ("Role", request.subject_id.clone().map(|id| format!("/roles/{id}"))),
    };
    let role_link = about_href.map(|href| view! { <A href=href>{subject}</A> });
    let open = request.state.is_open();
    let decisions = request
        .decisions
        .iter()
        .map(|d| {
            view! {
                <li class="event">
                    <div class="event-head">
                        <Badge tone=if d.verdict == Verdict::Approve { "active" } else { "danger" } text=d.verdict.label()/>
                        <span class="muted">{format!(" by {} · {}", d.approver_name, d.at.short())}</span>
                    </div>
                    {(!d.comment.is_empty()).then(|| view! { <p class="event-detail">{d.comment.clone()}</p> })}
                </li>
            }
        })
        .collect_view();
    let id_for_decide = request.id.clone();
    let id_for_cancel = request.id.clone();
    let holders_note = match (base_version, holders_moving) {
        (Some(_), moving) if moving > 0 => format!("{moving} current holder(s) will move to the new version when this is applied."),
        (Some(base), _) => format!("{holders_pinned} current holder(s) stay pinned to v{base} or older; nobody is upgraded silently."),
        (None, _) if holders_pinned > 0 => format!("{holders_pinned} current assignment(s) end when this is applied."),
        _ => String::new(),
    };
    view! {
        <Title text=title.clone()/>
        <PageHeader title=title subtitle=format!("Requested by {} · {}", request.requester_name, request.created_at.short())/>
        <section class="status-bar">
            <span>
                <Badge tone=state_tone(request.state) text=request.state.label()/>
                <span class="badge" id="policy-status">{status.summary()}</span>
                <Badge tone=if request.sensitivity == crate::domain::role::Sensitivity::Privileged { "danger" } else { "retired" } text=request.sensitivity.label()/>
            </span>
            {(can_cancel).then(|| view! {
                <ActionForm action=cancel attr:class="inline-form">
                    <CsrfField/>
                    <input type="hidden" name="id" value=id_for_cancel.clone()/>
                    <button type="submit" class="button">"Cancel request"</button>
                </ActionForm>
            })}
        </section>
        <FormError error=cancel_error fields=&[]/>
        <div class="grid-2">
            <section class="card">
                <h2>"Request"</h2>
                <dl class="attributes">
                    <dt>{about}</dt><dd>{role_link.map(|l| l.into_any()).unwrap_or_else(|| view! { <code>{request.subject.clone()}</code> }.into_any())}</dd>
                    {base_version.map(|v| view! { <dt>"Written against"</dt><dd>{format!("v{v}")}</dd> })}
                    <dt>"Why"</dt><dd>{request.reason.clone()}</dd>
                    <dt>"Expires"</dt><dd>{request.expires_at.short()}</dd>
                    {request.applied_at.map(|t| view! { <dt>"Applied"</dt><dd>{t.short()}</dd> })}
                </dl>
                {(!holders_note.is_empty()).then(|| view! { <p class="notice notice-info">{holders_note.clone()}</p> })}
            </section>
            <section class="card">
                <h2>"Decisions"</h2>
                {if request.decisions.is_empty() {
                    view! { <p class="muted">"No decision yet."</p> }.into_any()
                } else {
                    view! { <ol class="history" id="decisions">{decisions}</ol> }.into_any()
                }}
                {open.then(|| match cannot_decide.clone() {
                    None => view! {
                        <ActionForm action=decide attr:class="stack decide-form" attr:id="decide-form">
                            <CsrfField/>
                            <input type="hidden" name="id" value=id_for_decide.clone()/>
                            <label for="decision-comment">"Comment (required to reject)"</label>
                            <textarea id="decision-comment" name="comment" rows="2"></textarea>
                            <FieldError error=decide_error field="comment"/>
                            <FormError error=decide_error fields=&["comment"]/>
                            <div class="form-actions">
                                <button type="submit" name="verdict" value="approve" class="button primary">"Approve"</button>
                                <button type="submit" name="verdict" value="reject" class="button danger-outline">"Reject"</button>
                            </div>
                        </ActionForm>
                    }.into_any(),
                    Some(refusal) => view! { <p class="muted small" id="cannot-decide">{refusal.to_string()}</p> }.into_any(),
                })}
            </section>
        </div>
        {diff.map(|diff| view! {
            <section class="card">
                <h2>"What changes"</h2>
                <DiffView diff/>
            </section>
        })}
        {blast.map(|blast| view! { <BlastView blast/> })}
    }
}
