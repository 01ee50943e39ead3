//! Demo data: a realistic ledger (teams and people, ~40 services, scopes per environment, a role
//! catalog with version history, identities of every kind with labels, assignments and
//! credential metadata) generated deterministically, so every demo and test sees the same shape.

use crate::domain::Timestamp;
use crate::domain::actor::Actor;
use crate::domain::audit::AuditEntry;
use crate::domain::credential::{CredentialKind, Fingerprint};
use crate::domain::identity::{IdentityDraft, IdentityKind, IdentityStatus};
use crate::domain::labels::Labels;
use crate::domain::name::{IdentityName, ServiceName};
use crate::domain::owner::{Owner, OwnerKind, OwnerStatus};
use crate::domain::role::{Permission, Role, RoleDefinition, RoleStatus, Sensitivity};
use crate::domain::scope::{ScopeKind, ScopePath};
use crate::domain::service::{ServiceDraft, ServiceStatus};
use crate::domain::template::TemplateDefinition;
use crate::error::AppError;
use crate::store::{self, Store, assignments, audit, credentials, identities, owners, roles, scopes, services, templates};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

pub const DEFAULT_IDENTITIES: usize = 500;
/// Identities written per transaction: large enough to be fast, small enough that a long seed
/// does not hold the write lock for long.
const BATCH: usize = 500;

const TEAMS: &[&str] = &[
    "payments-team",
    "platform-team",
    "data-team",
    "identity-team",
    "ml-team",
    "mobile-team",
    "search-team",
    "sre-team",
    "security-team",
    "growth-team",
    "devices-team",
    "analytics-team",
];

const PEOPLE: &[(&str, &str)] = &[
    ("Alice Nguyen", "alice.nguyen"),
    ("Bruno Costa", "bruno.costa"),
    ("Chen Wei", "chen.wei"),
    ("Dana Levi", "dana.levi"),
    ("Emeka Obi", "emeka.obi"),
    ("Fatima Zahra", "fatima.zahra"),
    ("Gustav Berg", "gustav.berg"),
    ("Hana Sato", "hana.sato"),
    ("Ines Moreau", "ines.moreau"),
    ("Jonas Weber", "jonas.weber"),
    ("Kavya Rao", "kavya.rao"),
    ("Liam O'Brien", "liam.obrien"),
    ("Maya Cohen", "maya.cohen"),
    ("Nikolai Petrov", "nikolai.petrov"),
    ("Olivia Smith", "olivia.smith"),
    ("Pedro Alves", "pedro.alves"),
    ("Quinn Taylor", "quinn.taylor"),
    ("Rosa Diaz", "rosa.diaz"),
];

/// (service, owning team index, domain word used in resources)
const SERVICES: &[(&str, usize, &str)] = &[
    ("payments-api", 0, "payments"),
    ("ledger-service", 0, "ledger"),
    ("checkout-web", 0, "checkout"),
    ("fraud-detector", 0, "fraud"),
    ("billing-worker", 0, "billing"),
    ("invoice-renderer", 0, "invoices"),
    ("pricing-engine", 9, "pricing"),
    ("tax-calculator", 0, "tax"),
    ("orders-api", 9, "orders"),
    ("inventory-sync", 9, "inventory"),
    ("customer-profile", 3, "customers"),
    ("auth-gateway", 3, "auth"),
    ("secrets-broker", 8, "secrets"),
    ("config-service", 1, "config"),
    ("k8s-operator", 1, "cluster"),
    ("ci-runner", 1, "ci"),
    ("release-manager", 1, "releases"),
    ("cdn-purger", 1, "cdn"),
    ("log-shipper", 7, "logs"),
    ("metrics-collector", 7, "metrics"),
    ("backup-agent", 7, "backups"),
    ("audit-archiver", 8, "audit"),
    ("search-indexer", 6, "search"),
    ("recommendation-engine", 4, "recommendations"),
    ("feature-store", 4, "features"),
    ("ml-training", 4, "training"),
    ("model-serving", 4, "models"),
    ("reporting-etl", 2, "reports"),
    ("data-lake-loader", 2, "lake"),
    ("warehouse-sync", 11, "warehouse"),
    ("notifications", 5, "notifications"),
    ("email-gateway", 5, "email"),
    ("sms-gateway", 5, "sms"),
    ("mobile-backend", 5, "mobile"),
    ("partner-api", 9, "partners"),
    ("webhooks-dispatcher", 9, "webhooks"),
    ("device-registry", 10, "devices"),
    ("telemetry-ingest", 10, "telemetry"),
    ("firmware-updater", 10, "firmware"),
    ("geo-service", 6, "geo"),
];

