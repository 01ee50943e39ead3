//! Sign-in, sessions and pipeline-token authentication.
//!
//! Session ids are 256-bit random values given to the browser in a cookie; the database keeps
//! only their SHA-256, so a copy of the database cannot be used to ride a session. The same holds
//! for pipeline tokens.

use super::secrets::{random_token, sha256_hex, verify_password};
use crate::domain::Timestamp;
use crate::domain::access::{AccessPolicy, ThrottlePolicy, after_failure, after_success, failure_delay_ms, locked_for, session_expiry};
use crate::domain::actor::{Actor, ActorKind};
use crate::domain::audit::AuditEntry;
use crate::domain::operator::{OperatorStatus, SessionSummary, SessionView, parse_email};
use crate::domain::token::{SECRET_PREFIX, secret_hash};
use crate::error::AppError;
use crate::store::{Store, audit, operators, sessions, throttle, tokens};
use serde_json::json;
use sqlx::AnyConnection;
use std::time::Duration;

/// Where a request comes from, for throttling and the session list.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub addr: Option<String>,
    pub user_agent: Option<String>,
}

/// An authenticated console session: the actor, what the browser may see, and the stored hash
/// that identifies it (for sign-out).
#[derive(Debug, Clone)]
pub struct Session {
    pub actor: Actor,
    pub view: SessionView,
    pub id_hash: String,
}

/// A new session: the secret cookie value (shown to nobody else) and its lifetime.
#[derive(Debug, Clone)]
pub struct SessionCookie {
    pub value: String,
    pub max_age_seconds: i64,
}

fn anonymous() -> Actor {
    Actor { kind: ActorKind::System, id: "anonymous".into(), name: "anonymous".into(), roles: vec![], scopes: vec![], limits: vec![] }
}

fn actor_of(view: &SessionView) -> Actor {
    Actor::operator(&view.operator_id, &view.name, view.roles.clone())
}

/// The network an address is throttled as: IPv4 addresses one by one, IPv6 addresses by their
/// /64, which one subscriber (and so one attacker) usually holds whole. Anything else as given.
fn throttled_network(addr: &str) -> String {
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(|v4| v4.to_string()).unwrap_or_default(),
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => addr.to_owned(),
    }
}

/// The throttle keys a sign-in attempt counts against, in the one order they are locked.
fn sign_in_keys(policy: &AccessPolicy, email: &str, client: &Client) -> [(String, ThrottlePolicy); 3] {
    let addr = client.addr.as_deref().map(throttled_network).unwrap_or_else(|| "unknown".to_owned());
    [
        (format!("signin:{email}|{addr}"), policy.client_throttle),
        (format!("account:{email}"), policy.account_throttle),
        (format!("addr:{addr}"), policy.address_throttle),
    ]
}

/// Counts an attempt against every key before it is evaluated, in one transaction with the check
/// that none is locked: of any number of concurrent attempts, at most each key's limit get to
/// the password check. Returns the failures the first key now counts (for the delay).
pub(crate) async fn reserve(store: &Store, keys: &[(String, ThrottlePolicy)]) -> Result<i64, AppError> {
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    let mut states = Vec::with_capacity(keys.len());
    for (key, _) in keys {
        let state = throttle::lock(tx.conn(), key, now).await?;
        if let Some(seconds) = locked_for(Some(&state), now) {
            return Err(AppError::Throttled { retry_after_seconds: seconds });
        }
        states.push(state);
    }
    let mut first = 0;
    for (i, ((key, rule), state)) in keys.iter().zip(states).enumerate() {
        let next = after_failure(Some(state), now, *rule);
        throttle::put(tx.conn(), key, &next).await?;
        if i == 0 {
            first = next.failures;
        }
    }
    tx.commit().await?;
    Ok(first)
}

/// Takes back an attempt `reserve` counted, inside the caller's transaction: the first key (this
/// client on this account) starts afresh, the others count one failure less.
pub(crate) async fn release(conn: &mut AnyConnection, keys: &[(String, ThrottlePolicy)]) -> Result<(), AppError> {
    let now = Timestamp::now();
    for (i, (key, rule)) in keys.iter().enumerate() {
        if i == 0 {
            throttle::clear(conn, key).await?;
        } else {
            let state = throttle::lock(conn, key, now).await?;
            throttle::put(conn, key, &after_success(state, *rule)).await?;
        }
    }
    Ok(())
}

