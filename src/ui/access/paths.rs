//! The *Escalation paths* page: every identity that can reach a privileged role or a source's
//! full control beyond what it holds, filtered by source, namespace / account / project,
//! target and hops. Each row leads to the identity's page, where the path is drawn.

use crate::domain::escalation::{PathQuery, PathRow};
use crate::domain::page::Page;
use crate::error::AppError;
use crate::ui::components::{EmptyState, ErrorNotice, Loading, PageHeader, Pager, Table};
use crate::ui::format::query_string;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;

#[server(prefix = "/rpc", endpoint = "escalation/paths")]
pub async fn load_paths(query: PathQuery) -> Result<Page<PathRow>, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::escalation::paths(&store, &actor, &query).await }).await
}

fn href(query: &PathQuery, after: Option<&str>) -> String {
    let hops = query.max_hops.map(|h| h.to_string());
    let qs = query_string(&[
        ("source", query.source.as_deref()),
        ("within", query.within.as_deref()),
        ("target", query.target.as_deref()),
        ("max_hops", hops.as_deref()),
        ("after", after),
    ]);
    format!("/escalation{qs}")
}

#[component]
pub fn EscalationPathsPage() -> impl IntoView {
    let params = use_query_map();
    // An unreadable hop count is passed on as 0, which the service refuses with a clear message.
    let query = Memo::new(move |_| {
        params.with(|p| PathQuery {
            source: p.get("source"),
            within: p.get("within"),
            target: p.get("target"),
            max_hops: p.get("max_hops").filter(|h| !h.is_empty()).map(|h| h.trim().parse().unwrap_or(0)),
            after: p.get("after"),
            limit: None,
        })
    });
    let page = Resource::new(move || query.get(), load_paths);
    view! {
        <Title text="Escalation paths"/>
        <PageHeader title="Escalation paths" subtitle="Who can become a privileged role or take full control of a source through permissions that grant other permissions: creating pods, binding roles, passing roles, impersonating. Kept current after every change; the path is drawn on each identity's page."/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let query = query.get_untracked();
                let results = match page.await {
                    Ok(page) => view! { <PathTable page query=query.clone()/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                };
                view! {
                    <Filters query/>
                    {results}
                }
            })}
        </Suspense>
    }
}

#[component]
fn Filters(query: PathQuery) -> impl IntoView {
    let hops = query.max_hops;
    let options =
        [1u32, 2, 3, 4].into_iter().map(|h| view! { <option value=h.to_string() selected=hops == Some(h)>{format!("At most {h}")}</option> }).collect_view();
    view! {
        <Form method="GET" action="/escalation" attr:class="filters" attr:role="search" attr:id="path-filters">
            <label class="filter">
                <span>"Source"</span>
                <input type="text" name="source" value=query.source.clone().unwrap_or_default() placeholder="prod"/>
            </label>
            <label class="filter">
                <span>"Namespace, account or project"</span>
                <input type="text" name="within" value=query.within.clone().unwrap_or_default() placeholder="kube-system"/>
            </label>
            <label class="filter">
                <span>"Target"</span>
                <input type="search" name="target" value=query.target.clone().unwrap_or_default() placeholder="cluster-admin"/>
            </label>
            <label class="filter">
                <span>"Hops"</span>
                <select name="max_hops"><option value="">"Any"</option>{options}</select>
            </label>
            <div class="filter-actions">
                <button type="submit" class="button">"Apply filters"</button>
                <A href="/escalation" attr:class="button ghost">"Reset"</A>
            </div>
        </Form>
    }
}

#[component]
fn PathTable(page: Page<PathRow>, query: PathQuery) -> impl IntoView {
    if page.items.is_empty() {
        let text =
            if query.is_filtered() { "No escalation path matches these filters." } else { "No identity can reach a privileged target beyond what it holds." };
        return view! { <EmptyState text/> }.into_any();
    }
    let shown = page.items.len();
    let next_href = page.next_cursor.as_deref().map(|c| href(&query, Some(c)));
    let first_href = query.after.is_some().then(|| href(&query, None));
    let rows = page
        .items
        .into_iter()
        .map(|p| {
            let hops = if p.hops == 1 { "1 hop".to_owned() } else { format!("{} hops", p.hops) };
            view! {
                <tr class="escalation-row" data-target=p.target_label.clone() data-hops=p.hops.to_string()>
                    <td><A href=format!("/identities/{}", p.identity_id) attr:class="strong">{p.identity_name.clone()}</A></td>
                    <td>{p.source_name.clone().unwrap_or_else(|| "nhidb".into())}</td>
                    <td>{p.within.clone().unwrap_or_else(|| "—".into())}</td>
                    <td><code>{p.target_label.clone()}</code></td>
                    <td class="nowrap">{hops}</td>
                    <td><A href=format!("/identities/{}#can-become", p.identity_id) attr:class="button small">"Show path"</A></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card">
            <div class="card-header">
                <h2>"Paths"</h2>
                <a class="button small" href="/downloads/hygiene/escalation_path.csv" rel="external" download="">"Download CSV"</a>
            </div>
            <Table id="escalation-paths" headers=&["Identity", "Source", "Namespace / account", "Can reach", "Hops", ""]>{rows}</Table>
            <Pager shown total=page.total noun="paths" next_href first_href/>
        </section>
    }
    .into_any()
}
