//! What a security review of the console and the API asked for, over real HTTP: pages obey the
//! same rules as server functions, sign-in throttling holds under concurrency without locking
//! owners out, sessions end everywhere on a password change, pipeline tokens cannot skip review
//! or leave their scopes, redirects stay on this site, exports need a POST with the CSRF token,
//! secrets stay out of free text, and a revocation is filed and applied in one transaction.

mod support;

use nhidb::domain::actor::ConsoleRole;
use nhidb::domain::change::{ChangeQuery, ChangeState};
use nhidb::service::{access, changes, seed};
use nhidb::state::WebConfig;
use nhidb::ui::pages::{self, PAGES};
use nhidb::ui::rpc::Access;
use serde_json::{Value, json};
use support::{Browser, TestApp, TestDb, spawn_app, spawn_app_with, text};

store_tests!(
    every_page_obeys_its_rule_for_every_console_role,
    concurrent_wrong_passwords_are_evaluated_at_most_the_limit,
    a_strangers_guesses_slow_the_stranger_not_the_owner,
    only_the_address_the_proxy_added_counts,
    the_current_password_check_is_throttled_and_audited,
    a_password_change_ends_every_other_session,
    a_pipeline_token_cannot_revoke_privileged_access_without_review,
    a_limited_token_is_refused_outside_its_scopes,
    sign_in_sends_back_only_to_paths_on_this_site,
    the_export_download_needs_a_post_with_the_csrf_token,
    secrets_are_refused_in_free_text_and_nothing_is_kept,
    an_immediate_revocation_is_filed_and_applied_in_one_transaction,
    reading_change_requests_never_writes,
);

/// Behind a reverse proxy whose `X-Forwarded-For` entries are trusted.
fn proxied() -> WebConfig {
    WebConfig { trust_proxy: true, ..Default::default() }
}

/// A sign-in as the sign-in form sends it, from `forwarded_for` behind the trusted proxy.
async fn sign_in_from(app: &TestApp, email: &str, password: &str, forwarded_for: &str) -> reqwest::Response {
    app.client
        .post(app.url("/rpc/auth/sign-in"))
        .header("origin", &app.base)
        .header("accept", "application/json")
        .header("x-forwarded-for", forwarded_for)
        .form(&[("email", email), ("password", password), ("next", "/")])
        .send()
        .await
        .unwrap()
}

async fn audit_count(db: &TestDb, action: &str) -> i64 {
    support::count(db, &format!("select count(*) from audit_events where action = '{action}'")).await
}

/// Concrete paths for every page pattern, on the seeded ledger.
async fn concrete(db: &TestDb, pattern: &str, request_id: &str) -> String {
    let first = |table: &str, extra: &str| format!("select id from {table} {extra} order by id limit 1");
    let value = if pattern.starts_with("/identities/") {
        text(db, &first("identities", "where status = 'active'")).await
    } else if pattern.starts_with("/services/") {
        text(db, &first("services", "where status = 'active'")).await
    } else if pattern.starts_with("/templates/") {
        text(db, &first("templates", "")).await
    } else if pattern.starts_with("/roles/") {
        text(db, &first("roles", "")).await
    } else if pattern.starts_with("/approvals/") {
        request_id.to_owned()
    } else if pattern.starts_with("/sources/") {
        text(db, &first("sources", "")).await
    } else if pattern.starts_with("/drift/") {
        // A changed role's finding: its page renders the rule diff.
        text(db, &first("source_drift", "where kind = 'changed_outside_review'")).await
    } else {
        String::new()
    };
    pattern.replace(":id", &value)
}

/// The text of the page's first `<h1>`: its subject (an identity's name, a page's title).
fn heading(html: &str) -> Option<String> {
    let start = html.find("<h1")?;
    let open_end = start + html[start..].find('>')? + 1;
    let end = open_end + html[open_end..].find("</h1>")?;
    Some(html[open_end..end].replace("<!>", "").trim().to_owned()).filter(|h| !h.is_empty())
}

