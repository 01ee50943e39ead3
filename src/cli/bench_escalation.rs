//! Escalation figures for `nhidb bench`, run by the import figures in a process of their own
//! (`nhidb bench-escalation`, hidden) on the database the generated cluster and AWS account were
//! imported into, so that the peak memory printed is the graph's and the store's only.

use crate::domain::Timestamp;
use crate::domain::actor::{Actor, ConsoleRole};
use crate::domain::change::{ChangePayload, GrantItem};
use crate::domain::page::PageRequest;
use crate::domain::scope::ScopePath;
use crate::service;
use crate::store::Store;
use clap::Args;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct EscalationBenchArgs {
    /// Identities sampled for "what can X reach" (and a tenth as many grants for the blast radius).
    #[arg(long, default_value_t = 200)]
    pub calls: usize,
    /// The cluster name the generated export was imported as.
    #[arg(long, default_value = "bench")]
    pub cluster: String,
}

fn p(samples: &mut [Duration], q: f64) -> String {
    samples.sort();
    let at = samples[((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1))];
    format!("{:.1} ms", at.as_secs_f64() * 1000.0)
}

pub async fn run(store: &Store, args: &EscalationBenchArgs) -> Result<ExitCode, String> {
    let err = |e: crate::error::AppError| e.to_string();
    let actor = Actor::operator("bench", "bench", vec![ConsoleRole::Viewer, ConsoleRole::Requester]);
    let before = super::export::peak_rss_kib().unwrap_or(0);
    let started = Instant::now();
    let built = store.escalation_graph().graph(store, Timestamp::now()).await.map_err(err)?;
    let secs = started.elapsed().as_secs_f64();
    let peak = super::export::peak_rss_kib().unwrap_or(0);
    println!(
        "escalation graph: {} identities, {} grants, {} role versions → {} nodes, {} edges: read and built in {secs:.1} s (ledger read {:.1} s, graph built {:.1} s), peak memory {} MB ({} MB before)   (target ≤ 10 s, ≤ 500 MB)",
        built.ledger.principals.len(),
        built.ledger.grants.len(),
        built.ledger.versions.len(),
        built.graph.node_count(),
        built.graph.edge_count(),
        built.took.0.as_secs_f64(),
        built.took.1.as_secs_f64(),
        peak / 1024,
        before / 1024
    );

    // What can X reach: identities spread over the ledger, each once before timing.
    let step = (built.ledger.principals.len() / args.calls.max(1)).max(1);
    let sample: Vec<String> = built.ledger.principals.iter().step_by(step).take(args.calls).map(|p| p.id.clone()).collect();
    let mut reached = 0usize;
    for id in &sample {
        reached += service::escalation::reach(store, &actor, id).await.map_err(err)?.total as usize;
    }
    let mut samples = Vec::with_capacity(sample.len());
    for id in &sample {
        let started = Instant::now();
        std::hint::black_box(service::escalation::reach(store, &actor, id).await.map_err(err)?);
        samples.push(started.elapsed());
    }
    println!(
        "what can identity X reach ({} identities, {reached} paths between them): p50 {}, p99 {}   (target p99 ≤ 50 ms)",
        sample.len(),
        p(&mut samples, 0.5),
        p(&mut samples, 0.99)
    );

    // Who can reach cluster-admin (the generator binds it to one account in each of the
    // first tenth of the namespaces).
    let admin = format!("k8s-{}-cluster-admin", args.cluster);
    let first = PageRequest { after: None, limit: Some(50) };
    let mut samples = Vec::new();
    let mut total = 0;
    for _ in 0..5 {
        let started = Instant::now();
        total = service::escalation::role_reachers(store, &actor, &admin, &first).await.map_err(err)?.total;
        samples.push(started.elapsed());
    }
    println!(
        "who can reach cluster-admin ({total} identities, holders included): p50 {}, worst {}   (target ≤ 1 s)",
        p(&mut samples, 0.5),
        p(&mut samples, 1.0)
    );

    // The blast radius of one grant: a Role of a namespace where cluster-admin runs (patch on
    // deployments) for an account of another namespace, which opens paths to cluster-admin.
    let role = service::roles::detail(store, &actor, &format!("k8s-{}-ns-0-role-0", args.cluster)).await.map_err(err)?;
    let scope = ScopePath::parse(&format!("k8s/{}/ns-0", args.cluster)).map_err(|e| e.to_string())?;
    let grants = (args.calls / 10).max(5);
    // Accounts that reach nothing yet (ns-5 itself has a cluster-admin account its neighbours
    // already reach), so that each grant opens paths rather than repeat existing ones.
    let outsiders: Vec<_> = built
        .ledger
        .principals
        .iter()
        .filter(|p| p.source_ref.as_deref().is_some_and(|r| r.starts_with("ServiceAccount/ns-5")))
        .filter(|p| built.graph.reach(&p.id).is_empty())
        .take(grants)
        .collect();
    let payload = |i: usize| {
        let who = outsiders[i % outsiders.len()];
        ChangePayload::Access {
            grants: vec![GrantItem {
                identity_id: who.id.clone(),
                identity_name: who.name.clone(),
                role_id: role.role.id.clone(),
                role_slug: role.role.slug.clone(),
                scope: scope.clone(),
                expires_at: None,
            }],
            revokes: Vec::new(),
        }
    };
    if outsiders.is_empty() {
        return Err("no service account of a namespace ns-5… that reaches nothing, in the imported cluster".into());
    }
    let mut samples = Vec::new();
    let mut opened = 0;
    for i in 0..grants {
        let payload = payload(i);
        let started = Instant::now();
        let delta = service::escalation::delta_of(store, &payload).await.map_err(err)?.unwrap_or_default();
        samples.push(started.elapsed());
        opened = delta.opened_count;
    }
    println!(
        "blast radius of one grant with path analysis ({grants} grants, each opening {opened} paths): p50 {}, p99 {}   (target p99 ≤ 200 ms)",
        p(&mut samples, 0.5),
        p(&mut samples, 0.99)
    );

    // The ledger-wide list, stored as findings from scratch.
    let started = Instant::now();
    service::findings::settle_escalation(store, Timestamp::now(), true).await.map_err(err)?;
    let stored = service::escalation::paths(store, &actor, &Default::default()).await.map_err(err)?.total;
    println!("ledger-wide list of escalation paths stored: {stored} paths in {:.1} s", started.elapsed().as_secs_f64());
    let flagged = service::escalation::flagged_principals(store, "aws").await.map_err(err)?;
    println!("nhidb: aws principals that can escalate: {flagged}");
    Ok(ExitCode::SUCCESS)
}
