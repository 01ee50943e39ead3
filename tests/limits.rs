//! Bounds on expensive work, which are process-wide: these tests hold every turn of a limit, so
//! they live in their own test binary (process) and take turns with each other.

mod support;

use nhidb::domain::actor::ConsoleRole;
use nhidb::service::limits::{EXPORTS, HASHING};
use support::{TestDb, spawn_app};
use tokio::sync::Mutex;

store_tests!(
    a_wrong_first_run_link_is_refused_before_any_password_is_hashed,
    sign_ins_beyond_the_hashing_limit_are_told_to_come_back,
    a_second_export_at_once_is_told_to_come_back,
);

/// One test at a time holds the limits.
static TURNS: Mutex<()> = Mutex::const_new(());

async fn a_wrong_first_run_link_is_refused_before_any_password_is_hashed(db: TestDb) {
    let _turn = TURNS.lock().await;
    let app = spawn_app(&db).await;
    nhidb::service::bootstrap::prepare(&db.store, &Default::default()).await.unwrap().expect("no operator yet");
    // With no hashing turn free, a request that hashed first would wait and then be refused
    // as busy; one that checks the link first is refused for the link, at once.
    let _all = HASHING.take_all().await;
    let started = std::time::Instant::now();
    let refused = app
        .post_form(
            None,
            "/rpc/bootstrap/complete",
            &[
                ("token", "not-the-token"),
                ("name", "Intruder"),
                ("email", "intruder@example.com"),
                ("password", "a good long password"),
                ("confirm", "a good long password"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409, "{}", refused.text().await.unwrap());
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "refused without waiting for a hashing turn");
}

async fn sign_ins_beyond_the_hashing_limit_are_told_to_come_back(db: TestDb) {
    let _turn = TURNS.lock().await;
    let app = spawn_app(&db).await;
    let (email, password) = app.operator_with(&[ConsoleRole::Viewer]).await;
    let busy = {
        let _all = HASHING.take_all().await;
        app.sign_in(&email, &password).await
    };
    assert_eq!(busy.status(), 503);
    assert!(busy.headers().contains_key("retry-after"));
    assert!(busy.text().await.unwrap().contains("busy"));
    assert_eq!(app.sign_in(&email, &password).await.status(), 200, "a busy answer counted as no failure");
}

async fn a_second_export_at_once_is_told_to_come_back(db: TestDb) {
    let _turn = TURNS.lock().await;
    nhidb::service::seed::demo(&db.store, 5, &|_| {}).await.unwrap();
    let app = spawn_app(&db).await;
    let auditor = app.signed_in_as(&[ConsoleRole::Auditor]).await;
    let export = || {
        app.client
            .post(app.url("/downloads/export.zip"))
            .header("origin", &app.base)
            .header("cookie", format!("__Host-nhidb_session={}", auditor.cookie))
            .form(&[("_csrf", auditor.csrf.as_str())])
            .send()
    };
    let busy = {
        let _running = EXPORTS.take_all().await;
        export().await.unwrap()
    };
    assert_eq!(busy.status(), 503);
    assert_eq!(busy.headers()["retry-after"], "60");
    assert_eq!(export().await.unwrap().status(), 200);
}
