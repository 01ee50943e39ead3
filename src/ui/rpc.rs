//! Every server function of the console, with who may call it. The HTTP guard refuses calls to
//! endpoints missing here, and a test calls each endpoint listed by the server-function registry
//! to prove the table and the real behaviour agree. Adding a server function means adding it
//! here, or it cannot be called.

use crate::domain::actor::Capability;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not: signing in, first run, "who am I".
    Public,
    /// Any signed-in operator: their own account.
    SignedIn,
    /// Signed-in operators whose console roles grant the capability.
    Needs(Capability),
}

#[derive(Debug, Clone, Copy)]
pub struct Rpc {
    pub path: &'static str,
    pub access: Access,
    /// State-changing calls must prove they come from the console (origin and CSRF token).
    pub changes_state: bool,
}

const fn read(path: &'static str, access: Access) -> Rpc {
    Rpc { path, access, changes_state: false }
}

const fn write(path: &'static str, access: Access) -> Rpc {
    Rpc { path, access, changes_state: true }
}

use Access::{Needs, Public, SignedIn};
use Capability::{Administer, Audit, Decide, Decommission, EditLedger, Propose, Provision, ReadLedger};

pub const RPCS: &[Rpc] = &[
    read("/rpc/auth/session", Public),
    write("/rpc/auth/sign-in", Public),
    write("/rpc/auth/sign-out", SignedIn),
    write("/rpc/auth/sign-out-everywhere", SignedIn),
    read("/rpc/bootstrap/status", Public),
    write("/rpc/bootstrap/complete", Public),
    read("/rpc/account/sessions", SignedIn),
    write("/rpc/account/password", SignedIn),
    read("/rpc/overview", Needs(ReadLedger)),
    read("/rpc/ledger/choices", Needs(ReadLedger)),
    read("/rpc/identities/list", Needs(ReadLedger)),
    read("/rpc/identities/detail", Needs(ReadLedger)),
    read("/rpc/identities/escalation", Needs(ReadLedger)),
    write("/rpc/identities/create", Needs(EditLedger)),
    write("/rpc/identities/update", Needs(EditLedger)),
    write("/rpc/identities/status", Needs(EditLedger)),
    write("/rpc/credentials/register", Needs(EditLedger)),
    read("/rpc/services/list", Needs(ReadLedger)),
    read("/rpc/services/detail", Needs(ReadLedger)),
    write("/rpc/services/create", Needs(EditLedger)),
    write("/rpc/services/update", Needs(EditLedger)),
    read("/rpc/services/preview", Needs(Provision)),
    write("/rpc/services/provision", Needs(Provision)),
    write("/rpc/services/decommission", Needs(Decommission)),
    read("/rpc/templates/list", Needs(ReadLedger)),
    read("/rpc/hygiene/summary", Needs(ReadLedger)),
    read("/rpc/sources/list", Needs(ReadLedger)),
    read("/rpc/sources/detail", Needs(ReadLedger)),
    read("/rpc/drift/detail", Needs(ReadLedger)),
    read("/rpc/audit/search", Needs(Audit)),
    read("/rpc/audit/verify", Needs(Audit)),
    read("/rpc/hygiene/report", Needs(ReadLedger)),
    read("/rpc/templates/detail", Needs(ReadLedger)),
    write("/rpc/templates/propose", Needs(Propose)),
    read("/rpc/roles/catalog", Needs(ReadLedger)),
    read("/rpc/roles/detail", Needs(ReadLedger)),
    read("/rpc/roles/diff", Needs(ReadLedger)),
    write("/rpc/roles/propose-create", Needs(Propose)),
    write("/rpc/roles/propose-version", Needs(Propose)),
    write("/rpc/drift/acknowledge", Needs(Propose)),
    write("/rpc/roles/propose-retire", Needs(Propose)),
    read("/rpc/changes/list", Needs(ReadLedger)),
    read("/rpc/changes/review", Needs(ReadLedger)),
    write("/rpc/changes/decide", Needs(Decide)),
    write("/rpc/changes/cancel", Needs(Propose)),
    read("/rpc/policy/get", Needs(Administer)),
    write("/rpc/policy/set", Needs(Administer)),
    read("/rpc/access/effective", Needs(ReadLedger)),
    read("/rpc/access/role-choices", Needs(ReadLedger)),
    write("/rpc/access/grant", Needs(Propose)),
    write("/rpc/access/revoke", Needs(Propose)),
    read("/rpc/access/holders", Needs(ReadLedger)),
    write("/rpc/access/move-holders", Needs(Propose)),
    read("/rpc/access/who-can", Needs(ReadLedger)),
    read("/rpc/access/holders-at", Needs(ReadLedger)),
    read("/rpc/escalation/paths", Needs(ReadLedger)),
    read("/rpc/sod/overview", Needs(ReadLedger)),
    write("/rpc/sod/add-pair", Needs(Administer)),
    write("/rpc/sod/toggle", Needs(Administer)),
    write("/rpc/sod/add-exception", Needs(Administer)),
    read("/rpc/matrix/load", Needs(ReadLedger)),
    write("/rpc/matrix/submit", Needs(Propose)),
    read("/rpc/operators/list", Needs(Administer)),
    write("/rpc/operators/create", Needs(Administer)),
    write("/rpc/operators/update", Needs(Administer)),
    write("/rpc/operators/status", Needs(Administer)),
    write("/rpc/operators/reset-password", Needs(Administer)),
    read("/rpc/tokens/list", Needs(Administer)),
    write("/rpc/tokens/create", Needs(Administer)),
    write("/rpc/tokens/revoke", Needs(Administer)),
];

pub fn lookup(path: &str) -> Option<&'static Rpc> {
    RPCS.iter().find(|r| r.path == path)
}
