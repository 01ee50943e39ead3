//! Console sign-in, authorization on every door, CSRF, security headers, throttling and
//! pipeline tokens, over real HTTP.

mod support;

use nhidb::domain::actor::{Capability, ConsoleRole};
use nhidb::state::WebConfig;
use nhidb::ui::rpc::{self, Access};
use support::{Browser, TestApp, TestDb, spawn_app, spawn_app_with};

store_tests!(
    every_server_function_is_guarded,
    every_api_route_is_guarded,
    pages_need_a_signed_in_operator,
    state_changes_need_the_console_origin_and_csrf_token,
    responses_carry_security_headers_and_a_safe_cookie,
    sign_in_failures_are_throttled_and_say_nothing_about_accounts,
    a_disabled_operators_session_stops_at_the_next_request,
    idle_sessions_end_and_sign_out_ends_a_session,
    tokens_are_shown_once_stored_hashed_and_revocable,
    the_first_admin_is_created_once_through_the_bootstrap_link,
);

/// A role that lacks `capability`, and one that has it.
fn roles_for(capability: Capability) -> (&'static [ConsoleRole], &'static [ConsoleRole]) {
    match capability {
        Capability::ReadLedger => (&[], &[ConsoleRole::Viewer]),
        Capability::EditLedger | Capability::Provision | Capability::Decommission => (&[ConsoleRole::Viewer], &[ConsoleRole::Requester]),
        Capability::Audit => (&[ConsoleRole::Viewer], &[ConsoleRole::Auditor]),
        Capability::Administer => (&[ConsoleRole::Requester], &[ConsoleRole::Admin]),
        Capability::ReportUsage => (&[ConsoleRole::Admin], &[]),
        Capability::Propose => (&[ConsoleRole::Viewer], &[ConsoleRole::Requester]),
        Capability::Decide => (&[ConsoleRole::Requester], &[ConsoleRole::Approver]),
        Capability::Import => (&[ConsoleRole::Requester], &[ConsoleRole::Admin]),
    }
}

async fn call(app: &TestApp, browser: Option<&Browser>, path: &str) -> u16 {
    app.post_form(browser, path, &[]).send().await.unwrap().status().as_u16()
}

async fn every_server_function_is_guarded(db: TestDb) {
    let app = spawn_app(&db).await;
    let registered: Vec<_> = leptos::server_fn::axum::server_fn_paths().collect();
    assert!(registered.len() >= rpc::RPCS.len(), "the registry lists every server function");
    for (path, _method) in registered {
        let entry = rpc::lookup(path).unwrap_or_else(|| panic!("{path} is not in ui::rpc::RPCS: add it with its access rule"));
        match entry.access {
            Access::Public => {
                assert!(![401, 403].contains(&call(&app, None, path).await), "{path} is public");
            }
            Access::SignedIn => {
                assert_eq!(call(&app, None, path).await, 401, "{path} without a session");
                let anyone = app.signed_in_as(&[]).await;
                assert!(![401, 403].contains(&call(&app, Some(&anyone), path).await), "{path} with a session");
            }
            Access::Needs(capability) => {
                assert_eq!(call(&app, None, path).await, 401, "{path} without a session");
                let (lacking, having) = roles_for(capability);
                let denied = app.signed_in_as(lacking).await;
                assert_eq!(call(&app, Some(&denied), path).await, 403, "{path} as {lacking:?}");
                let allowed = app.signed_in_as(having).await;
                let status = call(&app, Some(&allowed), path).await;
                assert!(![401, 403].contains(&status), "{path} as {having:?} answered {status}");
            }
        }
    }
    // And nothing outside the table answers.
    assert_eq!(call(&app, Some(&app.signed_in_as(&[ConsoleRole::Admin]).await), "/rpc/not/registered").await, 404);
}

