//! The assignment matrix: identities × roles for a service or a scope. Cells are plain buttons
//! rendered on the server; one click handler on the table (event delegation) toggles a draft,
//! so a 200 × 40 grid hydrates and responds without thousands of bindings. Arrow keys move
//! between cells; Enter or Space toggles.

use super::{SubmitMatrix, load_matrix};
use crate::domain::actor::Capability;
use crate::domain::matrix::{Cell, DraftChange, MatrixDraft, MatrixView};
use crate::ui::components::{ChoiceOptions, ErrorNotice, FormError, Loading, PageHeader, submission_error};
use crate::ui::identities::load_choices;
use crate::ui::{can, use_session};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_navigate, use_query_map};

#[component]
pub fn MatrixPage() -> impl IntoView {
    let query = use_query_map();
    let target = Memo::new(move |_| query.with(|q| (q.get("scope"), q.get("service"))));
    let matrix = Resource::new(
        move || target.get(),
        |(scope, service)| async move {
            if scope.as_deref().unwrap_or("").is_empty() && service.as_deref().unwrap_or("").is_empty() {
                None
            } else {
                Some(load_matrix(scope, service).await)
            }
        },
    );
    let choices = Resource::new(|| (), |_| load_choices());
    view! {
        <Title text="Assignment matrix"/>
        <PageHeader title="Assignment matrix" subtitle="Who holds which role, for one service or scope. Toggle cells to draft grants and revocations; submit them as one change request."/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let (scope, service) = target.get_untracked();
                let services = choices.await.map(|c| c.services).unwrap_or_default();
                let grid = match matrix.await {
                    None => view! { <p class="muted">"Pick a service or type a scope."</p> }.into_any(),
                    Some(Ok(view)) => view! { <Grid view/> }.into_any(),
                    Some(Err(e)) => view! { <ErrorNotice error=e/> }.into_any(),
                };
                view! {
                    <Form method="GET" action="/matrix" attr:class="filters" attr:id="matrix-picker">
                        <label class="filter filter-wide"><span>"Service"</span>
                            <select name="service"><ChoiceOptions choices=services selected=service.clone() placeholder="— or a scope —"/></select>
                        </label>
                        <label class="filter filter-wide"><span>"Scope"</span>
                            <input type="text" name="scope" value=scope.clone().unwrap_or_default() placeholder="prod/payments"/>
                        </label>
                        <div class="filter-actions"><button type="submit" class="button primary">"Show matrix"</button></div>
                    </Form>
                    {grid}
                }
            })}
        </Suspense>
    }
}

fn cell_label(cell: &Cell) -> String {
    match cell {
        Cell::Held { version, expires_at: Some(_), .. } => format!("v{version} ⏱"),
        Cell::Held { version, .. } => format!("v{version}"),
        Cell::Pending => "pending".to_owned(),
        Cell::Conflict { .. } => "⚠".to_owned(),
        Cell::Empty => String::new(),
    }
}