async fn every_page_obeys_its_rule_for_every_console_role(db: TestDb) {
    seed::demo(&db.store, 20, &|_| {}).await.unwrap();
    seed::demo_sources(&db.store).await.unwrap();
    let app = spawn_app(&db).await;
    app.token(&["read"]).await;
    let request = access::propose(&db.store, &support::operator(&[ConsoleRole::Requester]), &grantable(&db).await).await.unwrap();

    let roles: &[(&str, &[ConsoleRole])] = &[
        ("no role", &[]),
        ("viewer", &[ConsoleRole::Viewer]),
        ("requester", &[ConsoleRole::Requester]),
        ("approver", &[ConsoleRole::Approver]),
        ("auditor", &[ConsoleRole::Auditor]),
        ("admin", &[ConsoleRole::Admin]),
    ];
    let mut browsers = Vec::new();
    for (name, held) in roles {
        let (email, password) = app.operator_with(held).await;
        browsers.push((*name, app.browser(&email, &password).await, email));
    }
    let admin_email = browsers.last().unwrap().2.clone();
    for rule in PAGES.iter().filter(|r| r.access != Access::Public) {
        let path = concrete(&db, rule.path, &request.id).await;
        // What the page shows those who may open it: its heading, and data only it shows.
        let admin = app.get(Some(&browsers.last().unwrap().1), &path).send().await.unwrap();
        assert_eq!(admin.status(), 200, "{path} for an admin");
        let admin_html = admin.text().await.unwrap();
        let mut markers: Vec<String> = heading(&admin_html).into_iter().collect();
        match rule.path {
            "/settings/operators" => markers.push(admin_email.clone()),
            "/settings/tokens" => markers.push("test pipeline".into()),
            "/audit" => markers.push("operator.create".into()),
            _ => {}
        }
        for (role, browser, _) in &browsers {
            let session = nhidb::domain::operator::SessionView {
                operator_id: String::new(),
                name: String::new(),
                email: String::new(),
                roles: roles.iter().find(|(n, _)| n == role).unwrap().1.to_vec(),
                csrf_token: String::new(),
            };
            let allowed = pages::allows(rule.access, Some(&session));
            let response = tokio::time::timeout(std::time::Duration::from_secs(30), app.get(Some(browser), &path).send())
                .await
                .unwrap_or_else(|_| panic!("{path} as a {role} did not answer within 30 s"))
                .unwrap();
            let status = response.status().as_u16();
            let html = response.text().await.unwrap();
            if allowed {
                assert_eq!(status, 200, "{path} for a {role}");
                assert!(!html.contains("id=\"forbidden\""), "{path} for a {role}");
            } else {
                assert_eq!(status, 403, "{path} for a {role} must be refused");
                assert!(html.contains("id=\"forbidden\"") && html.contains("Not allowed"), "{path} for a {role} says it is not allowed");
                let main = &html[html.find("<main").unwrap_or(0)..];
                assert!(!main.contains("<table") && !main.contains("<form"), "{path} refused to a {role} renders no table and no form");
                for marker in &markers {
                    assert!(!html.contains(marker.as_str()), "{path} refused to a {role} still shows {marker:?}");
                }
            }
        }
    }
}

async fn concurrent_wrong_passwords_are_evaluated_at_most_the_limit(db: TestDb) {
    let app = spawn_app_with(&db, proxied()).await;
    let (email, password) = app.operator_with(&[ConsoleRole::Viewer]).await;
    let limit = WebConfig::default().access.client_throttle.max_failures;
    let attempts = (0..40).map(|_| sign_in_from(&app, &email, "not the password at all", "203.0.113.9"));
    let statuses: Vec<u16> = futures_util::future::join_all(attempts).await.into_iter().map(|r| r.status().as_u16()).collect();
    let evaluated = statuses.iter().filter(|s| **s == 401).count() as i64;
    assert!(evaluated <= limit, "{evaluated} of 40 concurrent guesses were evaluated; the limit is {limit}: {statuses:?}");
    assert!(statuses.iter().all(|s| [401, 429].contains(s)), "{statuses:?}");
    assert_eq!(audit_count(&db, "auth.sign_in_failed").await, evaluated, "only evaluated guesses are failures");
    assert_eq!(sign_in_from(&app, &email, &password, "203.0.113.9").await.status(), 429, "the guessing address stays locked out");
    assert_eq!(sign_in_from(&app, &email, &password, "198.51.100.7").await.status(), 200, "the owner, elsewhere, signs in");
}

