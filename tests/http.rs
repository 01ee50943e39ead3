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
    the_bundle_is_served_compressed_at_an_address_that_changes_with_it,
    answers_are_compressed_for_clients_that_accept_it,
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

/// A site root like the one a release build writes: the bundle and, for the JS, the brotli and
/// gzip twins `cargo leptos build --precompress` adds.
fn site_with(js: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
    std::fs::write(dir.path().join("pkg/nhidb.js"), js).unwrap();
    std::fs::write(dir.path().join("pkg/nhidb.js.br"), b"brotli twin").unwrap();
    std::fs::write(dir.path().join("pkg/nhidb.js.gz"), b"gzip twin").unwrap();
    std::fs::write(dir.path().join("pkg/nhidb_bg.wasm"), b"\0asm wasm").unwrap();
    std::fs::write(dir.path().join("pkg/nhidb.css"), "body { color: black }").unwrap();
    std::fs::write(dir.path().join("favicon.svg"), "<svg/>").unwrap();
    dir
}

/// The `/assets/{version}` prefix the sign-in page loads its bundle from.
async fn asset_root(app: &support::TestApp) -> String {
    let html = app.client.get(app.url("/sign-in")).send().await.unwrap().text().await.unwrap();
    let at = html.find("/assets/").expect("the page loads its bundle from /assets/");
    let version = html[at + "/assets/".len()..].split('/').next().unwrap().to_owned();
    assert_eq!(version.len(), 16, "a digest names the version: {version}");
    for file in ["pkg/nhidb.js", "pkg/nhidb.css", "favicon.svg"] {
        assert!(html.contains(&format!("/assets/{version}/{file}")), "the page names {file} under its version");
    }
    format!("/assets/{version}")
}

async fn the_bundle_is_served_compressed_at_an_address_that_changes_with_it(db: TestDb) {
    let site = site_with("export function hydrate() {}");
    let app = support::spawn_app_serving(&db, Default::default(), site.path().to_str().unwrap()).await;
    let root = asset_root(&app).await;
    let get = |path: String, encoding: &'static str| {
        let request = app.client.get(app.url(&path));
        if encoding.is_empty() { request } else { request.header("accept-encoding", encoding) }
    };
    let header = |res: &reqwest::Response, name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_owned());

    // The twin the browser accepts, kept for a year; the original for one that accepts neither.
    for (encoding, sent, body) in [("br, gzip", Some("br"), "brotli twin"), ("gzip", Some("gzip"), "gzip twin"), ("", None, "export function hydrate() {}")] {
        let res = get(format!("{root}/pkg/nhidb.js"), encoding).send().await.unwrap();
        assert_eq!(res.status(), 200, "{encoding}");
        assert_eq!(header(&res, "content-encoding").as_deref(), sent, "{encoding}");
        assert_eq!(header(&res, "cache-control").as_deref(), Some("public, max-age=31536000, immutable"));
        assert!(header(&res, "content-type").unwrap().contains("javascript"));
        assert_eq!(res.text().await.unwrap(), body);
    }
    let res = get(format!("{root}/favicon.svg"), "").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(header(&res, "cache-control").unwrap().contains("immutable"));

    // Another version, a missing file, a way out of the site root: not found, not cached.
    for path in ["/assets/0123456789abcdef/pkg/nhidb.js".to_owned(), format!("{root}/pkg/missing.js"), format!("{root}/pkg/%2e%2e/%2e%2e/Cargo.toml")] {
        let res = get(path.clone(), "br").send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        assert_ne!(header(&res, "cache-control").as_deref(), Some("public, max-age=31536000, immutable"), "{path}");
    }
    // The plain address still answers, revalidated each time.
    let res = get("/pkg/nhidb.js".into(), "").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "cache-control").as_deref(), Some("no-cache"));

    // A bundle with other contents is another version.
    let other = site_with("export function hydrate() { /* rebuilt */ }");
    let rebuilt = support::spawn_app_serving(&db, Default::default(), other.path().to_str().unwrap()).await;
    assert_ne!(asset_root(&rebuilt).await, root, "a rebuilt bundle gets new addresses");
}

async fn answers_are_compressed_for_clients_that_accept_it(db: TestDb) {
    nhidb::service::seed::demo(&db.store, 30, &|_| {}).await.unwrap();
    let app = spawn_app(&db).await;
    let admin = app.signed_in_as(&[ConsoleRole::Admin]).await;
    for (encoding, expected) in [("br", Some("br")), ("gzip", Some("gzip")), ("identity", None)] {
        let res = app.get(Some(&admin), "/identities").header("accept-encoding", encoding).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers().get("content-encoding").map(|v| v.to_str().unwrap()), expected, "a page, {encoding}");
        assert_eq!(res.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"), "pages are never cached");
        let res = app.get(Some(&admin), "/downloads/hygiene/sod_violation.csv").header("accept-encoding", encoding).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers().get("content-encoding").map(|v| v.to_str().unwrap()), expected, "a streamed download, {encoding}");
    }
    // Decompressed, the page is the page.
    let res = app.get(Some(&admin), "/identities").header("accept-encoding", "gzip").send().await.unwrap();
    let mut html = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&res.bytes().await.unwrap()[..]), &mut html).unwrap();
    assert!(html.contains("identities-table"));
}
