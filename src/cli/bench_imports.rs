//! Import figures for `nhidb bench`: a generator writes a large Kubernetes export and a large AWS
//! export, then `nhidb import` runs on them in a separate process (whose peak memory is its own)
//! against a fresh SQLite database: first import, unchanged re-import, re-import with 1 % changed.

use crate::domain::owner::{Owner, OwnerKind, OwnerStatus};
use crate::store::{self, Store};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

pub struct KubernetesSize {
    pub namespaces: usize,
    pub service_accounts: usize,
    pub roles: usize,
    pub cluster_roles: usize,
    pub bindings: usize,
}

/// The specified cluster: 100,000 service accounts, 20,000 Roles, 2,000 ClusterRoles, 200,000
/// bindings in one `v1` List.
pub const KUBERNETES: KubernetesSize = KubernetesSize { namespaces: 100, service_accounts: 100_000, roles: 20_000, cluster_roles: 2_000, bindings: 200_000 };

/// Accounts bound to cluster-admin: `sa-{n}` of namespace `ns-{n}`, for the first tenth of them.
pub fn admins(size: &KubernetesSize) -> usize {
    (size.namespaces / 10).max(1)
}

/// Writes the cluster as `kubectl get … -o json` prints it, or `-o yaml` when `yaml`. `changed`
/// alters 1 % of it: every hundredth Role gains a rule, every hundredth service account and
/// binding is gone, and as many new accounts appear.
pub fn write_kubernetes(path: &Path, size: &KubernetesSize, changed: bool, yaml: bool) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut item = String::with_capacity(1024);
    let mut first = true;
    let mut push = |out: &mut std::io::BufWriter<std::fs::File>, item: &str| -> std::io::Result<()> {
        if yaml {
            // kubectl's block style: `- ` opens an item at column 0, its lines indented by two.
            let value: serde_json::Value = serde_json::from_str(item).map_err(std::io::Error::other)?;
            let text = serde_yaml::to_string(&value).map_err(std::io::Error::other)?;
            for (i, line) in text.lines().enumerate() {
                out.write_all(if i == 0 { b"- " } else { b"  " })?;
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
            }
            return Ok(());
        }
        out.write_all(if first { b"\n" } else { b",\n" })?;
        first = false;
        out.write_all(item.as_bytes())
    };
    // In kubectl's order: `items` before `kind`, so the reader cannot know it reads a List
    // until the end (it looks ahead for the kind, then takes the items one at a time).
    out.write_all(if yaml { b"apiVersion: v1\nitems:\n" } else { b"{\"apiVersion\": \"v1\", \"items\": [" })?;
    let per_ns = size.service_accounts / size.namespaces;
    let gone = |i: usize| changed && i % 100 == 7;
    for i in 0..size.service_accounts + if changed { size.service_accounts / 100 } else { 0 } {
        if gone(i) {
            continue;
        }
        item.clear();
        let ns = i % size.namespaces;
        let _ = write!(
            item,
            "{{\"apiVersion\": \"v1\", \"kind\": \"ServiceAccount\", \"metadata\": {{\"name\": \"sa-{i}\", \"namespace\": \"ns-{ns}\", \"uid\": \"uid-sa-{i}\", \"creationTimestamp\": \"2024-01-15T10:00:00Z\", \"labels\": {{\"app\": \"app-{}\"}}}}}}",
            i / per_ns.max(1)
        );
        push(&mut out, &item)?;
    }
    let roles_per_ns = size.roles / size.namespaces;
    for r in 0..size.roles {
        item.clear();
        let ns = r % size.namespaces;
        let extra = if changed && r % 100 == 3 { ", {\"apiGroups\": [\"\"], \"resources\": [\"pods/log\"], \"verbs\": [\"get\"]}" } else { "" };
        let _ = write!(
            item,
            "{{\"apiVersion\": \"rbac.authorization.k8s.io/v1\", \"kind\": \"Role\", \"metadata\": {{\"name\": \"role-{r}\", \"namespace\": \"ns-{ns}\"}}, \"rules\": [{{\"apiGroups\": [\"\"], \"resources\": [\"pods\", \"configmaps\"], \"verbs\": [\"get\", \"list\", \"watch\"]}}, {{\"apiGroups\": [\"apps\"], \"resources\": [\"deployments\"], \"resourceNames\": [\"app-{}\"], \"verbs\": [\"patch\"]}}{extra}]}}",
            r / roles_per_ns.max(1)
        );
        push(&mut out, &item)?;
    }
    for c in 0..size.cluster_roles {
        item.clear();
        let extra = if changed && c % 100 == 3 { ", {\"nonResourceURLs\": [\"/metrics\"], \"verbs\": [\"get\"]}" } else { "" };
        let _ = write!(
            item,
            "{{\"apiVersion\": \"rbac.authorization.k8s.io/v1\", \"kind\": \"ClusterRole\", \"metadata\": {{\"name\": \"cluster-role-{c}\"}}, \"rules\": [{{\"apiGroups\": [\"\", \"apps\"], \"resources\": [\"pods\", \"deployments\", \"services\"], \"verbs\": [\"get\", \"list\"]}}{extra}]}}"
        );
        push(&mut out, &item)?;
    }
    // cluster-admin, bound below to one account in each of the first tenth of the namespaces:
    // whoever may patch deployments there (the generated Roles allow it) can run as it.
    item.clear();
    item.push_str("{\"apiVersion\": \"rbac.authorization.k8s.io/v1\", \"kind\": \"ClusterRole\", \"metadata\": {\"name\": \"cluster-admin\"}, \"rules\": [{\"apiGroups\": [\"*\"], \"resources\": [\"*\"], \"verbs\": [\"*\"]}, {\"nonResourceURLs\": [\"*\"], \"verbs\": [\"*\"]}]}");
    push(&mut out, &item)?;
    let cluster_bindings = size.bindings / 10;
    for b in 0..size.bindings {
        if gone(b) {
            continue;
        }
        item.clear();
        let sa = (b * 7919) % size.service_accounts;
        let ns = sa % size.namespaces;
        if b < cluster_bindings {
            let _ = write!(
                item,
                "{{\"apiVersion\": \"rbac.authorization.k8s.io/v1\", \"kind\": \"ClusterRoleBinding\", \"metadata\": {{\"name\": \"crb-{b}\"}}, \"roleRef\": {{\"apiGroup\": \"rbac.authorization.k8s.io\", \"kind\": \"ClusterRole\", \"name\": \"cluster-role-{}\"}}, \"subjects\": [{{\"kind\": \"ServiceAccount\", \"name\": \"sa-{sa}\", \"namespace\": \"ns-{ns}\"}}]}}",
                b % size.cluster_roles
            );
        } else {
            // A Role of the account's own namespace.
            let role = ns + size.namespaces * (b % roles_per_ns.max(1));
            let _ = write!(
                item,
                "{{\"apiVersion\": \"rbac.authorization.k8s.io/v1\", \"kind\": \"RoleBinding\", \"metadata\": {{\"name\": \"rb-{b}\", \"namespace\": \"ns-{ns}\"}}, \"roleRef\": {{\"apiGroup\": \"rbac.authorization.k8s.io\", \"kind\": \"Role\", \"name\": \"role-{role}\"}}, \"subjects\": [{{\"kind\": \"ServiceAccount\", \"name\": \"sa-{sa}\"}}]}}"
            );
        }
        push(&mut out, &item)?;
    }
    for ns in 0..admins(size) {
        item.clear();
        let _ = write!(
            item,
            "{{\"apiVersion\": \"rbac.authorization.k8s.io/v1\", \"kind\": \"ClusterRoleBinding\", \"metadata\": {{\"name\": \"admin-{ns}\"}}, \"roleRef\": {{\"apiGroup\": \"rbac.authorization.k8s.io\", \"kind\": \"ClusterRole\", \"name\": \"cluster-admin\"}}, \"subjects\": [{{\"kind\": \"ServiceAccount\", \"name\": \"sa-{ns}\", \"namespace\": \"ns-{ns}\"}}]}}"
        );
        push(&mut out, &item)?;
    }
    out.write_all(if yaml {
        b"kind: List\nmetadata:\n  resourceVersion: \"\"\n"
    } else {
        b"\n], \"kind\": \"List\", \"metadata\": {\"resourceVersion\": \"\"}}\n"
    })?;
    out.flush()
}

