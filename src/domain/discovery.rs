//! What the discoverability questions answer, and the access changes people and pipelines ask
//! for: shared by the service layer, the console and the API.

use super::change::ChangeRequest;
use super::role::VersionHolders;
use super::sod::{Finding, Holding};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Arc;

/// One holder of a role.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub assignment_id: String,
    pub identity_id: String,
    pub identity_name: String,
    pub version: i64,
    pub scope: String,
    pub granted_at: String,
    pub expires_at: Option<String>,
}

/// One identity that may do something on a scope, with the grant that allows it.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capable {
    pub identity_id: String,
    pub identity_name: String,
    pub role_slug: String,
    pub version: i64,
    pub scope: String,
    pub action: String,
    pub resource: String,
}

/// A grant as asked for in a form or by a pipeline.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantInput {
    pub identity_id: String,
    /// Role id or slug.
    pub role: String,
    /// Where it applies; the role's own scope when empty.
    #[serde(default)]
    pub scope: String,
    /// `YYYY-MM-DD` or RFC 3339; no expiry when empty.
    #[serde(default)]
    pub expires_at: String,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessInput {
    #[serde(default)]
    pub grants: Vec<GrantInput>,
    /// Assignment ids to end.
    #[serde(default)]
    pub revokes: Vec<String>,
    pub reason: String,
}

/// Every unrevoked grant of one role in (identity, assignment) order: the read model behind
/// "who holds R". Expiry is applied when reading, so a snapshot stays right as grants lapse; it
/// is replaced only when the role's grants or holders change.
#[derive(Debug, Default)]
pub struct HolderSnapshot {
    holders: Vec<Holder>,
}

/// Which holders a page keeps.
#[derive(Debug, Clone, Copy, Default)]
pub struct HolderFilter<'a> {
    pub version: Option<i64>,
    /// Grants on this scope path or below it.
    pub scope: Option<&'a str>,
}

impl HolderFilter<'_> {
    fn keeps(&self, h: &Holder) -> bool {
        self.version.is_none_or(|v| h.version == v) && self.scope.is_none_or(|s| within(&h.scope, s))
    }
}

