//! Create and edit an identity. Both pages share the fields; each wraps them in the form of its
//! own server function.

use super::{CreateIdentity, LedgerChoices, UpdateIdentity, load_choices, load_identity};
use crate::domain::identity::{IdentityInput, IdentityKind, IdentityStatus};
use crate::error::AppError;
use crate::ui::CsrfField;
use crate::ui::components::{ChoiceOptions, ErrorNotice, FieldError, FormActions, Loading, PageHeader, submission_error};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

const FIELDS: &[&str] = &["name", "kind", "owner_id", "service_id", "description", "labels"];

#[component]
pub fn NewIdentityPage() -> impl IntoView {
    let query = use_query_map();
    let preset_service = query.with_untracked(|q| q.get("service"));
    let choices = Resource::new(|| (), |_| load_choices());
    let action = ServerAction::<CreateIdentity>::new();
    let error = submission_error(action);
    view! {
        <Title text="New identity"/>
        <PageHeader title="New identity" subtitle="Register a non-human identity. Every identity has an accountable owner."/>
        <Suspense fallback=Loading>
            {move || {
                let preset_service = preset_service.clone();
                Suspend::new(async move {
                    match choices.await {
                        Ok(choices) => {
                            let initial = IdentityInput { service_id: preset_service, ..Default::default() };
                            view! {
                                <ActionForm action attr:class="card form-grid" attr:id="identity-form">
                                    <CsrfField/>
                                    <IdentityFields initial choices error/>
                                    <FormActions error fields=FIELDS submit="Create identity" pending=action.pending() cancel_href="/identities"/>
                                </ActionForm>
                            }
                            .into_any()
                        }
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
pub fn EditIdentityPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let detail = Resource::new(move || id.get(), load_identity);
    let choices = Resource::new(|| (), |_| load_choices());
    let action = ServerAction::<UpdateIdentity>::new();
    let error = submission_error(action);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let loaded: Result<_, AppError> = async { Ok((detail.await?, choices.await?)) }.await;
                match loaded {
                    Ok((detail, _)) if detail.identity.status == IdentityStatus::Retired => view! {
                        <Title text="Edit identity"/>
                        <PageHeader title=detail.identity.name.clone()/>
                        <ErrorNotice error=AppError::invalid_state("A retired identity is kept for history and cannot be edited.")/>
                    }.into_any(),
                    Ok((detail, choices)) => {
                        let identity = detail.identity;
                        let back = format!("/identities/{}", identity.id);
                        let initial = IdentityInput {
                            name: identity.name.clone(),
                            kind: identity.kind.as_str().to_owned(),
                            owner_id: identity.owner_id.clone(),
                            service_id: identity.service_id.clone(),
                            description: identity.description.clone(),
                            labels: identity.labels.to_text(),
                        };
                        view! {
                            <Title text=format!("Edit {}", identity.name)/>
                            <PageHeader title=format!("Edit {}", identity.name)/>
                            <ActionForm action attr:class="card form-grid" attr:id="identity-form">
                                    <CsrfField/>
                                <input type="hidden" name="id" value=identity.id.clone()/>
                                <IdentityFields initial choices error/>
                                <FormActions error fields=FIELDS submit="Save changes" pending=action.pending() cancel_href=back/>
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

#[component]
fn IdentityFields(initial: IdentityInput, choices: LedgerChoices, error: Signal<Option<AppError>>) -> impl IntoView {
    let kind = initial.kind.clone();
    let kinds = IdentityKind::ALL.iter().map(|k| view! { <option value=k.as_str() selected=kind == k.as_str()>{k.label()}</option> }).collect_view();
    view! {
        <div class="field">
            <label for="identity-name">"Name"</label>
            <input id="identity-name" type="text" name="name" value=initial.name required maxlength="63"
                autocomplete="off" spellcheck="false" placeholder="svc-payments-api"/>
            <p class="help">"Lower-case letters, digits, '-', '.' and '_'; unique within its service."</p>
            <FieldError error field="name"/>
        </div>
        <div class="field">
            <label for="identity-kind">"Kind"</label>
            <select id="identity-kind" name="kind" required>
                <option value="" disabled selected=initial.kind.is_empty()>"Choose a kind"</option>
                {kinds}
            </select>
            <FieldError error field="kind"/>
        </div>
        <div class="field">
            <label for="identity-owner">"Owner"</label>
            <select id="identity-owner" name="owner_id" required>
                <ChoiceOptions choices=choices.owners selected=initial.owner_id.clone() placeholder="Choose an owner" required=true/>
            </select>
            <FieldError error field="owner_id"/>
        </div>
        <div class="field">
            <label for="identity-service">"Service"</label>
            <select id="identity-service" name="service_id">
                <ChoiceOptions choices=choices.services selected=initial.service_id.clone() placeholder="No service"/>
            </select>
            <FieldError error field="service_id"/>
        </div>
        <div class="field field-wide">
            <label for="identity-labels">"Labels"</label>
            <input id="identity-labels" type="text" name="labels" value=initial.labels autocomplete="off"
                placeholder="team=payments, env=prod"/>
            <p class="help">"key=value pairs separated by commas."</p>
            <FieldError error field="labels"/>
        </div>
        <div class="field field-wide">
            <label for="identity-description">"Description"</label>
            <textarea id="identity-description" name="description" rows="3" maxlength="2000">{initial.description}</textarea>
            <FieldError error field="description"/>
        </div>
    }
}
