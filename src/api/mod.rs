//! The versioned REST API for pipelines, `/api/v1`, authenticated with pipeline tokens
//! (`Authorization: Bearer nhidb_…`). Handlers are thin adapters over the service layer.
//!
//! Routes are declared through `Routes`, which records each route's required capability as it
//! mounts it: a route cannot be added without saying who may call it, and the list it produces is
//! what the access test walks.

mod access;
mod docs;
mod error;
mod extract;
mod ledger;
pub mod openapi;
mod pipeline;
mod roles;
mod sources;

pub use error::ApiError;

use crate::domain::actor::{Actor, Capability};
use crate::service::auth;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use openapi::{Doc, doc};

/// The authenticated pipeline behind an API request.
#[derive(Debug, Clone)]
pub struct ApiActor(pub Actor);

pub const PREFIX: &str = "/api/v1";
/// Largest request body: a usage report of 50,000 entries fits comfortably.
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// One API route and what it needs. `needs: None` means any valid token.
#[derive(Debug, Clone)]
pub struct ApiRoute {
    pub method: Method,
    /// The full path, `/api/v1/…`.
    pub path: String,
    pub needs: Option<Capability>,
}

struct Routes {
    router: Router<AppState>,
    list: Vec<(ApiRoute, Doc)>,
}

impl Routes {
    fn new() -> Self {
        Routes { router: Router::new(), list: Vec::new() }
    }

    /// Mounts a handler with who may call it and how it is documented: neither can be left out.
    fn add<H, T>(mut self, method: Method, path: &'static str, needs: Option<Capability>, doc: Doc, handler: H) -> Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        let check = from_fn(move |request: Request, next: Next| require(needs, request, next));
        self.router = self.router.route(path, on(filter, handler).route_layer(check));
        self.list.push((ApiRoute { method, path: format!("{PREFIX}{path}"), needs }, doc));
        self
    }
}

async fn require(needs: Option<Capability>, request: Request, next: Next) -> Response {
    let Some(ApiActor(actor)) = request.extensions().get::<ApiActor>().cloned() else {
        return ApiError::from(crate::error::AppError::Unauthenticated).into_response();
    };
    match needs {
        Some(capability) if !actor.can(capability) => ApiError::from(crate::error::AppError::forbidden(capability.description())).into_response(),
        _ => next.run(request).await,
    }
}