pub struct AwsSize {
    pub roles: usize,
    pub users: usize,
    pub policies: usize,
}

/// The specified account: 20,000 roles, 5,000 users, 10,000 managed policies of 3 versions.
pub const AWS: AwsSize = AwsSize { roles: 20_000, users: 5_000, policies: 10_000 };

/// Writes the account as `aws iam get-account-authorization-details` prints it.
pub fn write_aws(path: &Path, size: &AwsSize) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let account = "123456789012";
    let doc =
        |action: &str| format!("{{\"Version\": \"2012-10-17\", \"Statement\": [{{\"Effect\": \"Allow\", \"Action\": [\"{action}\"], \"Resource\": \"*\"}}]}}");
    // A few principals that can escalate (the published methods): every hundredth user may pass
    // roles to a Lambda function it creates and invokes, and every hundredth from the fiftieth
    // may attach policies to users; every thousandth role holds AdministratorAccess, and trusts
    // Lambda.
    let user_doc = |u: usize| match u % 100 {
        0 => doc("iam:PassRole\", \"lambda:CreateFunction\", \"lambda:InvokeFunction"),
        50 => doc("iam:AttachUserPolicy"),
        _ => doc("s3:GetObject"),
    };
    let admin = |r: usize| r % 1000 == 0;
    let admin_arn = "arn:aws:iam::aws:policy/AdministratorAccess";
    let attached = |i: usize| {
        format!(
            "[{{\"PolicyName\": \"policy-{a}\", \"PolicyArn\": \"arn:aws:iam::{account}:policy/policy-{a}\"}}, {{\"PolicyName\": \"policy-{b}\", \"PolicyArn\": \"arn:aws:iam::{account}:policy/policy-{b}\"}}]",
            a = i % size.policies,
            b = (i * 31 + 7) % size.policies
        )
    };
    out.write_all(b"{\"UserDetailList\": [")?;
    for u in 0..size.users {
        let sep = if u == 0 { "\n" } else { ",\n" };
        write!(
            out,
            "{sep}{{\"Path\": \"/\", \"UserName\": \"user-{u}\", \"UserId\": \"AIDA{u:016}\", \"Arn\": \"arn:aws:iam::{account}:user/user-{u}\", \"CreateDate\": \"2024-01-15T10:00:00+00:00\", \"UserPolicyList\": [{{\"PolicyName\": \"inline-{u}\", \"PolicyDocument\": {}}}], \"GroupList\": [], \"AttachedManagedPolicies\": {}, \"Tags\": [{{\"Key\": \"team\", \"Value\": \"team-{}\"}}]}}",
            user_doc(u),
            attached(u),
            u % 50
        )?;
    }
    out.write_all(b"], \"GroupDetailList\": [], \"RoleDetailList\": [")?;
    for r in 0..size.roles {
        let sep = if r == 0 { "\n" } else { ",\n" };
        write!(
            out,
            "{sep}{{\"Path\": \"/\", \"RoleName\": \"role-{r}\", \"RoleId\": \"AROA{r:016}\", \"Arn\": \"arn:aws:iam::{account}:role/role-{r}\", \"CreateDate\": \"2024-01-15T10:00:00+00:00\", \"AssumeRolePolicyDocument\": {{\"Version\": \"2012-10-17\", \"Statement\": [{{\"Effect\": \"Allow\", \"Principal\": {{\"Service\": \"{}\"}}, \"Action\": \"sts:AssumeRole\"}}]}}, \"InstanceProfileList\": [], \"RolePolicyList\": [], \"AttachedManagedPolicies\": {}, \"Tags\": [], \"RoleLastUsed\": {{\"LastUsedDate\": \"2026-11-01T10:00:00+00:00\", \"Region\": \"eu-west-1\"}}}}",
            if admin(r) { "lambda.amazonaws.com" } else { "ec2.amazonaws.com" },
            if admin(r) {
                attached(r + size.users).replacen('[', &format!("[{{\"PolicyName\": \"AdministratorAccess\", \"PolicyArn\": \"{admin_arn}\"}}, "), 1)
            } else {
                attached(r + size.users)
            }
        )?;
    }
    out.write_all(b"], \"Policies\": [")?;
    for p in 0..size.policies {
        let sep = if p == 0 { "\n" } else { ",\n" };
        let versions: Vec<String> = (1..=3)
            .rev()
            .map(|v| {
                format!(
                    "{{\"Document\": {}, \"VersionId\": \"v{v}\", \"IsDefaultVersion\": {}, \"CreateDate\": \"2024-0{v}-15T10:00:00+00:00\"}}",
                    doc(&format!("s3:Put{v}Object")),
                    v == 3
                )
            })
            .collect();
        write!(
            out,
            "{sep}{{\"PolicyName\": \"policy-{p}\", \"PolicyId\": \"ANPA{p:016}\", \"Arn\": \"arn:aws:iam::{account}:policy/policy-{p}\", \"Path\": \"/\", \"DefaultVersionId\": \"v3\", \"AttachmentCount\": 5, \"PermissionsBoundaryUsageCount\": 0, \"IsAttachable\": true, \"CreateDate\": \"2024-01-15T10:00:00+00:00\", \"UpdateDate\": \"2024-03-15T10:00:00+00:00\", \"PolicyVersionList\": [{}]}}",
            versions.join(", ")
        )?;
    }
    write!(
        out,
        ",\n{{\"PolicyName\": \"AdministratorAccess\", \"PolicyId\": \"ANPAIWMBCKSKIEE64ZLYK\", \"Arn\": \"{admin_arn}\", \"Path\": \"/\", \"DefaultVersionId\": \"v1\", \"AttachmentCount\": {}, \"PermissionsBoundaryUsageCount\": 0, \"IsAttachable\": true, \"CreateDate\": \"2015-02-06T18:39:46+00:00\", \"UpdateDate\": \"2015-02-06T18:39:46+00:00\", \"PolicyVersionList\": [{{\"Document\": {{\"Version\": \"2012-10-17\", \"Statement\": [{{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"}}]}}, \"VersionId\": \"v1\", \"IsDefaultVersion\": true, \"CreateDate\": \"2015-02-06T18:39:46+00:00\"}}]}}",
        (0..size.roles).filter(|r| admin(*r)).count()
    )?;
    out.write_all(b"]}\n")?;
    out.flush()
}

