//! Service templates in the console: the list, one template with its versions, and proposing a
//! new template or version (a change request, like every role change).

pub mod detail;
pub mod list;
pub mod propose;

use crate::domain::template::{Template, TemplateDetail};
use crate::error::AppError;
use leptos::prelude::*;

#[server(prefix = "/rpc", endpoint = "templates/list")]
pub async fn list_templates() -> Result<Vec<Template>, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::templates::list(&store, &actor).await }).await
}

#[server(prefix = "/rpc", endpoint = "templates/detail")]
pub async fn load_template(id: String) -> Result<TemplateDetail, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::templates::detail(&store, &actor, &id).await }).await
}

/// The definition travels as the JSON people edit; a syntax error is reported on that field.
#[server(prefix = "/rpc", endpoint = "templates/propose")]
pub async fn propose_template(_csrf: String, slug: String, display_name: String, definition: String, reason: String) -> Result<String, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let definition: crate::domain::template::TemplateDefinition =
            serde_json::from_str(&definition).map_err(|e| AppError::invalid("definition", format!("The definition is not valid template JSON: {e}")))?;
        let input = crate::domain::template::TemplateInput { slug, display_name, definition, reason };
        let request = crate::service::templates::propose(&store, &actor, &input).await.map_err(onto_definition)?;
        leptos_axum::redirect(&format!("/approvals/{}", request.id));
        Ok(request.id)
    })
    .await
}

/// Problems inside the definition ("identities[1].grants[0].scope: …") are shown together next
/// to the one field that holds it.
#[cfg(feature = "ssr")]
fn onto_definition(error: AppError) -> AppError {
    let AppError::Validation { errors } = error else { return error };
    let (form, inside): (Vec<_>, Vec<_>) = errors.into_iter().partition(|e| ["slug", "display_name", "reason", "definition"].contains(&e.field.as_str()));
    let mut errors = form;
    if !inside.is_empty() {
        let message = inside.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join(" · ");
        errors.push(crate::error::FieldError { field: "definition".into(), message });
    }
    AppError::Validation { errors }
}