/// Resolves the bearer token; every API route needs one.
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let bearer =
        request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim).map(str::to_owned);
    let Some(bearer) = bearer else {
        return ApiError::from(crate::error::AppError::Unauthenticated).into_response();
    };
    match auth::resolve_token(&state.store, &bearer).await {
        Ok(actor) => {
            request.extensions_mut().insert(ApiActor(actor));
            next.run(request).await
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn routes() -> Routes {
    use crate::domain::audit::{AuditEvent, ChainStatus};
    use crate::domain::change::{ChangeQuery, ChangeRequest, ChangeReview};
    use crate::domain::credential::Credential;
    use crate::domain::discovery::{AccessInput, Capable, EffectiveAccess, Holder, HoldersPage, Violations, WhoCanQuery};
    use crate::domain::identity::{Identity, IdentityDetail, IdentityQuery};
    use crate::domain::page::Page;
    use crate::domain::role::{RoleDetail, RoleQuery, RoleSummary};
    use crate::domain::roles_code::RolesDocument;
    use crate::domain::scope::Scope;
    use crate::domain::service::{Service, ServiceDetail, ServiceQuery};
    use crate::domain::template::{DecommissionInput, DecommissionReceipt, ProvisionInput, Provisioned, Template, TemplateDetail, TemplateInput};
    use crate::service::usage::{UsageOutcome, UsageReport};
    use Capability::{Audit, Decommission, Import, Propose, Provision, ReadLedger, ReportUsage};
    Routes::new()
        .add(Method::GET, "/whoami", None, doc("tokens", "Who the token belongs to and what it may do").ok::<ledger::WhoAmI>(), ledger::whoami)
        .add(
            Method::GET,
            "/identities",
            Some(ReadLedger),
            doc("ledger", "List identities").query::<IdentityQuery>().ok::<Page<Identity>>(),
            ledger::list_identities,
        )
        .add(
            Method::GET,
            "/identities/{id}",
            Some(ReadLedger),
            doc("ledger", "An identity with its credentials, assignments and history").ok::<IdentityDetail>(),
            ledger::get_identity,
        )
        .add(
            Method::GET,
            "/identities/{id}/credentials",
            Some(ReadLedger),
            doc("ledger", "Credential metadata of an identity (never secrets)").ok::<Vec<Credential>>(),
            ledger::list_credentials,
        )
        .add(Method::GET, "/services", Some(ReadLedger), doc("ledger", "List services").query::<ServiceQuery>().ok::<Page<Service>>(), ledger::list_services)
        .add(
            Method::POST,
            "/services",
            Some(Provision),
            doc("pipeline", "Provision a service from a template")
                .describe(
                    "Creates the service, its scopes, the template's identities and their grants (pinned to each role's current \
                     version) in one transaction. Safe to retry: the same Idempotency-Key, or without one the same name, \
                     template and parameters, returns the first answer with `replayed: true`.",
                )
                .body::<ProvisionInput>()
                .created::<Provisioned>()
                .idempotent(),
            pipeline::provision,
        )
        .add(
            Method::GET,
            "/services/{id}",
            Some(ReadLedger),
            doc("ledger", "A service with its identities and history").ok::<ServiceDetail>(),
            ledger::get_service,
        )
        .add(
            Method::POST,
            "/services/{id}/decommission",
            Some(Decommission),
            doc("pipeline", "Decommission a service")
                .describe(
                    "Retires every identity of the service, revokes their credentials and assignments and marks the service \
                     decommissioned, in one transaction; returns the receipt with the audit range and chain hash. A retry \
                     returns the same receipt with `replayed: true`.",
                )
                .optional_body::<DecommissionInput>()
                .ok::<DecommissionReceipt>(),
            pipeline::decommission,
        )
        .add(Method::GET, "/scopes", Some(ReadLedger), doc("ledger", "List scopes").query::<ledger::ScopeQuery>().ok::<Page<Scope>>(), ledger::list_scopes)
        .add(Method::GET, "/templates", Some(ReadLedger), doc("pipeline", "List service templates").ok::<Vec<Template>>(), pipeline::list_templates)
        .add(
            Method::GET,
            "/templates/{id}",
            Some(ReadLedger),
            doc("pipeline", "A template (by id or slug) with all its versions").ok::<TemplateDetail>(),
            pipeline::get_template,
        )
        .add(Method::GET, "/roles", Some(ReadLedger), doc("roles", "The role catalog").query::<RoleQuery>().ok::<Page<RoleSummary>>(), roles::catalog)
        .add(Method::GET, "/roles/export", Some(ReadLedger), doc("roles", "The catalog as a roles file").ok::<RolesDocument>(), roles::export)
        .add(Method::GET, "/roles/{id}", Some(ReadLedger), doc("roles", "A role with all its versions").ok::<RoleDetail>(), roles::detail)
        .add(
            Method::POST,
            "/roles/plan",
            Some(ReadLedger),
            doc("roles", "What applying a roles file would change").body::<roles::PlanRequest>().ok::<roles::PlanResponse>(),
            roles::plan,
        )
        .add(
            Method::POST,
            "/roles/apply",
            Some(Propose),
            doc("roles", "File change requests for a roles file's changes").body::<roles::PlanRequest>().ok::<Vec<ChangeRequest>>(),
            roles::apply,
        )
        .add(
            Method::GET,
            "/change-requests",
            Some(ReadLedger),
            doc("changes", "List change requests").query::<ChangeQuery>().ok::<Page<ChangeRequest>>(),
            roles::list_changes,
        )
        .add(
            Method::GET,
            "/change-requests/{id}",
            Some(ReadLedger),
            doc("changes", "A change request with its diff, blast radius and approval status").ok::<ChangeReview>(),
            roles::get_change,
        )
        .add(
            Method::POST,
            "/change-requests/access",
            Some(Propose),
            doc("changes", "Propose grants and revocations").body::<AccessInput>().ok::<ChangeRequest>(),
            access::propose,
        )
        .add(
            Method::POST,
            "/change-requests/template",
            Some(Propose),
            doc("changes", "Propose a new service template or a new version of one").body::<TemplateInput>().created::<ChangeRequest>(),
            pipeline::propose_template,
        )
        .add(
            Method::GET,
            "/roles/{id}/holders",
            Some(ReadLedger),
            doc("access", "Who holds a role").query::<access::HoldersQuery>().ok::<HoldersPage>(),
            access::holders,
        )
        .add(
            Method::GET,
            "/roles/{id}/holders-at",
            Some(ReadLedger),
            doc("access", "Who held a role at a point in time").query::<access::AtQuery>().ok::<Page<Holder>>(),
            access::holders_at,
        )
        .add(
            Method::GET,
            "/identities/{id}/permissions",
            Some(ReadLedger),
            doc("access", "What an identity can do").ok::<EffectiveAccess>(),
            access::permissions,
        )
        .add(
            Method::GET,
            "/identities/{id}/escalation",
            Some(ReadLedger),
            doc("access", "Escalation paths: the privileged roles and full controls an identity can reach beyond what it holds, by the shortest path")
                .ok::<Page<crate::domain::escalation::EscalationPath>>(),
            access::escalation,
        )
        .add(
            Method::GET,
            "/escalation-paths",
            Some(ReadLedger),
            doc("access", "Every escalation path in the ledger (who can reach which privileged target, in how many hops), filtered by source, namespace / account / project, target and hops")
                .query::<crate::domain::escalation::PathQuery>()
                .ok::<Page<crate::domain::escalation::PathRow>>(),
            access::escalation_paths,
        )
        .add(
            Method::GET,
            "/roles/{id}/reachers",
            Some(ReadLedger),
            doc("access", "Who can reach a privileged role (id or slug), holders included with 0 hops")
                .query::<access::ReachersQuery>()
                .ok::<Page<crate::domain::escalation::Reacher>>(),
            access::role_reachers,
        )
        .add(
            Method::GET,
            "/sources/{kind}/{name}/reachers",
            Some(ReadLedger),
            doc("access", "Who can reach full control of a source (kubernetes, aws or gcp, and its name)")
                .query::<access::ReachersQuery>()
                .ok::<Page<crate::domain::escalation::Reacher>>(),
            access::source_reachers,
        )
        .add(
            Method::GET,
            "/who-can",
            Some(ReadLedger),
            doc("access", "Who can perform an action on a resource").query::<WhoCanQuery>().ok::<Page<Capable>>(),
            access::who_can,
        )
        .add(
            Method::GET,
            "/sod/violations",
            Some(ReadLedger),
            doc("access", "Separation-of-duty violations").query::<access::ViolationsQuery>().ok::<Violations>(),
            access::violations,
        )
        .add(
            Method::POST,
            "/usage",
            Some(ReportUsage),
            doc("pipeline", "Report credential and identity usage")
                .describe(
                    "Moves `last_used_at` of credentials (by fingerprint) and `last_seen_at` of identities forward, up to 50,000 \
                     entries per call, in one transaction. Unknown fingerprints and identities are listed in the answer.",
                )
                .body::<UsageReport>()
                .ok::<UsageOutcome>(),
            pipeline::report_usage,
        )
        .add(
            Method::GET,
            "/hygiene",
            Some(ReadLedger),
            doc("hygiene", "Open hygiene findings per kind, with the windows used").ok::<crate::domain::hygiene::HygieneSummary>(),
            ledger::hygiene_summary,
        )
        .add(
            Method::GET,
            "/hygiene/{kind}",
            Some(ReadLedger),
            doc("hygiene", "One hygiene report, a page at a time")
                .describe(
                    "kind: orphan_owner, orphan_service, unassigned, dormant, credential_expired, credential_expiring, \
                     credential_unrotated, credential_unused, sod_violation, privileged_holder, outdated_version.",
                )
                .query::<crate::domain::hygiene::FindingQuery>()
                .ok::<Page<crate::domain::hygiene::Finding>>(),
            ledger::hygiene_report,
        )
        .add(
            Method::GET,
            "/audit",
            Some(Audit),
            doc("audit", "Audit events in sequence order").query::<ledger::AuditQuery>().ok::<Page<AuditEvent>>(),
            ledger::audit_events,
        )
        .add(Method::GET, "/audit/verify", Some(Audit), doc("audit", "Verify the audit hash chain").ok::<ChainStatus>(), ledger::audit_verify)
        .add(
            Method::POST,
            "/sources/{kind}/{name}/imports",
            Some(Import),
            doc("sources", "Import a source's export (Kubernetes, AWS or GCP)")
                .describe(
                    "kind: kubernetes, aws or gcp; name: the cluster, the AWS account id or the GCP project id. The body is the export \
                     as the tool prints it: `kubectl get serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings -A -o json` \
                     (or YAML, or manifests), `aws iam get-account-authorization-details`, or `gcloud projects get-iam-policy PROJECT \
                     --format=json`. Up to 256 MiB after decompression; `Content-Encoding: gzip` is accepted. The import is reconciled \
                     with the source's earlier imports in one transaction; with `plan=true` nothing is written. The answer lists what \
                     the input held and what changed.",
                )
                .query::<sources::ImportQuery>()
                .ok::<crate::domain::source::ImportRecord>(),
            sources::import,
        )
        .add(
            Method::GET,
            "/sources",
            Some(ReadLedger),
            doc("sources", "Sources and their last imports").ok::<Vec<crate::domain::source::Source>>(),
            sources::list,
        )
        .add(
            Method::GET,
            "/drift",
            Some(ReadLedger),
            doc("sources", "Drift findings, a page at a time")
                .describe(
                    "What imports observed that nobody in nhidb reviewed: changed_outside_review (a role version the source changed), \
                     unreviewed_access (a grant of a privileged role), dangling_binding (a grant whose role or principal the source \
                     lacks). Open findings unless state says acknowledged, gone or all; source narrows to one source (its id).",
                )
                .query::<crate::domain::drift::DriftQuery>()
                .ok::<Page<crate::domain::drift::Drift>>(),
            sources::drift,
        )
        .add(
            Method::GET,
            "/drift/{id}",
            Some(ReadLedger),
            doc("sources", "A drift finding with its diff and its acknowledgement").ok::<crate::domain::drift::DriftDetail>(),
            sources::drift_detail,
        )
        .add(
            Method::POST,
            "/drift/{id}/acknowledgements",
            Some(Propose),
            doc("sources", "Acknowledge a drift finding: files a change request, which closes the finding when approved")
                .body::<crate::domain::drift::AcknowledgeInput>()
                .created::<ChangeRequest>(),
            sources::acknowledge,
        )
}

/// Every API route with its requirement, for documentation and the access test.
/// Mounted under `PREFIX`.
pub fn route_list() -> Vec<ApiRoute> {
    routes().list.into_iter().map(|(route, _)| route).collect()
}

/// The OpenAPI 3.1 document, built once.
pub fn openapi() -> &'static serde_json::Value {
    static DOCUMENT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| openapi::document(&routes().list))
}

pub fn router(state: AppState) -> Router<AppState> {
    let authenticated = routes()
        .router
        .fallback(|| async { ApiError::from(crate::error::AppError::not_found("API route", "this path")) })
        .layer(from_fn_with_state(state, authenticate));
    // The document describes the API to anyone about to call it; it holds no ledger data.
    Router::new()
        .route("/openapi.json", axum::routing::get(|| async { axum::Json(openapi()) }))
        .route("/docs", axum::routing::get(docs::index))
        .route("/docs/", axum::routing::get(docs::file))
        .route("/docs/{*tail}", axum::routing::get(docs::file))
        .merge(authenticated)
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
}