/// Takes back an attempt in a transaction of its own (the check could not be made).
pub(crate) async fn release_now(store: &Store, keys: &[(String, ThrottlePolicy)]) -> Result<(), AppError> {
    let mut tx = store.begin().await?;
    release(tx.conn(), keys).await?;
    tx.commit().await
}

/// Signs an operator in. Failures look the same whether or not the account exists and are slowed
/// down; too many lock that client out of that account (and a noisy client address out of every
/// account) for a while, while the account's owner, signing in from elsewhere, is not held up
/// until a much higher ceiling for the account as a whole.
pub async fn sign_in(store: &Store, policy: &AccessPolicy, email: &str, password: &str, client: &Client) -> Result<(SessionCookie, Session), AppError> {
    let email = parse_email(email).map_err(|e| AppError::invalid("email", e))?;
    let keys = sign_in_keys(policy, &email, client);
    let failures = reserve(store, &keys).await?;

    let checked = async {
        let mut conn = store.read().await?;
        let (operator, stored) = match operators::by_email(&mut conn, &email).await? {
            Some(op) => {
                let hash = operators::password_hash(&mut conn, &op.id).await?;
                (Some(op), hash)
            }
            None => (None, None),
        };
        drop(conn);
        let verified = verify_password(password.to_owned(), stored).await?;
        Ok::<_, AppError>(operator.filter(|op| verified && op.status == OperatorStatus::Active))
    };
    let operator = match checked.await {
        Ok(Some(operator)) => operator,
        Ok(None) => {
            let mut tx = store.begin().await?;
            audit::append(
                tx.conn(),
                &anonymous(),
                AuditEntry::new("auth.sign_in_failed", "operator", &email, json!({ "client": client.addr, "failures": failures })),
            )
            .await?;
            tx.commit().await?;
            tokio::time::sleep(Duration::from_millis(failure_delay_ms(failures))).await;
            return Err(AppError::BadCredentials);
        }
        Err(e) => {
            // Not a failed guess (the server was busy, say): it must not count against anyone.
            release_now(store, &keys).await?;
            return Err(e);
        }
    };

    let now = Timestamp::now();
    let value = random_token(32);
    let id_hash = sha256_hex(&value);
    let csrf_token = random_token(32);
    let mut tx = store.begin().await?;
    release(tx.conn(), &keys).await?;
    sessions::insert(
        tx.conn(),
        &sessions::NewSession {
            id_hash: &id_hash,
            operator_id: &operator.id,
            csrf_token: &csrf_token,
            expires_at: now.plus_seconds(policy.session_absolute_seconds),
            client_addr: client.addr.as_deref(),
            user_agent: client.user_agent.as_deref(),
        },
        now,
    )
    .await?;
    operators::record_sign_in(tx.conn(), &operator.id, now).await?;
    let view =
        SessionView { operator_id: operator.id.clone(), name: operator.name.clone(), email: operator.email.clone(), roles: operator.roles.clone(), csrf_token };
    let actor = actor_of(&view);
    audit::append(tx.conn(), &actor, AuditEntry::new("auth.sign_in", "operator", &operator.id, json!({ "client": client.addr, "session": &id_hash[..12] })))
        .await?;
    tx.commit().await?;
    Ok((SessionCookie { value, max_age_seconds: policy.session_absolute_seconds }, Session { actor, view, id_hash }))
}

/// Forgets throttle entries of attempts older than a day that hold no lock: the table would
/// otherwise keep one row per account and address ever tried.
pub async fn forget_old_throttles(store: &Store) -> Result<u64, AppError> {
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    let forgotten = throttle::purge(tx.conn(), now.plus_days(-1), now).await?;
    tx.commit().await?;
    Ok(forgotten)
}

