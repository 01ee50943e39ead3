//! Building blocks shared by the pages.

use crate::domain::labels::Labels;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::components::A;

#[component]
pub fn PageHeader(
    #[prop(into)] title: String,
    #[prop(optional, into)] subtitle: Option<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <header class="page-header">
            <div>
                <h1>{title}</h1>
                {subtitle.map(|s| view! { <p class="subtitle">{s}</p> })}
            </div>
            <div class="page-actions">{children.map(|c| c())}</div>
        </header>
    }
}

/// A coloured pill for a status or kind; `tone` picks the colour (see `.badge-*` in the CSS).
#[component]
pub fn Badge(#[prop(into)] tone: String, #[prop(into)] text: String) -> impl IntoView {
    view! { <span class=format!("badge badge-{tone}")>{text}</span> }
}

#[component]
pub fn LabelChips(labels: Labels) -> impl IntoView {
    let chips = labels.iter().map(|(k, v)| view! { <span class="chip"><span class="chip-key">{k.clone()}</span>"="{v.clone()}</span> }).collect_view();
    view! { <span class="chips">{chips}</span> }
}

/// Shows an error that is not about one form field, with its stable code for support.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    let code = error.code();
    let message = match &error {
        AppError::Validation { errors } if errors.len() > 1 => errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    };
    view! {
        <div class="notice notice-error" role="alert">
            <strong>{message}</strong>
            <span class="notice-code">{code}</span>
        </div>
    }
}

/// The error returned by the last submission of a form, if any.
pub fn submission_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    // Read once here, and with `try_with` below: a server render cut short may dispose of the
    // action before the signal's last read.
    let value = action.value();
    Signal::derive(move || value.try_with(|v| v.as_ref().and_then(|r| r.as_ref().err().cloned())).flatten())
}

/// A counter that moves each time `action` succeeds, to refetch what it changed. Failed
/// submissions leave the page (and what was typed) alone.
pub fn successes<S>(action: ServerAction<S>) -> RwSignal<usize>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let count = RwSignal::new(0usize);
    Effect::new(move |_| {
        if action.value().with(|v| matches!(v, Some(Ok(_)))) {
            count.update(|n| *n += 1);
        }
    });
    count
}

/// The message for one field, under the input it belongs to.
#[component]
pub fn FieldError(error: Signal<Option<AppError>>, field: &'static str) -> impl IntoView {
    // `try_get`: a server render cut short (the client went away) may dispose of the action
    // before this last read; that is no error worth a panic.
    move || {
        error.try_get().flatten().and_then(|e| e.field_message(field)).map(|message| {
            view! { <p class="field-error" id=format!("{field}-error") role="alert">{message}</p> }
        })
    }
}

/// Errors of a submission that no field shows (permission, conflict, server trouble), or a
/// pointer to the fields when there are field errors.
#[component]
pub fn FormError(error: Signal<Option<AppError>>, fields: &'static [&'static str]) -> impl IntoView {
    move || {
        error.try_get().flatten().map(|e| {
            let about_fields = fields.iter().any(|f| e.field_message(f).is_some());
            if about_fields {
                view! {
                    <div class="notice notice-error" role="alert">
                        <strong>"Please correct the fields marked below."</strong>
                    </div>
                }
                .into_any()
            } else {
                view! { <ErrorNotice error=e/> }.into_any()
            }
        })
    }
}

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" aria-busy="true">"Loading…"</p> }
}

/// Keyset pagination: a link to the next page and back to the first.
#[component]
pub fn Pager(#[prop(into)] shown: usize, total: i64, #[prop(into)] noun: String, next_href: Option<String>, first_href: Option<String>) -> impl IntoView {
    view! {
        <nav class="pager" aria-label="Pages">
            <span class="pager-count">
                {format!("Showing {} of {} {}", shown, super::format::count(total), noun)}
            </span>
            <span class="pager-links">
                {first_href.map(|href| view! { <A href=href attr:class="button ghost">"« First page"</A> })}
                {next_href.map(|href| view! { <A href=href attr:class="button" attr:rel="next">"Next page »"</A> })}
            </span>
        </nav>
    }
}

