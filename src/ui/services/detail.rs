use super::list::status_tone;
use super::{DecommissionService, load_service};
use crate::domain::actor::Capability;
use crate::domain::identity::IdentityStatus;
use crate::domain::service::{ServiceDetail, ServiceStatus};
use crate::ui::CsrfField;
use crate::ui::IfCan;
use crate::ui::components::{Badge, EmptyState, ErrorNotice, History, Loading, PageHeader, Table};
use crate::ui::components::{FieldError, FormError, submission_error, successes};
use crate::ui::format::{count, or_dash};
use crate::ui::identities::list::IdentityRows;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ServicePage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    // Decommissioning reloads the page's data: the same URL now shows a decommissioned service.
    let decommission = ServerAction::<DecommissionService>::new();
    let done = successes(decommission);
    let detail = Resource::new(move || (id.get(), done.get()), |(id, _)| load_service(id));
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! { <ServiceView detail decommission/> }.into_any(),
                    Err(e) => view! {
                        <Title text="Service"/>
                        <PageHeader title="Service"/>
                        <ErrorNotice error=e/>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ServiceView(detail: ServiceDetail, decommission: ServerAction<DecommissionService>) -> impl IntoView {
    let ServiceDetail { service, identities, history } = detail;
    let active = service.status == ServiceStatus::Active;
    let live: Vec<String> = identities.items.iter().filter(|i| i.status != IdentityStatus::Retired).map(|i| i.name.clone()).collect();
    let more = (identities.next_cursor.is_some()).then(|| {
        view! {
            <p><A href=format!("/identities?service={}", service.id)>{format!("All {} identities of this service »", count(identities.total))}</A></p>
        }
    });
    let new_identity_href = format!("/identities/new?service={}", service.id);
    let edit_href = format!("/services/{}/edit", service.id);
    view! {
        <Title text=service.name.clone()/>
        <PageHeader title=service.name.clone() subtitle=service.display_name.clone()>
            {active.then(|| view! {
                <IfCan capability=Capability::EditLedger>
                    <A href=new_identity_href.clone() attr:class="button">"New identity"</A>
                    <A href=edit_href.clone() attr:class="button">"Edit"</A>
                </IfCan>
            })}
        </PageHeader>
        <section class="status-bar"><Badge tone=status_tone(service.status) text=service.status.label()/></section>
        <section class="card">
            <h2>"Attributes"</h2>
            <dl class="attributes">
                <dt>"Service id"</dt><dd><code>{service.id.clone()}</code></dd>
                <dt>"Owner"</dt><dd>{service.owner_name.clone()}</dd>
                <dt>"Description"</dt><dd>{or_dash(&service.description)}</dd>
                <dt>"Created"</dt><dd>{service.created_at.short()}</dd>
                <dt>"Updated"</dt><dd>{service.updated_at.short()}</dd>
            </dl>
        </section>
        <section class="card">
            <h2>{format!("Identities ({})", count(identities.total))}</h2>
            {if identities.items.is_empty() {
                view! { <EmptyState text="This service has no identities."/> }.into_any()
            } else {
                view! {
                    <Table id="service-identities-table" headers=&["Name", "Kind", "Status", "Owner", "Labels", "Last seen"]>
                        <IdentityRows identities=identities.items hide_service=true/>
                    </Table>
                }.into_any()
            }}
            {more}
        </section>
        {active.then(|| {
            view! {
                <IfCan capability=Capability::Decommission>
                    <DecommissionCard action=decommission service_id=service.id.clone() service_name=service.name.clone() identities=live.clone() total=service.identity_count/>
                </IfCan>
            }
        })}
        <section class="card">
            <h2>"History"</h2>
            <History events=history/>
        </section>
    }
}

/// Says exactly what will be retired before anything is, and asks for the name as confirmation.
#[component]
fn DecommissionCard(action: ServerAction<DecommissionService>, service_id: String, service_name: String, identities: Vec<String>, total: i64) -> impl IntoView {
    let error = submission_error(action);
    let listed = identities.iter().map(|n| view! { <li><code>{n.clone()}</code></li> }).collect_view();
    let more = (total > identities.len() as i64).then(|| view! { <li class="muted">{format!("… {} in all", total)}</li> });
    view! {
        <section class="card danger-zone" id="decommission">
            <h2>"Decommission"</h2>
            <p>"Retires every identity of this service, revokes their credentials and role assignments, and marks the service decommissioned — in one step, with a receipt in the audit log. It cannot be undone."</p>
            <p>{format!("{} identities will be retired:", identities.len())}</p>
            <ul class="compact-list">{listed}{more}</ul>
            <ActionForm action attr:class="form-grid">
                <CsrfField/>
                <input type="hidden" name="id" value=service_id/>
                <div class="field">
                    <label for="decommission-confirm">{format!("Type {service_name} to confirm")}</label>
                    <input id="decommission-confirm" type="text" name="confirm" required autocomplete="off" spellcheck="false"/>
                    <FieldError error field="confirm"/>
                </div>
                <div class="field">
                    <label for="decommission-reason">"Reason"</label>
                    <input id="decommission-reason" type="text" name="reason" maxlength="500" placeholder="replaced by orders-v2"/>
                    <FieldError error field="reason"/>
                </div>
                <div class="form-actions">
                    <FormError error fields=&["confirm", "reason"]/>
                    <button type="submit" class="button danger" disabled=action.pending()>"Decommission service"</button>
                </div>
            </ActionForm>
        </section>
    }
}