/// Services kept in the ledger after they were shut down, as real ledgers have.
const DECOMMISSIONED: &[&str] = &["cdn-purger", "sms-gateway"];

struct RoleSeed {
    slug: &'static str,
    name: &'static str,
    sensitivity: Sensitivity,
    scope: &'static str,
    /// Each entry is one version's permissions, oldest first.
    versions: &'static [&'static [(&'static str, &'static str)]],
}

const ROLES: &[RoleSeed] = &[
    RoleSeed {
        slug: "data-reader",
        name: "Data reader",
        sensitivity: Sensitivity::Standard,
        scope: "prod",
        versions: &[&[("read", "db:*")], &[("read", "db:*"), ("query", "warehouse:*")]],
    },
    RoleSeed {
        slug: "data-writer",
        name: "Data writer",
        sensitivity: Sensitivity::Privileged,
        scope: "prod",
        versions: &[&[("write", "db:*"), ("update", "db:*")]],
    },
    RoleSeed { slug: "log-writer", name: "Log writer", sensitivity: Sensitivity::Standard, scope: "prod", versions: &[&[("write", "logs:*")]] },
    RoleSeed {
        slug: "metrics-uploader",
        name: "Metrics uploader",
        sensitivity: Sensitivity::Standard,
        scope: "prod",
        versions: &[
            &[("upload", "metrics:*")],
            &[("upload", "metrics:*"), ("publish", "traces:*")],
            &[("upload", "metrics:*"), ("publish", "traces:*"), ("write", "logs:telemetry")],
        ],
    },
    RoleSeed {
        slug: "deployment-trigger",
        name: "Deployment trigger",
        sensitivity: Sensitivity::Standard,
        scope: "prod",
        versions: &[&[("trigger", "deploy:*")], &[("trigger", "deploy:*"), ("read", "releases:*")]],
    },
    RoleSeed { slug: "queue-consumer", name: "Queue consumer", sensitivity: Sensitivity::Standard, scope: "prod", versions: &[&[("subscribe", "queue:*")]] },
    RoleSeed { slug: "queue-publisher", name: "Queue publisher", sensitivity: Sensitivity::Standard, scope: "prod", versions: &[&[("publish", "queue:*")]] },
    RoleSeed { slug: "api-invoker", name: "API invoker", sensitivity: Sensitivity::Standard, scope: "prod", versions: &[&[("invoke", "api:*")]] },
    RoleSeed {
        slug: "bucket-reader",
        name: "Bucket reader",
        sensitivity: Sensitivity::Standard,
        scope: "prod",
        versions: &[&[("read", "bucket:*"), ("list", "bucket:*")]],
    },
    RoleSeed { slug: "secrets-reader", name: "Secrets reader", sensitivity: Sensitivity::Privileged, scope: "prod", versions: &[&[("read", "secret:*")]] },
    RoleSeed {
        slug: "payments-admin",
        name: "Payments administrator",
        sensitivity: Sensitivity::Privileged,
        scope: "prod/payments",
        versions: &[
            &[("admin", "api:payments"), ("configure", "db:ledger")],
            &[("admin", "api:payments"), ("configure", "db:ledger"), ("grant", "role:payments")],
        ],
    },
    RoleSeed {
        slug: "device-telemetry",
        name: "Device telemetry",
        sensitivity: Sensitivity::Standard,
        scope: "prod/devices",
        versions: &[&[("publish", "telemetry:*")]],
    },
];

/// What an identity of each kind typically holds (role slugs).
fn roles_for(kind: IdentityKind) -> &'static [&'static str] {
    match kind {
        IdentityKind::ServiceAccount => &["data-reader", "log-writer", "metrics-uploader", "queue-consumer", "data-writer"],
        IdentityKind::MachineUser => &["bucket-reader", "log-writer", "secrets-reader"],
        IdentityKind::ApiClient => &["api-invoker", "data-reader"],
        IdentityKind::CiBot => &["deployment-trigger", "bucket-reader"],
        IdentityKind::IotDevice => &["device-telemetry"],
        IdentityKind::Workload => &["queue-publisher", "metrics-uploader", "log-writer"],
    }
}

