//! Shared test scaffolding: a fresh, migrated database per test on SQLite (a temp file) and, when
//! `NHIDB_TEST_POSTGRES_URL` is set, on PostgreSQL (a new database, dropped afterwards).

#![allow(dead_code)]

use nhidb::domain::actor::{Actor, ConsoleRole};
use nhidb::store::Store;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct TestDb {
    pub store: Store,
    pub url: String,
    /// A directory of this test's own, for files the binary writes beside the database (the
    /// audit checkpoint key and checkpoints), so nothing lands in the working directory.
    pub files: tempfile::TempDir,
    cleanup: Cleanup,
}

impl TestDb {
    /// Environment for `nhidb` commands run on this database.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("NHIDB_DATABASE_URL", self.url.clone()),
            ("NHIDB_CHECKPOINT_KEY_FILE", self.files.path().join("checkpoint.key").display().to_string()),
            ("NHIDB_CHECKPOINT_DIR", self.files.path().join("checkpoints").display().to_string()),
        ]
    }
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside async; a short-lived runtime on its own thread removes the database.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ = sqlx::query(&format!("drop database if exists {name} with (force)")).execute(&mut conn).await;
                    }
                });
            })
            .join();
        }
    }
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("nhidb.sqlite").display());
    let store = Store::connect(&url, 5).await.expect("connect sqlite");
    store.migrate().await.expect("migrate sqlite");
    TestDb { store, url, files: tempfile::tempdir().expect("tempdir"), cleanup: Cleanup::Sqlite(dir) }
}

static PG_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// `None` when no PostgreSQL is configured; the caller skips (and says so).
pub async fn postgres() -> Option<TestDb> {
    let Some(admin_url) = std::env::var("NHIDB_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        // CI sets this so that a missing PostgreSQL fails the run instead of skipping half of it.
        assert!(std::env::var("NHIDB_REQUIRE_POSTGRES").is_err(), "NHIDB_REQUIRE_POSTGRES is set but NHIDB_TEST_POSTGRES_URL is not");
        return None;
    };
    let name = format!("nhidb_test_{}_{}_{}", std::process::id(), PG_COUNTER.fetch_add(1, Ordering::SeqCst), ulid::Ulid::new().to_string().to_lowercase());
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.expect("connect to NHIDB_TEST_POSTGRES_URL");
        sqlx::query(&format!("create database {name}")).execute(&mut conn).await.expect("create test database");
    }
    let url = database_url(&admin_url, &name);
    let store = Store::connect(&url, 5).await.expect("connect postgres");
    store.migrate().await.expect("migrate postgres");
    Some(TestDb { store, url, files: tempfile::tempdir().expect("tempdir"), cleanup: Cleanup::Postgres { admin_url, name } })
}

/// The admin URL with its database replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

pub fn operator(roles: &[ConsoleRole]) -> Actor {
    Actor::operator("op-test", "test operator", roles.to_vec())
}

pub fn admin() -> Actor {
    operator(&[ConsoleRole::Admin])
}

/// One store test, generated once per backend: `sqlite::<name>` always, `postgres::<name>` when
/// PostgreSQL is configured, so CI output shows both.
#[macro_export]
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::support::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    match super::support::postgres().await {
                        Some(db) => super::$name(db).await,
                        None => eprintln!("skipped: NHIDB_TEST_POSTGRES_URL is not set"),
                    }
                }
            )*
        }
    };
}

/// A fixture owner (teams are created by seeding or administration, not by these tests' subject).
pub async fn owner(store: &Store, name: &str) -> String {
    use nhidb::domain::owner::{Owner, OwnerKind, OwnerStatus};
    let owner = Owner { id: nhidb::store::new_id(), kind: OwnerKind::Team, name: name.to_owned(), email: None, status: OwnerStatus::Active };
    let mut tx = store.begin().await.expect("begin");
    nhidb::store::owners::insert(tx.conn(), &owner, nhidb::domain::Timestamp::now()).await.expect("insert owner");
    tx.commit().await.expect("commit");
    owner.id
}

pub fn identity_input(name: &str, kind: &str, owner_id: &str, service_id: Option<&str>) -> nhidb::domain::identity::IdentityInput {
    nhidb::domain::identity::IdentityInput {
        name: name.to_owned(),
        kind: kind.to_owned(),
        owner_id: owner_id.to_owned(),
        service_id: service_id.map(str::to_owned),
        description: String::new(),
        labels: String::new(),
    }
}

/// A running server on a free port over `db`, like production but in-process.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Store,
}

/// A signed-in console session as a browser holds it: the cookie and the page's CSRF token.
#[derive(Debug, Clone)]
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

pub async fn spawn_app(db: &TestDb) -> TestApp {
    spawn_app_with(db, nhidb::state::WebConfig::default()).await
}

pub async fn spawn_app_with(db: &TestDb, config: nhidb::state::WebConfig) -> TestApp {
    spawn_app_serving(db, config, "target/site").await
}

