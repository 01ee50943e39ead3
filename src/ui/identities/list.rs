//! The identities list: filters in the URL (so every view is a link), keyset pages, counts.

use super::{LedgerChoices, list_identities, load_choices};
use crate::domain::actor::Capability;
use crate::domain::identity::{Identity, IdentityKind, IdentityQuery, IdentityStatus};
use crate::domain::page::Page;
use crate::ui::IfCan;
use crate::ui::components::{Badge, ChoiceOptions, EmptyState, ErrorNotice, LabelChips, Loading, PageHeader, Pager, Table};
use crate::ui::format::{date, query_string, when};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;

fn href(query: &IdentityQuery, after: Option<&str>) -> String {
    let qs = query_string(&[
        ("q", query.q.as_deref()),
        ("kind", query.kind.as_deref()),
        ("status", query.status.as_deref()),
        ("owner", query.owner.as_deref()),
        ("service", query.service.as_deref()),
        ("label", query.label.as_deref()),
        ("after", after),
    ]);
    format!("/identities{qs}")
}

#[component]
pub fn IdentitiesPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|p| IdentityQuery {
            kind: p.get("kind"),
            status: p.get("status"),
            owner: p.get("owner"),
            service: p.get("service"),
            label: p.get("label"),
            q: p.get("q"),
            after: p.get("after"),
            limit: None,
        })
    });
    let page = Resource::new(move || query.get(), list_identities);
    let choices = Resource::new(|| (), |_| load_choices());

    view! {
        <Title text="Identities"/>
        <PageHeader title="Identities" subtitle="Service accounts, machine users, API clients, CI bots, devices and workloads.">
            <IfCan capability=Capability::EditLedger>
                <A href="/identities/new" attr:class="button primary">"New identity"</A>
            </IfCan>
        </PageHeader>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let query = query.get_untracked();
                let choices = choices.await.unwrap_or_default();
                let results = match page.await {
                    Ok(page) => view! { <IdentityTable page query=query.clone()/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                };
                view! {
                    <Filters query choices/>
                    {results}
                }
            })}
        </Suspense>
    }
}

#[component]
fn Filters(query: IdentityQuery, choices: LedgerChoices) -> impl IntoView {
    let kind = query.kind.clone();
    let status = query.status.clone();
    let kinds =
        IdentityKind::ALL.iter().map(|k| view! { <option value=k.as_str() selected=kind.as_deref() == Some(k.as_str())>{k.label()}</option> }).collect_view();
    let statuses = IdentityStatus::ALL
        .iter()
        .map(|s| view! { <option value=s.as_str() selected=status.as_deref() == Some(s.as_str())>{s.label()}</option> })
        .collect_view();
    view! {
        <Form method="GET" action="/identities" attr:class="filters" attr:role="search">
            <label class="filter filter-wide">
                <span>"Search"</span>
                <input type="search" name="q" value=query.q.clone().unwrap_or_default() placeholder="Name or description"/>
            </label>
            <label class="filter">
                <span>"Kind"</span>
                <select name="kind"><option value="">"Any kind"</option>{kinds}</select>
            </label>
            <label class="filter">
                <span>"Status"</span>
                <select name="status"><option value="">"Any status"</option>{statuses}</select>
            </label>
            <label class="filter">
                <span>"Owner"</span>
                <select name="owner"><ChoiceOptions choices=choices.owners selected=query.owner.clone() placeholder="Any owner"/></select>
            </label>
            <label class="filter">
                <span>"Service"</span>
                <select name="service"><ChoiceOptions choices=choices.services selected=query.service.clone() placeholder="Any service"/></select>
            </label>
            <label class="filter">
                <span>"Label"</span>
                <input type="text" name="label" value=query.label.clone().unwrap_or_default() placeholder="team=payments"/>
            </label>
            <div class="filter-actions">
                <button type="submit" class="button">"Apply filters"</button>
                <A href="/identities" attr:class="button ghost">"Reset"</A>
            </div>
        </Form>
    }
}

pub fn status_tone(status: IdentityStatus) -> &'static str {
    status.as_str()
}

#[component]
pub fn IdentityRows(identities: Vec<Identity>, #[prop(optional)] hide_service: bool) -> impl IntoView {
    identities
        .into_iter()
        .map(|i| {
            let service = i.service_id.clone().zip(i.service_name.clone());
            view! {
                <tr>
                    <td>
                        <A href=format!("/identities/{}", i.id) attr:class="strong">{i.name.clone()}</A>
                        <div class="muted small">{i.description.clone()}</div>
                    </td>
                    <td><Badge tone="kind" text=i.kind.label()/></td>
                    <td><Badge tone=status_tone(i.status) text=i.status.label()/></td>
                    <td class="nowrap">{i.owner_name.clone()}</td>
                    {(!hide_service).then(|| view! {
                        <td class="nowrap">{service.map(|(id, name)| view! { <A href=format!("/services/{id}")>{name}</A> })}</td>
                    })}
                    <td><LabelChips labels=i.labels.clone()/></td>
                    <td class="nowrap" title=when(&i.last_seen_at)>{date(&i.last_seen_at)}</td>
                </tr>
            }
        })
        .collect_view()
}

#[component]
fn IdentityTable(page: Page<Identity>, query: IdentityQuery) -> impl IntoView {
    if page.items.is_empty() {
        let text = if query.is_filtered() { "No identity matches these filters." } else { "No identities yet." };
        return view! { <EmptyState text/> }.into_any();
    }
    let shown = page.items.len();
    let next_href = page.next_cursor.as_deref().map(|c| href(&query, Some(c)));
    let first_href = query.after.is_some().then(|| href(&query, None));
    view! {
        <Table id="identities-table" headers=&["Name", "Kind", "Status", "Owner", "Service", "Labels", "Last seen"]>
            <IdentityRows identities=page.items/>
        </Table>
        <Pager shown total=page.total noun="identities" next_href first_href/>
    }
    .into_any()
}