fn name_prefix(kind: IdentityKind) -> &'static str {
    match kind {
        IdentityKind::ServiceAccount => "svc",
        IdentityKind::MachineUser => "mu",
        IdentityKind::ApiClient => "client",
        IdentityKind::CiBot => "deploy",
        IdentityKind::IotDevice => "device",
        IdentityKind::Workload => "wl",
    }
}

const KIND_WEIGHTS: &[(IdentityKind, u32)] = &[
    (IdentityKind::ServiceAccount, 34),
    (IdentityKind::Workload, 20),
    (IdentityKind::ApiClient, 14),
    (IdentityKind::CiBot, 12),
    (IdentityKind::MachineUser, 10),
    (IdentityKind::IotDevice, 10),
];

fn pick_kind(rng: &mut StdRng) -> IdentityKind {
    let total: u32 = KIND_WEIGHTS.iter().map(|(_, w)| w).sum();
    let mut roll = rng.gen_range(0..total);
    for (kind, weight) in KIND_WEIGHTS {
        if roll < *weight {
            return *kind;
        }
        roll -= weight;
    }
    IdentityKind::ServiceAccount
}

fn fingerprint(rng: &mut StdRng) -> Fingerprint {
    let bytes: [u8; 32] = rng.r#gen();
    Fingerprint::parse(&hex::encode(bytes)).unwrap_or_else(|_| Fingerprint::from_stored(hex::encode(bytes)))
}

fn credential_kind(kind: IdentityKind, rng: &mut StdRng) -> CredentialKind {
    let options: &[CredentialKind] = match kind {
        IdentityKind::ServiceAccount => &[CredentialKind::ApiKey, CredentialKind::AccessToken, CredentialKind::SigningKey],
        IdentityKind::MachineUser => &[CredentialKind::SshKey, CredentialKind::Password],
        IdentityKind::ApiClient => &[CredentialKind::ClientSecret, CredentialKind::ApiKey],
        IdentityKind::CiBot => &[CredentialKind::AccessToken, CredentialKind::SshKey],
        IdentityKind::IotDevice => &[CredentialKind::X509Certificate],
        IdentityKind::Workload => &[CredentialKind::X509Certificate, CredentialKind::AccessToken],
    };
    options[rng.gen_range(0..options.len())]
}

fn internal(e: String) -> AppError {
    AppError::internal("seed", e)
}

