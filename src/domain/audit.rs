//! The audit log is a hash chain: each event's hash covers the previous hash and the event's
//! canonical form, so changing, inserting or dropping any event breaks every later link.
//! Verification is pure so that it runs the same in the server, the CLI and offline on exports.

use super::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash the first event links to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub seq: i64,
    pub at: Timestamp,
    pub actor_kind: String,
    pub actor_id: String,
    pub actor_name: String,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    /// The identity or service the subject belongs to, so histories include related events.
    pub context_id: Option<String>,
    /// JSON text: a before/after summary. Hashed exactly as stored.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// What the service layer supplies; sequence, time and hashes are assigned when appending.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub context_id: Option<String>,
    pub detail: serde_json::Value,
}

impl AuditEntry {
    pub fn new(action: &str, subject_type: &str, subject_id: &str, detail: serde_json::Value) -> Self {
        AuditEntry { action: action.to_owned(), subject_type: subject_type.to_owned(), subject_id: subject_id.to_owned(), context_id: None, detail }
    }

    pub fn in_context(mut self, context_id: &str) -> Self {
        self.context_id = Some(context_id.to_owned());
        self
    }
}

/// The fields that differ between two JSON objects, as `{"field": {"from": …, "to": …}}`: the
/// before/after summary of an update, small enough to read in a history.
pub fn changed_fields(before: &serde_json::Value, after: &serde_json::Value) -> serde_json::Value {
    let empty = serde_json::Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let mut changes = serde_json::Map::new();
    for (key, to) in after {
        let from = before.get(key).unwrap_or(&serde_json::Value::Null);
        if from != to {
            changes.insert(key.clone(), serde_json::json!({ "from": from, "to": to }));
        }
    }
    serde_json::Value::Object(changes)
}

/// The canonical bytes of an event: a JSON array of its fields in a fixed order.
#[allow(clippy::too_many_arguments)]
pub fn canonical(
    seq: i64,
    at: &str,
    actor_kind: &str,
    actor_id: &str,
    actor_name: &str,
    action: &str,
    subject_type: &str,
    subject_id: &str,
    context_id: Option<&str>,
    detail: &str,
) -> String {
    serde_json::json!([seq, at, actor_kind, actor_id, actor_name, action, subject_type, subject_id, context_id, detail]).to_string()
}

/// `sha256(prev_hash ‖ canonical)` as lower-case hex.
pub fn chain_hash(prev_hash: &str, canonical: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

impl AuditEvent {
    pub fn canonical(&self) -> String {
        canonical(
            self.seq,
            &self.at.to_rfc3339(),
            &self.actor_kind,
            &self.actor_id,
            &self.actor_name,
            &self.action,
            &self.subject_type,
            &self.subject_id,
            self.context_id.as_deref(),
            &self.detail,
        )
    }

    pub fn expected_hash(&self) -> String {
        chain_hash(&self.prev_hash, &self.canonical())
    }
}

/// The outcome of walking the chain.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    /// Events that verified, from sequence 1.
    pub verified: i64,
    pub head_hash: String,
    pub broken: Option<ChainBreak>,
}

impl ChainReport {
    pub fn summary(&self) -> String {
        match &self.broken {
            None => format!("ok ({} events, head {})", self.verified, self.head_hash),
            Some(b) => format!("FAILED at sequence {}: {}", b.seq(), b.describe()),
        }
    }
}

/// A verification's outcome as the API reports it: flat, so pipelines can check one field.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStatus {
    pub ok: bool,
    /// Events that verified, from sequence 1.
    pub verified: i64,
    pub head_hash: String,
    /// The first sequence number that does not verify.
    pub broken_at: Option<i64>,
    pub problem: Option<String>,
    /// When the whole chain was last walked (the events after that walk were checked now,
    /// linked to where it ended); absent when this answer is itself a walk of the whole chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whole_chain_walked_at: Option<Timestamp>,
}

