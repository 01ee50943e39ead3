use super::list_services;
use crate::domain::actor::Capability;
use crate::domain::page::Page;
use crate::domain::service::{Service, ServiceQuery, ServiceStatus};
use crate::ui::IfCan;
use crate::ui::components::{Badge, EmptyState, ErrorNotice, Loading, PageHeader, Pager, Table};
use crate::ui::format::{count, query_string};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;

fn href(query: &ServiceQuery, after: Option<&str>) -> String {
    let qs = query_string(&[("q", query.q.as_deref()), ("status", query.status.as_deref()), ("owner", query.owner.as_deref()), ("after", after)]);
    format!("/services{qs}")
}

pub fn status_tone(status: ServiceStatus) -> &'static str {
    match status {
        ServiceStatus::Active => "active",
        ServiceStatus::Decommissioned => "retired",
    }
}

#[component]
pub fn ServicesPage() -> impl IntoView {
    let params = use_query_map();
    let query =
        Memo::new(move |_| params.with(|p| ServiceQuery { status: p.get("status"), owner: p.get("owner"), q: p.get("q"), after: p.get("after"), limit: None }));
    let page = Resource::new(move || query.get(), list_services);
    view! {
        <Title text="Services"/>
        <PageHeader title="Services" subtitle="The applications that own machine identities.">
            <IfCan capability=Capability::EditLedger>
                <A href="/services/new" attr:class="button">"New service"</A>
            </IfCan>
            <IfCan capability=Capability::Provision>
                <A href="/services/provision" attr:class="button primary">"Provision from template"</A>
            </IfCan>
        </PageHeader>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let query = query.get_untracked();
                let status = query.status.clone();
                let statuses = ServiceStatus::ALL
                    .iter()
                    .map(|s| view! { <option value=s.as_str() selected=status.as_deref() == Some(s.as_str())>{s.label()}</option> })
                    .collect_view();
                let results = match page.await {
                    Ok(page) => view! { <ServiceTable page query=query.clone()/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                };
                view! {
                    <Form method="GET" action="/services" attr:class="filters" attr:role="search">
                        <label class="filter filter-wide">
                            <span>"Search"</span>
                            <input type="search" name="q" value=query.q.clone().unwrap_or_default() placeholder="Name"/>
                        </label>
                        <label class="filter">
                            <span>"Status"</span>
                            <select name="status"><option value="">"Any status"</option>{statuses}</select>
                        </label>
                        <div class="filter-actions">
                            <button type="submit" class="button">"Apply filters"</button>
                            <A href="/services" attr:class="button ghost">"Reset"</A>
                        </div>
                    </Form>
                    {results}
                }
            })}
        </Suspense>
    }
}

#[component]
fn ServiceTable(page: Page<Service>, query: ServiceQuery) -> impl IntoView {
    if page.items.is_empty() {
        return view! { <EmptyState text="No service matches."/> }.into_any();
    }
    let shown = page.items.len();
    let next_href = page.next_cursor.as_deref().map(|c| href(&query, Some(c)));
    let first_href = query.after.is_some().then(|| href(&query, None));
    let rows = page
        .items
        .into_iter()
        .map(|s| {
            view! {
                <tr>
                    <td>
                        <A href=format!("/services/{}", s.id) attr:class="strong">{s.name.clone()}</A>
                        <div class="muted small">{s.display_name.clone()}</div>
                    </td>
                    <td><Badge tone=status_tone(s.status) text=s.status.label()/></td>
                    <td>{s.owner_name.clone()}</td>
                    <td class="num">
                        <A href=format!("/identities?service={}", s.id)>{count(s.identity_count)}</A>
                    </td>
                    <td class="nowrap">{s.created_at.date()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Table id="services-table" headers=&["Service", "Status", "Owner", "Identities in use #", "Created"]>
            {rows}
        </Table>
        <Pager shown total=page.total noun="services" next_href first_href/>
    }
    .into_any()
}
