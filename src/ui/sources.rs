//! Sources: the clusters, accounts and projects nhidb imports from, each with its last import,
//! its import history and the grants it holds whose role or principal it lacks.

use crate::domain::source::{ImportRecord, Source, SourceDetail};
use crate::error::AppError;
use crate::ui::components::{EmptyState, ErrorNotice, Loading, PageHeader, Table};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[server(prefix = "/rpc", endpoint = "sources/list")]
pub async fn load_sources() -> Result<Vec<Source>, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::sources::list(&store, &actor).await }).await
}

#[server(prefix = "/rpc", endpoint = "sources/detail")]
pub async fn load_source(id: String) -> Result<SourceDetail, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::sources::detail(&store, &actor, &id).await }).await
}

fn last_import(record: &Option<ImportRecord>) -> String {
    match record {
        Some(r) => format!("{} by {} · {} ms", r.started_at.short(), r.actor, r.duration_ms),
        None => "never".to_owned(),
    }
}

fn changes(record: &ImportRecord) -> String {
    match record.summary.changes() {
        0 => "no changes".to_owned(),
        n => format!("{n} changes"),
    }
}

#[component]
pub fn SourcesPage() -> impl IntoView {
    let sources = Resource::new(|| (), |_| load_sources());
    view! {
        <Title text="Sources"/>
        <PageHeader title="Sources" subtitle="Where imported identities and roles live: Kubernetes clusters, AWS accounts, GCP projects. Each import is reconciled with the last."/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match sources.await {
                    Ok(list) if list.is_empty() => view! {
                        <EmptyState text="Nothing imported yet."/>
                        <p class="muted">"Import with "<code>"nhidb import kubernetes|aws|gcp"</code>", or push an export from a scheduled job to "<code>"POST /api/v1/sources/{kind}/{name}/imports"</code>" (see the README)."</p>
                    }.into_any(),
                    Ok(list) => {
                        let rows = list.into_iter().map(|s| {
                            let href = format!("/sources/{}", s.id);
                            let changed = s.last_import.as_ref().map(changes).unwrap_or_default();
                            let counts = s.last_import.as_ref().map(|r| format!("{} principals · {} roles · {} grants", r.summary.principals, r.summary.roles, r.summary.grants)).unwrap_or_default();
                            let dangling_class = if s.open_dangling > 0 { "num warn" } else { "num" };
                            view! {
                                <tr>
                                    <td>{s.kind.label()}</td>
                                    <td><A href=href>{s.name.clone()}</A></td>
                                    <td>{s.owner_name.clone()}</td>
                                    <td>{last_import(&s.last_import)}</td>
                                    <td>{counts}</td>
                                    <td>{changed}</td>
                                    <td class=dangling_class>{s.open_dangling}</td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <Table id="sources-table" headers=&["Kind", "Source", "Owner", "Last import", "Read", "Changed", "Dangling grants #"]>{rows}</Table>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn SourcePage() -> impl IntoView {
    let params = use_params_map();
    let detail = Resource::new(move || params.with(|p| p.get("id").unwrap_or_default()), load_source);
    view! {
        <Title text="Source"/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(SourceDetail { source, imports, dangling }) => {
                        let title = format!("{} {}", source.kind.label(), source.name);
                        let subtitle = format!("Owned by {} · imported since {}", source.owner_name, source.created_at.short());
                        let last = imports.first().map(|r| {
                            let lines = r.summary.lines().into_iter().map(|l| view! { <li>{l}</li> }).collect_view();
                            view! {
                                <section class="card" id="last-import">
                                    <h2>"Last import"</h2>
                                    <p>{last_import(&Some(r.clone()))}<span class="muted">{format!(" · input {}", r.input_hash)}</span></p>
                                    <ul>{lines}</ul>
                                </section>
                            }
                        });
                        let history = imports.iter().map(|r| view! {
                            <tr>
                                <td>{r.started_at.short()}</td>
                                <td>{r.actor.clone()}</td>
                                <td class="num">{r.duration_ms}</td>
                                <td class="num">{r.summary.principals}</td>
                                <td class="num">{r.summary.roles}</td>
                                <td class="num">{r.summary.grants}</td>
                                <td>{changes(r)}</td>
                            </tr>
                        }).collect_view();
                        // The page lists the first dangling grants by ref; say so when there are more.
                        let shown = dangling.len() as i64;
                        let dangling_count = if source.open_dangling > shown {
                            format!("{} open; the first {shown} are listed.", source.open_dangling)
                        } else {
                            format!("{} open.", source.open_dangling)
                        };
                        let dangling_list = if dangling.is_empty() {
                            view! { <EmptyState text="Every grant in this source names a role and a principal it has."/> }.into_any()
                        } else {
                            let rows = dangling.into_iter().map(|d| view! {
                                <tr>
                                    <td><code>{d.source_ref}</code></td>
                                    <td><code>{d.principal_ref}</code></td>
                                    <td><code>{d.role_ref}</code></td>
                                    <td>{d.scope}</td>
                                    <td>{format!("{} missing", d.missing)}</td>
                                </tr>
                            }).collect_view();
                            view! {
                                <Table id="dangling-table" headers=&["Grant", "Principal", "Role", "Scope", "Problem"]>{rows}</Table>
                            }.into_any()
                        };
                        view! {
                            <PageHeader title=title subtitle=subtitle/>
                            {last}
                            <section class="card">
                                <h2>"Dangling grants"</h2>
                                <p class="muted">"Grants the source holds whose role or principal is not in its export. They grant nothing in the ledger, and are kept here until the source resolves them."</p>
                                <p id="dangling-count">{dangling_count}</p>
                                {dangling_list}
                            </section>
                            <section class="card">
                                <h2>"Imports"</h2>
                                <Table id="imports-table" headers=&["When", "By", "Duration (ms) #", "Principals #", "Roles #", "Grants #", "Changed"]>{history}</Table>
                            </section>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
