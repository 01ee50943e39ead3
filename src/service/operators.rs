//! Operator administration (admins) and each operator's own account.

use super::auth::Session;
use super::require;
use super::secrets::{generated_password, hash_password, verify_password};
use crate::domain::Timestamp;
use crate::domain::access::AccessPolicy;
use crate::domain::actor::{Actor, Capability};
use crate::domain::audit::{AuditEntry, changed_fields};
use crate::domain::operator::{Operator, OperatorDraft, OperatorInput, OperatorStatus, check_password, roles_to_text};
use crate::error::AppError;
use crate::store::{self, Store, audit, operators, sessions};
use serde_json::json;
use sqlx::AnyConnection;

async fn fetch(conn: &mut AnyConnection, id: &str) -> Result<Operator, AppError> {
    operators::by_id(conn, id).await?.ok_or_else(|| AppError::not_found("Operator", id))
}

pub async fn by_email(store: &Store, actor: &Actor, email: &str) -> Result<Operator, AppError> {
    require(actor, Capability::Administer)?;
    let email = crate::domain::operator::parse_email(email).map_err(|e| AppError::invalid("email", e))?;
    operators::by_email(&mut *store.read().await?, &email).await?.ok_or_else(|| AppError::not_found("Operator", &email))
}

pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<Operator>, AppError> {
    require(actor, Capability::Administer)?;
    operators::all(&mut *store.read().await?).await
}

/// Creates an operator. Without a password one is generated and returned, to be handed over
/// once; the operator should change it at first sign-in.
pub async fn create(store: &Store, actor: &Actor, input: &OperatorInput, password: Option<&str>) -> Result<(Operator, Option<String>), AppError> {
    require(actor, Capability::Administer)?;
    let draft = input.parse()?;
    let (password, generated) = match password.map(str::to_owned).filter(|p| !p.is_empty()) {
        Some(p) => (p, None),
        None => {
            let p = generated_password();
            (p.clone(), Some(p))
        }
    };
    check_password(&password, &draft.email).map_err(|e| AppError::invalid("password", e))?;
    let hash = hash_password(password).await?;
    let id = store::new_id();
    let mut tx = store.begin().await?;
    operators::insert(tx.conn(), &id, &draft, Some(&hash), Timestamp::now()).await?;
    audit::append(
        tx.conn(),
        actor,
        AuditEntry::new(
            "operator.create",
            "operator",
            &id,
            json!({ "after": {
                "name": draft.name, "email": draft.email, "roles": roles_to_text(&draft.roles),
            }}),
        ),
    )
    .await?;
    let operator = fetch(tx.conn(), &id).await?;
    tx.commit().await?;
    Ok((operator, generated))
}

/// Changes name, e-mail or console roles. Admins cannot take the admin role from themselves,
/// so the console never locks itself out by accident.
pub async fn update(store: &Store, actor: &Actor, id: &str, input: &OperatorInput) -> Result<Operator, AppError> {
    require(actor, Capability::Administer)?;
    let draft: OperatorDraft = input.parse()?;
    if actor.id == id && !draft.roles.contains(&crate::domain::actor::ConsoleRole::Admin) {
        return Err(AppError::invalid("roles", "You cannot remove the admin role from yourself; ask another admin."));
    }
    let mut tx = store.begin().await?;
    let before = fetch(tx.conn(), id).await?;
    let changes = changed_fields(
        &json!({ "name": before.name, "email": before.email, "roles": roles_to_text(&before.roles) }),
        &json!({ "name": draft.name, "email": draft.email, "roles": roles_to_text(&draft.roles) }),
    );
    if changes.as_object().is_some_and(|c| c.is_empty()) {
        return Ok(before);
    }
    operators::update(tx.conn(), id, &draft, Timestamp::now()).await?;
    audit::append(tx.conn(), actor, AuditEntry::new("operator.update", "operator", id, json!({ "changes": changes }))).await?;
    let operator = fetch(tx.conn(), id).await?;
    tx.commit().await?;
    Ok(operator)
}