/// `path` is `scope` or lies below it.
fn within(path: &str, scope: &str) -> bool {
    path.strip_prefix(scope).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Unexpired at `now` (both RFC 3339 in the store's fixed format, so text order is time order).
fn live(h: &Holder, now: &str) -> bool {
    h.expires_at.as_deref().is_none_or(|e| e > now)
}

/// The cursor after `h`: identity then assignment, since one identity may hold a role twice
/// (on two scopes) and a page boundary must not skip the second grant.
pub fn holder_cursor(h: &Holder) -> String {
    format!("{} {}", h.identity_id, h.assignment_id)
}

/// (identity id, assignment id) of a cursor; a bare identity id resumes after all its grants.
pub fn parse_holder_cursor(cursor: &str) -> (&str, Option<&str>) {
    match cursor.split_once(' ') {
        Some((identity, assignment)) => (identity, Some(assignment)),
        None => (cursor, None),
    }
}

impl HolderSnapshot {
    pub fn new(mut holders: Vec<Holder>) -> HolderSnapshot {
        holders.sort_unstable_by(|a, b| (&a.identity_id, &a.assignment_id).cmp(&(&b.identity_id, &b.assignment_id)));
        HolderSnapshot { holders }
    }

    /// Unrevoked grants held, expired ones included.
    pub fn len(&self) -> usize {
        self.holders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.holders.is_empty()
    }

    /// Up to `size` live holders kept by `filter` after `after`, and the cursor for the next
    /// page when there is one. Costs a binary search plus the holders it walks; nothing copied.
    pub fn page(self: &Arc<Self>, filter: HolderFilter<'_>, after: Option<&str>, size: usize, now: &str) -> (HolderView, Option<String>) {
        let start = match after.map(parse_holder_cursor) {
            None => 0,
            Some((identity, None)) => self.holders.partition_point(|h| h.identity_id.as_str() <= identity),
            Some((identity, Some(assignment))) => {
                self.holders.partition_point(|h| (h.identity_id.as_str(), h.assignment_id.as_str()) <= (identity, assignment))
            }
        };
        let mut picked = Vec::with_capacity(size.min(self.holders.len() - start));
        let mut more = false;
        for (i, h) in self.holders.iter().enumerate().skip(start) {
            if live(h, now) && filter.keeps(h) {
                if picked.len() == size {
                    more = true;
                    break;
                }
                picked.push(i as u32);
            }
        }
        let view = HolderView { snapshot: Arc::clone(self), picked };
        let next = if more { view.iter().last().map(holder_cursor) } else { None };
        (view, next)
    }

    /// Live holders per pinned version, newest version first.
    pub fn counts(&self, now: &str) -> Vec<VersionHolders> {
        let mut counts = std::collections::BTreeMap::<i64, i64>::new();
        for h in self.holders.iter().filter(|h| live(h, now)) {
            *counts.entry(h.version).or_default() += 1;
        }
        counts.into_iter().rev().map(|(version, holders)| VersionHolders { version, holders }).collect()
    }
}

/// A page of holders that borrows a snapshot: as cheap to build for 10,000 holders as for 10.
/// Serialises as a plain list of holders (and reads one back).
#[derive(Debug, Clone)]
pub struct HolderView {
    snapshot: Arc<HolderSnapshot>,
    picked: Vec<u32>,
}

impl HolderView {
    pub fn iter(&self) -> impl Iterator<Item = &Holder> + '_ {
        self.picked.iter().map(|&i| &self.snapshot.holders[i as usize])
    }

    pub fn len(&self) -> usize {
        self.picked.len()
    }

    pub fn is_empty(&self) -> bool {
        self.picked.is_empty()
    }

    pub fn to_vec(&self) -> Vec<Holder> {
        self.iter().cloned().collect()
    }
}

impl From<Vec<Holder>> for HolderView {
    /// A view of exactly these holders, in this order.
    fn from(holders: Vec<Holder>) -> HolderView {
        let picked = (0..holders.len() as u32).collect();
        HolderView { snapshot: Arc::new(HolderSnapshot { holders }), picked }
    }
}

impl IntoIterator for HolderView {
    type Item = Holder;
    type IntoIter = std::vec::IntoIter<Holder>;

    fn into_iter(self) -> Self::IntoIter {
        self.to_vec().into_iter()
    }
}

impl PartialEq for HolderView {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Serialize for HolderView {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

#[cfg(feature = "ssr")]
impl schemars::JsonSchema for HolderView {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HolderList".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <Vec<Holder>>::json_schema(generator)
    }
}

impl<'de> Deserialize<'de> for HolderView {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<Holder>::deserialize(deserializer).map(HolderView::from)
    }
}

/// Holders of a role with counts per pinned version.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldersPage {
    pub holders: HolderView,
    pub next_cursor: Option<String>,
    pub counts: Vec<VersionHolders>,
    pub total: i64,
}

