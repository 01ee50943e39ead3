use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::audit::AuditEntry;
use crate::domain::credential::{Credential, CredentialInput};
use crate::domain::identity::IdentityStatus;
use crate::error::AppError;
use crate::store::{self, Store, assignments, audit, credentials, identities};
use serde_json::json;

/// Records a credential's metadata for an identity. The secret itself never reaches nhidb.
pub async fn register(store: &Store, actor: &Actor, identity_id: &str, input: &CredentialInput) -> Result<Credential, AppError> {
    require(actor, Capability::EditLedger)?;
    let draft = input.parse()?;
    let now = Timestamp::now();
    if draft.expires_at.is_some_and(|e| e <= now) {
        return Err(AppError::invalid("expires_at", "The expiry must be in the future."));
    }
    let mut tx = store.begin().await?;
    let identity = identities::by_id(tx.conn(), identity_id).await?.ok_or_else(|| AppError::not_found("Identity", identity_id))?;
    if identity.status == IdentityStatus::Retired {
        return Err(AppError::invalid_state("A retired identity cannot receive credentials."));
    }
    // Every credential exercises one of the identity's roles: a key with no role is access
    // nobody reviewed.
    let Some(assignment_id) = &draft.assignment_id else {
        return Err(AppError::invalid("assignment_id", "Choose the role assignment this credential exercises; grant a role first if there is none."));
    };
    let held = assignments::of_identity(tx.conn(), identity_id).await?;
    if !held.iter().any(|a| &a.id == assignment_id && a.is_active(now)) {
        return Err(AppError::invalid("assignment_id", "Choose one of this identity's active role assignments."));
    }
    let id = store::new_id();
    credentials::insert(
        tx.conn(),
        &credentials::NewCredential {
            id: &id,
            identity_id,
            assignment_id: draft.assignment_id.as_deref(),
            kind: draft.kind,
            fingerprint: &draft.fingerprint,
            description: &draft.description,
            expires_at: draft.expires_at,
        },
        now,
    )
    .await?;
    super::findings::settle(tx.conn(), &[identity_id.to_owned()], super::findings::Touches::Credentials, now).await?;
    audit::append(
        tx.conn(),
        actor,
        AuditEntry::new(
            "credential.register",
            "credential",
            &id,
            json!({ "after": {
                "identity": identity.name,
                "kind": draft.kind.as_str(),
                "fingerprint": draft.fingerprint.as_str(),
                "expires_at": draft.expires_at.map(|t| t.to_rfc3339()),
                "assignment_id": draft.assignment_id,
            }}),
        )
        .in_context(identity_id),
    )
    .await?;
    let credential = credentials::by_id(tx.conn(), &id).await?.ok_or_else(|| AppError::not_found("Credential", &id))?;
    tx.commit().await?;
    Ok(credential)
}

/// The credential metadata of an identity, newest first.
pub async fn of_identity(store: &Store, actor: &Actor, identity_id: &str) -> Result<Vec<Credential>, AppError> {
    require(actor, Capability::ReadLedger)?;
    let mut conn = store.read().await?;
    identities::by_id(&mut conn, identity_id).await?.ok_or_else(|| AppError::not_found("Identity", identity_id))?;
    credentials::of_identity(&mut conn, identity_id).await
}
