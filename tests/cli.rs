//! The `nhidb` binary end to end: audit verification names tampering, and a write acknowledged
//! over HTTP survives the server being killed with SIGKILL right after the response.

mod support;

use std::process::Stdio;
use support::TestDb;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

store_tests!(
    audit_verify_names_the_tampered_sequence_and_fails,
    an_acknowledged_write_survives_sigkill,
    roles_plan_prints_the_exact_diff_and_apply_only_files_requests,
    export_then_verify_from_the_command_line,
    the_client_mode_provisions_and_decommissions_with_exit_codes,
    demo_accounts_never_join_an_install_that_has_operators,
    checkpoints_catch_a_log_cut_short_behind_the_databases_back,
    hygiene_check_names_what_the_stored_findings_miss_and_rebuild_repairs_it,
    imports_from_files_directories_and_a_server,
);

fn nhidb(db: &TestDb) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nhidb"));
    cmd.envs(db.env()).env("NHIDB_LOG", "warn").kill_on_drop(true);
    cmd
}

async fn verify(db: &TestDb) -> (bool, String) {
    let out = nhidb(db).args(["audit", "verify"]).output().await.expect("run nhidb audit verify");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn audit_verify_names_the_tampered_sequence_and_fails(db: TestDb) {
    let seeded = nhidb(&db).args(["seed-demo", "--identities", "20", "--quiet"]).output().await.unwrap();
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));

    let (ok, out) = verify(&db).await;
    assert!(ok, "{out}");
    // 20 identities, the catalog, the six demo operators and their requests (six proposals, an
    // approval with the grant it applied, a rejection, a cancellation and an expiry).
    assert!(out.starts_with("ok (40 events, head "), "{out}");

    support::tamper_audit(&db, "update audit_events set detail = '{}' where seq = 7").await;

    let (ok, out) = verify(&db).await;
    assert!(!ok, "verify must exit non-zero after tampering: {out}");
    assert!(out.contains("FAILED at sequence 7"), "{out}");
}

