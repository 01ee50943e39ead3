use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::audit::{AuditEvent, ChainAnchor, ChainReport, ChainVerifier};
use crate::domain::checkpoint::{Checkpoint, CheckpointBreak, Witness};
use crate::domain::page::{Page, PageRequest};
use crate::error::AppError;
use crate::store::{Store, audit};

const BATCH: i64 = 5_000;

/// Walks the whole audit chain from the first event and checks every link and hash, and that
/// the chain reaches the recorded head.
/// A walk that breaks, or fails to read the chain (an event edited until it no longer decodes),
/// drops this process's anchor, so no view resumes past it.
/// The sequence number of the chain's last event (for `/metrics`, which has no actor).
pub async fn head_seq(store: &Store) -> Result<i64, AppError> {
    Ok(crate::store::audit::head(&mut *store.read().await?).await?.0)
}

pub async fn verify(store: &Store, actor: &Actor) -> Result<ChainReport, AppError> {
    require(actor, Capability::Audit)?;
    let walked_at = Timestamp::now();
    let clears = store.chain_clears();
    match walk(store, actor, None).await {
        Ok((report, _)) if report.broken.is_none() => {
            store.keep_walked_anchor(clears, ChainAnchor { seq: report.verified, hash: report.head_hash.clone(), whole_walk_at: walked_at });
            Ok(report)
        }
        Ok((report, _)) => {
            store.clear_chain_anchor();
            Ok(report)
        }
        Err(e) => {
            store.clear_chain_anchor();
            Err(e)
        }
    }
}

/// How often the whole chain is walked again in the background (`refresh_whole_walk`).
pub const WHOLE_WALK_EVERY_SECONDS: i64 = 600;

/// The chain as the audit page shows it when it opens. Walking the whole chain on every view
/// cost a page a walk of every event ever written (seconds, in a year's log, for any auditor
/// reloading). Instead the events written since the last whole walk are verified now, linked to
/// where that walk ended, whose row must still hold the hash it had. The whole chain is walked
/// here only when this process has no walk to resume from (none yet, or the last found a
/// break, so a break is reported exactly as a whole walk finds it) or when the resumed check
/// does not verify; otherwise the server walks it in the background every
/// `WHOLE_WALK_EVERY_SECONDS` (`refresh_whole_walk`), and *Verify now* (`verify`) walks it on
/// demand. A page view never waits for the periodic walk.
pub async fn verify_recent(store: &Store, actor: &Actor) -> Result<(ChainReport, Option<Timestamp>), AppError> {
    require(actor, Capability::Audit)?;
    if let Some(anchor) = store.chain_anchor() {
        let resumed = resume(store, &anchor).await;
        if resumed.is_err() {
            // Unreadable past the anchor: judged by a whole walk, which reports what it finds.
            store.clear_chain_anchor();
        }
        if let Ok(Some(report)) = resumed {
            store.advance_chain_anchor(&anchor, ChainAnchor { seq: report.verified, hash: report.head_hash.clone(), whole_walk_at: anchor.whole_walk_at });
            return Ok((report, Some(anchor.whole_walk_at)));
        }
    }
    Ok((verify(store, actor).await?, None))
}

/// The server's periodic walk of the whole chain, so that an edit before the last anchor is
/// found within `WHOLE_WALK_EVERY_SECONDS` without a page view paying for it. Does nothing
/// while the last walk is recent enough; returns the report of a walk it made.
pub async fn refresh_whole_walk(store: &Store) -> Result<Option<ChainReport>, AppError> {
    let now = Timestamp::now();
    if store.chain_anchor().is_some_and(|a| a.whole_walk_at.plus_seconds(WHOLE_WALK_EVERY_SECONDS) > now) {
        return Ok(None);
    }
    verify(store, &Actor::system("audit chain walk")).await.map(Some)
}

/// The chain from `anchor` to the head, if it verifies (`None`: walk it all).
async fn resume(store: &Store, anchor: &ChainAnchor) -> Result<Option<ChainReport>, AppError> {
    let mut conn = store.read().await?;
    let (head_seq, head_hash) = audit::head(&mut conn).await?;
    let still = audit::batch_after(&mut conn, anchor.seq - 1, 1).await?;
    if head_seq < anchor.seq || still.first().is_none_or(|e| e.seq != anchor.seq || e.hash != anchor.hash || e.expected_hash() != e.hash) {
        return Ok(None);
    }
    let mut verifier = ChainVerifier::resume(anchor);
    let mut after = anchor.seq;
    while after < head_seq {
        let batch = audit::batch_after(&mut conn, after, BATCH.min(head_seq - after)).await?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        if batch.iter().any(|event| verifier.push(event).is_err()) {
            return Ok(None);
        }
    }
    if verifier.finish(head_seq, &head_hash).is_err() {
        return Ok(None);
    }
    Ok(Some(ChainReport { verified: verifier.count(), head_hash: verifier.head_hash().to_owned(), broken: None }))
}

