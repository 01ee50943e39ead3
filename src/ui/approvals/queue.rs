//! The approvals queue: what waits for me, what I asked for, everything.

use super::{load_changes, state_tone};
use crate::domain::change::ChangeRequest;
use crate::domain::change::{ChangeQuery, ChangeState};
use crate::domain::page::Page;
use crate::ui::components::{Badge, EmptyState, ErrorNotice, Loading, PageHeader, Pager, Table};
use crate::ui::format::query_string;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;

fn href(query: &ChangeQuery, after: Option<&str>) -> String {
    format!("/approvals{}", query_string(&[("view", query.view.as_deref()), ("state", query.state.as_deref()), ("after", after)]))
}

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|p| ChangeQuery {
            // Reviewers land on what waits for them.
            view: Some(p.get("view").unwrap_or_else(|| "review".to_owned())),
            state: p.get("state"),
            after: p.get("after"),
            limit: None,
        })
    });
    let page = Resource::new(move || query.get(), load_changes);
    view! {
        <Title text="Approvals"/>
        <PageHeader title="Approvals" subtitle="Change requests: proposed, reviewed under the approval policy, applied on the last approval."/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let query = query.get_untracked();
                let results = match page.await {
                    Ok(page) => view! { <ChangeTable page query=query.clone()/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                };
                let view_name = query.view.clone().unwrap_or_default();
                let tab = |value: &'static str, label: &'static str| {
                    let current = view_name == value;
                    view! {
                        <A href=format!("/approvals?view={value}") attr:class=if current { "tab tab-current" } else { "tab" }
                            attr:aria-current=if current { "page" } else { "false" }>{label}</A>
                    }
                };
                let state = query.state.clone();
                let states = ChangeState::ALL
                    .iter()
                    .map(|s| view! { <option value=s.as_str() selected=state.as_deref() == Some(s.as_str())>{s.label()}</option> })
                    .collect_view();
                view! {
                    <nav class="tabs" aria-label="Views">
                        {tab("review", "Waiting for my review")}
                        {tab("mine", "Requested by me")}
                        {tab("all", "All requests")}
                    </nav>
                    <Form method="GET" action="/approvals" attr:class="filters">
                        <input type="hidden" name="view" value=view_name.clone()/>
                        <label class="filter">
                            <span>"State"</span>
                            <select name="state"><option value="">"Any state"</option>{states}</select>
                        </label>
                        <div class="filter-actions"><button type="submit" class="button">"Apply"</button></div>
                    </Form>
                    {results}
                }
            })}
        </Suspense>
    }
}

#[component]
fn ChangeTable(page: Page<ChangeRequest>, query: ChangeQuery) -> impl IntoView {
    if page.items.is_empty() {
        return view! { <EmptyState text="Nothing here."/> }.into_any();
    }
    let shown = page.items.len();
    let next_href = page.next_cursor.as_deref().map(|c| href(&query, Some(c)));
    let first_href = query.after.is_some().then(|| href(&query, None));
    let rows = page
        .items
        .into_iter()
        .map(|r| {
            let approvals = r.decisions.iter().filter(|d| d.verdict == crate::domain::change::Verdict::Approve).count();
            view! {
                <tr>
                    <td><A href=format!("/approvals/{}", r.id) attr:class="strong">{r.kind.label()}</A></td>
                    <td><code>{r.subject.clone()}</code></td>
                    <td>{r.requester_name.clone()}</td>
                    <td class="small">{r.reason.clone()}</td>
                    <td class="nowrap">{r.created_at.short()}</td>
                    <td class="num">{approvals}</td>
                    <td><Badge tone=state_tone(r.state) text=r.state.label()/></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Table id="changes-table" headers=&["Change", "Role", "Requested by", "Why", "Filed", "Approvals #", "State"]>{rows}</Table>
        <Pager shown total=page.total noun="requests" next_href first_href/>
    }
    .into_any()
}
