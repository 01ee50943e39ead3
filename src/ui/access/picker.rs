//! A role picker that scales with the catalog: a text field taking a role's slug, with
//! suggestions fetched as someone types. The page renders no role list (ten thousand roles made
//! every page with a grant form a megabyte and a catalog read); before the bundle hydrates the
//! field still works, as a plain slug typed in.

use super::load_role_choices;
use leptos::prelude::*;

#[component]
pub fn RolePicker(
    /// The field's id (the datalist is `{id}-choices`).
    id: &'static str,
    /// The form field the slug is submitted as.
    name: &'static str,
    #[prop(into, optional)] value: String,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let typed = RwSignal::new(value.clone());
    // Local: suggestions are the browser's business; the server renders an empty list, so the
    // page costs no catalog read and hydrates to the same markup.
    let suggestions = LocalResource::new(move || load_role_choices(typed.get()));
    let list = format!("{id}-choices");
    view! {
        <input
            id=id
            type="text"
            name=name
            list=list.clone()
            value=value
            required=required
            autocomplete="off"
            spellcheck="false"
            placeholder="Type to search roles"
            on:input=move |ev| typed.set(event_target_value(&ev))
        />
        <datalist id=list>
            {move || {
                suggestions
                    .get()
                    .and_then(Result::ok)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| view! { <option value=c.id>{c.label}</option> })
                    .collect_view()
            }}
        </datalist>
    }
}