async fn every_api_route_is_guarded(db: TestDb) {
    let app = spawn_app(&db).await;
    let routes = nhidb::api::route_list();
    assert!(!routes.is_empty());
    for route in routes {
        let path = route.path.replace("{id}", "01J0000000000000000000000X");
        let send = |token: Option<String>| {
            let request = app.client.request(route.method.clone(), app.url(&path));
            let request = match token {
                Some(t) => request.bearer_auth(t),
                None => request,
            };
            async move { request.send().await.unwrap().status().as_u16() }
        };
        assert_eq!(send(None).await, 401, "{} without a token", route.path);
        assert_eq!(send(Some("nhidb_not-a-real-token".into())).await, 401, "{} with a bad token", route.path);
        let (lacking, having): (&[&str], &[&str]) = match route.needs {
            None => (&[], &["report-usage"]),
            Some(Capability::ReadLedger) => (&["report-usage"], &["read"]),
            Some(Capability::Provision) => (&["read"], &["provision"]),
            Some(Capability::Decommission) => (&["read"], &["decommission"]),
            Some(Capability::ReportUsage) => (&["read"], &["report-usage"]),
            Some(Capability::Propose) => (&["read"], &["provision"]),
            Some(Capability::Audit) => (&["read"], &["audit"]),
            Some(Capability::Import) => (&["read"], &["import"]),
            Some(other) => panic!("no token scope grants {other:?}; {} can never be called", route.path),
        };
        if !lacking.is_empty() {
            assert_eq!(send(Some(app.token(lacking).await)).await, 403, "{} with {lacking:?}", route.path);
        }
        let status = send(Some(app.token(having).await)).await;
        assert!(![401, 403].contains(&status), "{} with {having:?} answered {status}", route.path);
    }
}

async fn pages_need_a_signed_in_operator(db: TestDb) {
    let app = spawn_app(&db).await;
    let res = app.get(None, "/identities?kind=ci_bot").send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/sign-in?next=/identities%3Fkind%3Dci_bot");
    assert_eq!(app.get(None, "/sign-in").send().await.unwrap().status(), 200);
    let viewer = app.signed_in_as(&[ConsoleRole::Viewer]).await;
    let page = app.get(Some(&viewer), "/identities").send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(!html.contains("New identity"), "a viewer is not offered edit controls");
    let admin = app.signed_in_as(&[ConsoleRole::Admin]).await;
    assert!(app.get(Some(&admin), "/identities").send().await.unwrap().text().await.unwrap().contains("New identity"));
    assert_eq!(app.get(Some(&viewer), "/settings/operators").send().await.unwrap().status(), 403);
}

async fn state_changes_need_the_console_origin_and_csrf_token(db: TestDb) {
    let app = spawn_app(&db).await;
    let owner = support::owner(&db.store, "team-a").await;
    let requester = app.signed_in_as(&[ConsoleRole::Requester]).await;
    let fields = [("name", "svc-csrf"), ("kind", "workload"), ("owner_id", owner.as_str()), ("description", ""), ("labels", "")];
    let cookie = format!("__Host-nhidb_session={}", requester.cookie);

    let cross_site = app
        .client
        .post(app.url("/rpc/identities/create"))
        .header("origin", "https://evil.example")
        .header("cookie", &cookie)
        .form(&[fields.as_slice(), &[("_csrf", requester.csrf.as_str())]].concat())
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    assert!(cross_site.text().await.unwrap().contains("cross_site"), "refused as a cross-site request");

    let without_token =
        app.client.post(app.url("/rpc/identities/create")).header("origin", &app.base).header("cookie", &cookie).form(&fields).send().await.unwrap();
    assert_eq!(without_token.status(), 403);

    let wrong_token = app
        .client
        .post(app.url("/rpc/identities/create"))
        .header("origin", &app.base)
        .header("cookie", &cookie)
        .form(&[fields.as_slice(), &[("_csrf", "not-the-token")]].concat())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_token.status(), 403);

    let no_origin = app
        .client
        .post(app.url("/rpc/identities/create"))
        .header("cookie", &cookie)
        .form(&[fields.as_slice(), &[("_csrf", requester.csrf.as_str())]].concat())
        .send()
        .await
        .unwrap();
    assert_eq!(no_origin.status(), 403, "a request with neither Origin nor Sec-Fetch-Site is refused");

    let get = app.get(Some(&requester), "/rpc/identities/create?name=svc-get&kind=workload").send().await.unwrap();
    assert!(!get.status().is_success(), "no state change on GET");

    let total = nhidb::service::identities::list(&db.store, &support::admin(), &Default::default(), &Default::default()).await.unwrap().total;
    assert_eq!(total, 0, "nothing was created by refused requests");

    let ok = app.post_form(Some(&requester), "/rpc/identities/create", &fields).send().await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
}

