//! The pipeline API over HTTP: the OpenAPI document, provisioning and decommissioning with
//! retries, the one error shape for every kind of bad request, and the audit endpoints.

mod support;

use nhidb::service::seed;
use serde_json::{Value, json};
use support::{TestDb, spawn_app};

store_tests!(the_openapi_document_covers_every_route, provision_and_decommission_over_http_are_safe_to_retry, bad_requests_get_the_one_error_shape,);

async fn the_openapi_document_covers_every_route(db: TestDb) {
    let app = spawn_app(&db).await;
    // Public: it is what a pipeline author reads before holding a token.
    let response = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    for route in nhidb::api::route_list() {
        let operation = &document["paths"][&route.path][route.method.as_str().to_lowercase()];
        assert!(operation.is_object(), "{} {} is not documented", route.method, route.path);
        assert!(operation["responses"]["422"].is_object(), "{} {} documents no error answers", route.method, route.path);
        assert_eq!(operation["security"][0]["pipelineToken"], json!([]));
    }
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for name in ["Provisioned", "DecommissionReceipt", "ApiError", "Identity"] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    // Every reference resolves.
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"").skip(1).map(|r| r.split('"').next().unwrap()) {
        let name = reference.rsplit('/').next().unwrap();
        let section = if reference.contains("/responses/") { "responses" } else { "schemas" };
        assert!(document["components"][section].get(name).is_some(), "dangling reference {reference}");
    }
    let ui = app.client.get(app.url("/api/v1/docs/")).send().await.unwrap();
    assert_eq!(ui.status(), 200);
    assert!(ui.text().await.unwrap().contains("swagger"), "Swagger UI is served from the binary");
    let initializer = app.client.get(app.url("/api/v1/docs/swagger-initializer.js")).send().await.unwrap().text().await.unwrap();
    assert!(initializer.contains("/api/v1/openapi.json"));
}

async fn provision_and_decommission_over_http_are_safe_to_retry(db: TestDb) {
    seed::demo(&db.store, 0, &|_| {}).await.unwrap();
    let app = spawn_app(&db).await;
    let token = app.token(&["provision", "decommission"]).await;
    let body = json!({ "template": "web-api", "name": "checkout-v2", "env": "staging", "owner": "payments-team" });
    let send =
        |key: &'static str, body: Value| app.client.post(app.url("/api/v1/services")).bearer_auth(&token).header("idempotency-key", key).json(&body).send();
    let first = send("build-17", body.clone()).await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["identities"].as_array().unwrap().len(), 3);
    assert_eq!(first["identities"][0]["grants"][0]["scope"], "staging/checkout-v2");
    let retry = send("build-17", body.clone()).await.unwrap();
    assert_eq!(retry.status(), 200);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["service_id"], first["service_id"]);
    assert_eq!(retry["replayed"], true);
    let clash = send("build-17", json!({ "template": "web-api", "name": "checkout-v3", "env": "staging", "owner": "payments-team" })).await.unwrap();
    assert_eq!(clash.status(), 409);
    let clash: Value = clash.json().await.unwrap();
    assert_eq!(clash["code"], "NHI-CONFLICT-001");
    assert!(clash["request_id"].as_str().is_some_and(|id| !id.is_empty()));

    let id = first["service_id"].as_str().unwrap();
    let receipt = app.client.post(app.url(&format!("/api/v1/services/{id}/decommission"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(receipt.status(), 200);
    let receipt: Value = receipt.json().await.unwrap();
    assert_eq!(receipt["identities_retired"].as_array().unwrap().len(), 3);
    let again: Value = app
        .client
        .post(app.url(&format!("/api/v1/services/{id}/decommission")))
        .bearer_auth(&token)
        .json(&json!({ "reason": "retry" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["replayed"], true);
    assert_eq!(again["chain_hash"], receipt["chain_hash"]);

    let auditor = app.token(&["audit"]).await;
    let verify: Value = app.client.get(app.url("/api/v1/audit/verify")).bearer_auth(&auditor).send().await.unwrap().json().await.unwrap();
    assert_eq!(verify["ok"], true, "{verify}");
    let to_seq = receipt["audit_to_seq"].as_i64().unwrap();
    let events: Value =
        app.client.get(app.url(&format!("/api/v1/audit?after={}&limit=1", to_seq - 1))).bearer_auth(&auditor).send().await.unwrap().json().await.unwrap();
    assert_eq!(events["items"][0]["hash"], receipt["chain_hash"]);
}

async fn bad_requests_get_the_one_error_shape(db: TestDb) {
    let app = spawn_app(&db).await;
    let token = app.token(&["provision", "report-usage"]).await;
    let post =
        |path: &'static str, body: Vec<u8>| app.client.post(app.url(path)).bearer_auth(&token).header("content-type", "application/json").body(body).send();
    let named: Value =
        post("/api/v1/services", br#"{"template":"web-api","name":"Bad Name","env":"prod","owner":"x"}"#.to_vec()).await.unwrap().json().await.unwrap();
    assert_eq!(named["fields"][0]["field"], "name");
    // The oversized body goes last: the server answers before reading it all and closes that
    // connection, which the client would otherwise try to reuse.
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("/api/v1/services", b"{not json".to_vec(), 422, "NHI-VAL-001"),
        ("/api/v1/services", br#"{"template":"web-api","name":"a1","env":"prod","owner":"x","colour":"red"}"#.to_vec(), 422, "NHI-VAL-001"),
        ("/api/v1/services", br#"{"template":7,"name":"a1","env":"prod","owner":"x"}"#.to_vec(), 422, "NHI-VAL-001"),
        ("/api/v1/services", br#"{"template":"web-api","name":"Bad Name","env":"prod","owner":"x"}"#.to_vec(), 422, "NHI-VAL-001"),
        ("/api/v1/usage", br#"{"entries":[]}"#.to_vec(), 422, "NHI-VAL-001"),
        ("/api/v1/usage", vec![b' '; 9 * 1024 * 1024], 413, "NHI-VAL-002"),
    ];
    for (path, body, status, code) in cases {
        let response = post(path, body).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["code"], code, "{path}: {error}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(error["request_id"].is_string());
    }
}
