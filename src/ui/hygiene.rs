//! The hygiene page: open findings per kind at a glance, then one report with the action that
//! fits each row, and its CSV.

use crate::domain::hygiene::{Finding, FindingAction, FindingKind, HygieneSummary};
use crate::domain::page::Page;
use crate::error::AppError;
use crate::ui::components::{EmptyState, ErrorNotice, Loading, PageHeader, Pager, Table};
use crate::ui::format::{count, query_string};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[server(prefix = "/rpc", endpoint = "hygiene/summary")]
pub async fn load_hygiene_summary() -> Result<HygieneSummary, AppError> {
    let policy = crate::ui::session::state()?.config.hygiene;
    crate::ui::session::run(|store, actor| async move { crate::service::hygiene::summary(&store, &actor, &policy).await }).await
}

#[server(prefix = "/rpc", endpoint = "hygiene/report")]
pub async fn load_hygiene_report(kind: String, after: Option<String>) -> Result<Page<Finding>, AppError> {
    let policy = crate::ui::session::state()?.config.hygiene;
    crate::ui::session::run(|store, actor| async move {
        crate::service::hygiene::report(&store, &actor, &kind, &crate::domain::hygiene::FindingQuery { after, limit: Some(50) }, &policy).await
    })
    .await
}

fn action(finding: &Finding) -> impl IntoView + use<> {
    let identity = format!("/identities/{}", finding.identity_id);
    let (label, href) = match finding.action {
        FindingAction::RetireIdentity => ("Retire…", format!("{identity}#status")),
        FindingAction::RevokeCredential => ("Revoke credential…", format!("{identity}#credentials")),
        FindingAction::RotateCredential => ("Rotate…", format!("{identity}#credentials")),
        FindingAction::RevokeAssignment => ("Revoke a grant…", format!("{identity}#access")),
        FindingAction::MoveToCurrent => ("Move to current…", format!("{identity}#access")),
        FindingAction::Review if finding.kind == FindingKind::EscalationPath => ("Show path", format!("{identity}#can-become")),
        FindingAction::Review => ("Review", identity),
    };
    view! { <A href=href attr:class="button small">{label}</A> }
}

#[component]
pub fn HygienePage() -> impl IntoView {
    let query = use_query_map();
    let kind = Memo::new(move |_| query.with(|q| q.get("kind").unwrap_or_else(|| "dormant".into())));
    let after = Memo::new(move |_| query.with(|q| q.get("after")));
    let summary = Resource::new(|| (), |_| load_hygiene_summary());
    let report = Resource::new(move || (kind.get(), after.get()), |(kind, after)| load_hygiene_report(kind, after));
    view! {
        <Title text="Hygiene"/>
        <PageHeader title="Hygiene" subtitle="Identities and credentials that should not be left as they are. Kept current by every change; expiries and dormancy are brought up to date every few minutes."/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match summary.await {
                    Ok(summary) => {
                        let current = kind.get_untracked();
                        let tiles = summary.counts.into_iter().map(|c| {
                            let selected = c.kind.as_str() == current;
                            let class = if selected { "tile tile-selected" } else if c.count > 0 && c.kind.is_problem() { "tile tile-warn" } else { "tile" };
                            view! {
                                <A href=format!("/hygiene?kind={}", c.kind.as_str()) attr:class=class attr:id=format!("tile-{}", c.kind.as_str())>
                                    <span class="tile-value">{count(c.count)}</span>
                                    <span class="tile-label">{c.label.clone()}</span>
                                </A>
                            }
                        }).collect_view();
                        // Drift is listed per source; the tiles lead there.
                        let drift = summary.drift.clone();
                        let drift_tiles = crate::domain::drift::DriftKind::ALL.iter().map(|k| {
                            let n = drift.of(*k);
                            let class = if n > 0 { "tile tile-warn" } else { "tile" };
                            view! {
                                <A href="/sources" attr:class=class attr:id=format!("tile-{}", k.as_str()) attr:title=k.explanation()>
                                    <span class="tile-value">{count(n)}</span>
                                    <span class="tile-label">{k.label()}</span>
                                </A>
                            }
                        }).collect_view();
                        view! {
                            <section class="tiles" id="hygiene-tiles">{tiles}</section>
                            <h2 class="section-title">"Drift from sources"</h2>
                            <section class="tiles" id="drift-tiles">{drift_tiles}</section>
                            <p class="muted small">{format!(
                                "Dormant after {} days without use · expiring within {} days · rotation due after {} days · expiries and dormancy as of {}",
                                summary.policy.dormant_days, summary.policy.expiring_days, summary.policy.rotation_days, summary.as_of.short()
                            )}</p>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let kind_text = kind.get_untracked();
                let title = FindingKind::parse(&kind_text).map(|k| (k.label(), k.explanation())).unwrap_or(("Report", ""));
                match report.await {
                    Ok(page) => {
                        let next = page.next_cursor.clone().map(|c| format!("/hygiene{}", query_string(&[("kind", Some(kind_text.as_str())), ("after", Some(c.as_str()))])));
                        let first = after.get_untracked().map(|_| format!("/hygiene?kind={kind_text}"));
                        let shown = page.items.len();
                        let body = if page.items.is_empty() {
                            view! { <EmptyState text="Nothing found: this report is clean."/> }.into_any()
                        } else {
                            let rows = page.items.into_iter().map(|f| {
                                let act = action(&f);
                                view! {
                                    <tr>
                                        <td><A href=format!("/identities/{}", f.identity_id) attr:class="strong">{f.identity_name.clone()}</A></td>
                                        <td>{f.service_name.clone().unwrap_or_else(|| "—".into())}</td>
                                        <td>{f.owner_name.clone()}</td>
                                        <td><code>{f.subject.clone()}</code></td>
                                        <td>{f.detail.clone()}</td>
                                        <td>{f.since.map(|t| t.date()).unwrap_or_default()}</td>
                                        <td>{act}</td>
                                    </tr>
                                }
                            }).collect_view();
                            view! {
                                <Table id="hygiene-report" headers=&["Identity", "Service", "Owner", "About", "Finding", "Since", "Action"]>{rows}</Table>
                                <Pager shown=shown total=page.total noun="findings" next_href=next first_href=first/>
                            }.into_any()
                        };
                        view! {
                            <section class="card">
                                <div class="card-header">
                                    <h2>{title.0}</h2>
                                    <a class="button small" href=format!("/downloads/hygiene/{kind_text}.csv") rel="external" download="">"Download CSV"</a>
                                </div>
                                <p class="muted">{title.1}</p>
                                {body}
                            </section>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
