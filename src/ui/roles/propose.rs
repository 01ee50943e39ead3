//! Proposing a new role or a new version of one. Both are change requests: nothing changes
//! until the approval policy is met.

use super::{ProposeRole, ProposeVersion, load_role};
use crate::domain::role::{RoleDefinition, Sensitivity};
use crate::error::AppError;
use crate::ui::CsrfField;
use crate::ui::components::{ErrorNotice, FieldError, FormActions, Loading, PageHeader, submission_error};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

const FIELDS: &[&str] = &["slug", "display_name", "sensitivity", "scope", "description", "permissions", "justification", "reason"];

#[component]
fn DefinitionFields(initial: Option<RoleDefinition>, error: Signal<Option<AppError>>) -> impl IntoView {
    let scope = initial.as_ref().map(|d| d.scope.to_string()).unwrap_or_default();
    let description = initial.as_ref().map(|d| d.description.clone()).unwrap_or_default();
    let permissions = initial.as_ref().map(|d| d.permissions_text()).unwrap_or_default();
    let justification = initial.as_ref().and_then(|d| d.justification.clone()).unwrap_or_default();
    view! {
        <div class="field">
            <label for="role-scope">"Scope"</label>
            <input id="role-scope" type="text" name="scope" value=scope required placeholder="prod/payments"/>
            <p class="help">"Where the role applies; grants may narrow it to a scope below."</p>
            <FieldError error field="scope"/>
        </div>
        <div class="field field-wide">
            <label for="role-permissions">"Permissions"</label>
            <textarea id="role-permissions" name="permissions" rows="6" required spellcheck="false"
                placeholder="read on api:orders\nwrite on db:ledger">{permissions}</textarea>
            <p class="help">"One per line: action on type:name. Actions: read, list, query, subscribe (read); write, create, update, delete, upload, publish, invoke, deploy, trigger (write); admin, grant, configure (admin)."</p>
            <FieldError error field="permissions"/>
        </div>
        <div class="field field-wide">
            <label for="role-description">"Description"</label>
            <textarea id="role-description" name="description" rows="2">{description}</textarea>
            <FieldError error field="description"/>
        </div>
        <div class="field field-wide">
            <label for="role-justification">"Justification (needed when one role both reads and writes a resource)"</label>
            <input id="role-justification" type="text" name="justification" value=justification/>
            <FieldError error field="justification"/>
        </div>
    }
}

#[component]
fn ReasonField(error: Signal<Option<AppError>>) -> impl IntoView {
    view! {
        <div class="field field-wide">
            <label for="change-reason">"Why (for the reviewers and the audit log)"</label>
            <textarea id="change-reason" name="reason" rows="2" required></textarea>
            <FieldError error field="reason"/>
        </div>
    }
}

#[component]
pub fn NewRolePage() -> impl IntoView {
    let action = ServerAction::<ProposeRole>::new();
    let error = submission_error(action);
    let sensitivities = Sensitivity::ALL.iter().map(|s| view! { <option value=s.as_str()>{s.label()}</option> }).collect_view();
    view! {
        <Title text="Propose role"/>
        <PageHeader title="Propose a role" subtitle="Files a change request; the role exists once the approval policy is met."/>
        <ActionForm action attr:class="card form-grid" attr:id="propose-role-form">
            <CsrfField/>
            <div class="field">
                <label for="role-slug">"Slug"</label>
                <input id="role-slug" type="text" name="slug" required placeholder="report-reader" autocomplete="off"/>
                <p class="help">"Lower-case letters, digits and dashes; never reused."</p>
                <FieldError error field="slug"/>
            </div>
            <div class="field">
                <label for="role-name">"Display name"</label>
                <input id="role-name" type="text" name="display_name" required/>
                <FieldError error field="display_name"/>
            </div>
            <div class="field">
                <label for="role-sensitivity">"Sensitivity"</label>
                <select id="role-sensitivity" name="sensitivity">{sensitivities}</select>
                <p class="help">"Privileged roles need two different approvers for every change."</p>
                <FieldError error field="sensitivity"/>
            </div>
            <DefinitionFields initial=None error/>
            <ReasonField error/>
            <FormActions error fields=FIELDS submit="File change request" pending=action.pending() cancel_href="/roles"/>
        </ActionForm>
    }
}

#[component]
pub fn NewVersionPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let detail = Resource::new(move || id.get(), load_role);
    let action = ServerAction::<ProposeVersion>::new();
    let error = submission_error(action);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => {
                        let role = detail.role.clone();
                        let current = detail.current().map(|v| v.definition.clone());
                        let summary = detail.holders_summary();
                        view! {
                            <Title text=format!("New version of {}", role.slug)/>
                            <PageHeader title=format!("New version of {}", role.slug)
                                subtitle=format!("Currently v{}. Holders: {summary}.", role.current_version)/>
                            <ActionForm action attr:class="card form-grid" attr:id="propose-version-form">
                                <CsrfField/>
                                <input type="hidden" name="role_id" value=role.id.clone()/>
                                <DefinitionFields initial=current error/>
                                <div class="field field-wide">
                                    <label class="check" for="move-holders">
                                        <input type="checkbox" id="move-holders" name="move_holders"/>
                                        "Move every current holder to the new version when it is approved"
                                    </label>
                                    <p class="help">"Unchecked, holders stay pinned to the version they were granted; moving them is part of what the reviewers approve."</p>
                                </div>
                                <ReasonField error/>
                                <FormActions error fields=FIELDS submit="File change request" pending=action.pending()
                                    cancel_href=format!("/roles/{}", role.id)/>
                            </ActionForm>
                        }
                        .into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
