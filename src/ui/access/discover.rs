//! "Who can write to prod/payments/ledger-db?" and "who held role R at time T?".

use super::picker::RolePicker;
use super::{load_holders_at, load_who_can};
use crate::domain::discovery::WhoCanQuery;
use crate::domain::role::{ACTIONS, ActionClass};
use crate::ui::components::{EmptyState, ErrorNotice, Loading, PageHeader, Table};
use crate::ui::format::{count, query_string};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;

#[component]
pub fn AccessPage() -> impl IntoView {
    let query = use_query_map();
    let who = Memo::new(move |_| {
        query.with(|q| WhoCanQuery {
            action: q.get("action"),
            class: q.get("class"),
            resource: q.get("resource"),
            scope: q.get("scope").unwrap_or_default(),
            after: q.get("after"),
            limit: None,
        })
    });
    let at = Memo::new(move |_| query.with(|q| (q.get("role").unwrap_or_default(), q.get("at").unwrap_or_default(), q.get("at_after"))));
    let who_result = Resource::new(move || who.get(), |q| async move { if q.scope.trim().is_empty() { None } else { Some(load_who_can(q).await) } });
    let at_result = Resource::new(
        move || at.get(),
        |(role, at, after)| async move { if role.is_empty() || at.is_empty() { None } else { Some(load_holders_at(role, at, after).await) } },
    );
    view! {
        <Title text="Who can"/>
        <PageHeader title="Who can…" subtitle="Answer access questions from the ledger: who may do what where, and who held a role when."/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let q = who.get_untracked();
                let (role, at_value, _) = at.get_untracked();
                let action = q.action.clone();
                let class = q.class.clone();
                let actions = ACTIONS.iter().map(|(a, _)| view! { <option value=*a selected=action.as_deref() == Some(*a)>{*a}</option> }).collect_view();
                let classes = ActionClass::ALL.iter().map(|c| view! { <option value=c.as_str() selected=class.as_deref() == Some(c.as_str())>{format!("any {} action", c.as_str())}</option> }).collect_view();
                let who_view = match who_result.await {
                    None => view! { <p class="muted">"Ask about a scope to see who can act there."</p> }.into_any(),
                    Some(Err(e)) => view! { <ErrorNotice error=e/> }.into_any(),
                    Some(Ok(page)) if page.items.is_empty() => view! { <EmptyState text="Nobody can."/> }.into_any(),
                    Some(Ok(page)) => {
                        let next = page.next_cursor.clone().map(|c| format!("/access{}", query_string(&[
                            ("action", q.action.as_deref()), ("class", q.class.as_deref()), ("resource", q.resource.as_deref()),
                            ("scope", Some(q.scope.as_str())), ("after", Some(c.as_str())),
                        ])));
                        let rows = page.items.clone().into_iter().map(|c| view! {
                            <tr>
                                <td><A href=format!("/identities/{}", c.identity_id) attr:class="strong">{c.identity_name.clone()}</A></td>
                                <td>{format!("{} v{}", c.role_slug, c.version)}</td>
                                <td><code>{c.scope.clone()}</code></td>
                                <td><code>{format!("{} on {}", c.action, c.resource)}</code></td>
                            </tr>
                        }).collect_view();
                        view! {
                            <p class="holders-summary" id="who-can-count">{format!("{} identities", count(page.total))}</p>
                            <Table id="who-can-table" headers=&["Identity", "Through", "Granted on", "Permission"]>{rows}</Table>
                            {next.map(|n| view! { <p><A href=n attr:class="button">"Next page »"</A></p> })}
                        }.into_any()
                    }
                };
                let at_view = match at_result.await {
                    None => view! { <p class="muted">"Pick a role and a moment."</p> }.into_any(),
                    Some(Err(e)) => view! { <ErrorNotice error=e/> }.into_any(),
                    Some(Ok(page)) => {
                        let rows = page.items.clone().into_iter().map(|h| view! {
                            <tr>
                                <td><A href=format!("/identities/{}", h.identity_id)>{h.identity_name.clone()}</A></td>
                                <td>{format!("v{}", h.version)}</td>
                                <td><code>{h.scope.clone()}</code></td>
                            </tr>
                        }).collect_view();
                        view! {
                            <p class="holders-summary" id="held-at-count">{format!("{} holders then", count(page.total))}</p>
                            <Table id="held-at-table" headers=&["Identity", "Pinned", "Scope"]>{rows}</Table>
                        }.into_any()
                    }
                };
                view! {
                    <section class="card">
                        <h2>"Who can act on a scope"</h2>
                        <Form method="GET" action="/access" attr:class="filters" attr:id="who-can-form">
                            <label class="filter"><span>"Action"</span><select name="action"><option value="">"—"</option>{actions}</select></label>
                            <label class="filter"><span>"or class"</span><select name="class"><option value="">"—"</option>{classes}</select></label>
                            <label class="filter"><span>"Resource (optional)"</span><input type="text" name="resource" value=q.resource.clone().unwrap_or_default() placeholder="db:ledger"/></label>
                            <label class="filter filter-wide"><span>"Scope"</span><input type="text" name="scope" value=q.scope.clone() placeholder="prod/payments/ledger-db" required/></label>
                            <div class="filter-actions"><button type="submit" class="button primary">"Ask"</button></div>
                        </Form>
                        {who_view}
                    </section>
                    <section class="card">
                        <h2>"Who held a role at a moment"</h2>
                        <Form method="GET" action="/access" attr:class="filters" attr:id="held-at-form">
                            <label class="filter filter-wide"><span>"Role"</span>
                                <RolePicker id="at-role" name="role" value=role.clone()/>
                            </label>
                            <label class="filter"><span>"At (date or RFC 3339 time)"</span><input type="text" name="at" value=at_value.clone() placeholder="2026-11-01T12:00:00Z"/></label>
                            <div class="filter-actions"><button type="submit" class="button primary">"Show holders"</button></div>
                        </Form>
                        {at_view}
                    </section>
                }
            })}
        </Suspense>
    }
}
