//! Provisioning a service from a template: fill in, preview what will be created, provision.

use super::{PreviewProvision, ProvisionPreview, ProvisionService};
use crate::ui::CsrfField;
use crate::ui::components::{ChoiceOptions, ErrorNotice, FieldError, FormError, Loading, PageHeader, Table, submission_error};
use crate::ui::identities::load_choices;
use crate::ui::templates::list_templates;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

const FIELDS: &[&str] = &["template", "name", "env", "owner"];

#[component]
pub fn ProvisionPage() -> impl IntoView {
    let query = use_query_map();
    let chosen = query.with_untracked(|q| q.get("template").unwrap_or_default());
    let loaded = Resource::new(|| (), |_| async move { Ok::<_, crate::error::AppError>((list_templates().await?, load_choices().await?)) });
    let preview = ServerAction::<PreviewProvision>::new();
    let provision = ServerAction::<ProvisionService>::new();
    let preview_error = submission_error(preview);
    let provision_error = submission_error(provision);
    view! {
        <Title text="Provision a service"/>
        <PageHeader title="Provision a service" subtitle="Creates the service with the identities and grants its template defines, in one step, without further approval: the template was reviewed."/>
        <Suspense fallback=Loading>
            {move || {
                let chosen = chosen.clone();
                Suspend::new(async move {
                    match loaded.await {
                        Ok((templates, choices)) => {
                            let options = templates.iter().map(|t| {
                                let selected = t.slug == chosen;
                                view! { <option value=t.slug.clone() selected=selected>{format!("{} — {} (v{})", t.slug, t.display_name, t.current_version)}</option> }
                            }).collect_view();
                            view! {
                                <ActionForm action=preview attr:class="card form-grid" attr:id="provision-form">
                                    <div class="field">
                                        <label for="provision-template">"Template"</label>
                                        <select id="provision-template" name="template" required>{options}</select>
                                        <FieldError error=preview_error field="template"/>
                                    </div>
                                    <div class="field">
                                        <label for="provision-name">"Service name"</label>
                                        <input id="provision-name" type="text" name="name" required maxlength="63" placeholder="orders-api" autocomplete="off" spellcheck="false"/>
                                        <FieldError error=preview_error field="name"/>
                                    </div>
                                    <div class="field">
                                        <label for="provision-env">"Environment"</label>
                                        <input id="provision-env" type="text" name="env" required maxlength="30" value="prod" autocomplete="off" spellcheck="false"/>
                                        <FieldError error=preview_error field="env"/>
                                    </div>
                                    <div class="field">
                                        <label for="provision-owner">"Owner"</label>
                                        <select id="provision-owner" name="owner" required>
                                            <ChoiceOptions choices=choices.owners selected=String::new() placeholder="Choose an owner" required=true/>
                                        </select>
                                        <FieldError error=preview_error field="owner"/>
                                    </div>
                                    <div class="form-actions">
                                        <FormError error=preview_error fields=FIELDS/>
                                        <button type="submit" class="button" disabled=preview.pending()>"Preview"</button>
                                    </div>
                                </ActionForm>
                            }.into_any()
                        }
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })
            }}
        </Suspense>
        {move || preview.value().get().and_then(Result::ok).map(|p| view! { <PreviewCard preview=p provision error=provision_error/> })}
    }
}

#[component]
fn PreviewCard(preview: ProvisionPreview, provision: ServerAction<ProvisionService>, error: Signal<Option<crate::error::AppError>>) -> impl IntoView {
    let ProvisionPreview { input, identities } = preview;
    let grants: usize = identities.iter().map(|i| i.grants.len()).sum();
    let rows = identities
        .into_iter()
        .flat_map(|identity| {
            let (name, kind) = (identity.name, identity.kind);
            identity.grants.into_iter().map(move |g| {
                view! { <tr><td><code>{name.clone()}</code></td><td>{kind.label()}</td><td>{g.role}</td><td><code>{g.scope}</code></td></tr> }
            })
        })
        .collect_view();
    view! {
        <section class="card" id="provision-preview">
            <h2>{format!("{} in {} will get {grants} grants", input.name, input.env)}</h2>
            <Table id="provision-plan" headers=&["Identity", "Kind", "Role (current version is pinned)", "Scope"]>{rows}</Table>
            <ActionForm action=provision attr:class="inline-form">
                <CsrfField/>
                <input type="hidden" name="template" value=input.template.clone()/>
                <input type="hidden" name="name" value=input.name.clone()/>
                <input type="hidden" name="env" value=input.env.clone()/>
                <input type="hidden" name="owner" value=input.owner.clone()/>
                <button type="submit" class="button primary" id="provision-confirm" disabled=provision.pending()>"Provision"</button>
            </ActionForm>
            <FormError error fields=&[]/>
        </section>
    }
}