/// How often a session's last-seen time is written: often enough for idle timeouts to be
/// accurate to the minute, rarely enough not to turn every page view into a write.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// The session behind a cookie value, if it is live: not ended, not idle or expired, and its
/// operator still active (disabling an operator stops their sessions at the next request).
pub async fn resolve_session(store: &Store, policy: &AccessPolicy, cookie_value: &str) -> Result<Option<Session>, AppError> {
    let id_hash = sha256_hex(cookie_value);
    let Some(record) = sessions::by_hash(&mut *store.read().await?, &id_hash).await? else { return Ok(None) };
    if record.ended_at.is_some() || record.operator.status != OperatorStatus::Active {
        return Ok(None);
    }
    let now = Timestamp::now();
    if let Some(reason) = session_expiry(record.last_seen_at, record.expires_at, now, policy) {
        // Signed out whether or not the end can be written now (a full disk): the next request
        // finds it expired again and tries once more.
        touch(store, "session end", async |conn| sessions::end(conn, &id_hash, now, reason).await).await;
        return Ok(None);
    }
    if record.last_seen_at.plus_seconds(TOUCH_EVERY_SECONDS) <= now {
        touch(store, "session", async |conn| sessions::touch(conn, &id_hash, now).await).await;
    }
    let view = SessionView {
        operator_id: record.operator.id.clone(),
        name: record.operator.name.clone(),
        email: record.operator.email.clone(),
        roles: record.operator.roles.clone(),
        csrf_token: record.csrf_token,
    };
    Ok(Some(Session { actor: actor_of(&view), view, id_hash }))
}

pub async fn sign_out(store: &Store, session: &Session) -> Result<(), AppError> {
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    sessions::end(tx.conn(), &session.id_hash, now, "signed out").await?;
    audit::append(
        tx.conn(),
        &session.actor,
        AuditEntry::new("auth.sign_out", "operator", &session.view.operator_id, json!({ "session": &session.id_hash[..12] })),
    )
    .await?;
    tx.commit().await
}

/// Ends every session of the signed-in operator, this one included.
pub async fn sign_out_everywhere(store: &Store, session: &Session) -> Result<u64, AppError> {
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    let ended = sessions::end_all_of_operator(tx.conn(), &session.view.operator_id, now, "signed out everywhere").await?;
    audit::append(
        tx.conn(),
        &session.actor,
        AuditEntry::new("auth.sign_out_everywhere", "operator", &session.view.operator_id, json!({ "sessions_ended": ended })),
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

pub async fn my_sessions(store: &Store, session: &Session) -> Result<Vec<SessionSummary>, AppError> {
    let records = sessions::open_of_operator(&mut *store.read().await?, &session.view.operator_id, Timestamp::now()).await?;
    Ok(records
        .into_iter()
        .map(|r| SessionSummary {
            handle: r.id_hash[..12].to_owned(),
            current: r.id_hash == session.id_hash,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
            client_addr: r.client_addr,
            user_agent: r.user_agent,
        })
        .collect())
}

/// The pipeline token behind an `Authorization: Bearer` value, as an actor. Unknown, revoked and
/// expired tokens are all simply "not authenticated".
pub async fn resolve_token(store: &Store, bearer: &str) -> Result<Actor, AppError> {
    if !bearer.starts_with(SECRET_PREFIX) {
        return Err(AppError::Unauthenticated);
    }
    let now = Timestamp::now();
    let token = tokens::by_secret_hash(&mut *store.read().await?, &secret_hash(bearer)).await?.filter(|t| t.is_usable(now)).ok_or(AppError::Unauthenticated)?;
    if token.last_used_at.is_none_or(|t| t.plus_seconds(TOUCH_EVERY_SECONDS) <= now) {
        touch(store, "token", async |conn| tokens::touch(conn, &token.id, now).await).await;
    }
    Ok(Actor::token(&token.id, &token.name, token.scopes).limited_to(token.limits))
}

/// Records that a session or token was used, or that a session ran out. Bookkeeping only: when
/// it cannot be written (a full disk, a write refused) the request it belongs to goes on, so
/// that reads keep working; a later request writes it.
async fn touch(store: &Store, what: &'static str, write: impl AsyncFnOnce(&mut sqlx::AnyConnection) -> Result<(), AppError>) {
    let touched = async {
        let mut tx = store.begin().await?;
        write(tx.conn()).await?;
        tx.commit().await
    };
    if let Err(e) = touched.await {
        tracing::warn!(what, error = %e, "last use not recorded");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_throttled_by_their_64_bit_prefix() {
        assert_eq!(throttled_network("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(throttled_network("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(throttled_network("2001:db8:1:3::1"), throttled_network("2001:db8:1:2::1"));
        assert_eq!(throttled_network("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(throttled_network("203.0.113.9"), "203.0.113.9");
    }
}
