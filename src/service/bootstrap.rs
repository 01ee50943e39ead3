//! First run: with no operator in the database, `nhidb serve` prints a one-time URL whose token
//! lets the first admin choose a password. The token is stored hashed and expires.

use super::auth::{Client, Session, SessionCookie, sign_in};
use super::secrets::{hash_password, random_token, sha256_hex};
use crate::domain::Timestamp;
use crate::domain::access::AccessPolicy;
use crate::domain::actor::{Actor, ConsoleRole};
use crate::domain::audit::AuditEntry;
use crate::domain::operator::{OperatorInput, check_password};
use crate::error::AppError;
use crate::store::{self, Store, audit, bootstrap, operators};
use serde_json::json;

/// A fresh bootstrap token when no operator exists yet (replacing any earlier one), else `None`.
pub async fn prepare(store: &Store, policy: &AccessPolicy) -> Result<Option<String>, AppError> {
    if operators::count(&mut *store.read().await?).await? > 0 {
        return Ok(None);
    }
    let token = random_token(24);
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    bootstrap::replace(tx.conn(), &sha256_hex(&token), now, now.plus_seconds(policy.bootstrap_seconds)).await?;
    tx.commit().await?;
    Ok(Some(token))
}

/// Whether `token` can still be used: unused, unexpired, and no operator exists.
pub async fn is_open(store: &Store, token: &str) -> Result<bool, AppError> {
    let mut conn = store.read().await?;
    if operators::count(&mut conn).await? > 0 {
        return Ok(false);
    }
    Ok(bootstrap::unused_expiry(&mut conn, &sha256_hex(token)).await?.is_some_and(|e| e > Timestamp::now()))
}

/// Creates the first admin with the chosen password and signs them in.
pub async fn complete(
    store: &Store,
    policy: &AccessPolicy,
    token: &str,
    input: &OperatorInput,
    password: &str,
    confirm: &str,
    client: &Client,
) -> Result<(SessionCookie, Session), AppError> {
    let closed = || AppError::invalid_state("This first-run link has expired or was used; restart `nhidb serve` for a new one.");
    // The link is checked before anything expensive: a wrong or spent token costs nobody a
    // password hash. It is checked again in the writing transaction below.
    if !is_open(store, token).await? {
        return Err(closed());
    }
    let mut input = input.clone();
    input.roles = vec![ConsoleRole::Admin.as_str().to_owned()];
    let draft = input.parse()?;
    if password != confirm {
        return Err(AppError::invalid("confirm", "The two passwords differ."));
    }
    check_password(password, &draft.email).map_err(|e| AppError::invalid("password", e))?;
    let hash = hash_password(password.to_owned()).await?;
    let now = Timestamp::now();
    let token_hash = sha256_hex(token);
    let mut tx = store.begin().await?;
    if operators::count(tx.conn()).await? > 0 || !bootstrap::unused_expiry(tx.conn(), &token_hash).await?.is_some_and(|e| e > now) {
        return Err(closed());
    }
    if !bootstrap::mark_used(tx.conn(), &token_hash, now).await? {
        return Err(closed());
    }
    let id = store::new_id();
    operators::insert(tx.conn(), &id, &draft, Some(&hash), now).await?;
    audit::append(
        tx.conn(),
        &Actor::system("bootstrap"),
        AuditEntry::new("operator.bootstrap", "operator", &id, json!({ "after": { "name": draft.name, "email": draft.email, "roles": "admin" } })),
    )
    .await?;
    tx.commit().await?;
    sign_in(store, policy, &draft.email, password, client).await
}
