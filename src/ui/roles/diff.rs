//! The rendering of a role diff: permissions added, removed and unchanged, scope and
//! justification changes, and the description's words.

use crate::domain::role::{ActionClass, Permission, RoleDiff, SpanChange};
use leptos::prelude::*;

fn class_badge(permission: &Permission) -> impl IntoView + use<> {
    let class = permission.class();
    let tone = match class {
        ActionClass::Read => "kind",
        ActionClass::Write => "warning",
        ActionClass::Admin => "danger",
    };
    view! { <span class=format!("badge badge-{tone}")>{class.label()}</span> }
}

#[component]
pub fn DiffView(diff: RoleDiff) -> impl IntoView {
    let RoleDiff { added, removed, unchanged, scope, description, justification, rules_added, rules_removed } = diff;
    let source_rules = (!rules_added.is_empty() || !rules_removed.is_empty()).then(|| {
        let rows = rules_added
            .into_iter()
            .map(|r| ("added", "+", r))
            .chain(rules_removed.into_iter().map(|r| ("removed", "−", r)))
            .map(|(change, mark, rule)| {
                view! {
                    <li class=format!("diff-{change}")><span class="diff-mark" aria-label=change>{mark}</span>" "<code>{rule.summary()}</code></li>
                }
            })
            .collect_view();
        view! {
            <p class="diff-line muted">"Rules as the source states them:"</p>
            <ul class="diff-rules" id="diff-rules">{rows}</ul>
        }
    });
    let rows = added
        .into_iter()
        .map(|p| ("added", "+", p))
        .chain(removed.into_iter().map(|p| ("removed", "−", p)))
        .chain(unchanged.into_iter().map(|p| ("unchanged", " ", p)))
        .map(|(change, mark, p)| {
            let badge = class_badge(&p);
            view! {
                <tr class=format!("diff-{change}")>
                    <td class="diff-mark" aria-label=change>{mark}</td>
                    <td><code>{p.action.clone()}</code></td>
                    <td><code>{p.resource.clone()}</code></td>
                    <td>{badge}</td>
                </tr>
            }
        })
        .collect_view();
    let description = description
        .into_iter()
        .map(|span| match span.change {
            SpanChange::Same => view! { <span>{span.text}" "</span> }.into_any(),
            SpanChange::Added => view! { <ins>{span.text}</ins>" " }.into_any(),
            SpanChange::Removed => view! { <del>{span.text}</del>" " }.into_any(),
        })
        .collect_view();
    view! {
        <div class="diff">
            {scope.map(|(from, to)| view! {
                <p class="diff-line">
                    <span class="muted">"Scope: "</span>
                    {(!from.is_empty()).then(|| view! { <del><code>{from.clone()}</code></del>" → " })}
                    <ins><code>{to}</code></ins>
                </p>
            })}
            <div class="table-wrap">
                <table class="table diff-table" id="diff-table">
                    <thead><tr><th scope="col"></th><th scope="col">"Action"</th><th scope="col">"Resource"</th><th scope="col">"Class"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            {source_rules}
            <p class="diff-line"><span class="muted">"Description: "</span>{description}</p>
            {justification.map(|(from, to)| view! {
                <p class="diff-line">
                    <span class="muted">"Justification: "</span>
                    {from.map(|f| view! { <del>{f}</del>" → " })}
                    {to.map(|t| view! { <ins>{t}</ins> })}
                </p>
            })}
        </div>
    }
}

/// Who gains and loses what, and the separation-of-duty findings, for a pending request.
#[component]
pub fn BlastView(blast: crate::domain::blast::BlastRadius) -> impl IntoView {
    let summary = blast.summary();
    let list = |deltas: Vec<crate::domain::blast::Delta>, total: i64, sign: &'static str| {
        let shown = deltas.len() as i64;
        let rows = deltas
            .into_iter()
            .map(|d| {
                let perms = d.permissions.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ");
                view! {
                    <tr>
                        <td><a href=format!("/identities/{}", d.identity_id)>{d.identity_name}</a></td>
                        <td>{d.role_slug}</td>
                        <td><code>{d.scope}</code></td>
                        <td class="small">{format!("{sign} {perms}")}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <tbody>{rows}</tbody>
            {(total > shown).then(|| view! { <tbody><tr><td colspan="4" class="muted">{format!("… and {} more", total - shown)}</td></tr></tbody> })}
        }
    };
    let findings = blast
        .findings
        .iter()
        .map(|f| {
            let tone = if f.blocks() { "notice notice-error" } else { "notice notice-info" };
            let note = match &f.excepted_by {
                Some(_) => " (covered by an exception)".to_owned(),
                None => " — blocks approval".to_owned(),
            };
            view! { <p class=tone>{format!("{}{note}", f.message)}</p> }
        })
        .collect_view();
    view! {
        <section class="card" id="blast-radius">
            <h2>"Blast radius"</h2>
            <p class="holders-summary">{summary}</p>
            {findings}
            {blast.escalation.clone().map(|delta| view! { <crate::ui::access::escalation::EscalationChange delta/> })}
            {(blast.gaining_count > 0).then(|| view! {
                <h3>"Gaining"</h3>
                <div class="table-wrap">
                    <table class="table" id="blast-gaining">
                        <thead><tr><th scope="col">"Identity"</th><th scope="col">"Role"</th><th scope="col">"Scope"</th><th scope="col">"Permissions"</th></tr></thead>
                        {list(blast.gaining.clone(), blast.gaining_count, "+")}
                    </table>
                </div>
            })}
            {(blast.losing_count > 0).then(|| view! {
                <h3>"Losing"</h3>
                <div class="table-wrap">
                    <table class="table" id="blast-losing">
                        <thead><tr><th scope="col">"Identity"</th><th scope="col">"Role"</th><th scope="col">"Scope"</th><th scope="col">"Permissions"</th></tr></thead>
                        {list(blast.losing.clone(), blast.losing_count, "−")}
                    </table>
                </div>
            })}
        </section>
    }
}
