//! Every console page with who may open it: the pages' counterpart of `rpc.rs`. A page renders
//! for an operator only when its rule allows them; otherwise it answers 403 with a page that says
//! so and renders none of its data (its loaders never run). The menu shows only what may be
//! opened. Pages missing here cannot be opened by anyone, and a test walks every page of this
//! table for every console role.

use super::rpc::Access;
use crate::domain::actor::Capability;
use crate::domain::operator::SessionView;

#[derive(Debug, Clone, Copy)]
pub struct PageRule {
    /// The route as the router declares it, with `:name` for a parameter.
    pub path: &'static str,
    pub access: Access,
}

const fn page(path: &'static str, access: Access) -> PageRule {
    PageRule { path, access }
}

use Access::{Needs, Public, SignedIn};
use Capability::{Administer, Audit, EditLedger, Propose, Provision, ReadLedger};

pub const PAGES: &[PageRule] = &[
    page("/sign-in", Public),
    page("/bootstrap", Public),
    page("/", Needs(ReadLedger)),
    page("/identities", Needs(ReadLedger)),
    page("/identities/new", Needs(EditLedger)),
    page("/identities/:id", Needs(ReadLedger)),
    page("/identities/:id/edit", Needs(EditLedger)),
    page("/services", Needs(ReadLedger)),
    page("/services/new", Needs(EditLedger)),
    page("/services/provision", Needs(Provision)),
    page("/services/:id", Needs(ReadLedger)),
    page("/services/:id/edit", Needs(EditLedger)),
    page("/templates", Needs(ReadLedger)),
    page("/templates/new", Needs(Propose)),
    page("/templates/:id", Needs(ReadLedger)),
    page("/sources", Needs(ReadLedger)),
    page("/sources/:id", Needs(ReadLedger)),
    page("/drift/:id", Needs(ReadLedger)),
    page("/roles", Needs(ReadLedger)),
    page("/roles/new", Needs(Propose)),
    page("/roles/:id", Needs(ReadLedger)),
    page("/roles/:id/propose", Needs(Propose)),
    page("/roles/:id/holders", Needs(ReadLedger)),
    page("/access", Needs(ReadLedger)),
    page("/sod", Needs(ReadLedger)),
    page("/escalation", Needs(ReadLedger)),
    page("/matrix", Needs(ReadLedger)),
    page("/hygiene", Needs(ReadLedger)),
    page("/audit", Needs(Audit)),
    page("/exports", Needs(Audit)),
    page("/approvals", Needs(ReadLedger)),
    page("/approvals/:id", Needs(ReadLedger)),
    page("/settings/account", SignedIn),
    page("/settings/operators", Needs(Administer)),
    page("/settings/tokens", Needs(Administer)),
    page("/settings/policy", Needs(Administer)),
];

/// How well `pattern` matches `path`: `None` when it does not; more literal segments score
/// higher, so `/identities/new` wins over `/identities/:id`.
fn matches(pattern: &str, path: &str) -> Option<usize> {
    let pattern_segments: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let path_segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if pattern_segments.len() != path_segments.len() {
        return None;
    }
    let mut literal = 0;
    for (p, s) in pattern_segments.iter().zip(&path_segments) {
        if p.starts_with(':') {
            continue;
        }
        if p != s {
            return None;
        }
        literal += 1;
    }
    Some(literal)
}

/// The rule for a page's path (without its query), if the page exists.
pub fn lookup(path: &str) -> Option<&'static PageRule> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    PAGES.iter().filter_map(|rule| matches(rule.path, path).map(|score| (score, rule))).max_by_key(|(score, _)| *score).map(|(_, rule)| rule)
}

/// Whether `session` (none: signed out) may open a page with `access`.
pub fn allows(access: Access, session: Option<&SessionView>) -> bool {
    match access {
        Access::Public => true,
        Access::SignedIn => session.is_some(),
        Access::Needs(capability) => session.is_some_and(|s| s.can(capability)),
    }
}

/// Whether `session` may open the page at `path`; pages that do not exist are for nobody (the
/// router answers them with "not found").
pub fn may_open(path: &str, session: Option<&SessionView>) -> bool {
    lookup(path).is_some_and(|rule| allows(rule.access, session))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::actor::ConsoleRole;

    fn session(roles: &[ConsoleRole]) -> SessionView {
        SessionView { operator_id: "op".into(), name: "Op".into(), email: "op@example.com".into(), roles: roles.to_vec(), csrf_token: String::new() }
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        assert_eq!(lookup("/identities/new").unwrap().path, "/identities/new");
        assert_eq!(lookup("/identities/01JD3Q7X8Z9YV6W5T4S3R2P1N0").unwrap().path, "/identities/:id");
        assert_eq!(lookup("/services/provision?template=web-api").unwrap().path, "/services/provision");
        assert_eq!(lookup("/").unwrap().path, "/");
        assert!(lookup("/nowhere/at/all").is_none());
    }

    /// Listing the routes renders the app in a special mode for the whole process, so this runs
    /// here, away from the integration tests' servers.
    #[cfg(feature = "ssr")]
    #[tokio::test]
    async fn every_page_the_router_serves_has_a_rule() {
        let routes = leptos_axum::generate_route_list(crate::ui::App);
        assert!(routes.len() > 20);
        for route in routes {
            let path = route.path().replace('{', ":").replace('}', "");
            let path = if path.is_empty() { "/".to_owned() } else { path };
            assert!(PAGES.iter().any(|r| r.path == path), "route {path} has no rule in ui::pages");
        }
    }

    #[test]
    fn a_viewer_may_not_open_admin_or_audit_pages() {
        let viewer = session(&[ConsoleRole::Viewer]);
        assert!(may_open("/identities/x", Some(&viewer)));
        for path in ["/settings/policy", "/settings/operators", "/settings/tokens", "/audit", "/exports", "/identities/new", "/roles/x/propose"] {
            assert!(!may_open(path, Some(&viewer)), "{path}");
        }
        assert!(may_open("/settings/account", Some(&viewer)));
        assert!(may_open("/settings/policy", Some(&session(&[ConsoleRole::Admin]))));
        assert!(!may_open("/", None));
        assert!(may_open("/sign-in", None));
    }
}
