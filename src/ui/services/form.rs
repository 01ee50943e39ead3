use super::{CreateService, UpdateService, load_service};
use crate::domain::page::Choice;
use crate::domain::service::{ServiceInput, ServiceStatus};
use crate::error::AppError;
use crate::ui::CsrfField;
use crate::ui::components::{ChoiceOptions, ErrorNotice, FieldError, FormActions, Loading, PageHeader, submission_error};
use crate::ui::identities::load_choices;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

const FIELDS: &[&str] = &["name", "display_name", "owner_id", "description"];

#[component]
pub fn NewServicePage() -> impl IntoView {
    let choices = Resource::new(|| (), |_| load_choices());
    let action = ServerAction::<CreateService>::new();
    let error = submission_error(action);
    view! {
        <Title text="New service"/>
        <PageHeader title="New service" subtitle="A service groups the identities of one application."/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match choices.await {
                    Ok(choices) => view! {
                        <ActionForm action attr:class="card form-grid" attr:id="service-form">
                            <CsrfField/>
                            <ServiceFields initial=ServiceInput::default() owners=choices.owners error/>
                            <FormActions error fields=FIELDS submit="Create service" pending=action.pending() cancel_href="/services"/>
                        </ActionForm>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn EditServicePage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let detail = Resource::new(move || id.get(), load_service);
    let choices = Resource::new(|| (), |_| load_choices());
    let action = ServerAction::<UpdateService>::new();
    let error = submission_error(action);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let loaded: Result<_, AppError> = async { Ok((detail.await?, choices.await?)) }.await;
                match loaded {
                    Ok((detail, _)) if detail.service.status == ServiceStatus::Decommissioned => view! {
                        <Title text="Edit service"/>
                        <PageHeader title=detail.service.name.clone()/>
                        <ErrorNotice error=AppError::invalid_state("A decommissioned service is kept for history and cannot be edited.")/>
                    }.into_any(),
                    Ok((detail, choices)) => {
                        let service = detail.service;
                        let initial = ServiceInput {
                            name: service.name.clone(),
                            display_name: service.display_name.clone(),
                            owner_id: service.owner_id.clone(),
                            description: service.description.clone(),
                        };
                        view! {
                            <Title text=format!("Edit {}", service.name)/>
                            <PageHeader title=format!("Edit {}", service.name)/>
                            <ActionForm action attr:class="card form-grid" attr:id="service-form">
                            <CsrfField/>
                                <input type="hidden" name="id" value=service.id.clone()/>
                                <ServiceFields initial owners=choices.owners error/>
                                <FormActions error fields=FIELDS submit="Save changes" pending=action.pending()
                                    cancel_href=format!("/services/{}", service.id)/>
                            </ActionForm>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ServiceFields(initial: ServiceInput, owners: Vec<Choice>, error: Signal<Option<AppError>>) -> impl IntoView {
    view! {
        <div class="field">
            <label for="service-name">"Name"</label>
            <input id="service-name" type="text" name="name" value=initial.name required maxlength="63"
                autocomplete="off" spellcheck="false" placeholder="payments-api"/>
            <p class="help">"Lower-case letters, digits and dashes; unique in the ledger."</p>
            <FieldError error field="name"/>
        </div>
        <div class="field">
            <label for="service-display-name">"Display name"</label>
            <input id="service-display-name" type="text" name="display_name" value=initial.display_name maxlength="120"
                placeholder="Payments API"/>
            <FieldError error field="display_name"/>
        </div>
        <div class="field">
            <label for="service-owner">"Owner"</label>
            <select id="service-owner" name="owner_id" required>
                <ChoiceOptions choices=owners selected=initial.owner_id.clone() placeholder="Choose an owner" required=true/>
            </select>
            <FieldError error field="owner_id"/>
        </div>
        <div class="field field-wide">
            <label for="service-description">"Description"</label>
            <textarea id="service-description" name="description" rows="3" maxlength="2000">{initial.description}</textarea>
            <FieldError error field="description"/>
        </div>
    }
}
