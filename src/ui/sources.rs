//! Sources: the clusters, accounts and projects nhidb imports from, each with its last import,
//! its import history, the grants it holds whose role or principal it lacks, and its drift:
//! what an import observed that nobody reviewed, each finding acknowledged through a change
//! request.

use crate::domain::change::ChangeRequest;
use crate::domain::drift::{DriftDetail, DriftKind, DriftState};
use crate::domain::source::{ImportRecord, Source, SourceDetail};
use crate::error::AppError;
use crate::ui::CsrfField;
use crate::ui::components::{Badge, EmptyState, ErrorNotice, FieldError, FormActions, Loading, PageHeader, Table, submission_error};
use crate::ui::roles::diff::DiffView;
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

#[server(prefix = "/rpc", endpoint = "drift/detail")]
pub async fn load_drift(id: String) -> Result<DriftDetail, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::drift::detail(&store, &actor, &id).await }).await
}

#[server(prefix = "/rpc", endpoint = "drift/acknowledge")]
pub async fn acknowledge_drift(_csrf: String, id: String, reason: String) -> Result<ChangeRequest, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let input = crate::domain::drift::AcknowledgeInput { reason };
        let request = crate::service::drift::acknowledge(&store, &actor, &id, &input).await?;
        leptos_axum::redirect(&format!("/approvals/{}", request.id));
        Ok(request)
    })
    .await
}

/// Why a finding closed without an acknowledgement, by kind.
fn gone_text(kind: DriftKind) -> &'static str {
    match kind {
        DriftKind::ChangedOutsideReview => "the role is gone from the source.",
        DriftKind::UnreviewedAccess => "the grant ended.",
        DriftKind::DanglingBinding => "the source resolved it: the binding is gone, or its role and principal both exist now.",
    }
}