/// What the log says against signed checkpoints kept outside the database: how many held (and
/// the highest sequence among them), or the first that does not.
pub type CheckpointOutcome = Result<(usize, Option<i64>), CheckpointBreak>;

/// `verify`, holding the log to `checkpoints` too (in sequence order, signatures already
/// checked): events cut off after a checkpoint, or rewritten before one, are named by sequence
/// even when the chain itself and its recorded head were rewritten to match.
pub async fn verify_against(store: &Store, actor: &Actor, checkpoints: Vec<Checkpoint>) -> Result<(ChainReport, CheckpointOutcome), AppError> {
    let (report, outcome) = walk(store, actor, Some(Witness::new(checkpoints))).await?;
    Ok((report, outcome.unwrap_or(Ok((0, None)))))
}

async fn walk(store: &Store, actor: &Actor, mut witness: Option<Witness>) -> Result<(ChainReport, Option<CheckpointOutcome>), AppError> {
    require(actor, Capability::Audit)?;
    let mut conn = store.read().await?;
    // Read the head first: events appended while we walk lie beyond it and are not judged.
    let (head_seq, head_hash) = audit::head(&mut conn).await?;
    let mut verifier = ChainVerifier::default();
    let mut witnessed: Option<CheckpointBreak> = None;
    let mut after = 0;
    while after < head_seq {
        let batch = audit::batch_after(&mut conn, after, BATCH.min(head_seq - after)).await?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        for event in &batch {
            if let (Some(w), None) = (witness.as_mut(), &witnessed) {
                witnessed = w.see(event.seq, &event.hash).err();
            }
            if let Err(broken) = verifier.push(event) {
                let report = ChainReport { verified: verifier.count(), head_hash: head_hash.clone(), broken: Some(broken) };
                return Ok((report, witness.map(|w| outcome(&w, witnessed, event.seq - 1))));
            }
        }
    }
    let broken = verifier.finish(head_seq, &head_hash).err();
    let walked = after;
    let report = ChainReport { verified: verifier.count(), head_hash: verifier.head_hash().to_owned(), broken };
    Ok((report, witness.map(|w| outcome(&w, witnessed, walked))))
}

fn outcome(witness: &Witness, broken: Option<CheckpointBreak>, last_seq: i64) -> CheckpointOutcome {
    match broken {
        Some(b) => Err(b),
        None => witness.finish(last_seq).map(|held| (held, witness.held())),
    }
}

/// Audit events in sequence order, after `after` (a sequence number), a page at a time.
pub async fn events(store: &Store, actor: &Actor, after: Option<&str>, limit: Option<u32>) -> Result<Page<AuditEvent>, AppError> {
    require(actor, Capability::Audit)?;
    let after = match after.map(str::trim).filter(|a| !a.is_empty()) {
        None => 0,
        Some(text) => {
            text.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| AppError::invalid("after", "after is the sequence number of the last event seen."))?
        }
    };
    let size = PageRequest { after: None, limit }.size();
    let mut conn = store.read().await?;
    let (head, _) = audit::head(&mut conn).await?;
    let items = audit::batch_after(&mut conn, after, i64::from(size)).await?;
    let next_cursor = items.last().filter(|last| last.seq < head).map(|last| last.seq.to_string());
    Ok(Page { items, next_cursor, total: head })
}

/// The audit page: events matching the filter, newest first, 50 at a time.
pub async fn search(store: &Store, actor: &Actor, query: &crate::domain::audit::AuditQuery) -> Result<crate::domain::audit::AuditPage, AppError> {
    require(actor, Capability::Audit)?;
    let (filter, before) = query.to_filter()?;
    let mut conn = store.read().await?;
    let (head_seq, head_hash) = audit::head(&mut conn).await?;
    let mut events = audit::search(&mut conn, &filter, before, 51).await?;
    let next_before = if events.len() > 50 {
        events.truncate(50);
        events.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(crate::domain::audit::AuditPage { events, next_before, head_seq, head_hash })
}