/// An identity's effective permissions: every active, unexpired assignment expanded with the
/// permissions of its pinned version (so each permission shows the grant that gives it), and
/// the separation-of-duty findings it currently has.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectiveAccess {
    pub holdings: Vec<Holding>,
    pub findings: Vec<Finding>,
    pub pending: Vec<ChangeRequest>,
    /// For imported grants: what the source's Deny statements and conditions do to the
    /// permissions above (only grants with something to say are listed).
    #[serde(default)]
    pub qualified: Vec<super::source::Qualification>,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhoCanQuery {
    /// A specific action (`write`), or
    pub action: Option<String>,
    /// any action of a class (`read`, `write`, `admin`).
    pub class: Option<String>,
    pub resource: Option<String>,
    pub scope: String,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

/// Current violations: identities holding several roles, walked in id order a page at a time.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Violations {
    pub findings: Vec<(String, String, Finding)>,
    /// Where the next page starts, when the walk did not reach the end.
    pub next_cursor: Option<String>,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExceptionInput {
    pub rule_id: String,
    pub identity_id: String,
    #[serde(default)]
    pub resource: String,
    pub justification: String,
    /// `YYYY-MM-DD` or RFC 3339; at most a year ahead.
    pub expires_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(identity: &str, assignment: &str, version: i64, scope: &str, expires: Option<&str>) -> Holder {
        Holder {
            assignment_id: assignment.into(),
            identity_id: identity.into(),
            identity_name: format!("name-{identity}"),
            version,
            scope: scope.into(),
            granted_at: "2026-01-01T00:00:00.000000Z".into(),
            expires_at: expires.map(Into::into),
        }
    }

    const NOW: &str = "2026-06-01T00:00:00.000000Z";

    fn snapshot() -> Arc<HolderSnapshot> {
        Arc::new(HolderSnapshot::new(vec![
            holder("i3", "a5", 2, "prod/payments", None),
            holder("i1", "a1", 1, "prod", None),
            holder("i2", "a3", 2, "prod/payments/ledger", Some("2026-05-01T00:00:00.000000Z")),
            holder("i2", "a2", 2, "prod/paymentsx", Some("2026-07-01T00:00:00.000000Z")),
            holder("i2", "a4", 1, "prod/payments", None),
        ]))
    }

    fn ids(view: &HolderView) -> Vec<&str> {
        view.iter().map(|h| h.assignment_id.as_str()).collect()
    }

    #[test]
    fn pages_walk_every_live_grant_once_even_when_an_identity_holds_the_role_twice() {
        let snap = snapshot();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let (view, next) = snap.page(HolderFilter::default(), after.as_deref(), 1, NOW);
            seen.extend(ids(&view).into_iter().map(String::from));
            match next {
                Some(cursor) => after = Some(cursor),
                None => break,
            }
        }
        // a3 expired before NOW; a2 and a4 belong to the same identity and both appear.
        assert_eq!(seen, ["a1", "a2", "a4", "a5"]);
    }

    #[test]
    fn the_last_page_has_no_cursor() {
        let (view, next) = snapshot().page(HolderFilter::default(), None, 4, NOW);
        assert_eq!(view.len(), 4);
        assert_eq!(next, None);
        let (_, next) = snapshot().page(HolderFilter::default(), None, 3, NOW);
        assert_eq!(next.as_deref(), Some("i2 a4"));
    }

    #[test]
    fn filters_keep_a_version_and_a_scope_subtree_but_not_a_sibling_with_the_same_prefix() {
        let snap = snapshot();
        let scoped = HolderFilter { version: None, scope: Some("prod/payments") };
        assert_eq!(ids(&snap.page(scoped, None, 10, NOW).0), ["a4", "a5"]);
        let v2 = HolderFilter { version: Some(2), scope: None };
        assert_eq!(ids(&snap.page(v2, None, 10, NOW).0), ["a2", "a5"]);
    }

    #[test]
    fn a_bare_identity_cursor_resumes_after_all_its_grants() {
        assert_eq!(ids(&snapshot().page(HolderFilter::default(), Some("i2"), 10, NOW).0), ["a5"]);
    }

    #[test]
    fn counts_skip_expired_grants() {
        let counts = snapshot().counts(NOW);
        assert_eq!(counts, vec![VersionHolders { version: 2, holders: 2 }, VersionHolders { version: 1, holders: 2 }]);
        assert!(snapshot().counts("2026-08-01T00:00:00.000000Z").iter().all(|c| c.holders <= 2));
    }

    #[test]
    fn a_view_serialises_as_a_plain_list_and_reads_back() {
        let (view, _) = snapshot().page(HolderFilter::default(), None, 2, NOW);
        let json = serde_json::to_string(&view).unwrap();
        assert_eq!(json, serde_json::to_string(&view.to_vec()).unwrap());
        let back: HolderView = serde_json::from_str(&json).unwrap();
        assert_eq!(back, view);
    }
}