async fn an_acknowledged_write_survives_sigkill(db: TestDb) {
    let seeded = nhidb(&db).args(["seed-demo", "--identities", "3", "--quiet"]).output().await.unwrap();
    assert!(seeded.status.success());
    let owner_id = nhidb::service::services::choices(&db.store, &support::admin()).await.unwrap().0[0].id.clone();

    let mut server = nhidb(&db).args(["serve", "--addr", "127.0.0.1:0"]).env("NHIDB_LOG", "info").stderr(Stdio::piped()).spawn().expect("start nhidb serve");
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines.next_line().await.unwrap().expect("server printed its address");
        if let Some(at) = line.find("listening on ") {
            let rest = &line[at + "listening on ".len()..];
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining the server's log so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let signed_in = client
        .post(format!("{base}/rpc/auth/sign-in"))
        .header("origin", &base)
        .header("accept", "application/json")
        .form(&[("email", "requester@example.com"), ("password", "nhidb-demo-requester")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    let cookie = format!("__Host-nhidb_session={}", support::session_cookie(&signed_in).unwrap());
    let session: serde_json::Value = client.post(format!("{base}/rpc/auth/session")).header("cookie", &cookie).send().await.unwrap().json().await.unwrap();
    let csrf = session["csrf_token"].as_str().unwrap().to_owned();
    let res = client
        .post(format!("{base}/rpc/identities/create"))
        .header("origin", &base)
        .header("cookie", &cookie)
        .header("accept", "application/json")
        .form(&[("name", "survivor"), ("kind", "workload"), ("owner_id", owner_id.as_str()), ("description", ""), ("labels", ""), ("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    server.start_kill().unwrap(); // SIGKILL: no shutdown, no flush, no goodbye.
    server.wait().await.unwrap();

    let store = nhidb::store::Store::connect(&db.url, 2).await.unwrap();
    let filter = nhidb::domain::identity::IdentityFilter { text: Some("survivor".into()), ..Default::default() };
    let found = nhidb::service::identities::list(&store, &support::admin(), &filter, &Default::default()).await.unwrap();
    assert_eq!(found.total, 1, "the acknowledged identity is in the database after SIGKILL");
    let (ok, out) = verify(&db).await;
    assert!(ok, "{out}");
}

async fn roles_plan_prints_the_exact_diff_and_apply_only_files_requests(db: TestDb) {
    let seeded = nhidb(&db).args(["seed-demo", "--identities", "10", "--quiet"]).output().await.unwrap();
    assert!(seeded.status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roles.yaml");
    let exported = nhidb(&db).args(["roles", "export", "--out"]).arg(&file).output().await.unwrap();
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));

    let plan = nhidb(&db).args(["roles", "plan"]).arg(&file).output().await.unwrap();
    assert_eq!(String::from_utf8_lossy(&plan.stdout), "No changes. The catalog matches the file.\n");

    // Edit the file as someone would in a pull request.
    let text = std::fs::read_to_string(&file).unwrap();
    let text = text.replace("  permissions:\n  - write on logs:*\n", "  permissions:\n  - write on logs:*\n  - upload on metrics:logs\n");
    let text = text.replace(
        "roles:\n",
        "roles:\n- slug: report-reader\n  display_name: Report reader\n  sensitivity: standard\n  scope: prod/reports\n  description: Reads reports\n  permissions:\n  - read on bucket:reports\n",
    );
    std::fs::write(&file, text).unwrap();

    let plan = nhidb(&db).args(["roles", "plan"]).arg(&file).output().await.unwrap();
    assert!(plan.status.success());
    assert_eq!(
        String::from_utf8_lossy(&plan.stdout),
        concat!(
            "  + report-reader: new role (standard)\n",
            "      + read on bucket:reports\n",
            "        scope: prod/reports\n",
            "        description changed\n",
            "  ~ log-writer: new version v2 (from v1)\n",
            "      + upload on metrics:logs\n",
            "Plan: 1 to create, 1 new version(s), 0 to retire.\n",
        )
    );

    let admin = support::admin();
    let pending_query = nhidb::domain::change::ChangeQuery { state: Some("pending".into()), ..Default::default() };
    let pending = || nhidb::service::changes::list(&db.store, &admin, &pending_query);
    let pending_before = pending().await.unwrap().total;
    let apply = nhidb(&db).args(["roles", "apply", "--reason", "Reporting and log metrics"]).arg(&file).output().await.unwrap();
    assert!(apply.status.success(), "{}", String::from_utf8_lossy(&apply.stderr));
    let out = String::from_utf8_lossy(&apply.stdout);
    assert_eq!(out.matches("pending approval").count(), 2, "{out}");

    let log_writer = nhidb::service::roles::detail(&db.store, &admin, "log-writer").await.unwrap();
    assert_eq!(log_writer.role.current_version, 1, "apply changed nothing by itself");
    assert!(nhidb::service::roles::detail(&db.store, &admin, "report-reader").await.is_err(), "the new role waits for approval");
    assert_eq!(pending().await.unwrap().total, pending_before + 2);

    let again = nhidb(&db).args(["roles", "apply"]).arg(&file).output().await.unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("Nothing to file"), "applying twice files nothing new");
}

async fn export_then_verify_from_the_command_line(db: TestDb) {
    nhidb::service::seed::demo(&db.store, 30, &|_| {}).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let zip = work.path().join("evidence.zip");
    let out = nhidb(&db).args(["export", "--quiet", "--out"]).arg(&zip).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("exported "));
    let out = nhidb(&db).args(["export", "verify"]).arg(&zip).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok ("));
    // Exporting into the same file again is refused instead of overwriting evidence.
    let again = nhidb(&db).args(["export", "--quiet", "--out"]).arg(&zip).output().await.unwrap();
    assert_eq!(again.status.code(), Some(2));
}

async fn the_client_mode_provisions_and_decommissions_with_exit_codes(db: TestDb) {
    nhidb::service::seed::demo(&db.store, 0, &|_| {}).await.unwrap();
    let app = support::spawn_app(&db).await;
    let token = app.token(&["provision", "decommission", "read"]).await;
    let client = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nhidb"));
        cmd.args(["--server", &app.base, "--output", "json"]).args(args).env("NHIDB_TOKEN", &token).env_remove("NHIDB_DATABASE_URL").kill_on_drop(true);
        cmd
    };
    let provision =
        ["service", "provision", "--template", "web-api", "--name", "cli-api", "--env", "prod", "--owner", "payments-team", "--idempotency-key", "ci-1"];
    let out = client(&provision).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done["identities"].as_array().unwrap().len(), 3);
    // A retry (the CI job re-run) gets the same answer.
    let again: serde_json::Value = serde_json::from_slice(&client(&provision).output().await.unwrap().stdout).unwrap();
    assert_eq!(again["service_id"], done["service_id"]);
    assert_eq!(again["replayed"], true);
    // Refused by the server: exit 1 with the error code.
    let bad = client(&["service", "provision", "--template", "nope", "--name", "x-api", "--env", "prod", "--owner", "payments-team"]).output().await.unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("NHI-VAL-001"));
    // By name, as a pipeline knows it.
    let out = client(&["service", "decommission", "cli-api", "--reason", "test"]).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let receipt: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(receipt["identities_retired"].as_array().unwrap().len(), 3);
    // No token: a usage mistake, exit 2; nothing listening: exit 3.
    let mut no_token = client(&["service", "get", "cli-api"]);
    no_token.env_remove("NHIDB_TOKEN");
    assert_eq!(no_token.output().await.unwrap().status.code(), Some(2));
    let mut nowhere = Command::new(env!("CARGO_BIN_EXE_nhidb"));
    nowhere.args(["--server", "http://127.0.0.1:9", "service", "get", "x"]).env("NHIDB_TOKEN", "nhidb_x");
    assert_eq!(nowhere.output().await.unwrap().status.code(), Some(3));
}

async fn demo_accounts_never_join_an_install_that_has_operators(db: TestDb) {
    let input = nhidb::domain::operator::OperatorInput { name: "Ada Lovelace".into(), email: "ada@corp.example".into(), roles: vec!["admin".into()] };
    nhidb::service::operators::create(&db.store, &nhidb::domain::actor::Actor::system("test"), &input, Some("a real, long password")).await.unwrap();
    let operators = || support::count(&db, "select count(*) from operators");
    let out = nhidb(&db).args(["seed-demo", "--if-empty", "--identities", "5", "--quiet"]).output().await.unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("operators exist already"), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(operators().await, 1, "no demo operator on a database that has an operator");
    assert_eq!(support::count(&db, "select count(*) from identities").await, 0, "and no demo data either");
    // Asked for demo data explicitly, the ledger is filled, but still no public accounts.
    let out = nhidb(&db).args(["seed-demo", "--identities", "5", "--quiet"]).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(support::count(&db, "select count(*) from identities").await, 5);
    assert_eq!(operators().await, 1);
    assert_eq!(support::count(&db, "select count(*) from operators where email like '%@example.com'").await, 0);
}

/// A second signing key's checkpoint, as someone without the real key would forge one.
fn forged_line(seq: i64, hash: &str) -> String {
    let key = ed25519_dalek::SigningKey::from_bytes(&[42u8; 32]);
    serde_json::to_string(&nhidb::domain::checkpoint::sign(&key, seq, hash, "2026-11-30T00:00:00Z")).unwrap()
}

async fn checkpoints_catch_a_log_cut_short_behind_the_databases_back(db: TestDb) {
    let seeded = nhidb(&db).args(["seed-demo", "--identities", "10", "--quiet"]).output().await.unwrap();
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let run = |args: &'static [&'static str]| {
        let db = &db;
        async move {
            let out = nhidb(db).args(args).output().await.unwrap();
            (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
        }
    };
    let (code, out, err) = run(&["audit", "checkpoint"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(err.contains("Generated the audit checkpoint signing key"), "the first run says where the key is: {err}");
    let head = support::count(&db, "select seq from audit_head where id = 1").await;
    assert!(out.starts_with(&format!("checkpoint signed: sequence {head} ")), "{out}");
    let (code, out, _) = run(&["audit", "verify"]).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("1 signed checkpoints hold"), "{out}");

    // A bundle is signed: dropping its checkpoints and rewriting the manifest to match shows.
    let public_key = db.files.path().join("checkpoint.key.pub");
    let healthy = tempfile::tempdir().unwrap();
    let bundle = healthy.path().join("bundle");
    assert!(nhidb(&db).args(["export", "--quiet", "--out"]).arg(&bundle).output().await.unwrap().status.success());
    let verify_bundle = |pinned: bool| {
        let mut cmd = nhidb(&db);
        cmd.args(["export", "verify"]).arg(&bundle);
        if pinned {
            cmd.arg("--public-key").arg(&public_key);
        }
        async move {
            let out = cmd.output().await.unwrap();
            (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
        }
    };
    let (code, out) = verify_bundle(true).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("signed checkpoints hold"), "{out}");
    std::fs::remove_file(bundle.join("checkpoints.jsonl")).unwrap();
    let manifest_file = bundle.join("manifest.json");
    let mut manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&manifest_file).unwrap()).unwrap();
    manifest["files"].as_array_mut().unwrap().retain(|f| f["name"] != "checkpoints.jsonl");
    std::fs::write(&manifest_file, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    let (code, out) = verify_bundle(false).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("manifest.json: its signature does not verify"), "{out}");
    // Without its signature and key, only a pinned key tells the bundle is not what was signed.
    manifest.as_object_mut().unwrap().remove("checkpoint_key");
    std::fs::write(&manifest_file, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    std::fs::remove_file(bundle.join("manifest.json.sig")).unwrap();
    let (code, out) = verify_bundle(true).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("the bundle is not signed") && out.contains("carries no signed checkpoints"), "{out}");

    // Behind nhidb's back: the newest events go, and the head is rewritten to match.
    let keep = head - 4;
    support::tamper_audit(&db, "select 1").await;
    if db.url.starts_with("sqlite") {
        support::sql(&db, "drop trigger audit_events_append_only_delete").await;
    }
    support::sql(&db, &format!("delete from audit_events where seq > {keep}")).await;
    support::sql(&db, &format!("update audit_head set seq = {keep}, hash = (select hash from audit_events where seq = {keep}) where id = 1")).await;

    // The chain alone still looks whole…
    let empty = tempfile::tempdir().unwrap();
    let out = nhidb(&db).env("NHIDB_CHECKPOINT_DIR", empty.path()).args(["audit", "verify"]).output().await.unwrap();
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).starts_with("ok ("), "without checkpoints the cut is invisible");
    // …but not against the checkpoint kept outside the database.
    let dir = db.files.path().join("checkpoints");
    let out = nhidb(&db).args(["audit", "verify", "--checkpoints"]).arg(&dir).output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.starts_with(&format!("FAILED at sequence {}: truncated at sequence {}", keep + 1, keep + 1)), "{text}");
    assert!(text.contains(&format!("vouches for sequence {head}")), "{text}");

    // The server refuses to sign the shortened log, and an export of it shows the cut too.
    let (code, out, err) = run(&["audit", "checkpoint"]).await;
    assert_ne!(code, Some(0), "{out}{err}");
    let work = tempfile::tempdir().unwrap();
    let bundle = work.path().join("bundle");
    let out = nhidb(&db).args(["export", "--quiet", "--out"]).arg(&bundle).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = nhidb(&db).args(["export", "verify"]).arg(&bundle).output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("audit checkpoints: sequence {}: truncated", keep + 1)), "{text}");

    // A checkpoint not signed by the configured key is refused, whatever it claims.
    let forged = tempfile::tempdir().unwrap();
    let hash = support::text(&db, &format!("select hash from audit_events where seq = {keep}")).await;
    std::fs::write(forged.path().join("checkpoints.jsonl"), forged_line(keep, &hash) + "\n").unwrap();
    let out = nhidb(&db).args(["audit", "verify", "--checkpoints"]).arg(forged.path()).output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("not signed by the trusted key"), "{text}");
}

