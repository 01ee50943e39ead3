//! Service templates: listing them, proposing new ones and new versions (as change requests), and
//! applying an approved proposal.

use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::audit::AuditEntry;
use crate::domain::change::{ChangePayload, ChangeRequest};
use crate::domain::name::{self, RoleSlug};
use crate::domain::role::{RoleStatus, Sensitivity};
use crate::domain::template::{Template, TemplateDefinition, TemplateDetail, TemplateInput};
use crate::error::{AppError, Problems};
use crate::store::{self, Store, audit, roles, templates};
use serde_json::json;
use sqlx::AnyConnection;

pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<Template>, AppError> {
    require(actor, Capability::ReadLedger)?;
    templates::all(&mut *store.read().await?).await
}

/// A template by id or slug, with all its versions.
pub async fn detail(store: &Store, actor: &Actor, key: &str) -> Result<TemplateDetail, AppError> {
    require(actor, Capability::ReadLedger)?;
    let mut conn = store.read().await?;
    let template = templates::by_key(&mut conn, key).await?.ok_or_else(|| AppError::not_found("Template", key))?;
    let versions = templates::versions(&mut conn, &template.id).await?;
    Ok(TemplateDetail { template, versions })
}

/// Every role the definition grants must exist and be active. The template is as sensitive as
/// the most sensitive role it hands out: a template granting a privileged role is reviewed
/// like that role.
async fn check_roles(conn: &mut AnyConnection, definition: &TemplateDefinition, problems: &mut Problems) -> Result<Sensitivity, AppError> {
    let mut sensitivity = Sensitivity::Standard;
    for slug in definition.roles() {
        match roles::by_slug(conn, &slug).await? {
            None => problems.add("definition", format!("No role has slug \"{slug}\".")),
            Some(role) if role.status == RoleStatus::Retired => problems.add("definition", format!("Role {slug} is retired; a template cannot grant it.")),
            Some(role) if role.sensitivity == Sensitivity::Privileged => sensitivity = Sensitivity::Privileged,
            Some(_) => {}
        }
    }
    Ok(sensitivity)
}

/// Files a change request creating the template, or a new version of it when the slug exists.
pub async fn propose(store: &Store, actor: &Actor, input: &TemplateInput) -> Result<ChangeRequest, AppError> {
    require(actor, Capability::Propose)?;
    super::require_unlimited(actor, "propose templates, which apply to every scope")?;
    let mut problems = Problems::new();
    let slug = problems.check("slug", RoleSlug::parse(&input.slug).map_err(|e| e.replace("Role slug", "Template slug")));
    let display_name = problems.check("display_name", name::text(&input.display_name, "Display name", 120, false));
    let reason = problems.check("reason", super::changes::reason(&input.reason));
    input.definition.check(&mut problems);
    let (payload, subject, sensitivity, subject_id) = {
        let mut conn = store.read().await?;
        let sensitivity = check_roles(&mut conn, &input.definition, &mut problems).await?;
        problems.into_result()?;
        let (Some(slug), Some(display_name)) = (slug, display_name) else {
            return Err(AppError::invalid("request", "The template form is incomplete."));
        };
        let existing = templates::by_key(&mut conn, slug.as_str()).await?;
        if existing.as_ref().is_some_and(|t| t.definition == input.definition) {
            return Err(AppError::invalid("definition", "This is the current definition; change something to propose a new version."));
        }
        let display_name = match (&existing, display_name.is_empty()) {
            (Some(t), true) => t.display_name.clone(),
            (None, true) => slug.to_string(),
            (_, false) => display_name,
        };
        let subject_id = existing.as_ref().map(|t| t.id.clone());
        let subject = slug.to_string();
        let payload = ChangePayload::Template {
            template_id: existing.as_ref().map(|t| t.id.clone()),
            slug: slug.to_string(),
            display_name,
            base_version: existing.as_ref().map(|t| t.current_version),
            definition: input.definition.clone(),
        };
        (payload, subject, sensitivity, subject_id)
    };
    let reason = reason.unwrap_or_default();
    super::changes::file(store, actor, payload, &subject, subject_id.as_deref(), sensitivity, &reason).await
}

/// Carries out an approved template change inside the approving transaction.
pub async fn apply(conn: &mut AnyConnection, actor: &Actor, request: &ChangeRequest, now: Timestamp) -> Result<serde_json::Value, AppError> {
    let ChangePayload::Template { template_id, slug, display_name, base_version, definition } = &request.payload else {
        return Err(AppError::internal("apply template", "not a template change"));
    };
    let mut problems = Problems::new();
    check_roles(conn, definition, &mut problems).await?;
    if let Err(AppError::Validation { errors }) = problems.into_result() {
        let first = errors.first().map(|e| e.message.clone()).unwrap_or_default();
        return Err(AppError::invalid_state(format!("{first} Reject this request and propose the template again.")));
    }
    let (id, version) = match template_id {
        None => {
            let id = store::new_id();
            templates::insert(conn, &id, slug, display_name, now).await?;
            (id, 1)
        }
        Some(id) => {
            let current = templates::by_key(conn, id).await?.ok_or_else(|| AppError::not_found("Template", id))?;
            if Some(current.current_version) != *base_version {
                return Err(AppError::invalid_state(format!(
                    "Template {slug} changed since this was proposed (now v{}); reject it and propose again.",
                    current.current_version
                )));
            }
            (id.clone(), current.current_version + 1)
        }
    };
    templates::insert_version(
        conn,
        &templates::NewVersion { template_id: &id, version, definition, author: &request.requester_name, change_request_id: Some(&request.id) },
        now,
    )
    .await?;
    audit::append(
        conn,
        actor,
        AuditEntry::new(
            if version == 1 { "template.create" } else { "template.version" },
            "template",
            &id,
            json!({ "slug": slug, "version": version, "change_request": request.id }),
        ),
    )
    .await?;
    Ok(json!({ "template_id": id, "version": version }))
}