/// Runs `nhidb ARGS` on `database_url`; returns the wall time and what it printed.
async fn run(database_url: &str, args: &[&str]) -> Result<(f64, String), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let output = tokio::process::Command::new(exe)
        .args(args)
        .env("NHIDB_DATABASE_URL", database_url)
        .env("NHIDB_LOG", "warn")
        .output()
        .await
        .map_err(|e| format!("cannot run nhidb {}: {e}", args.join(" ")))?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!("nhidb {} failed: {text}{}", args.join(" "), String::from_utf8_lossy(&output.stderr)));
    }
    Ok((started.elapsed().as_secs_f64(), text))
}

fn peak(text: &str) -> String {
    text.lines().find_map(|l| l.split_once("peak memory ").map(|(_, m)| m.split(',').next().unwrap_or(m).trim().to_owned())).unwrap_or_else(|| "?".to_owned())
}

fn changes(text: &str) -> String {
    text.lines().find(|l| l.contains("changed:") || l.contains("no changes")).map(|l| l.trim().to_owned()).unwrap_or_default()
}

/// Prints the import figures next to their targets.
/// `NHIDB_BENCH_IMPORT_DIR` keeps the inputs and the database there, to run one import again
/// by hand (with `NHIDB_LOG=nhidb::import=debug` its steps print with their times).
pub async fn figures() -> Result<(), String> {
    if let Ok(kept) = std::env::var("NHIDB_BENCH_IMPORT_DIR") {
        let dir = std::path::PathBuf::from(kept);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        for file in ["import.sqlite", "import.sqlite-wal", "import.sqlite-shm", "import-yaml.sqlite", "import-yaml.sqlite-wal", "import-yaml.sqlite-shm"] {
            let _ = std::fs::remove_file(dir.join(file));
        }
        return figures_in(&dir).await;
    }
    let dir = std::env::temp_dir().join(format!("nhidb-bench-import-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let result = figures_in(&dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A fresh SQLite database in `dir` with the bench's owner; returns its URL.
async fn fresh_database(dir: &Path, file: &str) -> Result<String, String> {
    let database_url = format!("sqlite://{}", dir.join(file).display());
    let store = Store::connect(&database_url, 2).await?;
    store.migrate().await?;
    let owner = Owner { id: store::new_id(), kind: OwnerKind::Team, name: "bench-team".into(), email: None, status: OwnerStatus::Active };
    let mut tx = store.begin().await.map_err(|e| e.to_string())?;
    store::owners::insert(tx.conn(), &owner, crate::domain::Timestamp::now()).await.map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    store.close().await;
    Ok(database_url)
}

async fn figures_in(dir: &Path) -> Result<(), String> {
    let database_url = fresh_database(dir, "import.sqlite").await?;
    let (first, changed) = (dir.join("cluster.json"), dir.join("cluster-changed.json"));
    let started = Instant::now();
    write_kubernetes(&first, &KUBERNETES, false, false).map_err(|e| e.to_string())?;
    write_kubernetes(&changed, &KUBERNETES, true, false).map_err(|e| e.to_string())?;
    let megabytes = std::fs::metadata(&first).map(|m| m.len() / 1_000_000).unwrap_or(0);
    println!(
        "import inputs: a {} MB kubectl List ({} service accounts, {} Roles, {} ClusterRoles, {} bindings), written in {:.1} s",
        megabytes,
        KUBERNETES.service_accounts,
        KUBERNETES.roles,
        KUBERNETES.cluster_roles,
        KUBERNETES.bindings,
        started.elapsed().as_secs_f64()
    );
    let k8s = |file: &Path| {
        vec!["import".to_owned(), "kubernetes".into(), "--cluster".into(), "bench".into(), "--owner".into(), "bench-team".into(), file.display().to_string()]
    };
    let args = k8s(&first);
    let (secs, text) = run(&database_url, &args.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    println!("kubernetes first import: {secs:.1} s, peak memory {}   (target ≤ 30 s, ≤ 500 MB); {}", peak(&text), changes(&text));
    let (secs, text) = run(&database_url, &args.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    println!("kubernetes re-import, unchanged: {secs:.1} s, peak memory {}   (target ≤ 10 s, no ledger writes); {}", peak(&text), changes(&text));
    let args = k8s(&changed);
    let (secs, text) = run(&database_url, &args.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    println!("kubernetes re-import, 1 % changed: {secs:.1} s, peak memory {}   (target ≤ 15 s); {}", peak(&text), changes(&text));

    // The same cluster as `-o yaml` prints it, into a database of its own (a first import).
    let yaml = dir.join("cluster.yaml");
    write_kubernetes(&yaml, &KUBERNETES, false, true).map_err(|e| e.to_string())?;
    let yaml_database_url = fresh_database(dir, "import-yaml.sqlite").await?;
    let args = k8s(&yaml);
    let (secs, text) = run(&yaml_database_url, &args.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    let megabytes = std::fs::metadata(&yaml).map(|m| m.len() / 1_000_000).unwrap_or(0);
    println!(
        "kubernetes first import, the same List as YAML ({megabytes} MB): {secs:.1} s, peak memory {}   (target ≤ 30 s, ≤ 500 MB); {}",
        peak(&text),
        changes(&text)
    );

    let aws = dir.join("gaad.json");
    write_aws(&aws, &AWS).map_err(|e| e.to_string())?;
    let aws_text = aws.display().to_string();
    let (secs, text) = run(&database_url, &["import", "aws", "--owner", "bench-team", &aws_text]).await?;
    println!(
        "aws import ({} roles, {} users, {} managed policies of 3 versions): {secs:.1} s, peak memory {}   (target ≤ 20 s); {}",
        AWS.roles,
        AWS.users,
        AWS.policies,
        peak(&text),
        changes(&text)
    );

    // Escalation paths over both sources, in a process of its own (its peak memory is the graph's).
    println!();
    let (_, text) = run(&database_url, &["bench-escalation", "--calls", "200"]).await?;
    print!("{text}");
    super::bench_cloudsplaining::figures(&aws, secs, &text).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::observation::Input;

    #[test]
    fn the_generated_exports_parse_and_the_changed_one_differs_by_one_percent() {
        let dir = tempfile_dir();
        let size = KubernetesSize { namespaces: 4, service_accounts: 400, roles: 200, cluster_roles: 20, bindings: 800 };
        let (a, b) = (dir.join("a.json"), dir.join("b.json"));
        write_kubernetes(&a, &size, false, false).unwrap();
        write_kubernetes(&b, &size, true, false).unwrap();
        let parse = |p: &Path| {
            let text = std::fs::read_to_string(p).unwrap();
            crate::sources::kubernetes::parse(
                &[Input { name: "x", text: &text }],
                &crate::sources::kubernetes::Options { cluster: "c", default_namespace: "default", exclude: &[] },
            )
            .unwrap()
        };
        let (first, second) = (parse(&a), parse(&b));
        assert_eq!(first.principals.len(), 400);
        assert_eq!(first.roles.len(), 221, "and cluster-admin");
        assert_eq!(first.grants.len(), 800 + admins(&size));
        assert_eq!(first.dangling().count(), 0);
        assert_eq!(second.principals.len(), 400, "4 gone, 4 new");
        let y = dir.join("a.yaml");
        write_kubernetes(&y, &size, false, true).unwrap();
        assert_eq!(parse(&y), first, "the YAML List reads as the JSON one");
        let aws = dir.join("gaad.json");
        write_aws(&aws, &AwsSize { roles: 20, users: 5, policies: 10 }).unwrap();
        let text = std::fs::read_to_string(&aws).unwrap();
        let o = crate::sources::aws::parse(&[Input { name: "gaad.json", text: &text }], &crate::sources::aws::Options { account: None }).unwrap();
        assert_eq!((o.principals.len(), o.roles.len() - 5, o.dangling().count()), (25, 11, 0), "and AdministratorAccess");
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("nhidb-gen-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