async fn a_strangers_guesses_slow_the_stranger_not_the_owner(db: TestDb) {
    let mut config = proxied();
    config.access.account_throttle.max_failures = 8;
    let app = spawn_app_with(&db, config).await;
    let (email, password) = app.operator_with(&[ConsoleRole::Viewer]).await;
    for _ in 0..5 {
        assert_eq!(sign_in_from(&app, &email, "a wrong guess here", "203.0.113.9").await.status(), 401);
    }
    let refused = sign_in_from(&app, &email, &password, "203.0.113.9").await;
    assert_eq!(refused.status(), 429, "the stranger's address is locked, even with the right password");
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(sign_in_from(&app, &email, &password, "198.51.100.7").await.status(), 200, "the owner is not");
    // Guessing spread over many addresses meets the account's own, higher ceiling.
    for n in 0..3 {
        assert_eq!(sign_in_from(&app, &email, "another wrong guess", &format!("192.0.2.{n}")).await.status(), 401);
    }
    assert_eq!(sign_in_from(&app, &email, &password, "198.51.100.7").await.status(), 429, "8 failures in all lock the account");
}

async fn only_the_address_the_proxy_added_counts(db: TestDb) {
    let app = spawn_app_with(&db, proxied()).await;
    let (email, password) = app.operator_with(&[ConsoleRole::Viewer]).await;
    // The stranger writes a fresh address in front each time; the proxy appends the real one.
    for n in 0..5 {
        assert_eq!(sign_in_from(&app, &email, "guess", &format!("10.0.0.{n}, 203.0.113.9")).await.status(), 401);
    }
    assert_eq!(sign_in_from(&app, &email, &password, "10.0.0.99, 203.0.113.9").await.status(), 429);
    assert_eq!(sign_in_from(&app, &email, &password, "203.0.113.9, 198.51.100.7").await.status(), 200, "the owner's own proxy hop");

    // Without --trust-proxy the header is the client's word and counts for nothing.
    let direct = spawn_app(&db).await;
    let (email, password) = direct.operator_with(&[ConsoleRole::Viewer]).await;
    for n in 0..5 {
        assert_eq!(sign_in_from(&direct, &email, "guess", &format!("198.51.100.{n}")).await.status(), 401);
    }
    assert_eq!(sign_in_from(&direct, &email, &password, "198.51.100.200").await.status(), 429, "all from the same peer");
}

async fn the_current_password_check_is_throttled_and_audited(db: TestDb) {
    let app = spawn_app(&db).await;
    let (email, password) = app.operator_with(&[ConsoleRole::Viewer]).await;
    let me = app.browser(&email, &password).await;
    let change = |current: &'static str| {
        app.post_form(
            Some(&me),
            "/rpc/account/password",
            &[("current_password", current), ("new_password", "a brand new password"), ("confirm", "a brand new password")],
        )
        .send()
    };
    for _ in 0..5 {
        let wrong = change("not my password").await.unwrap();
        assert_eq!(wrong.status(), 422);
        assert!(wrong.text().await.unwrap().contains("current_password"));
    }
    assert_eq!(audit_count(&db, "operator.change_password_failed").await, 5, "every failed check is audited");
    let locked = change("a long enough password").await.unwrap();
    assert_eq!(locked.status(), 429, "even the right current password waits once the checks are throttled");
    assert!(locked.headers().contains_key("retry-after"));
    assert_eq!(app.sign_in(&email, "a brand new password").await.status(), 401, "the password did not change");
}

