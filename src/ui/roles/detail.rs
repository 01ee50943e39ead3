//! One role: its current definition, holders per pinned version, version timeline, a diff of
//! any two versions, and its change requests.

use super::catalog::sensitivity_tone;
use super::diff::DiffView;
use super::{ProposeRetire, load_diff, load_role};
use crate::domain::actor::Capability;
use crate::domain::role::{RoleDetail, RoleStatus};
use crate::ui::approvals::state_tone;
use crate::ui::components::{Badge, EmptyState, ErrorNotice, FieldError, FormError, Loading, PageHeader, Table, submission_error};
use crate::ui::{CsrfField, IfCan};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn RolePage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let detail = Resource::new(move || id.get(), load_role);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! { <RoleView detail/> }.into_any(),
                    Err(e) => view! { <Title text="Role"/><PageHeader title="Role"/><ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn RoleView(detail: RoleDetail) -> impl IntoView {
    let role = detail.role.clone();
    let current = detail.current().cloned();
    let summary = detail.holders_summary();
    let active = role.status == RoleStatus::Active;
    let propose_href = format!("/roles/{}/propose", role.id);
    let retire_id = role.id.clone();
    let permissions = current.as_ref().map(|v| {
        v.definition
            .permissions
            .iter()
            .map(|p| {
                view! {
                    <tr>
                        <td><code>{p.action.clone()}</code></td>
                        <td><code>{p.resource.clone()}</code></td>
                        <td>{p.class().label()}</td>
                    </tr>
                }
            })
            .collect_view()
    });
    let source_rules = current.as_ref().filter(|v| !v.definition.rules.is_empty()).map(|v| {
        let rules = v.definition.rules.iter().map(|r| view! { <li><code>{r.summary()}</code></li> }).collect_view();
        view! {
            <p class="muted small">"As the source states them (the permissions above are derived from these rules, never narrower):"</p>
            <ul class="source-rules" id="source-rules">{rules}</ul>
        }
    });
    let current_version = role.current_version;
    let holders = detail
        .some_holders
        .clone()
        .into_iter()
        .map(|(id, name, version)| {
            let outdated = version < current_version;
            view! {
                <li>
                    <A href=format!("/identities/{id}")>{name}</A>
                    " "
                    <span class=if outdated { "badge badge-warning" } else { "badge" }>{format!("v{version}")}</span>
                </li>
            }
        })
        .collect_view();
    let timeline = detail
        .versions
        .clone()
        .into_iter()
        .map(|v| {
            let request = v.change_request_id.clone();
            view! {
                <li class="event">
                    <div class="event-head">
                        <strong>{format!("v{}", v.version)}</strong>
                        <span class="muted">{format!(" by {} · {}", v.author, v.created_at.short())}</span>
                        {request.map(|r| view! { " · " <A href=format!("/approvals/{r}")>"change request"</A> })}
                    </div>
                    <div class="small muted"><code title=v.content_hash.clone()>{v.content_hash.chars().take(19).collect::<String>()}"…"</code></div>
                </li>
            }
        })
        .collect_view();
    let requests = detail
        .requests
        .clone()
        .into_iter()
        .map(|r| {
            view! {
                <tr>
                    <td><A href=format!("/approvals/{}", r.id)>{r.kind.label()}</A></td>
                    <td>{r.requester_name.clone()}</td>
                    <td class="nowrap">{r.created_at.date()}</td>
                    <td><Badge tone=state_tone(r.state) text=r.state.label()/></td>
                </tr>
            }
        })
        .collect_view();
    let has_requests = !detail.requests.is_empty();
    // An imported role changes in its source; the next import records the change as a version.
    let imported = role.managed_by.is_some();
    let managed = role.managed_by.clone().map(|m| view! {
        <p class="notice" id="managed-by">
            "Managed by its source, "<strong>{m.describe()}</strong>" ("<code>{m.source_ref.clone()}</code>"): its versions are what the source said at each import."
        </p>
    });
    let versions: Vec<i64> = detail.versions.iter().map(|v| v.version).collect();
    view! {
        <Title text=role.slug.clone()/>
        <PageHeader title=role.slug.clone() subtitle=role.display_name.clone()>
            {(active && !imported).then(|| view! {
                <IfCan capability=Capability::Propose>
                    <A href=propose_href.clone() attr:class="button primary">"Propose new version"</A>
                </IfCan>
            })}
        </PageHeader>
        {managed}
        <section class="status-bar">
            <span>
                <Badge tone=sensitivity_tone(role.sensitivity) text=role.sensitivity.label()/>
                <Badge tone=if active { "active" } else { "retired" } text=role.status.label()/>
                <span class="badge">{format!("current v{}", role.current_version)}</span>
            </span>
            {(active && !imported).then(|| view! {
                <IfCan capability=Capability::Propose>
                    <RetireForm role_id=retire_id.clone()/>
                </IfCan>
            })}
        </section>
        <div class="grid-2">
            <section class="card">
                <h2>{format!("Definition (v{})", role.current_version)}</h2>
                {current.map(|v| view! {
                    <dl class="attributes">
                        <dt>"Role id"</dt><dd><code>{role.id.clone()}</code></dd>
                        <dt>"Scope"</dt><dd><code>{v.definition.scope.to_string()}</code></dd>
                        <dt>"Description"</dt><dd>{v.definition.description.clone()}</dd>
                        {v.definition.justification.clone().map(|j| view! { <dt>"Justification"</dt><dd>{j}</dd> })}
                    </dl>
                })}
                <Table id="permissions-table" headers=&["Action", "Resource", "Class"]>{permissions}</Table>
                {source_rules}
            </section>
            <section class="card">
                <h2>"Holders"</h2>
                <p class="holders-summary" id="holders-summary">{summary}</p>
                <ul class="holder-list">{holders}</ul>
                <p><A href=format!("/roles/{}/holders", role.id)>"All holders, by pinned version »"</A></p>
            </section>
        </div>
        <section class="card">
            <h2>"Compare versions"</h2>
            <VersionCompare role_id=role.id.clone() versions current=role.current_version/>
        </section>
        <div class="grid-2">
            <section class="card">
                <h2>"Version timeline"</h2>
                <ol class="history" id="version-timeline">{timeline}</ol>
            </section>
            <section class="card">
                <h2>"Change requests"</h2>
                {if has_requests {
                    view! { <Table id="role-requests" headers=&["Change", "Requested by", "Filed", "State"]>{requests}</Table> }.into_any()
                } else {
                    view! { <EmptyState text="No change requests yet."/> }.into_any()
                }}
            </section>
        </div>
    }
}

#[component]
fn VersionCompare(role_id: String, versions: Vec<i64>, current: i64) -> impl IntoView {
    if versions.len() < 2 {
        return view! { <p class="muted">"Only one version so far."</p> }.into_any();
    }
    let query = use_query_map();
    let picked = Memo::new(move |_| {
        query.with(|q| {
            let from = q.get("from").and_then(|v| v.parse::<i64>().ok()).unwrap_or(current - 1);
            let to = q.get("to").and_then(|v| v.parse::<i64>().ok()).unwrap_or(current);
            (from, to)
        })
    });
    let diff_role = role_id.clone();
    let diff = Resource::new(move || picked.get(), move |(from, to)| load_diff(diff_role.clone(), from, to));
    let (from, to) = picked.get_untracked();
    let from_options = version_options(&versions, from);
    let to_options = version_options(&versions, to);
    view! {
        <Form method="GET" action=format!("/roles/{role_id}") attr:class="compare-form">
            <label>"From "<select name="from">{from_options}</select></label>
            <label>" to "<select name="to">{to_options}</select></label>
            <button type="submit" class="button">"Compare"</button>
        </Form>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match diff.await {
                    Ok(diff) => view! { <DiffView diff/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

fn version_options(versions: &[i64], chosen: i64) -> impl IntoView + use<> {
    versions.iter().map(|v| view! { <option value=v.to_string() selected=*v == chosen>{format!("v{v}")}</option> }).collect_view()
}

#[component]
fn RetireForm(role_id: String) -> impl IntoView {
    let action = ServerAction::<ProposeRetire>::new();
    let error = submission_error(action);
    view! {
        <details class="action-panel">
            <summary class="button danger-outline">"Propose retirement…"</summary>
            <ActionForm action attr:class="stack" attr:id="retire-role-form">
                <CsrfField/>
                <input type="hidden" name="role_id" value=role_id/>
                <p class="small">"Once approved, the role gets no new grants or versions and every current assignment ends. The role keeps its id and history."</p>
                <label for="retire-reason">"Reason"</label>
                <input id="retire-reason" type="text" name="reason" required/>
                <FieldError error field="reason"/>
                <FormError error fields=&["reason"]/>
                <button type="submit" class="button danger">"File retirement request"</button>
            </ActionForm>
        </details>
    }
}
