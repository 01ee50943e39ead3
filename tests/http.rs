//! The console over real HTTP: pages render on the server, server functions change data through
//! the service layer and answer errors with stable codes.

mod support;

use nhidb::domain::actor::ConsoleRole;
use support::{TestDb, owner, spawn_app};

store_tests!(
    health_reports_the_backend,
    pages_render_fully_on_the_server,
    an_identity_created_through_the_form_endpoint_is_listed,
    bad_form_input_gets_field_errors_and_writes_nothing,
    an_unknown_page_is_a_404,
);

async fn health_reports_the_backend(db: TestDb) {
    let app = spawn_app(&db).await;
    let res = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    if db.url.starts_with("sqlite") {
        assert_eq!(body["database"], "sqlite");
        // Every acknowledged commit is on disk: WAL with synchronous=FULL, and references enforced.
        assert_eq!(body["settings"]["journal_mode"], "wal");
        assert_eq!(body["settings"]["synchronous"], "full");
        assert_eq!(body["settings"]["foreign_keys"], "on");
    } else {
        assert_eq!(body["database"], "postgres");
    }
}

async fn pages_render_fully_on_the_server(db: TestDb) {
    nhidb::service::seed::demo(&db.store, 30, &|_| {}).await.unwrap();
    let app = spawn_app(&db).await;
    let admin = app.signed_in_as(&[ConsoleRole::Admin]).await;
    for (path, expect) in [
        ("/", "Active identities"),
        ("/identities", "identities-table"),
        ("/identities?kind=ci_bot", "CI bot"),
        ("/services", "payments-api"),
        ("/identities/new", "Create identity"),
        ("/services/new", "Create service"),
    ] {
        let res = app.get(Some(&admin), path).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains(expect), "{path} should contain {expect}");
        assert!(html.contains("/pkg/nhidb.js"), "{path} loads the hydration bundle");
        assert!(!html.contains("Loading…"), "{path} is rendered, not a loading shell");
    }
    let res = app.get(Some(&admin), "/identities?kind=robot").send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("is not a known identity kind"), "a bad filter is explained");
    let res = app.get(Some(&admin), "/identities/01J0000000000000000000000X").send().await.unwrap();
    assert_eq!(res.status(), 404, "a missing identity's page is a 404");
}

async fn an_identity_created_through_the_form_endpoint_is_listed(db: TestDb) {
    let owner = owner(&db.store, "team-a").await;
    let app = spawn_app(&db).await;
    let requester = app.signed_in_as(&[ConsoleRole::Requester]).await;
    let res = app
        .post_form(
            Some(&requester),
            "/rpc/identities/create",
            &[
                ("name", "svc-from-form"),
                ("kind", "api_client"),
                ("owner_id", owner.as_str()),
                ("service_id", ""),
                ("description", "made over HTTP"),
                ("labels", "team=a"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    let html = app.get(Some(&requester), "/identities?q=svc-from-form").send().await.unwrap().text().await.unwrap();
    assert!(html.contains("svc-from-form") && html.contains("made over HTTP"));
}

async fn bad_form_input_gets_field_errors_and_writes_nothing(db: TestDb) {
    let owner = owner(&db.store, "team-a").await;
    let app = spawn_app(&db).await;
    let requester = app.signed_in_as(&[ConsoleRole::Requester]).await;
    let res = app
        .post_form(
            Some(&requester),
            "/rpc/identities/create",
            &[("name", "Bad Name"), ("kind", "robot"), ("owner_id", owner.as_str()), ("description", ""), ("labels", "")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("Identity name may contain only"), "{body}");
    assert!(body.contains("is not a known identity kind"), "{body}");
    assert!(!body.contains("sqlx") && !body.contains("SQL"), "no internals leak: {body}");
    let total = nhidb::service::identities::list(&db.store, &support::admin(), &Default::default(), &Default::default()).await.unwrap().total;
    assert_eq!(total, 0);
}

async fn an_unknown_page_is_a_404(db: TestDb) {
    let app = spawn_app(&db).await;
    let viewer = app.signed_in_as(&[ConsoleRole::Viewer]).await;
    let res = app.get(Some(&viewer), "/no/such/page").send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("Page not found"));
}