#[component]
fn Grid(view: MatrixView) -> impl IntoView {
    let MatrixView { title, grant_scope, columns, rows, truncated } = view;
    let draft: RwSignal<Vec<DraftChange>> = RwSignal::new(Vec::new());
    let reason = RwSignal::new(String::new());
    let submit = ServerAction::<SubmitMatrix>::new();
    let error = submission_error(submit);
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(request)) = submit.value().get() {
            navigate(&format!("/approvals/{}", request.id), Default::default());
        }
    });
    let editable = can(Capability::Propose);
    let width = columns.len();
    let head = columns
        .clone()
        .into_iter()
        .map(|c| {
            view! {
                <th scope="col" class="matrix-role">
                    <A href=format!("/roles/{}", c.role_id)>{c.slug.clone()}</A>
                    <span class="muted small">{format!(" v{}", c.version)}</span>
                </th>
            }
        })
        .collect_view();
    let body = rows
        .clone()
        .into_iter()
        .enumerate()
        .map(|(r, row)| {
            let cells = row
                .cells
                .iter()
                .enumerate()
                .map(|(c, cell)| {
                    let column = columns[c].clone();
                    let title = match cell {
                        Cell::Held { expires_at: Some(e), version, .. } => format!("{} holds {} v{version} until {}", row.identity_name, column.slug, e.date()),
                        Cell::Held { version, .. } => format!("{} holds {} v{version}; select to revoke", row.identity_name, column.slug),
                        Cell::Pending => format!("A request for {} to hold {} is pending", row.identity_name, column.slug),
                        Cell::Conflict { message } => format!("Granting {} would conflict: {message}", column.slug),
                        Cell::Empty => format!("Select to grant {} to {}", column.slug, row.identity_name),
                    };
                    let assignment = match cell {
                        Cell::Held { assignment_id, .. } => assignment_id.clone(),
                        _ => String::new(),
                    };
                    view! {
                        <td>
                            <button type="button" class=format!("cell cell-{}", cell.name()) data-state=cell.name()
                                data-identity=row.identity_id.clone() data-role=column.role_id.clone() data-assignment=assignment
                                data-row=r.to_string() data-col=c.to_string() aria-pressed="false" title=title.clone() aria-label=title
                                disabled=!editable || matches!(cell, Cell::Pending)>
                                {cell_label(cell)}
                            </button>
                        </td>
                    }
                })
                .collect_view();
            view! {
                <tr>
                    <th scope="row"><A href=format!("/identities/{}", row.identity_id)>{row.identity_name.clone()}</A></th>
                    {cells}
                </tr>
            }
        })
        .collect_view();
    let row_count = rows.len();
    let on_click = move |ev: leptos::ev::MouseEvent| toggle_cell(&ev, draft);
    let on_key = move |ev: leptos::ev::KeyboardEvent| move_focus(&ev, row_count, width);
    let scope_for_submit = grant_scope.clone();
    let send = move |_| {
        let csrf = use_session().map(|s| s.csrf_token).unwrap_or_default();
        submit.dispatch(SubmitMatrix {
            _csrf: csrf,
            draft: MatrixDraft { grant_scope: scope_for_submit.clone(), changes: draft.get_untracked(), reason: reason.get_untracked() },
        });
    };
    view! {
        <section class="card matrix-card">
            <div class="card-header">
                <h2>{title}</h2>
                <span class="legend small">
                    <span class="cell cell-held">"v2"</span>" held "
                    <span class="cell cell-pending">"pending"</span>" request pending "
                    <span class="cell cell-conflict">"⚠"</span>" would conflict "
                    <span class="cell cell-drafted">"+"</span>" in your draft"
                </span>
            </div>
            {grant_scope.map(|s| view! { <p class="muted small">{format!("Grants from this matrix apply on {s}.")}</p> })}
            {truncated.then(|| view! { <p class="notice notice-info">"Showing the first 200 identities and 60 roles."</p> })}
            <div class="table-wrap matrix-wrap">
                <table class="table matrix" id="matrix" on:click=on_click on:keydown=on_key>
                    <thead><tr><th scope="col">"Identity"</th>{head}</tr></thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
            {editable.then(|| view! {
                <div class="matrix-draft" id="matrix-draft">
                    <span class="strong" id="draft-count">{move || {
                        let changes = draft.get();
                        let revokes = changes.iter().filter(|c| c.assignment_id.is_some()).count();
                        format!("Draft: {} grant(s), {} revocation(s)", changes.len() - revokes, revokes)
                    }}</span>
                    <input type="text" id="draft-reason" placeholder="Why (for the reviewers)" prop:value=move || reason.get()
                        on:input=move |ev| reason.set(event_target_value(&ev))/>
                    <button type="button" class="button primary" id="draft-submit" on:click=send
                        disabled=move || draft.with(Vec::is_empty) || submit.pending().get()>"File change request"</button>
                </div>
                <FormError error fields=&[]/>
            })}
        </section>
    }
}

/// Toggles the clicked cell in the draft and marks it, without a reactive binding per cell.
fn toggle_cell(ev: &leptos::ev::MouseEvent, draft: RwSignal<Vec<DraftChange>>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(button) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).and_then(|e| e.closest("button[data-role]").ok().flatten()) else {
            return;
        };
        let state = button.get_attribute("data-state").unwrap_or_default();
        if state == "pending" || button.has_attribute("disabled") {
            return;
        }
        let change = DraftChange {
            identity_id: button.get_attribute("data-identity").unwrap_or_default(),
            role_id: button.get_attribute("data-role").unwrap_or_default(),
            assignment_id: button.get_attribute("data-assignment").filter(|a| !a.is_empty()),
        };
        let mut drafted = false;
        draft.update(|d| match d.iter().position(|c| c == &change) {
            Some(i) => {
                d.remove(i);
            }
            None => {
                d.push(change);
                drafted = true;
            }
        });
        let marker = if state == "held" { "cell-revoking" } else { "cell-drafted" };
        let _ = if drafted { button.class_list().add_1(marker) } else { button.class_list().remove_1(marker) };
        let _ = button.set_attribute("aria-pressed", if drafted { "true" } else { "false" });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, draft);
}

/// Arrow keys move focus between cells, like a spreadsheet.
fn move_focus(ev: &leptos::ev::KeyboardEvent, rows: usize, columns: usize) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let (dr, dc): (i64, i64) = match ev.key().as_str() {
            "ArrowUp" => (-1, 0),
            "ArrowDown" => (1, 0),
            "ArrowLeft" => (0, -1),
            "ArrowRight" => (0, 1),
            _ => return,
        };
        let Some(current) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
        let at = |name: &str| current.get_attribute(name).and_then(|v| v.parse::<i64>().ok());
        let (Some(r), Some(c)) = (at("data-row"), at("data-col")) else { return };
        let (r, c) = ((r + dr).clamp(0, rows as i64 - 1), (c + dc).clamp(0, columns as i64 - 1));
        if let Some(next) = document()
            .query_selector(&format!("#matrix button[data-row=\"{r}\"][data-col=\"{c}\"]"))
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            ev.prevent_default();
            let _ = next.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, rows, columns);
}