fn drift_tone(state: DriftState) -> &'static str {
    match state {
        DriftState::Open => "warning",
        DriftState::Acknowledged => "active",
        DriftState::Gone => "retired",
    }
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
                            let drift_class = if s.drift.total() > 0 { "num warn" } else { "num" };
                            let drift_title = DriftKind::ALL.iter().map(|k| format!("{}: {}", k.label(), s.drift.of(*k))).collect::<Vec<_>>().join(" · ");
                            view! {
                                <tr>
                                    <td>{s.kind.label()}</td>
                                    <td><A href=href>{s.name.clone()}</A></td>
                                    <td>{s.owner_name.clone()}</td>
                                    <td>{last_import(&s.last_import)}</td>
                                    <td>{counts}</td>
                                    <td>{changed}</td>
                                    <td class=dangling_class>{s.open_dangling}</td>
                                    <td class=drift_class title=drift_title>{s.drift.total()}</td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <Table id="sources-table" headers=&["Kind", "Source", "Owner", "Last import", "Read", "Changed", "Dangling grants #", "Open drift #"]>{rows}</Table>
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
                    Ok(SourceDetail { source, imports, dangling, drift }) => {
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
                        let drift_count = DriftKind::ALL
                            .iter()
                            .map(|k| format!("{} {}", source.drift.of(*k), k.label().to_lowercase()))
                            .collect::<Vec<_>>()
                            .join(" · ");
                        let drift_shown = drift.len() as i64;
                        let drift_more = (source.drift.total() > drift_shown).then(|| format!(" The first {drift_shown} are listed."));
                        let drift_list = if drift.is_empty() {
                            view! { <EmptyState text="No open drift: everything this source holds was reviewed or acknowledged."/> }.into_any()
                        } else {
                            let rows = drift.into_iter().map(|d| view! {
                                <tr>
                                    <td>{d.kind.label()}</td>
                                    <td><A href=format!("/drift/{}", d.id) attr:class="strong">{d.subject.clone()}</A></td>
                                    <td>{d.detail.clone()}</td>
                                    <td>{d.opened_at.short()}</td>
                                </tr>
                            }).collect_view();
                            view! {
                                <Table id="drift-table" headers=&["Finding", "About", "Detail", "Opened"]>{rows}</Table>
                            }.into_any()
                        };
                        view! {
                            <PageHeader title=title subtitle=subtitle/>
                            {last}
                            <section class="card" id="drift">
                                <h2>"Drift"</h2>
                                <p class="muted">"What imports observed that nobody in nhidb reviewed. Open a finding to see it and acknowledge it through a change request, or leave it open for follow-up."</p>
                                <p id="drift-count">{drift_count}"."{drift_more}</p>
                                {drift_list}
                            </section>
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

/// One drift finding: what was observed, the diff of a changed role, and its acknowledgement.
#[component]
pub fn DriftPage() -> impl IntoView {
    let params = use_params_map();
    let detail = Resource::new(move || params.with(|p| p.get("id").unwrap_or_default()), load_drift);
    let action = ServerAction::<AcknowledgeDrift>::new();
    let error = submission_error(action);
    view! {
        <Title text="Drift finding"/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(DriftDetail { drift, diff, role_slug, pending_change, can_acknowledge }) => {
                        let title = format!("{}: {}", drift.kind.label(), drift.subject);
                        let subtitle = format!("Observed in {} · opened {}", drift.source_name, drift.opened_at.short());
                        let role = match (&drift.role_id, role_slug) {
                            (Some(id), Some(slug)) => Some(view! { <dt>"Role"</dt><dd><A href=format!("/roles/{id}")>{slug}</A></dd> }),
                            _ => None,
                        };
                        let identity = drift.identity_id.clone().map(|id| view! { <dt>"Identity"</dt><dd><A href=format!("/identities/{id}")>"Open the identity"</A></dd> });
                        let outcome = match drift.state {
                            DriftState::Acknowledged => {
                                let by = drift.acknowledged_by.clone().unwrap_or_default();
                                let change = drift.change_id.clone().unwrap_or_default();
                                Some(view! {
                                    <p class="notice notice-info" id="drift-outcome">
                                        {format!("Acknowledged by {by} on {}, through ", drift.closed_at.map(|t| t.short()).unwrap_or_default())}
                                        <A href=format!("/approvals/{change}")>"its change request"</A>"."
                                    </p>
                                }.into_any())
                            }
                            DriftState::Gone => Some(view! {
                                <p class="notice notice-info" id="drift-outcome">{format!("Closed on {}: {}", drift.closed_at.map(|t| t.short()).unwrap_or_default(), gone_text(drift.kind))}</p>
                            }.into_any()),
                            DriftState::Open => pending_change.clone().map(|id| view! {
                                <p class="notice notice-info" id="drift-outcome">"Acknowledging it is requested: "<A href=format!("/approvals/{id}")>"see the change request"</A>"."</p>
                            }.into_any()),
                        };
                        let diff_view = diff.map(|diff| view! {
                            <section class="card" id="drift-diff">
                                <h2>{match drift.base_version { Some(base) => format!("What changed (v{base} → v{})", drift.role_version.unwrap_or_default()), None => "What the source created".to_owned() }}</h2>
                                <DiffView diff/>
                            </section>
                        });
                        let cancel = format!("/sources/{}", drift.source_id);
                        let drift_id = drift.id.clone();
                        let form = can_acknowledge.then(move || view! {
                            <ActionForm action attr:class="card form-grid" attr:id="acknowledge-form">
                                <h2 class="field-wide">"Acknowledge"</h2>
                                <p class="help field-wide">"Files a change request with this finding's diff and blast radius; when it is approved, the finding closes and the approval records who accepted it. Until then it stays open."</p>
                                <CsrfField/>
                                <input type="hidden" name="id" value=drift_id/>
                                <div class="field field-wide">
                                    <label for="acknowledge-reason">"Why this is acceptable (for the reviewers and the audit log)"</label>
                                    <textarea id="acknowledge-reason" name="reason" rows="2" required></textarea>
                                    <FieldError error field="reason"/>
                                </div>
                                <FormActions error fields=&["reason"] submit="File acknowledgement" pending=action.pending()
                                    cancel_href=cancel/>
                            </ActionForm>
                        });
                        view! {
                            <PageHeader title=title subtitle=subtitle/>
                            <section class="card">
                                <p><Badge tone=drift_tone(drift.state) text=drift.state.label()/></p>
                                <p class="muted">{drift.kind.explanation()}</p>
                                <dl class="attributes">
                                    <dt>"Source"</dt><dd><A href=format!("/sources/{}", drift.source_id)>{drift.source_name.clone()}</A></dd>
                                    {role}
                                    {identity}
                                    <dt>"About"</dt><dd><code>{drift.subject.clone()}</code></dd>
                                    <dt>"Detail"</dt><dd>{drift.detail.clone()}</dd>
                                </dl>
                                {outcome}
                            </section>
                            {diff_view}
                            {form}
                        }.into_any()
                    }
                    Err(e) => view! { <PageHeader title="Drift finding"/><ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
