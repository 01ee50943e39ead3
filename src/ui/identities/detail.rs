//! One identity: attributes, credentials, assignments, history, and its lifecycle actions.

use super::list::status_tone;
use super::{ChangeIdentityStatus, RegisterCredential, load_identity};
use crate::domain::Timestamp;
use crate::domain::actor::Capability;
use crate::domain::assignment::Assignment;
use crate::domain::credential::{Credential, CredentialKind, CredentialState};
use crate::domain::discovery::EffectiveAccess;
use crate::domain::escalation::EscalationPath;
use crate::domain::identity::{IdentityDetail, IdentityStatus};
use crate::domain::page::Page;
use crate::error::AppError;
use crate::ui::access::escalation::{CanBecome, load_escalation};
use crate::ui::access::identity::AccessSection;
use crate::ui::access::{RevokeAssignment, load_effective};
use crate::ui::components::{
    Badge, EmptyState, ErrorNotice, FieldError, FormError, History, LabelChips, Loading, PageHeader, Table, submission_error, successes,
};
use crate::ui::format::{date, or_dash, short_fingerprint, when};
use crate::ui::{CsrfField, CurrentSession, IfCan};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[component]
pub fn IdentityPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let status_action = ServerAction::<ChangeIdentityStatus>::new();
    let credential_action = ServerAction::<RegisterCredential>::new();
    let revoke = ServerAction::<RevokeAssignment>::new();
    let status_changes = successes(status_action);
    let credential_changes = successes(credential_action);
    let revocations = successes(revoke);
    // Everything the page shows is loaded here, above the suspense that awaits it (see
    // `AccessSection`), and awaited together.
    let detail = Resource::new(move || (id.get(), status_changes.get(), credential_changes.get(), revocations.get()), |(id, _, _, _)| load_identity(id));
    let access = Resource::new(move || (id.get(), status_changes.get(), revocations.get()), |(id, _, _)| load_effective(id));
    let escalation = Resource::new(move || (id.get(), status_changes.get(), revocations.get()), |(id, _, _)| load_escalation(id));
    let session = expect_context::<CurrentSession>().0;
    view! {
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let may_propose = session.await.ok().flatten().is_some_and(|s| s.can(Capability::Propose));
                let (access, escalation) = (access.await, escalation.await);
                match detail.await {
                    Ok(detail) => view! { <IdentityView detail access escalation may_propose status_action credential_action revoke/> }.into_any(),
                    Err(e) => view! {
                        <Title text="Identity"/>
                        <PageHeader title="Identity"/>
                        <ErrorNotice error=e/>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn IdentityView(
    detail: IdentityDetail,
    access: Result<EffectiveAccess, AppError>,
    escalation: Result<Page<EscalationPath>, AppError>,
    may_propose: bool,
    status_action: ServerAction<ChangeIdentityStatus>,
    credential_action: ServerAction<RegisterCredential>,
    revoke: ServerAction<RevokeAssignment>,
) -> impl IntoView {
    let IdentityDetail { identity, credentials, assignments, history, as_of } = detail;
    let retired = identity.status == IdentityStatus::Retired;
    // An imported identity's attributes come from its source; editing them here would be undone.
    let editable = !retired && identity.managed_by.is_none();
    let managed = identity.managed_by.clone().map(|m| view! {
        <p class="notice" id="managed-by">
            "Managed by its source, "<strong>{m.describe()}</strong>" ("<code>{m.source_ref.clone()}</code>"): change its attributes there; the next import records them."
        </p>
    });
    let active_assignments: Vec<Assignment> = assignments.iter().filter(|a| a.is_active(as_of)).cloned().collect();
    let service = identity.service_id.clone().zip(identity.service_name.clone());
    let edit_href = format!("/identities/{}/edit", identity.id);
    let identity_id = identity.id.clone();
    let status_id = identity.id.clone();
    let active_count = active_assignments.len();
    let open_credentials = credentials.iter().filter(|c| c.revoked_at.is_none()).count();
    view! {
        <Title text=identity.name.clone()/>
        <PageHeader title=identity.name.clone() subtitle=format!("{} · owned by {}", identity.kind.label(), identity.owner_name)>
            {editable.then(|| view! {
                <IfCan capability=Capability::EditLedger>
                    <A href=edit_href.clone() attr:class="button">"Edit"</A>
                </IfCan>
            })}
        </PageHeader>
        {managed}
        <section class="status-bar" id="status">
            <Badge tone=status_tone(identity.status) text=identity.status.label()/>
            <IfCan capability=Capability::EditLedger>
                <StatusActions id=status_id.clone() status=identity.status action=status_action
                    credentials=open_credentials assignments=active_count/>
            </IfCan>
        </section>
        <section class="card">
            <h2>"Attributes"</h2>
            <dl class="attributes attributes-2">
                <dt>"Identity id"</dt><dd><code>{identity.id.clone()}</code></dd>
                <dt>"Kind"</dt><dd>{identity.kind.label()}</dd>
                <dt>"Owner"</dt><dd>{identity.owner_name.clone()}</dd>
                <dt>"Service"</dt>
                <dd>{match service {
                    Some((id, name)) => view! { <A href=format!("/services/{id}")>{name}</A> }.into_any(),
                    None => view! { <span class="muted">"No service"</span> }.into_any(),
                }}</dd>
                <dt>"Labels"</dt><dd><LabelChips labels=identity.labels.clone()/></dd>
                <dt>"Description"</dt><dd>{or_dash(&identity.description)}</dd>
                <dt>"Created"</dt><dd>{identity.created_at.short()}</dd>
                <dt>"Updated"</dt><dd>{identity.updated_at.short()}</dd>
                <dt>"Last seen"</dt><dd>{when(&identity.last_seen_at)}</dd>
            </dl>
        </section>
        <AccessSection identity_id=identity.id.clone() access revoke may_change=may_propose && identity.status == IdentityStatus::Active/>
        <CanBecome paths=escalation/>
        <section class="card">
            <h2>"Assignment history"</h2>
            <AssignmentTable assignments as_of/>
        </section>
        <section class="card" id="credentials">
            <h2>"Credentials"</h2>
            <p class="muted small">"Metadata only: nhidb records fingerprints, never secrets."</p>
            <CredentialTable credentials as_of/>
            {(!retired).then(|| view! {
                <IfCan capability=Capability::EditLedger>
                    <RegisterCredentialForm identity_id=identity_id.clone() assignments=active_assignments.clone() action=credential_action/>
                </IfCan>
            })}
        </section>
        <section class="card">
            <h2>"History"</h2>
            <History events=history/>
        </section>
    }
}

#[component]
fn StatusActions(id: String, status: IdentityStatus, action: ServerAction<ChangeIdentityStatus>, credentials: usize, assignments: usize) -> impl IntoView {
    let error = submission_error(action);
    let pending = action.pending();
    let reactivate = (status == IdentityStatus::Suspended).then(|| {
        let id = id.clone();
        view! {
            <ActionForm action attr:class="inline-form">
                <CsrfField/>
                <input type="hidden" name="id" value=id/>
                <input type="hidden" name="status" value="active"/>
                <input type="hidden" name="reason" value=""/>
                <button type="submit" class="button" disabled=pending>"Reactivate"</button>
            </ActionForm>
        }
    });
    let suspend = (status == IdentityStatus::Active).then(|| {
        let id = id.clone();
        view! {
            <details class="action-panel">
                <summary class="button">"Suspend…"</summary>
                <ActionForm action attr:class="stack" attr:id="suspend-form">
                    <CsrfField/>
                    <input type="hidden" name="id" value=id/>
                    <input type="hidden" name="status" value="suspended"/>
                    <label for="suspend-reason">"Reason (recorded in the audit log)"</label>
                    <input id="suspend-reason" type="text" name="reason" required maxlength="500"
                        placeholder="e.g. suspected key exposure"/>
                    <FieldError error field="reason"/>
                    <button type="submit" class="button warning" disabled=pending>"Suspend identity"</button>
                </ActionForm>
            </details>
        }
    });
    let retire = (status != IdentityStatus::Retired).then(|| {
        view! {
            <details class="action-panel">
                <summary class="button danger-outline">"Retire…"</summary>
                <ActionForm action attr:class="stack" attr:id="retire-form">
                    <CsrfField/>
                    <input type="hidden" name="id" value=id/>
                    <input type="hidden" name="status" value="retired"/>
                    <p class="small">
                        {format!(
                            "Retiring is permanent. It revokes {credentials} credential(s) and ends {assignments} role assignment(s) in the same step; the identity stays in the ledger for history."
                        )}
                    </p>
                    <label for="retire-reason">"Reason (recorded in the audit log)"</label>
                    <input id="retire-reason" type="text" name="reason" required maxlength="500"/>
                    <FieldError error field="reason"/>
                    <button type="submit" class="button danger" disabled=pending>"Retire identity"</button>
                </ActionForm>
            </details>
        }
    });
    view! {
        <div class="status-actions">
            {reactivate}
            {suspend}
            {retire}
        </div>
        <FormError error fields=&["reason"]/>
    }
}

fn credential_tone(state: CredentialState) -> &'static str {
    match state {
        CredentialState::Active => "active",
        CredentialState::ExpiringSoon => "warning",
        CredentialState::Expired => "danger",
        CredentialState::Revoked => "retired",
    }
}

#[component]
fn CredentialTable(credentials: Vec<Credential>, as_of: Timestamp) -> impl IntoView {
    if credentials.is_empty() {
        return view! { <EmptyState text="No credentials registered."/> }.into_any();
    }
    let rows = credentials
        .into_iter()
        .map(|c| {
            let state = c.state(as_of);
            view! {
                <tr>
                    <td>{c.kind.label()}</td>
                    <td><code title=c.fingerprint.to_string()>{short_fingerprint(c.fingerprint.as_str())}</code></td>
                    <td>{c.role_label.clone().unwrap_or_else(|| "—".to_owned())}</td>
                    <td class="nowrap">{c.created_at.date()}</td>
                    <td class="nowrap">{date(&c.expires_at)}</td>
                    <td class="nowrap">{when(&c.last_used_at)}</td>
                    <td><Badge tone=credential_tone(state) text=state.label()/></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Table id="credentials-table" headers=&["Kind", "Fingerprint", "Role", "Created", "Expires", "Last used", "State"]>
            {rows}
        </Table>
    }
    .into_any()
}

#[component]
fn AssignmentTable(assignments: Vec<Assignment>, as_of: Timestamp) -> impl IntoView {
    if assignments.is_empty() {
        return view! { <EmptyState text="This identity holds no roles."/> }.into_any();
    }
    let rows = assignments
        .into_iter()
        .map(|a| {
            let active = a.is_active(as_of);
            let outdated = a.is_outdated();
            let state = if a.revoked_at.is_some() { ("retired", "Revoked") } else if !active { ("danger", "Expired") } else { ("active", "Active") };
            view! {
                <tr>
                    <td class="strong nowrap">{a.role_slug.clone()}</td>
                    <td class="nowrap">
                        {format!("v{}", a.role_version)}
                        {outdated.then(|| view! {
                            <span class="badge badge-warning" title=format!("The role is at v{}; this holder stays on v{} until moved by a reviewed request.", a.role_current_version, a.role_version)>
                                {format!("current v{}", a.role_current_version)}
                            </span>
                        })}
                    </td>
                    <td><code>{a.scope.clone()}</code></td>
                    <td class="nowrap">{a.granted_at.date()}</td>
                    <td class="nowrap">{date(&a.expires_at)}</td>
                    <td><Badge tone=state.0 text=state.1/></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Table id="assignments-table" headers=&["Role", "Pinned version", "Scope", "Granted", "Expires", "State"]>
            {rows}
        </Table>
    }
    .into_any()
}

#[component]
fn RegisterCredentialForm(identity_id: String, assignments: Vec<Assignment>, action: ServerAction<RegisterCredential>) -> impl IntoView {
    let error = submission_error(action);
    let kinds = CredentialKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view();
    let assignment_options = assignments
        .into_iter()
        .map(|a| view! { <option value=a.id.clone()>{format!("{} v{} on {}", a.role_slug, a.role_version, a.scope)}</option> })
        .collect_view();
    view! {
        <details class="form-panel">
            <summary class="button">"Register credential…"</summary>
            <ActionForm action attr:class="form-grid" attr:id="credential-form">
                <CsrfField/>
                <input type="hidden" name="identity_id" value=identity_id/>
                <div class="field">
                    <label for="cred-kind">"Kind"</label>
                    <select id="cred-kind" name="kind" required>{kinds}</select>
                    <FieldError error field="kind"/>
                </div>
                <div class="field field-wide">
                    <label for="cred-fingerprint">"Fingerprint"</label>
                    <input id="cred-fingerprint" type="text" name="fingerprint" required autocomplete="off" spellcheck="false"
                        placeholder="SHA256:… or 3f:9a:…" aria-describedby="cred-fingerprint-help"/>
                    <p class="help" id="cred-fingerprint-help">"The key's fingerprint, e.g. from ssh-keygen -lf or openssl x509 -fingerprint. Never paste the secret itself."</p>
                    <FieldError error field="fingerprint"/>
                </div>
                <div class="field">
                    <label for="cred-role">"Exercises role"</label>
                    <select id="cred-role" name="assignment_id" required>
                        {assignment_options}
                    </select>
                    <FieldError error field="assignment_id"/>
                </div>
                <div class="field">
                    <label for="cred-expires">"Expires"</label>
                    <input id="cred-expires" type="date" name="expires_at"/>
                    <FieldError error field="expires_at"/>
                </div>
                <div class="field field-wide">
                    <label for="cred-description">"Description"</label>
                    <input id="cred-description" type="text" name="description" maxlength="500" placeholder="Where the secret is kept, who rotates it"/>
                    <FieldError error field="description"/>
                </div>
                <div class="form-actions">
                    <FormError error fields=&["kind", "fingerprint", "assignment_id", "expires_at", "description"]/>
                    <button type="submit" class="button primary" disabled=action.pending()>"Register credential"</button>
                </div>
            </ActionForm>
        </details>
    }
}