/// Reference data the identity batches draw on.
struct Catalog {
    team_ids: Vec<String>,
    people_ids: Vec<String>,
    /// (service id, name, owning team index, environment)
    services: Vec<(String, &'static str, usize)>,
    /// slug → (role id, current version, scope id)
    roles: std::collections::HashMap<&'static str, (String, i64, String)>,
}

/// Whether the ledger holds no identity yet.
pub async fn is_empty(store: &Store) -> Result<bool, AppError> {
    Ok(identities::count_all(&mut *store.read().await?).await? == 0)
}

/// Whether anyone can sign in yet: a database with an operator is somebody's install.
pub async fn has_operators(store: &Store) -> Result<bool, AppError> {
    Ok(crate::store::operators::count(&mut *store.read().await?).await? > 0)
}

/// Seeds the demo ledger with `identity_count` identities; `progress` is told how many
/// identities are written so far.
pub async fn demo(store: &Store, identity_count: usize, progress: &(dyn Fn(u64) + Sync)) -> Result<(), AppError> {
    if !is_empty(store).await? {
        return Err(AppError::invalid_state("The database already holds identities; demo data goes into an empty database only."));
    }
    let actor = Actor::system("seed-demo");
    let mut rng = StdRng::seed_from_u64(0x6e68_6964_62);
    let catalog = seed_catalog(store, &actor).await?;
    let now = Timestamp::now();
    let mut written = 0usize;
    while written < identity_count {
        let batch = BATCH.min(identity_count - written);
        let mut tx = store.begin().await?;
        for n in written..written + batch {
            seed_identity(tx.conn(), &actor, &catalog, &mut rng, n, now).await?;
        }
        tx.commit().await?;
        written += batch;
        progress(written as u64);
    }
    // Identities were written directly, not through the use cases that keep findings current.
    let policy = super::findings::policy_in_effect(store).await?;
    super::findings::rebuild(store, &policy, &|_, _| {}).await?;
    Ok(())
}

/// The Kubernetes cluster the demo imports, twice, as a nightly job would push it: the second
/// export has a changed ClusterRole, a removed service account and binding, and a new binding.
pub const DEMO_CLUSTER: &str = "demo-cluster";

/// Imports the demo cluster (see `DEMO_CLUSTER`), so the Sources pages and imported identities
/// and roles have something to show. Returns how many imports were made.
pub async fn demo_sources(store: &Store) -> Result<usize, AppError> {
    use super::imports::{InputFile, KubernetesOptions, Target};
    let actor = Actor::system("seed-demo");
    let target =
        Target { kind: crate::domain::source::SourceKind::Kubernetes, name: DEMO_CLUSTER.to_owned(), owner: Some(TEAMS[1].to_owned()), plan_only: false };
    let exports = [
        ("rbac-monday.yaml", include_str!("../../tests/fixtures/import/kubernetes/list.yaml")),
        ("rbac-tuesday.yaml", include_str!("../../tests/fixtures/import/kubernetes/changed.yaml")),
    ];
    for (name, text) in exports {
        let input = vec![InputFile { name: name.to_owned(), text: text.to_owned() }];
        super::imports::import_kubernetes(store, &actor, &target, &KubernetesOptions::default(), input).await?;
    }
    Ok(exports.len())
}

async fn seed_catalog(store: &Store, actor: &Actor) -> Result<Catalog, AppError> {
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    let conn = tx.conn();
    let mut team_ids = Vec::new();
    for team in TEAMS {
        let owner = Owner {
            id: store::new_id(),
            kind: OwnerKind::Team,
            name: (*team).to_owned(),
            email: Some(format!("{team}@example.com")),
            status: OwnerStatus::Active,
        };
        owners::insert(conn, &owner, now).await?;
        team_ids.push(owner.id);
    }
    let mut people_ids = Vec::new();
    for (i, (name, handle)) in PEOPLE.iter().enumerate() {
        // One person has left: their identities are the orphans hygiene reports must find.
        let status = if i == PEOPLE.len() - 1 { OwnerStatus::Disabled } else { OwnerStatus::Active };
        let owner = Owner { id: store::new_id(), kind: OwnerKind::Person, name: (*name).to_owned(), email: Some(format!("{handle}@example.com")), status };
        owners::insert(conn, &owner, now).await?;
        people_ids.push(owner.id);
    }

    for env in ["prod", "staging", "dev"] {
        scopes::ensure(conn, &ScopePath::parse(env).map_err(internal)?, ScopeKind::Namespace, now).await?;
    }
    let mut services_out = Vec::new();
    for (name, team, word) in SERVICES {
        let draft = ServiceDraft {
            name: ServiceName::parse(name).map_err(internal)?,
            display_name: title_case(name),
            description: format!("Owns the {word} domain."),
            owner_id: team_ids[*team].clone(),
        };
        let id = services::insert(conn, &draft, None, now).await?;
        for env in ["prod", "staging"] {
            let group = ScopePath::parse(&format!("{env}/{word}")).map_err(internal)?;
            scopes::ensure(conn, &group, ScopeKind::ResourceGroup, now).await?;
            let data = ScopePath::parse(&format!("{env}/{word}/{word}-db")).map_err(internal)?;
            scopes::ensure(conn, &data, ScopeKind::DataSet, now).await?;
        }
        services_out.push((id, *name, *team));
    }

    let mut roles_out = std::collections::HashMap::new();
    for seed in ROLES {
        let role_id = store::new_id();
        let current = seed.versions.len() as i64;
        roles::insert(
            conn,
            &Role {
                id: role_id.clone(),
                slug: seed.slug.to_owned(),
                display_name: seed.name.to_owned(),
                description: format!("{} for machine identities.", seed.name),
                sensitivity: seed.sensitivity,
                status: RoleStatus::Active,
                current_version: current,
                created_at: now,
                updated_at: now,
                managed_by: None,
            },
        )
        .await?;
        let scope_path = ScopePath::parse(seed.scope).map_err(internal)?;
        let scope = scopes::ensure(conn, &scope_path, ScopeKind::Namespace, now).await?;
        for (i, perms) in seed.versions.iter().enumerate() {
            let permissions = perms.iter().map(|(a, r)| Permission::parse(a, r)).collect::<Result<Vec<_>, _>>().map_err(internal)?;
            let definition = RoleDefinition::new(scope_path.clone(), format!("{} for machine identities.", seed.name), permissions, None);
            roles::insert_version(conn, &role_id, i as i64 + 1, &scope.id, &definition, "seed-demo", None, now).await?;
        }
        roles_out.insert(seed.slug, (role_id, current, scope.id));
    }

    for (slug, display_name, definition) in demo_templates() {
        let id = store::new_id();
        templates::insert(conn, &id, slug, display_name, now).await?;
        templates::insert_version(
            conn,
            &templates::NewVersion { template_id: &id, version: 1, definition: &definition, author: "seed-demo", change_request_id: None },
            now,
        )
        .await?;
    }

    for (id, ..) in services_out.iter().filter(|(_, name, _)| DECOMMISSIONED.contains(name)) {
        services::set_status(conn, id, ServiceStatus::Decommissioned, now).await?;
    }
    audit::append(
        conn,
        actor,
        AuditEntry::new(
            "seed.catalog",
            "ledger",
            "demo",
            json!({
                "owners": TEAMS.len() + PEOPLE.len(), "services": SERVICES.len(), "roles": ROLES.len(),
            }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Catalog { team_ids, people_ids, services: services_out, roles: roles_out })
}

/// Templates pipelines provision from: `web-api` creates 3 identities with 5 grants.
pub fn demo_templates() -> Vec<(&'static str, &'static str, TemplateDefinition)> {
    let web_api = json!({
        "description": "An HTTP API: its service account reads its data and ships metrics, a deploy bot rolls it out, \
            a workload publishes its events and writes logs.",
        "identities": [
            { "name": "svc-{service}", "kind": "service_account", "description": "The API's own service account.", "grants": [
                { "role": "data-reader", "scope": "{env}/{service}" },
                { "role": "metrics-uploader", "scope": "{env}/{service}" }
            ]},
            { "name": "deploy-{service}", "kind": "ci_bot", "description": "Deploys the API.", "grants": [
                { "role": "deployment-trigger", "scope": "{env}/{service}" }
            ]},
            { "name": "wl-{service}", "kind": "workload", "description": "Publishes the API's events.", "grants": [
                { "role": "queue-publisher", "scope": "{env}/{service}" },
                { "role": "log-writer", "scope": "{env}/{service}" }
            ]}
        ]
    });
    let worker = json!({
        "description": "A queue worker: consumes its queue and writes logs.",
        "identities": [
            { "name": "svc-{service}", "kind": "service_account", "description": "The worker's service account.", "grants": [
                { "role": "queue-consumer", "scope": "{env}/{service}" },
                { "role": "log-writer", "scope": "{env}/{service}" }
            ]}
        ]
    });
    [("web-api", "Web API", web_api), ("worker", "Queue worker", worker)]
        .into_iter()
        .map(|(slug, name, definition)| (slug, name, serde_json::from_value(definition).expect("demo templates are valid")))
        .collect()
}

fn title_case(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

async fn seed_identity(conn: &mut sqlx::AnyConnection, actor: &Actor, catalog: &Catalog, rng: &mut StdRng, n: usize, now: Timestamp) -> Result<(), AppError> {
    let kind = pick_kind(rng);
    // One in twenty identities belongs to no service (partner clients, shared bots).
    let service = (rng.gen_range(0..20) != 0).then(|| &catalog.services[n % catalog.services.len()]);
    let env = if rng.gen_range(0..4) == 0 { "staging" } else { "prod" };
    let name = match service {
        Some((_, service_name, _)) => format!("{}-{service_name}-{n}", name_prefix(kind)),
        None => format!("{}-shared-{n}", name_prefix(kind)),
    };
    let team = service.map(|(_, _, team)| *team).unwrap_or(n % catalog.team_ids.len());
    // Most identities are owned by their team; some by a person, as happens in practice.
    let owner_id = if rng.gen_range(0..6) == 0 { catalog.people_ids[n % catalog.people_ids.len()].clone() } else { catalog.team_ids[team].clone() };
    let mut labels = Labels::default();
    labels.insert("team", TEAMS[team]);
    labels.insert("env", env);
    labels.insert("tier", &rng.gen_range(1..=3).to_string());
    let draft = IdentityDraft {
        name: IdentityName::parse(&name).map_err(internal)?,
        kind,
        owner_id,
        service_id: service.map(|(id, ..)| id.clone()),
        description: format!("{} for {}", kind.label(), service.map(|(_, s, _)| *s).unwrap_or("shared tooling")),
        labels,
    };
    let id = store::new_id();
    let created = now.plus_days(-rng.gen_range(30..720));
    identities::insert(conn, &id, &draft, created).await?;

    let roll = rng.gen_range(0..100);
    let status = if roll < 4 {
        IdentityStatus::Retired
    } else if roll < 12 {
        IdentityStatus::Suspended
    } else {
        IdentityStatus::Active
    };
    if status != IdentityStatus::Active {
        identities::set_status(conn, &id, status, now.plus_days(-rng.gen_range(1..60))).await?;
    }
    // A tenth were never seen; the rest within the last four months.
    if rng.gen_range(0..10) != 0 {
        let seen = now.plus_seconds(-rng.gen_range(60..120 * 86_400));
        identities::touch_last_seen(conn, &id, seen).await?;
    }

    let candidates = roles_for(kind);
    let held = rng.gen_range(1..=candidates.len().min(3));
    let mut first_assignment = None;
    let mut granted = Vec::new();
    for slug in candidates.iter().take(held) {
        let Some((role_id, current, scope_id)) = catalog.roles.get(slug) else { continue };
        // A quarter of holders are still pinned to an older version.
        let version = if *current > 1 && rng.gen_range(0..4) == 0 { current - 1 } else { *current };
        let assignment_id = store::new_id();
        let revoked = status == IdentityStatus::Retired;
        assignments::insert(
            conn,
            &assignments::NewAssignment {
                id: &assignment_id,
                identity_id: &id,
                role_id,
                role_version: version,
                scope_id,
                granted_by: "seed-demo",
                change_request_id: None,
                expires_at: None,
            },
            created,
        )
        .await?;
        if revoked {
            assignments::revoke_all_of_identity(conn, &id, "seed-demo", now, "identity retired").await?;
        }
        first_assignment.get_or_insert(assignment_id);
        granted.push(format!("{slug} v{version}"));
    }

    let credential_count = rng.gen_range(0..=2);
    for _ in 0..credential_count {
        let expires = match rng.gen_range(0..10) {
            0 => Some(now.plus_days(-rng.gen_range(1..90))),
            1 | 2 => Some(now.plus_days(rng.gen_range(1..30))),
            3..=6 => Some(now.plus_days(rng.gen_range(30..365))),
            _ => None,
        };
        credentials::insert(
            conn,
            &credentials::NewCredential {
                id: &store::new_id(),
                identity_id: &id,
                assignment_id: first_assignment.as_deref(),
                kind: credential_kind(kind, rng),
                fingerprint: &fingerprint(rng),
                description: "",
                expires_at: expires,
            },
            created,
        )
        .await?;
    }
    if status == IdentityStatus::Retired {
        credentials::revoke_all_of_identity(conn, &id, now, "identity retired").await?;
    }
    // Each seeded identity gets its creation event, so histories and the chain look as they
    // would after real use.
    let mut entry = AuditEntry::new(
        "identity.create",
        "identity",
        &id,
        json!({
            "after": { "name": name, "kind": kind.as_str(), "status": status.as_str() },
            "roles": granted.join(", "),
            "credentials": credential_count,
            "seeded": true,
        }),
    );
    if let Some((service_id, ..)) = service {
        entry = entry.in_context(service_id);
    }
    audit::append(conn, actor, entry).await?;
    Ok(())
}

/// The demo operators: one per console role plus a second approver (privileged changes need two).
/// Their passwords are public (README); they exist for demos and tests only.
pub const DEMO_OPERATORS: &[(&str, &str, &str, &str)] = &[
    ("Ada Admin", "admin@example.com", "admin", "nhidb-demo-admin"),
    ("Rui Requester", "requester@example.com", "requester", "nhidb-demo-requester"),
    ("Amara Approver", "approver@example.com", "approver", "nhidb-demo-approver"),
    ("Bo Approver", "approver2@example.com", "approver", "nhidb-demo-approver2"),
    ("Aud Auditor", "auditor@example.com", "auditor", "nhidb-demo-auditor"),
    ("Vic Viewer", "viewer@example.com", "viewer", "nhidb-demo-viewer"),
];

/// Creates the demo operators, on a database that has no operator yet; returns those created.
/// Their passwords are public, so they never join an install that already has people.
pub async fn demo_operators(store: &Store) -> Result<Vec<(&'static str, &'static str, &'static str)>, AppError> {
    if crate::store::operators::count(&mut *store.read().await?).await? > 0 {
        return Ok(vec![]);
    }
    let actor = Actor::system("seed-demo");
    let mut created = Vec::new();
    for (name, email, role, password) in DEMO_OPERATORS {
        let input = crate::domain::operator::OperatorInput { name: (*name).to_owned(), email: (*email).to_owned(), roles: vec![(*role).to_owned()] };
        super::operators::create(store, &actor, &input, Some(password)).await?;
        created.push((*email, *role, *password));
    }
    Ok(created)
}

async fn demo_actor(store: &Store, email: &str) -> Result<Option<Actor>, AppError> {
    let operator = crate::store::operators::by_email(&mut *store.read().await?, email).await?;
    Ok(operator.map(|o| Actor::operator(&o.id, &o.name, o.roles)))
}

/// Change requests in every state, filed and decided by the demo operators through the same use
/// cases people use: two pending (a grant and a new role version), one applied, one rejected,
/// one cancelled and one expired. Without the demo operators there is nobody to file them.
pub async fn demo_requests(store: &Store) -> Result<usize, AppError> {
    use crate::domain::discovery::{AccessInput, GrantInput};
    let (Some(requester), Some(approver), Some(approver2)) = (
        demo_actor(store, "requester@example.com").await?,
        demo_actor(store, "approver@example.com").await?,
        demo_actor(store, "approver2@example.com").await?,
    ) else {
        return Ok(0);
    };
    let system = Actor::system("seed-demo");
    let filter = crate::domain::identity::IdentityQuery { status: Some("active".into()), limit: Some(60), ..Default::default() };
    let (filter, page) = filter.to_filter()?;
    let candidates = super::identities::list(store, &system, &filter, &page).await?.items;
    // Grants that the approval policy and separation of duties let through, one per outcome.
    let mut grants = Vec::new();
    for identity in &candidates {
        if grants.len() == 4 {
            break;
        }
        for role in ["api-invoker", "queue-consumer", "log-writer", "queue-publisher"] {
            let input = AccessInput {
                grants: vec![GrantInput { identity_id: identity.id.clone(), role: role.to_owned(), scope: String::new(), expires_at: String::new() }],
                revokes: vec![],
                reason: format!("{} needs {role} for the next release (demo request).", identity.name),
            };
            if let Ok(request) = super::access::propose(store, &requester, &input).await {
                grants.push(request);
                break;
            }
        }
    }
    // The first stays pending; the others are decided (a tiny demo ledger may have fewer).
    if let Some(applied) = grants.get(1) {
        super::changes::decide(store, &approver, &applied.id, "approve", "Matches the service's design review.").await?;
    }
    if let Some(rejected) = grants.get(2) {
        super::changes::decide(store, &approver2, &rejected.id, "reject", "Use the service's own queue instead.").await?;
    }
    if let Some(cancelled) = grants.get(3) {
        super::changes::cancel(store, &requester, &cancelled.id).await?;
    }

    let role_id = crate::store::roles::by_slug(&mut *store.read().await?, "log-writer")
        .await?
        .map(|r| r.id)
        .ok_or_else(|| AppError::internal("seed demo requests", "no log-writer role"))?;
    let version = |permissions: &str, reason: &str| crate::domain::role::RoleVersionInput {
        definition: crate::domain::role::DefinitionInput {
            scope: "prod".into(),
            description: "Log writer for machine identities.".into(),
            permissions: permissions.into(),
            justification: String::new(),
        },
        move_holders: false,
        reason: reason.into(),
    };
    super::changes::propose_version(store, &requester, &role_id, &version("write on logs:*\nwrite on metrics:logs", "Ship log metrics too (demo request)."))
        .await?;
    let expired = super::changes::propose_version(
        store,
        &requester,
        &role_id,
        &version("write on logs:*\npublish on queue:log-events", "Announce new log streams (demo request)."),
    )
    .await?;
    // Age the last one past its expiry, as a week without review would, and let the scheduler's
    // expiry close it.
    let mut tx = store.begin().await?;
    crate::store::changes::set_expiry(tx.conn(), &expired.id, Timestamp::now().plus_days(-1)).await?;
    tx.commit().await?;
    super::changes::expire_due(store).await?;
    Ok(grants.len() + 2)
}
