use super::load_template;
use crate::domain::actor::Capability;
use crate::domain::template::{TemplateDefinition, TemplateDetail};
use crate::ui::IfCan;
use crate::ui::components::{ErrorNotice, Loading, PageHeader, Table};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[component]
pub fn TemplatePage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let detail = Resource::new(move || id.get(), load_template);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! { <TemplateView detail/> }.into_any(),
                    Err(e) => view! { <Title text="Template"/><PageHeader title="Template"/><ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// One row per grant: which identity, what kind, which role on which scope pattern.
#[component]
pub fn Blueprints(definition: TemplateDefinition, #[prop(into)] id: String) -> impl IntoView {
    let rows = definition
        .identities
        .into_iter()
        .flat_map(|b| {
            let grants = if b.grants.is_empty() { vec![None] } else { b.grants.into_iter().map(Some).collect() };
            let (name, kind) = (b.name, b.kind);
            grants.into_iter().map(move |g| {
                view! {
                    <tr>
                        <td><code>{name.clone()}</code></td>
                        <td>{kind.label()}</td>
                        <td>{g.as_ref().map(|g| g.role.clone()).unwrap_or_else(|| "—".into())}</td>
                        <td><code>{g.map(|g| g.scope).unwrap_or_default()}</code></td>
                    </tr>
                }
            })
        })
        .collect_view();
    view! { <Table id=id headers=&["Identity", "Kind", "Role", "Scope"]>{rows}</Table> }
}

#[component]
fn TemplateView(detail: TemplateDetail) -> impl IntoView {
    let TemplateDetail { template, versions } = detail;
    let propose_href = format!("/templates/new?from={}", template.slug);
    let provision_href = format!("/services/provision?template={}", template.slug);
    let versions = versions
        .into_iter()
        .map(|v| {
            let approval = v.change_request_id.clone().map(|id| view! { <A href=format!("/approvals/{id}")>"approval"</A> });
            view! {
                <tr>
                    <td class="num">{format!("v{}", v.version)}</td>
                    <td>{v.author.clone()}</td>
                    <td>{v.created_at.short()}</td>
                    <td>{v.definition.identities.len()}" identities, "{v.definition.grant_count()}" grants"</td>
                    <td>{approval.map(|a| a.into_any()).unwrap_or_else(|| view! { <span class="muted">"built in"</span> }.into_any())}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Title text=template.slug.clone()/>
        <PageHeader title=template.slug.clone() subtitle=template.display_name.clone()>
            <IfCan capability=Capability::Provision>
                <A href=provision_href.clone() attr:class="button primary">"Provision from this template"</A>
            </IfCan>
            <IfCan capability=Capability::Propose>
                <A href=propose_href.clone() attr:class="button">"Propose a change"</A>
            </IfCan>
        </PageHeader>
        <section class="card">
            <h2>{format!("What it creates (v{})", template.current_version)}</h2>
            <p class="muted">{template.definition.description.clone()}</p>
            <Blueprints definition=template.definition.clone() id="template-blueprints"/>
            <p class="help">"{service} and {env} are filled in when a service is provisioned; grants pin each role's version current at that moment."</p>
        </section>
        <section class="card">
            <h2>"Versions"</h2>
            <Table id="template-versions" headers=&["Version", "Author", "Created", "Contents", "Approved by"]>{versions}</Table>
        </section>
    }
}