async fn a_password_change_ends_every_other_session(db: TestDb) {
    let app = spawn_app(&db).await;
    let (email, password) = app.operator_with(&[ConsoleRole::Viewer]).await;
    let me = app.browser(&email, &password).await;
    let elsewhere = app.browser(&email, &password).await;
    let operator = nhidb::service::operators::by_email(&db.store, &support::admin(), &email).await.unwrap();
    // Far more than any page of sessions: each must end.
    let now = nhidb::domain::Timestamp::now();
    let mut tx = db.store.begin().await.unwrap();
    for n in 0..150 {
        let hash = format!("{n:064x}");
        let session = nhidb::store::sessions::NewSession {
            id_hash: &hash,
            operator_id: &operator.id,
            csrf_token: "x",
            expires_at: now.plus_seconds(3600),
            client_addr: None,
            user_agent: None,
        };
        nhidb::store::sessions::insert(tx.conn(), &session, now).await.unwrap();
    }
    tx.commit().await.unwrap();
    let open = format!("select count(*) from sessions where operator_id = '{}' and ended_at is null", operator.id);
    assert_eq!(support::count(&db, &open).await, 152);
    let changed = app
        .post_form(
            Some(&me),
            "/rpc/account/password",
            &[("current_password", &password), ("new_password", "a brand new password"), ("confirm", "a brand new password")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_eq!(support::count(&db, &open).await, 1, "every other session ended");
    assert_eq!(app.post_form(Some(&elsewhere), "/rpc/account/sessions", &[]).send().await.unwrap().status(), 401);
    assert_eq!(app.post_form(Some(&me), "/rpc/account/sessions", &[]).send().await.unwrap().status(), 200, "the one that changed it goes on");

    let admin = app.signed_in_as(&[ConsoleRole::Admin]).await;
    let reset = app.post_form(Some(&admin), "/rpc/operators/reset-password", &[("id", operator.id.as_str())]).send().await.unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(support::count(&db, &open).await, 0, "a reset ends them all");
}

/// A live assignment of a seeded role of `sensitivity` ("privileged" or "standard") on an active identity.
async fn live_assignment(db: &TestDb, sensitivity: &str) -> String {
    text(
        db,
        &format!(
            "select a.id from assignments a join roles r on r.id = a.role_id join identities i on i.id = a.identity_id \
             where r.sensitivity = '{sensitivity}' and a.revoked_at is null and i.status = 'active' order by a.id limit 1"
        ),
    )
    .await
}

/// An active identity and a standard role it does not hold: a grant that can be filed.
async fn grantable(db: &TestDb) -> access::AccessInput {
    let pair = text(
        db,
        "select i.id || ' ' || r.slug from identities i cross join roles r where i.status = 'active' and r.sensitivity = 'standard' \
         and r.status = 'active' and not exists (select 1 from assignments a where a.identity_id = i.id and a.role_id = r.id \
         and a.revoked_at is null) order by i.id, r.slug limit 1",
    )
    .await;
    let (identity_id, role) = pair.split_once(' ').unwrap();
    access::AccessInput {
        grants: vec![access::GrantInput { identity_id: identity_id.into(), role: role.into(), scope: String::new(), expires_at: String::new() }],
        revokes: vec![],
        reason: "needed for the next release".into(),
    }
}

async fn a_pipeline_token_cannot_revoke_privileged_access_without_review(db: TestDb) {
    seed::demo(&db.store, 60, &|_| {}).await.unwrap();
    let app = spawn_app(&db).await;
    let token = app.token(&["provision"]).await;
    let revoke = |assignment: String| {
        app.client
            .post(app.url("/api/v1/change-requests/access"))
            .bearer_auth(&token)
            .json(&json!({ "revokes": [assignment], "reason": "pipeline clean-up" }))
            .send()
    };
    // A privileged grant, approved by two approvers as the policy wants.
    let mut input = grantable(&db).await;
    input.grants[0].role = "secrets-reader".into();
    let request = access::propose(&db.store, &support::operator(&[ConsoleRole::Requester]), &input).await.unwrap();
    for n in 1..=2 {
        let approver = nhidb::domain::actor::Actor::operator(&format!("op-approver-{n}"), "Approver", vec![ConsoleRole::Approver]);
        changes::decide(&db.store, &approver, &request.id, "approve", "").await.unwrap();
    }
    let privileged = live_assignment(&db, "privileged").await;
    let filed: Value = revoke(privileged.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(filed["state"], "pending", "a privileged revocation waits for review: {filed}");
    let still = format!("select count(*) from assignments where id = '{privileged}' and revoked_at is null");
    assert_eq!(support::count(&db, &still).await, 1, "the assignment is untouched until approved");

    let standard = live_assignment(&db, "standard").await;
    let applied: Value = revoke(standard.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(applied["state"], "applied", "standard revocations stay immediate unless the policy says otherwise");
}

async fn a_limited_token_is_refused_outside_its_scopes(db: TestDb) {
    seed::demo(&db.store, 40, &|_| {}).await.unwrap();
    let app = spawn_app(&db).await;
    let token = app.limited_token(&["read", "provision", "decommission"], "prod/payments").await;
    let whoami: Value = app.client.get(app.url("/api/v1/whoami")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(whoami["limits"], json!(["prod/payments"]));
    let provision = |name: &str| {
        app.client
            .post(app.url("/api/v1/services"))
            .bearer_auth(&token)
            .json(&json!({ "template": "web-api", "name": name, "env": "prod", "owner": "payments-team" }))
            .send()
    };
    let outside = provision("payments-v2").await.unwrap();
    let status = outside.status();
    let body: Value = outside.json().await.unwrap();
    assert_eq!(status, 403, "prod/payments-v2 is a sibling, not inside prod/payments: {body}");
    assert_eq!(body["code"], "NHI-AUTH-002");
    assert!(body["message"].as_str().unwrap().contains("prod/payments-v2"), "{body}");
    assert_eq!(support::count(&db, "select count(*) from services where name = 'payments-v2'").await, 0);
    let inside = provision("payments").await.unwrap();
    assert_eq!(inside.status(), 201);
    let provisioned: Value = inside.json().await.unwrap();

    let access = |body: Value| app.client.post(app.url("/api/v1/change-requests/access")).bearer_auth(&token).json(&body).send();
    let seeded = live_assignment(&db, "standard").await;
    let revoke = access(json!({ "revokes": [seeded], "reason": "outside the limits" })).await.unwrap();
    assert_eq!(revoke.status(), 403, "seeded grants apply on prod, above the token's limit");
    let identity = provisioned["identities"][0]["id"].as_str().unwrap().to_owned();
    let grant = |scope: &str| json!({ "grants": [{ "identity_id": identity, "role": "api-invoker", "scope": scope }], "reason": "inside the limits" });
    assert_eq!(access(grant("prod/payments/payments-db")).await.unwrap().status(), 200);
    assert_eq!(access(grant("")).await.unwrap().status(), 403, "the role's own scope (prod) is outside");
    let template = app
        .client
        .post(app.url("/api/v1/change-requests/template"))
        .bearer_auth(&token)
        .json(&json!({ "slug": "limited-template", "definition": { "description": "", "identities": [] }, "reason": "templates apply everywhere" }))
        .send()
        .await
        .unwrap();
    assert_eq!(template.status(), 403);

    let decommission = |id: &str| app.client.post(app.url(&format!("/api/v1/services/{id}/decommission"))).bearer_auth(&token).json(&json!({})).send();
    let ledger_id = text(&db, "select id from services where name = 'ledger-service'").await;
    assert_eq!(decommission(&ledger_id).await.unwrap().status(), 403, "a service outside the limits stays");
    assert_eq!(decommission(provisioned["service_id"].as_str().unwrap()).await.unwrap().status(), 200);
}

async fn sign_in_sends_back_only_to_paths_on_this_site(db: TestDb) {
    let app = spawn_app(&db).await;
    let (email, password) = app.operator_with(&[ConsoleRole::Viewer]).await;
    for (next, expected) in [
        ("/identities?kind=ci_bot", "/identities?kind=ci_bot"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/%09/evil.example", "/"),
        ("/%2F/evil.example", "/"),
        ("https:evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
    ] {
        let response = app
            .client
            .post(app.url("/rpc/auth/sign-in"))
            .header("origin", &app.base)
            .header("accept", "application/json")
            .form(&[("email", email.as_str()), ("password", password.as_str()), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let target: String = response.json().await.unwrap();
        assert_eq!(target, expected, "next={next:?}");
    }
}

async fn the_export_download_needs_a_post_with_the_csrf_token(db: TestDb) {
    seed::demo(&db.store, 5, &|_| {}).await.unwrap();
    let app = spawn_app(&db).await;
    let auditor = app.signed_in_as(&[ConsoleRole::Auditor]).await;
    let exports = || support::count(&db, "select count(*) from audit_events where action = 'evidence.export'");
    assert_eq!(app.get(Some(&auditor), "/downloads/export.zip").send().await.unwrap().status(), 405, "a link or an image cannot start one");
    let post = |browser: &Browser, csrf: &str| {
        app.client
            .post(app.url("/downloads/export.zip"))
            .header("origin", &app.base)
            .header("cookie", format!("__Host-nhidb_session={}", browser.cookie))
            .form(&[("_csrf", csrf)])
            .send()
    };
    assert_eq!(post(&auditor, "not-the-token").await.unwrap().status(), 403);
    let cross_site = app
        .client
        .post(app.url("/downloads/export.zip"))
        .header("origin", "https://evil.example")
        .header("cookie", format!("__Host-nhidb_session={}", auditor.cookie))
        .form(&[("_csrf", auditor.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    assert_eq!(exports().await, 0, "no refused request built a bundle");
    let viewer = app.signed_in_as(&[ConsoleRole::Viewer]).await;
    assert_eq!(post(&viewer, &viewer.csrf).await.unwrap().status(), 403);
    let done = post(&auditor, &auditor.csrf).await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"nhidb-export-"));
    assert!(done.bytes().await.unwrap().starts_with(b"PK"), "a zip file");
    assert_eq!(exports().await, 1);
}

async fn secrets_are_refused_in_free_text_and_nothing_is_kept(db: TestDb) {
    use nhidb::domain::identity::IdentityInput;
    seed::demo(&db.store, 20, &|_| {}).await.unwrap();
    let requester = support::operator(&[ConsoleRole::Requester]);
    let owner = support::owner(&db.store, "secrets-team").await;
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    let github = format!("ghp_{}", "A1b2C3d4E5f6".repeat(3));
    let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----";
    let before = support::count(&db, "select count(*) from audit_events").await;

    let described = IdentityInput { description: format!("token: {jwt}"), ..support::identity_input("svc-leaky", "workload", &owner, None) };
    let e = nhidb::service::identities::create(&db.store, &requester, &described).await.unwrap_err();
    assert_eq!((e.code(), e.field_message("description").is_some()), ("NHI-CRED-001", true), "{e:?}");
    let labelled = IdentityInput { labels: format!("ci={github}"), ..support::identity_input("svc-leaky", "workload", &owner, None) };
    let e = nhidb::service::identities::create(&db.store, &requester, &labelled).await.unwrap_err();
    assert_eq!((e.code(), e.field_message("labels").is_some()), ("NHI-CRED-001", true), "{e:?}");

    let reasoned = access::AccessInput { reason: "key AKIAIOSFODNN7EXAMPLE for the deploy".into(), ..grantable(&db).await };
    assert_eq!(access::propose(&db.store, &requester, &reasoned).await.unwrap_err().code(), "NHI-CRED-001");
    let reasoned = access::AccessInput { reason: "needed for the next release".into(), ..reasoned };
    let request = access::propose(&db.store, &requester, &reasoned).await.unwrap();
    let approver = support::operator(&[ConsoleRole::Approver]);
    let e = changes::decide(&db.store, &approver, &request.id, "reject", pem).await.unwrap_err();
    assert_eq!(e.code(), "NHI-CRED-001");
    assert_eq!(changes::review(&db.store, &approver, &request.id).await.unwrap().request.decisions.len(), 0, "no decision was recorded");
    let e = nhidb::service::identities::change_status(&db.store, &requester, &request.payload.identities()[0], "suspended", &format!("leaked {github}"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "NHI-CRED-001");
    assert_eq!(support::count(&db, "select count(*) from identities where name = 'svc-leaky'").await, 0);
    assert_eq!(support::count(&db, "select count(*) from audit_events").await, before + 1, "only the clean request was recorded");
    let leaked = format!("select count(*) from audit_events where detail like '%{}%' or detail like '%AKIA%'", &github[..12]);
    assert_eq!(support::count(&db, &leaked).await, 0);
}

async fn an_immediate_revocation_is_filed_and_applied_in_one_transaction(db: TestDb) {
    seed::demo(&db.store, 40, &|_| {}).await.unwrap();
    let assignment = live_assignment(&db, "standard").await;
    // The database refuses to end assignments, as a failing store call half-way would.
    if db.url.starts_with("sqlite") {
        support::sql(&db, "create trigger inject_fault before update of revoked_at on assignments begin select raise(abort, 'injected fault'); end").await;
    } else {
        support::sql(&db, "create function inject_fault() returns trigger language plpgsql as $$ begin raise exception 'injected fault'; end $$").await;
        support::sql(&db, "create trigger inject_fault before update of revoked_at on assignments for each row execute function inject_fault()").await;
    }
    let requests = || support::count(&db, "select count(*) from change_requests");
    let events = || support::count(&db, "select count(*) from audit_events");
    let (requests_before, events_before) = (requests().await, events().await);
    let input = access::AccessInput { grants: vec![], revokes: vec![assignment], reason: "retire the old writer".into() };
    let failed = access::propose(&db.store, &support::operator(&[ConsoleRole::Requester]), &input).await;
    assert!(failed.is_err());
    assert_eq!(requests().await, requests_before, "no request is left pending behind the failure");
    assert_eq!(events().await, events_before, "and no event claims it was proposed");
}

async fn reading_change_requests_never_writes(db: TestDb) {
    seed::demo(&db.store, 20, &|_| {}).await.unwrap();
    let request = access::propose(&db.store, &support::operator(&[ConsoleRole::Requester]), &grantable(&db).await).await.unwrap();
    support::sql(&db, &format!("update change_requests set expires_at = '2000-01-01T00:00:00.000000Z' where id = '{}'", request.id)).await;
    let head = || support::count(&db, "select seq from audit_head where id = 1");
    let stored_pending = format!("select count(*) from change_requests where id = '{}' and state = 'pending'", request.id);
    let before = head().await;
    let admin = support::admin();
    let review = changes::review(&db.store, &admin, &request.id).await.unwrap();
    assert_eq!(review.request.state, ChangeState::Expired, "shown as it stands");
    let listed = |state: &str| ChangeQuery { view: Some("all".into()), state: Some(state.into()), ..Default::default() };
    assert!(changes::list(&db.store, &admin, &listed("pending")).await.unwrap().items.iter().all(|r| r.id != request.id));
    let expired = changes::list(&db.store, &admin, &listed("expired")).await.unwrap();
    assert!(expired.items.iter().any(|r| r.id == request.id && r.state == ChangeState::Expired));
    assert_eq!(head().await, before, "reading wrote no audit event");
    assert_eq!(support::count(&db, &stored_pending).await, 1, "reading changed no row");
    assert_eq!(changes::expire_due(&db.store).await.unwrap(), 1, "the scheduler records the expiry");
    assert_eq!(support::count(&db, &stored_pending).await, 0);
    assert_eq!(head().await, before + 1);
}
