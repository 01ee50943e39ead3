use super::{ProposeTemplate, load_template};
use crate::ui::CsrfField;
use crate::ui::components::{FieldError, FormActions, Loading, PageHeader, submission_error};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

const FIELDS: &[&str] = &["slug", "display_name", "definition", "reason"];

const EXAMPLE: &str = r#"{
  "description": "What services of this kind need",
  "identities": [
    { "name": "svc-{service}", "kind": "service_account", "grants": [
      { "role": "data-reader", "scope": "{env}/{service}" }
    ]}
  ]
}"#;

/// A new template, or (with `?from=slug`) a new version of one, prefilled with its definition.
#[component]
pub fn ProposeTemplatePage() -> impl IntoView {
    let query = use_query_map();
    let from = Memo::new(move |_| query.with(|q| q.get("from").unwrap_or_default()));
    let base = Resource::new(move || from.get(), |slug| async move { if slug.is_empty() { Ok(None) } else { load_template(slug).await.map(Some) } });
    let action = ServerAction::<ProposeTemplate>::new();
    let error = submission_error(action);
    view! {
        <Title text="Propose a template"/>
        <PageHeader title="Propose a template" subtitle="A change request: approvers review the blueprint once; provisioning from it afterwards needs no approval."/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let base = base.await.ok().flatten();
                let (slug, name, definition) = match &base {
                    Some(d) => (d.template.slug.clone(), d.template.display_name.clone(),
                        serde_json::to_string_pretty(&d.template.definition).unwrap_or_default()),
                    None => (String::new(), String::new(), EXAMPLE.to_owned()),
                };
                let editing = base.is_some();
                view! {
                    <ActionForm action attr:class="card form-grid" attr:id="template-form">
                        <CsrfField/>
                        <div class="field">
                            <label for="template-slug">"Slug"</label>
                            <input id="template-slug" type="text" name="slug" value=slug required maxlength="63" readonly=editing
                                autocomplete="off" spellcheck="false" placeholder="web-api"/>
                            <p class="help">"An existing slug proposes a new version of that template."</p>
                            <FieldError error field="slug"/>
                        </div>
                        <div class="field">
                            <label for="template-name">"Display name"</label>
                            <input id="template-name" type="text" name="display_name" value=name maxlength="120"/>
                            <FieldError error field="display_name"/>
                        </div>
                        <div class="field field-wide">
                            <label for="template-definition">"Definition (JSON)"</label>
                            <textarea id="template-definition" name="definition" rows="16" spellcheck="false" class="code">{definition}</textarea>
                            <p class="help">"identities: name (with {service}, optionally {env}), kind, description, grants: role slug and scope (with {env} and {service})."</p>
                            <FieldError error field="definition"/>
                        </div>
                        <div class="field field-wide">
                            <label for="template-reason">"Why (for the reviewers and the audit log)"</label>
                            <textarea id="template-reason" name="reason" rows="2" required></textarea>
                            <FieldError error field="reason"/>
                        </div>
                        <FormActions error fields=FIELDS submit="File change request" pending=action.pending() cancel_href="/templates"/>
                    </ActionForm>
                }
            })}
        </Suspense>
    }
}