impl From<ChainReport> for ChainStatus {
    fn from(report: ChainReport) -> Self {
        ChainStatus {
            ok: report.broken.is_none(),
            verified: report.verified,
            broken_at: report.broken.as_ref().map(ChainBreak::seq),
            problem: report.broken.as_ref().map(ChainBreak::describe),
            head_hash: report.head_hash,
            whole_chain_walked_at: None,
        }
    }
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChainBreak {
    /// A sequence number is missing: an event was dropped (or inserted out of order).
    Gap { expected: i64, found: i64 },
    /// The event does not link to the hash of the event before it.
    Link { seq: i64 },
    /// The event's content does not match its hash: it was altered.
    Content { seq: i64 },
    /// The chain ends before the recorded head: events were dropped from the end.
    Truncated { last_seq: i64, head_seq: i64 },
}

impl ChainBreak {
    /// The first sequence number that does not verify.
    pub fn seq(&self) -> i64 {
        match self {
            ChainBreak::Gap { expected, .. } => *expected,
            ChainBreak::Link { seq } | ChainBreak::Content { seq } => *seq,
            ChainBreak::Truncated { last_seq, .. } => last_seq + 1,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ChainBreak::Gap { expected, found } => {
                format!("sequence {expected} is missing (next event found is {found})")
            }
            ChainBreak::Link { seq } => format!("sequence {seq} does not link to the event before it"),
            ChainBreak::Content { seq } => format!("sequence {seq} was altered: its content does not match its hash"),
            ChainBreak::Truncated { last_seq, head_seq } => {
                format!("the log ends at sequence {last_seq} but the chain head records {head_seq}")
            }
        }
    }
}

/// Walks events in sequence order, one at a time, so verification runs in constant memory.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { expected_seq: 1, prev_hash: GENESIS_HASH.to_owned() }
    }
}

/// A point of the chain already verified: the sequence and hash a walk reached, and when the walk
/// of the whole chain behind it was made. Walks resume from it to check only what came after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainAnchor {
    pub seq: i64,
    pub hash: String,
    pub whole_walk_at: Timestamp,
}

impl ChainVerifier {
    /// A verifier that continues after `anchor` (its events already verified).
    pub fn resume(anchor: &ChainAnchor) -> ChainVerifier {
        ChainVerifier { expected_seq: anchor.seq + 1, prev_hash: anchor.hash.clone() }
    }

    pub fn push(&mut self, event: &AuditEvent) -> Result<(), ChainBreak> {
        if event.seq != self.expected_seq {
            return Err(ChainBreak::Gap { expected: self.expected_seq, found: event.seq });
        }
        if event.prev_hash != self.prev_hash {
            return Err(ChainBreak::Link { seq: event.seq });
        }
        if event.expected_hash() != event.hash {
            return Err(ChainBreak::Content { seq: event.seq });
        }
        self.expected_seq += 1;
        self.prev_hash = event.hash.clone();
        Ok(())
    }

    /// Events verified so far.
    pub fn count(&self) -> i64 {
        self.expected_seq - 1
    }

    pub fn head_hash(&self) -> &str {
        &self.prev_hash
    }