async fn responses_carry_security_headers_and_a_safe_cookie(db: TestDb) {
    let config = WebConfig { public_url: Some("https://nhidb.example.com".into()), ..Default::default() };
    let app = spawn_app_with(&db, config).await;
    let (email, password) = app.operator_with(&[ConsoleRole::Viewer]).await;
    // The public URL is https, so the console's origin is that, not the test's loopback address.
    let signed_in = app
        .client
        .post(app.url("/rpc/auth/sign-in"))
        .header("origin", "https://nhidb.example.com")
        .form(&[("email", email.as_str()), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    let set_cookie = signed_in.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["__Host-nhidb_session=", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(set_cookie.contains(attribute), "cookie lacks {attribute}: {set_cookie}");
    }
    let cookie = support::session_cookie(&signed_in).unwrap();
    let page = app.client.get(app.url("/identities")).header("cookie", format!("__Host-nhidb_session={cookie}")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap().to_owned();
    for directive in ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self' 'nonce-"] {
        assert!(csp.contains(directive), "CSP lacks {directive}: {csp}");
    }
    let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the page's scripts carry the CSP nonce");
    assert!(!html.contains("<script>"), "no inline script without a nonce");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
    let api = app.client.get(app.url("/api/v1/whoami")).send().await.unwrap();
    assert!(api.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
}

async fn sign_in_failures_are_throttled_and_say_nothing_about_accounts(db: TestDb) {
    let mut config = WebConfig::default();
    config.access.account_throttle.max_failures = 3;
    config.access.account_throttle.lock_seconds = 2;
    let app = spawn_app_with(&db, config).await;
    let (email, password) = app.operator_with(&[ConsoleRole::Viewer]).await;

    let wrong = app.sign_in(&email, "not the password at all").await;
    assert_eq!(wrong.status(), 401);
    let wrong_body = wrong.text().await.unwrap();
    let unknown = app.sign_in("nobody@example.com", "not the password at all").await;
    assert_eq!(unknown.status(), 401);
    assert_eq!(unknown.text().await.unwrap(), wrong_body, "an unknown account fails exactly like a wrong password");

    for _ in 0..2 {
        assert_eq!(app.sign_in(&email, "still not the password").await.status(), 401);
    }
    let refused = app.sign_in(&email, &password).await;
    assert_eq!(refused.status(), 429, "locked even with the right password");
    assert!(refused.headers().contains_key("retry-after"));
    assert!(refused.text().await.unwrap().contains("throttled"));

    tokio::time::sleep(std::time::Duration::from_millis(2_200)).await;
    assert_eq!(app.sign_in(&email, &password).await.status(), 200, "the lock ends after the window");
}

async fn a_disabled_operators_session_stops_at_the_next_request(db: TestDb) {
    let app = spawn_app(&db).await;
    let (email, password) = app.operator_with(&[ConsoleRole::Viewer]).await;
    let viewer = app.browser(&email, &password).await;
    assert_eq!(app.get(Some(&viewer), "/identities").send().await.unwrap().status(), 200);

    let admin = app.signed_in_as(&[ConsoleRole::Admin]).await;
    let operator = nhidb::service::operators::by_email(&db.store, &support::admin(), &email).await.unwrap();
    let disabled = app.post_form(Some(&admin), "/rpc/operators/status", &[("id", operator.id.as_str()), ("status", "disabled")]).send().await.unwrap();
    assert_eq!(disabled.status(), 200);

    assert_eq!(app.get(Some(&viewer), "/identities").send().await.unwrap().status(), 303, "sent to sign in");
    assert_eq!(call(&app, Some(&viewer), "/rpc/identities/list").await, 401);
    assert_eq!(app.sign_in(&email, &password).await.status(), 401, "and cannot sign in again");
}

async fn idle_sessions_end_and_sign_out_ends_a_session(db: TestDb) {
    let mut config = WebConfig::default();
    config.access.session_idle_seconds = 1;
    let app = spawn_app_with(&db, config).await;
    let viewer = app.signed_in_as(&[ConsoleRole::Viewer]).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    assert_eq!(call(&app, Some(&viewer), "/rpc/identities/list").await, 401, "idle session ended");

    let app = spawn_app(&db).await;
    let viewer = app.signed_in_as(&[ConsoleRole::Viewer]).await;
    let out = app.post_form(Some(&viewer), "/rpc/auth/sign-out", &[]).send().await.unwrap();
    assert_eq!(out.status(), 200);
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(call(&app, Some(&viewer), "/rpc/identities/list").await, 401, "signed-out session is dead");
}

async fn tokens_are_shown_once_stored_hashed_and_revocable(db: TestDb) {
    let app = spawn_app(&db).await;
    let admin = app.signed_in_as(&[ConsoleRole::Admin]).await;
    let owner = support::owner(&db.store, "pipelines").await;
    let created = app
        .post_form(Some(&admin), "/rpc/tokens/create", &[("name", "deploy"), ("owner_id", owner.as_str()), ("expires_in_days", "30"), ("scope_read", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let issued: serde_json::Value = created.json().await.unwrap();
    let secret = issued["secret"].as_str().unwrap().to_owned();
    let id = issued["token"]["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("nhidb_") && secret.len() > 40);

    let whoami = app.client.get(app.url("/api/v1/whoami")).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(whoami.status(), 200);

    // The listing never shows the secret again.
    let listed = app.post_form(Some(&admin), "/rpc/tokens/list", &[]).send().await.unwrap().text().await.unwrap();
    assert!(!listed.contains(&secret) && listed.contains(&secret[..12]));

    // The database holds a hash, never the secret (every table, every column).
    sqlx::any::install_default_drivers();
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let tables: Vec<String> = if db.url.starts_with("sqlite") {
        sqlx::query_scalar("select name from sqlite_master where type = 'table'").fetch_all(&mut conn).await.unwrap()
    } else {
        sqlx::query_scalar("select tablename::text from pg_tables where schemaname = 'public'").fetch_all(&mut conn).await.unwrap()
    };
    for table in tables {
        let dump: Vec<String> = if db.url.starts_with("sqlite") {
            let columns: Vec<String> = sqlx::query_scalar(&format!("select name from pragma_table_info('{table}')")).fetch_all(&mut conn).await.unwrap();
            if columns.is_empty() {
                continue;
            }
            let concat = columns.iter().map(|c| format!("quote(\"{c}\")")).collect::<Vec<_>>().join(" || '|' || ");
            sqlx::query_scalar(&format!("select {concat} from \"{table}\"")).fetch_all(&mut conn).await.unwrap()
        } else {
            sqlx::query_scalar(&format!("select row_to_json(t)::text from \"{table}\" t")).fetch_all(&mut conn).await.unwrap()
        };
        assert!(dump.iter().all(|row| !row.contains(&secret)), "table {table} contains the token secret");
    }

    // Expired tokens stop working.
    sqlx::query("update pipeline_tokens set expires_at = '2000-01-01T00:00:00.000000Z' where id = $1").bind(&id).execute(&mut conn).await.unwrap();
    assert_eq!(app.client.get(app.url("/api/v1/whoami")).bearer_auth(&secret).send().await.unwrap().status(), 401);

    // Revocation is immediate.
    let other = app.token(&["read"]).await;
    assert_eq!(app.client.get(app.url("/api/v1/identities")).bearer_auth(&other).send().await.unwrap().status(), 200);
    let other_id = nhidb::service::tokens::list(&db.store, &support::admin()).await.unwrap().into_iter().find(|t| other.starts_with(&t.prefix)).unwrap().id;
    let revoked = app.post_form(Some(&admin), "/rpc/tokens/revoke", &[("id", other_id.as_str())]).send().await.unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(app.client.get(app.url("/api/v1/identities")).bearer_auth(&other).send().await.unwrap().status(), 401);
}

async fn the_first_admin_is_created_once_through_the_bootstrap_link(db: TestDb) {
    let app = spawn_app(&db).await;
    let token = nhidb::service::bootstrap::prepare(&db.store, &Default::default()).await.unwrap().expect("no operators yet");
    let page = app.get(None, &format!("/bootstrap?token={token}")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Create administrator"));

    let weak = app
        .post_form(
            None,
            "/rpc/bootstrap/complete",
            &[("token", &token), ("name", "First Admin"), ("email", "first@example.com"), ("password", "short"), ("confirm", "short")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), 422);

    let done = app
        .post_form(
            None,
            "/rpc/bootstrap/complete",
            &[
                ("token", &token),
                ("name", "First Admin"),
                ("email", "first@example.com"),
                ("password", "a good long password"),
                ("confirm", "a good long password"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(support::session_cookie(&done).is_some(), "the new admin is signed in");

    let again = app
        .post_form(
            None,
            "/rpc/bootstrap/complete",
            &[
                ("token", &token),
                ("name", "Intruder"),
                ("email", "intruder@example.com"),
                ("password", "a good long password"),
                ("confirm", "a good long password"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409, "the link works once");
    assert!(nhidb::service::bootstrap::prepare(&db.store, &Default::default()).await.unwrap().is_none(), "no new link once an operator exists");
    let admin = app.browser("first@example.com", "a good long password").await;
    assert_eq!(app.get(Some(&admin), "/settings/operators").send().await.unwrap().status(), 200);
}