async fn hygiene_check_names_what_the_stored_findings_miss_and_rebuild_repairs_it(db: TestDb) {
    let seeded = nhidb(&db).args(["seed-demo", "--identities", "60", "--quiet"]).output().await.unwrap();
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let check = || async { nhidb(&db).args(["hygiene", "check"]).output().await.unwrap() };
    let out = check().await;
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: stored findings equal a recompute"));

    // The CSV has every open finding of the report, as the summary counts them.
    let csv = nhidb(&db).args(["hygiene", "csv", "orphan_owner"]).output().await.unwrap();
    assert!(csv.status.success());
    let text = String::from_utf8(csv.stdout).unwrap();
    let rows = text.split("\r\n").filter(|l| !l.is_empty()).count() - 1;
    let stored = support::count(&db, "select count(*) from findings where kind = 'orphan_owner' and closed_at is null").await;
    assert!(stored > 0, "the demo has identities of a disabled owner");
    assert_eq!(rows as i64, stored);
    assert!(text.lines().nth(1).unwrap().contains("is disabled"), "{text}");
    // A report that does not exist: a clear error, and no empty file left behind.
    let out_file = db.files.path().join("nonsense.csv");
    let bad = nhidb(&db).args(["hygiene", "csv", "nonsense", "--out"]).arg(&out_file).output().await.unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("orphan_owner"), "names the reports: {}", String::from_utf8_lossy(&bad.stderr));
    assert!(!out_file.exists());

    // A finding lost behind the service layer's back, and one that should not be there.
    let lost = support::text(&db, "select identity_id from findings where kind = 'orphan_owner' and closed_at is null order by identity_id limit 1").await;
    support::sql(&db, &format!("delete from findings where kind = 'orphan_owner' and identity_id = '{lost}'")).await;
    support::sql(&db, "update identities set last_seen_at = '2000-01-01T00:00:00.000000Z' where id = (select min(id) from identities where status = 'active')")
        .await;
    let out = check().await;
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{printed}");
    assert!(printed.contains(&format!("missing orphan_owner identity {lost}")), "{printed}");
    assert!(printed.contains("missing dormant identity"), "{printed}");
    assert!(printed.contains("count   orphan_owner: counter"), "{printed}");

    let out = nhidb(&db).args(["hygiene", "rebuild"]).output().await.unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("rebuilt the findings of "), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(check().await.status.success());
}