#[component]
pub fn EmptyState(#[prop(into)] text: String) -> impl IntoView {
    view! { <p class="empty">{text}</p> }
}

/// One line per change in an audit event's detail, readable without knowing the JSON shape.
fn describe_detail(detail: &str) -> Vec<String> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(detail) else {
        return vec![detail.to_owned()];
    };
    let show = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) if s.is_empty() => "—".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".to_owned(),
        other => other.to_string(),
    };
    let mut lines = Vec::new();
    for (key, value) in &map {
        match (key.as_str(), value) {
            ("changes", serde_json::Value::Object(changes)) => {
                for (field, change) in changes {
                    lines.push(format!("{field}: {} → {}", show(&change["from"]), show(&change["to"])));
                }
            }
            ("after", serde_json::Value::Object(after)) => {
                for (field, v) in after {
                    if !matches!(v, serde_json::Value::Null) && v.as_str() != Some("") {
                        lines.push(format!("{field}: {}", show(v)));
                    }
                }
            }
            (key, value) if !matches!(value, serde_json::Value::Null) => lines.push(format!("{key}: {}", show(value))),
            _ => {}
        }
    }
    lines
}

/// The audit history of one subject, newest first.
#[component]
pub fn History(events: Vec<crate::domain::audit::AuditEvent>) -> impl IntoView {
    if events.is_empty() {
        return view! { <EmptyState text="No recorded events."/> }.into_any();
    }
    let items = events
        .into_iter()
        .map(|e| {
            let lines = describe_detail(&e.detail).into_iter().map(|l| view! { <li>{l}</li> }).collect_view();
            view! {
                <li class="event">
                    <div class="event-head">
                        <code class="event-action">{e.action.clone()}</code>
                        <span class="muted">{format!(" by {} · {} · #{}", e.actor_name, e.at.short(), e.seq)}</span>
                    </div>
                    <ul class="event-detail">{lines}</ul>
                </li>
            }
        })
        .collect_view();
    view! { <ol class="history">{items}</ol> }.into_any()
}

/// A data table with its header row; `headers` ending in `#` are right-aligned numbers.
#[component]
pub fn Table(#[prop(into)] id: String, headers: &'static [&'static str], children: Children) -> impl IntoView {
    let headers = headers
        .iter()
        .map(|h| match h.strip_suffix('#') {
            Some(h) => view! { <th scope="col" class="num">{h.trim()}</th> },
            None => view! { <th scope="col" class="">{*h}</th> },
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="table" id=id>
                <thead><tr>{headers}</tr></thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}

/// `<option>`s for a picker: a first, empty choice (`placeholder`), then `choices`.
#[component]
pub fn ChoiceOptions(
    choices: Vec<crate::domain::page::Choice>,
    #[prop(into)] selected: Option<String>,
    placeholder: &'static str,
    /// The empty choice cannot be picked again once something is chosen (required fields).
    #[prop(optional)]
    required: bool,
) -> impl IntoView {
    let nothing = selected.as_deref().is_none_or(str::is_empty);
    let items = choices
        .into_iter()
        .map(|c| {
            let is_selected = selected.as_deref() == Some(c.id.as_str());
            view! { <option value=c.id selected=is_selected>{c.label}</option> }
        })
        .collect_view();
    view! {
        <option value="" disabled=required selected=nothing>{placeholder}</option>
        {items}
    }
}

/// The end of a form: what went wrong (if anything), the submit button, a way back.
#[component]
pub fn FormActions(
    error: Signal<Option<AppError>>,
    fields: &'static [&'static str],
    #[prop(into)] submit: String,
    pending: Memo<bool>,
    #[prop(into)] cancel_href: String,
) -> impl IntoView {
    view! {
        <div class="form-actions">
            <FormError error fields/>
            <button type="submit" class="button primary" disabled=pending>{submit}</button>
            <A href=cancel_href attr:class="button ghost">"Cancel"</A>
        </div>
    }
}