    /// Checks the walked chain against the recorded head (sequence, hash).
    pub fn finish(&self, head_seq: i64, head_hash: &str) -> Result<(), ChainBreak> {
        if head_seq > self.count() {
            return Err(ChainBreak::Truncated { last_seq: self.count(), head_seq });
        }
        if head_seq == self.count() && head_hash != self.prev_hash {
            return Err(ChainBreak::Link { seq: head_seq });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEvent> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEvent {
                    seq,
                    at: Timestamp::from_micros(seq * 1_000_000),
                    actor_kind: "system".into(),
                    actor_id: "system".into(),
                    actor_name: "test".into(),
                    action: "identity.create".into(),
                    subject_type: "identity".into(),
                    subject_id: format!("id{seq}"),
                    context_id: None,
                    detail: format!("{{\"n\":{seq}}}"),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = e.expected_hash();
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn verify(events: &[AuditEvent]) -> Result<i64, ChainBreak> {
        let mut v = ChainVerifier::default();
        for e in events {
            v.push(e)?;
        }
        Ok(v.count())
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
    }

    #[test]
    fn an_altered_event_is_named_by_its_sequence() {
        let mut events = chain(5);
        events[2].detail = "{\"n\":99}".into();
        assert_eq!(verify(&events), Err(ChainBreak::Content { seq: 3 }));
    }

    #[test]
    fn a_dropped_event_is_named_by_the_missing_sequence() {
        let mut events = chain(5);
        events.remove(1);
        assert_eq!(verify(&events).unwrap_err().seq(), 2);
    }

    #[test]
    fn a_recomputed_forgery_still_breaks_the_next_link() {
        let mut events = chain(5);
        events[2].detail = "{\"n\":99}".into();
        events[2].hash = events[2].expected_hash();
        assert_eq!(verify(&events), Err(ChainBreak::Link { seq: 4 }));
    }

    #[test]
    fn dropping_the_tail_is_caught_by_the_head() {
        let events = chain(5);
        let mut v = ChainVerifier::default();
        for e in &events[..3] {
            v.push(e).unwrap();
        }
        assert_eq!(v.finish(5, &events[4].hash).unwrap_err().seq(), 4);
    }

    #[test]
    fn only_changed_fields_are_summarised() {
        let before = serde_json::json!({"name": "a", "kind": "ci_bot"});
        let after = serde_json::json!({"name": "b", "kind": "ci_bot"});
        assert_eq!(changed_fields(&before, &after), serde_json::json!({"name": {"from": "a", "to": "b"}}));
    }

    #[test]
    fn the_canonical_form_is_stable() {
        let e = &chain(1)[0];
        assert_eq!(e.canonical(), r#"[1,"1970-01-01T00:00:01.000000Z","system","system","test","identity.create","identity","id1",null,"{\"n\":1}"]"#);
    }
}

/// The audit page's filters; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Part of the actor's name, or an actor id.
    pub actor: Option<String>,
    /// An action (`role.create`) or its family (`role`).
    pub action: Option<String>,
    /// A subject id (or the context it happened in: an identity's credentials, say).
    pub subject: Option<String>,
    pub from: Option<super::Timestamp>,
    pub to: Option<super::Timestamp>,
}

/// The audit page as addressed by its URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub subject: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Show events before this sequence number (the next page).
    pub before: Option<String>,
}

impl AuditQuery {
    pub fn to_filter(&self) -> Result<(AuditFilter, Option<i64>), crate::error::AppError> {
        use super::page::present;
        let mut problems = crate::error::Problems::new();
        let from = present(&self.from).and_then(|t| problems.check("from", super::Timestamp::parse_user_input(t)));
        // A date as the end of a range means the whole of that day; as its start, its beginning.
        let from = from.map(|t| if self.from.as_deref().is_some_and(|f| f.trim().len() == 10) { t.plus_seconds(-(24 * 3600 - 1)) } else { t });
        let to = present(&self.to).and_then(|t| problems.check("to", super::Timestamp::parse_user_input(t)));
        let before = present(&self.before).and_then(|b| problems.check("before", b.parse::<i64>().map_err(|_| "before is a sequence number.".to_owned())));
        problems.into_result()?;
        Ok((
            AuditFilter {
                actor: present(&self.actor).map(str::to_owned),
                action: present(&self.action).map(str::to_owned),
                subject: present(&self.subject).map(str::to_owned),
                from,
                to,
            },
            before,
        ))
    }
}

/// One page of the audit page, newest first, with the chain's recorded head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// `before` for the next page.
    pub next_before: Option<i64>,
    pub head_seq: i64,
    pub head_hash: String,
}
