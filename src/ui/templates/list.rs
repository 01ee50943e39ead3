use super::list_templates;
use crate::domain::actor::Capability;
use crate::ui::IfCan;
use crate::ui::components::{EmptyState, ErrorNotice, Loading, PageHeader, Table};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn TemplatesPage() -> impl IntoView {
    let templates = Resource::new(|| (), |_| list_templates());
    view! {
        <Title text="Service templates"/>
        <PageHeader title="Service templates" subtitle="Reviewed role sets with identity blueprints. Provisioning from an approved template needs no further approval.">
            <IfCan capability=Capability::Provision>
                <A href="/services/provision" attr:class="button primary">"Provision a service"</A>
            </IfCan>
            <IfCan capability=Capability::Propose>
                <A href="/templates/new" attr:class="button">"Propose a template"</A>
            </IfCan>
        </PageHeader>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match templates.await {
                    Ok(list) if list.is_empty() => view! { <EmptyState text="No templates yet. Propose one; once approved, pipelines provision services from it."/> }.into_any(),
                    Ok(list) => {
                        let rows = list.into_iter().map(|t| view! {
                            <tr>
                                <td><A href=format!("/templates/{}", t.slug) attr:class="strong">{t.slug.clone()}</A></td>
                                <td>{t.display_name.clone()}</td>
                                <td class="num">{format!("v{}", t.current_version)}</td>
                                <td class="num">{t.definition.identities.len()}</td>
                                <td class="num">{t.definition.grant_count()}</td>
                                <td class="num">{t.services}</td>
                                <td>{t.updated_at.short()}</td>
                            </tr>
                        }).collect_view();
                        view! {
                            <section class="card">
                                <Table id="templates-table" headers=&["Template", "Name", "Version", "Identities", "Grants", "Services", "Updated"]>{rows}</Table>
                            </section>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