async fn imports_from_files_directories_and_a_server(db: TestDb) {
    support::owner(&db.store, "platform").await;
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/import");
    let out = nhidb(&db)
        .args(["import", "kubernetes", "--cluster", "prod-eu", "--owner", "platform", &format!("{fixtures}/kubernetes/list.yaml")])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("imported Kubernetes source prod-eu") && stdout.contains("changed: identities +12"), "{stdout}");
    let plan =
        nhidb(&db).args(["import", "kubernetes", "--cluster", "prod-eu", "--plan", &format!("{fixtures}/kubernetes/changed.yaml")]).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&plan.stdout);
    assert!(stdout.contains("plan for Kubernetes source prod-eu") && stdout.contains("would change"), "{stdout}");
    // Bad input: exit 2, the file named, nothing imported.
    let bad = nhidb(&db).args(["import", "kubernetes", "--cluster", "prod-eu", &format!("{fixtures}/kubernetes/no-roleref.yaml")]).output().await.unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no-roleref.yaml"), "{}", String::from_utf8_lossy(&bad.stderr));
    let out = nhidb(&db)
        .args(["import", "aws", "--owner", "platform", &format!("{fixtures}/aws/gaad-page1.json"), &format!("{fixtures}/aws/gaad-page2.json")])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("AWS source 123456789012"));
    let missing = nhidb(&db).args(["import", "gcp", "--project", "acme-prod", "--owner", "platform", "/nonexistent.json"]).output().await.unwrap();
    assert_eq!(missing.status.code(), Some(2));
    // Client mode: the same export pushed to a server.
    let app = support::spawn_app(&db).await;
    let token = app.token(&["import"]).await;
    let mut push = Command::new(env!("CARGO_BIN_EXE_nhidb"));
    push.args(["--server", &app.base, "import", "gcp", "--project", "acme-prod", "--owner", "platform", &format!("{fixtures}/gcp/policy-v3.json")])
        .env("NHIDB_TOKEN", &token)
        .env_remove("NHIDB_DATABASE_URL")
        .kill_on_drop(true);
    let out = push.output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("GCP source acme-prod imported"), "{}", String::from_utf8_lossy(&out.stdout));
}
