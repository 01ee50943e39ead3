//! Separation of duties: the rules, their exceptions, and the violations standing today.

use super::picker::RolePicker;
use super::{AddException, AddRolePair, SodOverview, ToggleRule, load_sod};
use crate::domain::actor::Capability;
use crate::domain::sod::SodRuleKind;
use crate::ui::components::{Badge, ChoiceOptions, EmptyState, ErrorNotice, FieldError, FormError, Loading, PageHeader, Table, submission_error, successes};
use crate::ui::{CsrfField, can};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SodPage() -> impl IntoView {
    let toggle = ServerAction::<ToggleRule>::new();
    let pair = ServerAction::<AddRolePair>::new();
    let exception = ServerAction::<AddException>::new();
    let (t, p, e) = (successes(toggle), successes(pair), successes(exception));
    let overview = Resource::new(move || (t.get(), p.get(), e.get()), |_| load_sod());
    view! {
        <Title text="Separation of duties"/>
        <PageHeader title="Separation of duties" subtitle="What one identity must not hold at once, the exceptions granted, and the conflicts standing today."/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(overview) => view! { <SodView overview toggle pair exception/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SodView(overview: SodOverview, toggle: ServerAction<ToggleRule>, pair: ServerAction<AddRolePair>, exception: ServerAction<AddException>) -> impl IntoView {
    let admin = can(Capability::Administer);
    let query = use_query_map();
    let (prefill_identity, prefill_resource) = query.with_untracked(|q| (q.get("identity").unwrap_or_default(), q.get("resource").unwrap_or_default()));
    let open_exception_form = !prefill_identity.is_empty();
    let pair_error = submission_error(pair);
    let exception_error = submission_error(exception);
    let toggle_error = submission_error(toggle);
    let rule_options: Vec<crate::domain::page::Choice> = overview
        .rules
        .iter()
        .map(|(r, slugs)| crate::domain::page::Choice {
            id: r.id.clone(),
            label: match slugs {
                Some((a, b)) => format!("{a} ✕ {b}"),
                None => "read/write split".to_owned(),
            },
        })
        .collect();
    let rules = overview
        .rules
        .iter()
        .map(|(rule, slugs)| {
            let what = match (&rule.kind, slugs) {
                (SodRuleKind::ReadWrite, _) => "Read and write of one resource through different roles".to_owned(),
                (SodRuleKind::RolePair { .. }, Some((a, b))) => format!("{a} together with {b}"),
                _ => String::new(),
            };
            let (next, verb) = if rule.enabled { ("false", "Disable") } else { ("true", "Enable") };
            let id = rule.id.clone();
            view! {
                <tr>
                    <td class="strong">{what}</td>
                    <td class="small">{rule.description.clone()}</td>
                    <td><Badge tone=if rule.enabled { "active" } else { "retired" } text=if rule.enabled { "Enforced" } else { "Disabled" }/></td>
                    <td class="row-actions">
                        {admin.then(|| view! {
                            <ActionForm action=toggle attr:class="inline-form">
                                <CsrfField/>
                                <input type="hidden" name="rule_id" value=id/>
                                <input type="hidden" name="enabled" value=next/>
                                <button type="submit" class="button">{verb}</button>
                            </ActionForm>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let now = overview.as_of;
    let exceptions = overview
        .exceptions
        .clone()
        .into_iter()
        .map(|x| {
            let active = x.is_active(now);
            view! {
                <tr>
                    <td><A href=format!("/identities/{}", x.identity_id)>{x.identity_id.clone()}</A></td>
                    <td><code>{x.resource.clone().unwrap_or_else(|| "—".into())}</code></td>
                    <td class="small">{x.justification.clone()}</td>
                    <td>{x.approved_by.clone()}</td>
                    <td class="nowrap">{x.expires_at.date()}</td>
                    <td><Badge tone=if active { "active" } else { "retired" } text=if active { "Active" } else { "Expired" }/></td>
                </tr>
            }
        })
        .collect_view();
    let has_exceptions = !overview.exceptions.is_empty();
    let violations = overview
        .violations
        .items
        .clone()
        .into_iter()
        .map(|f| {
            let id = f.identity_id.clone();
            let add = format!("/sod?identity={id}&resource={}", f.subject_id.as_deref().map(resource_of).unwrap_or_default());
            view! {
                <tr>
                    <td><A href=format!("/identities/{id}") attr:class="strong">{f.identity_name.clone()}</A></td>
                    <td class="small">{f.detail.clone()}</td>
                    <td><Badge tone="danger" text="Violation"/></td>
                    <td>{admin.then(|| view! { <A href=add>"Add exception…"</A> })}</td>
                </tr>
            }
        })
        .collect_view();
    let has_violations = !overview.violations.items.is_empty();
    let total = overview.violations.total;
    let more = (total > overview.violations.items.len() as i64).then(|| {
        view! {
            <p class="muted" id="sod-more">
                {format!("Showing {} of {total}. ", overview.violations.items.len())}
                <A href="/hygiene?kind=sod_violation">"All of them in the Hygiene report"</A>
                " (with a CSV download)."
            </p>
        }
    });
    view! {
        <FormError error=toggle_error fields=&[]/>
        <section class="card">
            <h2>"Rules"</h2>
            <Table id="sod-rules" headers=&["Rule", "Why", "State", ""]>{rules}</Table>
            {admin.then(|| view! {
                <details class="form-panel">
                    <summary class="button">"Add a conflicting role pair…"</summary>
                    <ActionForm action=pair attr:class="form-grid" attr:id="sod-pair-form">
                        <CsrfField/>
                        <div class="field"><label for="pair-a">"Role"</label>
                            <RolePicker id="pair-a" name="role_a" required=true/>
                            <FieldError error=pair_error field="role_a"/></div>
                        <div class="field"><label for="pair-b">"conflicts with"</label>
                            <RolePicker id="pair-b" name="role_b" required=true/>
                            <FieldError error=pair_error field="role_b"/></div>
                        <div class="field field-wide"><label for="pair-why">"Why"</label>
                            <input id="pair-why" type="text" name="description" required placeholder="Who deploys must not also approve releases"/>
                            <FieldError error=pair_error field="description"/></div>
                        <div class="form-actions"><FormError error=pair_error fields=&["role_a", "role_b", "description"]/>
                            <button type="submit" class="button primary">"Add rule"</button></div>
                    </ActionForm>
                </details>
            })}
        </section>
        <section class="card">
            <h2>"Violations today"</h2>
            {if has_violations {
                view! { <Table id="sod-violations" headers=&["Identity", "Conflict", "", ""]>{violations}</Table> {more} }.into_any()
            } else {
                view! { <EmptyState text="No identity holds conflicting access."/> }.into_any()
            }}
        </section>
        <section class="card">
            <h2>"Exceptions"</h2>
            {if has_exceptions {
                view! { <Table id="sod-exceptions" headers=&["Identity", "Resource", "Justification", "Approved by", "Expires", "State"]>{exceptions}</Table> }.into_any()
            } else {
                view! { <EmptyState text="No exceptions."/> }.into_any()
            }}
            {admin.then(|| view! {
                <details class="form-panel" open=open_exception_form>
                    <summary class="button">"Grant an exception…"</summary>
                    <ActionForm action=exception attr:class="form-grid" attr:id="sod-exception-form">
                        <CsrfField/>
                        <div class="field"><label for="x-rule">"Rule"</label>
                            <select id="x-rule" name="rule_id" required><ChoiceOptions choices=rule_options.clone() selected=Some("read-write-split".to_owned()) placeholder="Choose" required=true/></select></div>
                        <div class="field"><label for="x-identity">"Identity id"</label>
                            <input id="x-identity" type="text" name="identity_id" value=prefill_identity.clone() required/>
                            <FieldError error=exception_error field="identity_id"/></div>
                        <div class="field"><label for="x-resource">"Resource (read/write rule)"</label>
                            <input id="x-resource" type="text" name="resource" value=prefill_resource.clone() placeholder="db:ledger"/>
                            <FieldError error=exception_error field="resource"/></div>
                        <div class="field"><label for="x-expires">"Expires (within a year)"</label>
                            <input id="x-expires" type="date" name="expires_at" required/>
                            <FieldError error=exception_error field="expires_at"/></div>
                        <div class="field field-wide"><label for="x-why">"Justification"</label>
                            <input id="x-why" type="text" name="justification" required/>
                            <FieldError error=exception_error field="justification"/></div>
                        <div class="form-actions"><FormError error=exception_error fields=&["identity_id", "resource", "expires_at", "justification"]/>
                            <button type="submit" class="button primary">"Grant exception"</button></div>
                    </ActionForm>
                </details>
            })}
        </section>
    }
}

/// The resource of a stored SoD finding's subject, `rule/resource/role/role` (empty for a role
/// pair). Resources may hold slashes; rule ids and role ids do not.
fn resource_of(subject: &str) -> String {
    let Some((_, rest)) = subject.split_once('/') else { return String::new() };
    let mut parts = rest.rsplitn(3, '/');
    let (_, _, resource) = (parts.next(), parts.next(), parts.next());
    resource.unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_resource_comes_out_of_a_subject_even_with_slashes() {
        assert_eq!(super::resource_of("read-write-split/db:ledger/R1/R2"), "db:ledger");
        assert_eq!(super::resource_of("read-write-split/api:prod/payments/R1/R2"), "api:prod/payments");
        assert_eq!(super::resource_of("pair-1//R1/R2"), "");
        assert_eq!(super::resource_of("junk"), "");
    }
}
