//! The identity page's access section: what it may do (with the grant behind each
//! permission), separation-of-duty findings, pending requests, and grant / revoke.

use super::{GrantRole, RevokeAssignment};
use crate::domain::discovery::EffectiveAccess;
use crate::ui::CsrfField;
use crate::ui::components::{ErrorNotice, FieldError, FormError, submission_error};
use crate::ui::format::date;
use leptos::prelude::*;
use leptos_router::components::A;

/// The section itself renders what the identity page loaded: resources are created there, at
/// the page's top, because one created inside a suspense (after an await) is numbered
/// differently on the server and in the browser, and the page then fails to hydrate.
#[component]
pub fn AccessSection(
    identity_id: String,
    access: Result<EffectiveAccess, crate::error::AppError>,
    revoke: ServerAction<RevokeAssignment>,
    /// Whether the operator may grant and revoke here (an active identity, a proposer).
    may_change: bool,
) -> impl IntoView {
    let revoke_error = submission_error(revoke);
    view! {
        <section class="card" id="access">
            <h2>"What it may do"</h2>
            <FormError error=revoke_error fields=&[]/>
            {match access {
                Ok(access) => view! { <AccessView access revoke may_change/> }.into_any(),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            }}
            {may_change.then(|| view! { <GrantForm identity_id/> })}
        </section>
    }
}

#[component]
fn AccessView(access: EffectiveAccess, revoke: ServerAction<RevokeAssignment>, may_change: bool) -> impl IntoView {
    let findings = access
        .findings
        .iter()
        .map(|f| {
            let class = if f.blocks() { "notice notice-error" } else { "notice notice-info" };
            let text = match &f.excepted_by {
                Some(_) => format!("{} Covered by an exception.", f.message),
                None => format!("Separation-of-duty conflict: {}", f.message),
            };
            view! { <p class=class>{text}</p> }
        })
        .collect_view();
    let pending = access
        .pending
        .iter()
        .map(|r| {
            view! {
                <li><A href=format!("/approvals/{}", r.id)>{format!("{}: {}", r.kind.label(), r.subject)}</A>
                    <span class="muted">{format!(" requested by {}", r.requester_name)}</span></li>
            }
        })
        .collect_view();
    let has_pending = !access.pending.is_empty();
    let empty = access.holdings.is_empty();
    let qualified = access.qualified;
    let rows = access
        .holdings
        .into_iter()
        .map(|h| {
            let assignment = h.assignment_id.clone().unwrap_or_default();
            // What the source's Deny statements and conditions do to an imported grant.
            let q = qualified.iter().find(|q| q.assignment_id == assignment).cloned().unwrap_or_default();
            let permissions = h
                .permissions
                .iter()
                .map(|p| {
                    let (class, note) = if q.denied.contains(p) {
                        ("perm perm-denied", " (denied)")
                    } else if q.limited.contains(p) {
                        ("perm perm-limited", " (limited by a Deny)")
                    } else if q.conditional.contains(p) {
                        ("perm perm-conditional", " (conditional)")
                    } else {
                        ("perm", "")
                    };
                    view! { <code class=class>{format!("{p}{note}")}</code> }
                })
                .collect_view();
            let conditions = (!q.conditions.is_empty()).then(|| view! { <p class="small muted qualification">{if q.conditions.len() == 1 { format!("Only when: {}", q.conditions[0]) } else { format!("Only when one of these holds (each statement's own): {}", q.conditions.join(" | ")) }}</p> });
            let denials = (!q.denials.is_empty()).then(|| view! { <p class="small muted qualification">{format!("Deny in the source: {}", q.denials.join("; "))}</p> });
            view! {
                <tr>
                    <td class="strong nowrap">{format!("{} v{}", h.role_slug, h.version)}</td>
                    <td><code>{h.scope.to_string()}</code></td>
                    <td class="perms">{permissions}{conditions}{denials}</td>
                    <td class="nowrap">{date(&h.expires_at)}</td>
                    <td class="row-actions">
                        {may_change.then(|| view! {
                            <details class="action-panel">
                                <summary class="button">"Revoke…"</summary>
                                <ActionForm action=revoke attr:class="stack">
                                    <CsrfField/>
                                    <input type="hidden" name="assignment_id" value=assignment.clone()/>
                                    <label>"Reason"<input type="text" name="reason" required/></label>
                                    <p class="small">"Takes effect at once unless the approval policy wants revocations reviewed or the role is privileged; credentials exercising it are revoked too."</p>
                                    <button type="submit" class="button danger">"Revoke"</button>
                                </ActionForm>
                            </details>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        {findings}
        {has_pending.then(|| view! { <p class="muted small">"Pending:"</p><ul class="pending-list">{pending}</ul> })}
        {if empty {
            view! { <p class="empty">"No active grant: this identity may do nothing."</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap">
                    <table class="table" id="effective-table">
                        <thead><tr><th scope="col">"Role"</th><th scope="col">"Scope"</th><th scope="col">"Permissions"</th><th scope="col">"Expires"</th><th scope="col"></th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            }.into_any()
        }}
    }
}

#[component]
fn GrantForm(identity_id: String) -> impl IntoView {
    let action = ServerAction::<GrantRole>::new();
    let error = submission_error(action);
    view! {
        <details class="form-panel">
            <summary class="button">"Grant role…"</summary>
            <ActionForm action attr:class="form-grid" attr:id="grant-form">
                <CsrfField/>
                <input type="hidden" name="identity_id" value=identity_id/>
                <div class="field">
                    <label for="grant-role">"Role"</label>
                    <super::picker::RolePicker id="grant-role" name="role" required=true/>
                    <FieldError error field="role"/>
                </div>
                <div class="field">
                    <label for="grant-scope">"Scope"</label>
                    <input id="grant-scope" type="text" name="scope" placeholder="the role's own scope"/>
                    <p class="help">"Narrow the grant to a scope inside the role's (prod/payments)."</p>
                    <FieldError error field="scope"/>
                </div>
                <div class="field">
                    <label for="grant-expires">"Expires"</label>
                    <input id="grant-expires" type="date" name="expires_at"/>
                    <p class="help">"Time-bound grants end by themselves."</p>
                    <FieldError error field="expires_at"/>
                </div>
                <div class="field field-wide">
                    <label for="grant-reason">"Why"</label>
                    <input id="grant-reason" type="text" name="reason" required/>
                    <FieldError error field="reason"/>
                </div>
                <div class="form-actions">
                    <FormError error fields=&["role", "scope", "expires_at", "reason"]/>
                    <button type="submit" class="button primary" disabled=action.pending()>"File grant request"</button>
                </div>
            </ActionForm>
        </details>
    }
}
