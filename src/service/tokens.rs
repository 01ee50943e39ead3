//! Pipeline tokens: created and revoked by admins; the secret is returned once and only its hash
//! is stored.

use super::require;
use super::secrets::random_token;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::audit::AuditEntry;
use crate::domain::owner::OwnerStatus;
use crate::domain::token::{IssuedToken, PipelineToken, SECRET_PREFIX, TokenInput, display_prefix, limits_to_text, scopes_to_text, secret_hash};
use crate::error::AppError;
use crate::store::{self, Store, audit, owners, tokens};
use serde_json::json;

pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<PipelineToken>, AppError> {
    require(actor, Capability::Administer)?;
    tokens::all(&mut *store.read().await?).await
}

pub async fn create(store: &Store, actor: &Actor, input: &TokenInput) -> Result<IssuedToken, AppError> {
    require(actor, Capability::Administer)?;
    let draft = input.parse()?;
    let secret = format!("{SECRET_PREFIX}{}", random_token(30));
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    let owner = owners::by_id(tx.conn(), &draft.owner_id)
        .await?
        .filter(|o| o.status == OwnerStatus::Active)
        .ok_or_else(|| AppError::invalid("owner_id", "Choose an active owner from the list."))?;
    let token = PipelineToken {
        id: store::new_id(),
        name: draft.name.clone(),
        prefix: display_prefix(&secret),
        scopes: draft.scopes.clone(),
        owner_id: owner.id.clone(),
        owner_name: owner.name.clone(),
        created_by: actor.name.clone(),
        created_at: now,
        expires_at: now.plus_days(draft.lifetime_days),
        last_used_at: None,
        revoked_at: None,
        limits: draft.limits.clone(),
    };
    tokens::insert(tx.conn(), &token, &secret_hash(&secret)).await?;
    audit::append(
        tx.conn(),
        actor,
        AuditEntry::new(
            "token.create",
            "token",
            &token.id,
            json!({ "after": {
                "name": token.name, "prefix": token.prefix, "scopes": scopes_to_text(&token.scopes),
                "owner": owner.name, "expires_at": token.expires_at.to_rfc3339(), "limits": limits_to_text(&token.limits),
            }}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(IssuedToken { token, secret })
}

/// Revocation is immediate: the next call with the token is refused.
pub async fn revoke(store: &Store, actor: &Actor, id: &str) -> Result<PipelineToken, AppError> {
    require(actor, Capability::Administer)?;
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    let token = tokens::by_id(tx.conn(), id).await?.ok_or_else(|| AppError::not_found("Token", id))?;
    if !tokens::revoke(tx.conn(), id, &actor.name, now).await? {
        return Err(AppError::invalid_state(format!("Token {} is already revoked.", token.name)));
    }
    audit::append(tx.conn(), actor, AuditEntry::new("token.revoke", "token", id, json!({ "name": token.name, "prefix": token.prefix }))).await?;
    let token = tokens::by_id(tx.conn(), id).await?.ok_or_else(|| AppError::not_found("Token", id))?;
    tx.commit().await?;
    Ok(token)
}