/// A server whose browser bundle is the one under `site_root`.
pub async fn spawn_app_serving(db: &TestDb, config: nhidb::state::WebConfig, site_root: &str) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server_config = nhidb::server::ServerConfig { addr, site_root: site_root.into() };
    let state =
        nhidb::state::AppState { store: db.store.clone(), config: std::sync::Arc::new(config), leptos_options: nhidb::server::leptos_options(&server_config) };
    tokio::spawn(async move {
        nhidb::server::serve(state, listener).await.expect("serve");
    });
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    TestApp { base: format!("http://{addr}"), client, store: db.store.clone() }
}

static OPERATOR_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The value of the session cookie a response sets, if any.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("__Host-nhidb_session=").map(|rest| rest.split(';').next().unwrap_or("").to_owned()))
        .filter(|v| !v.is_empty())
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A new operator with `roles`; returns (e-mail, password).
    pub async fn operator_with(&self, roles: &[ConsoleRole]) -> (String, String) {
        let n = OPERATOR_COUNTER.fetch_add(1, Ordering::SeqCst);
        let email = format!("op{n}-{}@example.com", ulid::Ulid::new().to_string().to_lowercase());
        let password = "a long enough password".to_owned();
        let input = nhidb::domain::operator::OperatorInput {
            name: format!("Operator {n}"),
            email: email.clone(),
            roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
        };
        nhidb::service::operators::create(&self.store, &Actor::system("test"), &input, Some(&password)).await.expect("create operator");
        (email, password)
    }

    /// Signs in over HTTP, like the sign-in form.
    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/rpc/auth/sign-in"))
            .header("origin", &self.base)
            .header("accept", "application/json")
            .form(&[("email", email), ("password", password), ("next", "/")])
            .send()
            .await
            .expect("sign-in request")
    }

    pub async fn browser(&self, email: &str, password: &str) -> Browser {
        let response = self.sign_in(email, password).await;
        assert_eq!(response.status(), 200, "sign-in failed: {}", response.text().await.unwrap_or_default());
        let cookie = session_cookie(&response).expect("session cookie");
        let session: serde_json::Value = self
            .client
            .post(self.url("/rpc/auth/session"))
            .header("cookie", format!("__Host-nhidb_session={cookie}"))
            .send()
            .await
            .expect("session request")
            .json()
            .await
            .expect("session json");
        let csrf = session["csrf_token"].as_str().expect("csrf token").to_owned();
        Browser { cookie, csrf }
    }

    pub async fn signed_in_as(&self, roles: &[ConsoleRole]) -> Browser {
        let (email, password) = self.operator_with(roles).await;
        self.browser(&email, &password).await
    }

    pub fn get(&self, browser: Option<&Browser>, path: &str) -> reqwest::RequestBuilder {
        let request = self.client.get(self.url(path));
        match browser {
            Some(b) => request.header("cookie", format!("__Host-nhidb_session={}", b.cookie)),
            None => request,
        }
    }

    /// A form post from a console page: same origin, session cookie and CSRF token.
    pub fn post_form(&self, browser: Option<&Browser>, path: &str, fields: &[(&str, &str)]) -> reqwest::RequestBuilder {
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        let request = self.client.post(self.url(path)).header("origin", &self.base).header("accept", "application/json");
        let request = match browser {
            Some(b) => {
                fields.push(("_csrf", b.csrf.as_str()));
                request.header("cookie", format!("__Host-nhidb_session={}", b.cookie))
            }
            None => request,
        };
        request.form(&fields)
    }

    /// A pipeline token with `scopes`; returns its secret.
    pub async fn token(&self, scopes: &[&str]) -> String {
        self.limited_token(scopes, "").await
    }

    /// A pipeline token with `scopes` that may change only what lies in `limits` (comma-separated).
    pub async fn limited_token(&self, scopes: &[&str], limits: &str) -> String {
        let owner_id = owner(&self.store, &format!("token-owner-{}", ulid::Ulid::new())).await;
        let input = nhidb::domain::token::TokenInput {
            name: "test pipeline".into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            owner_id,
            expires_in_days: "30".into(),
            limits: limits.to_owned(),
        };
        nhidb::service::tokens::create(&self.store, &Actor::system("test"), &input).await.expect("create token").secret
    }
}

/// Changes stored audit events behind nhidb's back, as a privileged database user could: first
/// disabling the append-only trigger, then running `tamper` (SQL).
pub async fn tamper_audit(db: &TestDb, tamper: &str) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.expect("connect");
    let bypass = if db.url.starts_with("sqlite") {
        "drop trigger audit_events_append_only_update"
    } else {
        "alter table audit_events disable trigger audit_events_append_only"
    };
    sqlx::query(bypass).execute(&mut conn).await.expect("bypass trigger");
    sqlx::query(tamper).execute(&mut conn).await.expect("tamper");
}

/// Runs one SQL statement against the test database, for states a test cannot wait for.
pub async fn sql(db: &TestDb, statement: &str) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.expect("connect");
    sqlx::query(statement).execute(&mut conn).await.expect("statement");
}

/// Runs a `select count(*) …` (or any single-integer query) against the test database.
pub async fn count(db: &TestDb, query: &str) -> i64 {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.expect("connect");
    sqlx::query_scalar(query).fetch_one(&mut conn).await.expect("count query")
}

/// One text value from the test database.
pub async fn text(db: &TestDb, query: &str) -> String {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.expect("connect");
    sqlx::query_scalar(query).fetch_one(&mut conn).await.expect("text query")
}
