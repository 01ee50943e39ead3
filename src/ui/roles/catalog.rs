//! The role catalog: every role with its scope, sensitivity, current version and holders.

use super::load_catalog;
use crate::domain::actor::Capability;
use crate::domain::page::Page;
use crate::domain::role::{ACTIONS, RoleQuery, RoleStatus, RoleSummary, Sensitivity};
use crate::ui::IfCan;
use crate::ui::components::{Badge, EmptyState, ErrorNotice, Loading, PageHeader, Pager, Table};
use crate::ui::format::{count, query_string};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;

fn href(query: &RoleQuery, after: Option<&str>) -> String {
    let qs = query_string(&[
        ("q", query.q.as_deref()),
        ("scope", query.scope.as_deref()),
        ("sensitivity", query.sensitivity.as_deref()),
        ("status", query.status.as_deref()),
        ("action", query.action.as_deref()),
        ("resource", query.resource.as_deref()),
        ("sort", query.sort.as_deref()),
        ("after", after),
    ]);
    format!("/roles{qs}")
}

pub fn sensitivity_tone(sensitivity: Sensitivity) -> &'static str {
    match sensitivity {
        Sensitivity::Standard => "retired",
        Sensitivity::Privileged => "danger",
    }
}

#[component]
pub fn RolesPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|p| RoleQuery {
            q: p.get("q"),
            scope: p.get("scope"),
            sensitivity: p.get("sensitivity"),
            status: p.get("status"),
            action: p.get("action"),
            resource: p.get("resource"),
            sort: p.get("sort"),
            after: p.get("after"),
            limit: None,
        })
    });
    let page = Resource::new(move || query.get(), load_catalog);
    view! {
        <Title text="Roles"/>
        <PageHeader title="Roles" subtitle="What machine identities may do. Every change is a reviewed, immutable version.">
            <IfCan capability=Capability::Propose>
                <A href="/roles/new" attr:class="button primary">"Propose role"</A>
            </IfCan>
        </PageHeader>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let query = query.get_untracked();
                let results = match page.await {
                    Ok(page) => view! { <RoleTable page query=query.clone()/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                };
                view! { <RoleFilters query/>{results} }
            })}
        </Suspense>
    }
}

fn selected(current: &Option<String>, value: &str) -> bool {
    current.as_deref() == Some(value)
}

#[component]
fn RoleFilters(query: RoleQuery) -> impl IntoView {
    let sensitivities = Sensitivity::ALL
        .iter()
        .map(|s| view! { <option value=s.as_str() selected=selected(&query.sensitivity, s.as_str())>{s.label()}</option> })
        .collect_view();
    let statuses =
        RoleStatus::ALL.iter().map(|s| view! { <option value=s.as_str() selected=selected(&query.status, s.as_str())>{s.label()}</option> }).collect_view();
    let actions = ACTIONS.iter().map(|(a, _)| view! { <option value=*a selected=selected(&query.action, a)>{*a}</option> }).collect_view();
    let sorts = [("slug", "Name"), ("holders", "Most holders"), ("changed", "Recently changed")]
        .into_iter()
        .map(|(v, label)| view! { <option value=v selected=selected(&query.sort, v)>{label}</option> })
        .collect_view();
    view! {
        <Form method="GET" action="/roles" attr:class="filters" attr:role="search">
            <label class="filter filter-wide">
                <span>"Search"</span>
                <input type="search" name="q" value=query.q.clone().unwrap_or_default() placeholder="Slug or name"/>
            </label>
            <label class="filter">
                <span>"Scope (and below)"</span>
                <input type="text" name="scope" value=query.scope.clone().unwrap_or_default() placeholder="prod/payments"/>
            </label>
            <label class="filter">
                <span>"Sensitivity"</span>
                <select name="sensitivity"><option value="">"Any"</option>{sensitivities}</select>
            </label>
            <label class="filter">
                <span>"Status"</span>
                <select name="status"><option value="">"Any"</option>{statuses}</select>
            </label>
            <label class="filter">
                <span>"Grants action"</span>
                <select name="action"><option value="">"Any"</option>{actions}</select>
            </label>
            <label class="filter">
                <span>"On resource"</span>
                <input type="text" name="resource" value=query.resource.clone().unwrap_or_default() placeholder="db:ledger"/>
            </label>
            <label class="filter">
                <span>"Sort by"</span>
                <select name="sort">{sorts}</select>
            </label>
            <div class="filter-actions">
                <button type="submit" class="button">"Apply filters"</button>
                <A href="/roles" attr:class="button ghost">"Reset"</A>
            </div>
        </Form>
    }
}

#[component]
fn RoleTable(page: Page<RoleSummary>, query: RoleQuery) -> impl IntoView {
    if page.items.is_empty() {
        return view! { <EmptyState text="No role matches these filters."/> }.into_any();
    }
    let shown = page.items.len();
    let next_href = page.next_cursor.as_deref().map(|c| href(&query, Some(c)));
    let first_href = query.after.is_some().then(|| href(&query, None));
    let rows = page
        .items
        .into_iter()
        .map(|s| {
            let role = s.role;
            view! {
                <tr>
                    <td>
                        <A href=format!("/roles/{}", role.id) attr:class="strong">{role.slug.clone()}</A>
                        <div class="muted small">{role.display_name.clone()}</div>
                    </td>
                    <td><code>{s.scope.clone()}</code></td>
                    <td><Badge tone=sensitivity_tone(role.sensitivity) text=role.sensitivity.label()/></td>
                    <td class="nowrap">{format!("v{}", role.current_version)}</td>
                    <td class="num">
                        {count(s.holders)}
                        {(s.outdated_holders > 0).then(|| view! {
                            <div class="small muted">{format!("{} on older versions", count(s.outdated_holders))}</div>
                        })}
                    </td>
                    <td class="nowrap">{s.last_change.date()}</td>
                    <td><Badge tone=if role.status == RoleStatus::Active { "active" } else { "retired" } text=role.status.label()/></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Table id="roles-table" headers=&["Role", "Scope", "Sensitivity", "Version", "Holders #", "Last change", "Status"]>{rows}</Table>
        <Pager shown total=page.total noun="roles" next_href first_href/>
    }
    .into_any()
}