/// Disables (ending every session at once) or re-enables an operator.
pub async fn set_status(store: &Store, actor: &Actor, id: &str, status: &str) -> Result<Operator, AppError> {
    require(actor, Capability::Administer)?;
    let status = OperatorStatus::parse(status).map_err(|e| AppError::invalid("status", e))?;
    if actor.id == id && status == OperatorStatus::Disabled {
        return Err(AppError::invalid_state("You cannot disable yourself; ask another admin."));
    }
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    let before = fetch(tx.conn(), id).await?;
    if before.status == status {
        return Err(AppError::invalid_state(format!("{} is already {}.", before.name, status.label().to_lowercase())));
    }
    operators::set_status(tx.conn(), id, status, now).await?;
    let ended = if status == OperatorStatus::Disabled { sessions::end_all_of_operator(tx.conn(), id, now, "operator disabled").await? } else { 0 };
    let action = if status == OperatorStatus::Disabled { "operator.disable" } else { "operator.enable" };
    audit::append(tx.conn(), actor, AuditEntry::new(action, "operator", id, json!({ "sessions_ended": ended }))).await?;
    let operator = fetch(tx.conn(), id).await?;
    tx.commit().await?;
    Ok(operator)
}

/// Sets a new generated password (returned once) and ends the operator's sessions.
pub async fn reset_password(store: &Store, actor: &Actor, id: &str) -> Result<String, AppError> {
    require(actor, Capability::Administer)?;
    let password = generated_password();
    let hash = hash_password(password.clone()).await?;
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    fetch(tx.conn(), id).await?;
    operators::set_password_hash(tx.conn(), id, &hash, now).await?;
    let ended = sessions::end_all_of_operator(tx.conn(), id, now, "password reset").await?;
    audit::append(tx.conn(), actor, AuditEntry::new("operator.reset_password", "operator", id, json!({ "sessions_ended": ended }))).await?;
    tx.commit().await?;
    Ok(password)
}

/// An operator changes their own password; every other session of theirs ends. The current
/// password check is throttled like sign-in (a stolen session cannot guess it quickly) and each
/// failed check is audited.
pub async fn change_own_password(store: &Store, policy: &AccessPolicy, session: &Session, current: &str, new: &str, confirm: &str) -> Result<(), AppError> {
    let operator_id = &session.view.operator_id;
    if new != confirm {
        return Err(AppError::invalid("confirm", "The two new passwords differ."));
    }
    check_password(new, &session.view.email).map_err(|e| AppError::invalid("new_password", e))?;
    let keys = [(format!("password:{operator_id}"), policy.client_throttle)];
    let failures = super::auth::reserve(store, &keys).await?;
    let stored = operators::password_hash(&mut *store.read().await?, operator_id).await?;
    let verified = match verify_password(current.to_owned(), stored).await {
        Ok(verified) => verified,
        Err(e) => {
            super::auth::release_now(store, &keys).await?;
            return Err(e);
        }
    };
    if !verified {
        let mut tx = store.begin().await?;
        audit::append(tx.conn(), &session.actor, AuditEntry::new("operator.change_password_failed", "operator", operator_id, json!({ "failures": failures })))
            .await?;
        tx.commit().await?;
        return Err(AppError::invalid("current_password", "The current password is not correct."));
    }
    let hash = match hash_password(new.to_owned()).await {
        Ok(hash) => hash,
        Err(e) => {
            // The check succeeded; a busy server must not count it as a failure.
            super::auth::release_now(store, &keys).await?;
            return Err(e);
        }
    };
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    super::auth::release(tx.conn(), &keys).await?;
    operators::set_password_hash(tx.conn(), operator_id, &hash, now).await?;
    let ended = sessions::end_all_of_operator_except(tx.conn(), operator_id, Some(&session.id_hash), now, "password changed").await?;
    audit::append(tx.conn(), &session.actor, AuditEntry::new("operator.change_password", "operator", operator_id, json!({ "other_sessions_ended": ended })))
        .await?;
    tx.commit().await
}
