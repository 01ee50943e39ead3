//! The OpenAPI 3.1 document of `/api/v1`, generated from the route table and the Rust types the
//! handlers read and write, so it cannot drift from the code: a route cannot be mounted without
//! its documentation, and every schema is derived (`schemars`) from the serde types themselves.
//! Response schemas describe what is serialised; request schemas what is accepted.

use super::ApiRoute;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// How a route is documented. Built with `doc(...)` next to the route itself.
#[derive(Debug, Clone, Copy)]
pub struct Doc {
    tag: &'static str,
    summary: &'static str,
    description: &'static str,
    query: Option<SchemaFn>,
    body: Option<(SchemaFn, bool)>,
    ok: Option<(u16, &'static str, SchemaFn)>,
    /// Also answers 200 with the same schema: the stored result of an earlier identical request.
    replays: bool,
    idempotency_key: bool,
}

pub const fn doc(tag: &'static str, summary: &'static str) -> Doc {
    Doc { tag, summary, description: "", query: None, body: None, ok: None, replays: false, idempotency_key: false }
}

impl Doc {
    pub const fn describe(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }

    /// Query-string parameters: the fields of `T`.
    pub fn query<T: JsonSchema>(mut self) -> Self {
        self.query = Some(|g| T::json_schema(g));
        self
    }

    pub fn body<T: JsonSchema>(mut self) -> Self {
        self.body = Some((|g| g.subschema_for::<T>(), true));
        self
    }

    /// A body that may be left out (all its fields have defaults).
    pub fn optional_body<T: JsonSchema>(mut self) -> Self {
        self.body = Some((|g| g.subschema_for::<T>(), false));
        self
    }

    pub fn ok<T: JsonSchema>(mut self) -> Self {
        self.ok = Some((200, "OK", |g| g.subschema_for::<T>()));
        self
    }

    pub fn created<T: JsonSchema>(mut self) -> Self {
        self.ok = Some((201, "Created", |g| g.subschema_for::<T>()));
        self
    }

    /// Safe to retry: `Idempotency-Key` header, and 200 for a replayed answer.
    pub fn idempotent(mut self) -> Self {
        self.replays = true;
        self.idempotency_key = true;
        self
    }
}

fn generator(settings: SchemaSettings, inline: bool) -> SchemaGenerator {
    settings
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
            s.inline_subschemas = inline;
        })
        .into_generator()
}

/// The documented error answers: every route can be refused for its input, its caller, or a
/// server fault; the status says which.
const ERRORS: &[(u16, &str)] = &[
    (401, "No or an invalid pipeline token (NHI-AUTH-001)."),
    (403, "The token's scopes or scope limits do not allow this (NHI-AUTH-002, NHI-AUTH-006)."),
    (404, "No such resource (NHI-NF-001)."),
    (409, "Conflicts with the ledger's state or a unique name (NHI-CONFLICT-001, NHI-STATE-001)."),
    (413, "The body is larger than 8 MiB (NHI-VAL-002)."),
    (422, "Invalid input: malformed JSON, unknown fields, wrong types or values; `fields` names each problem (NHI-VAL-001, NHI-CRED-001)."),
    (500, "Internal error; quote the request id (NHI-INT-001)."),
    (503, "Too many expensive requests at once; `Retry-After` says when to try again (NHI-BUSY-001)."),
];

fn operation_id(route: &ApiRoute) -> String {
    let mut id = route.method.as_str().to_lowercase();
    for segment in route.path.trim_start_matches(super::PREFIX).split('/').filter(|s| !s.is_empty()) {
        let word = segment.trim_matches(|c| c == '{' || c == '}').replace('-', "_");
        id.push('_');
        id.push_str(&word);
    }
    id
}

fn parameters(route: &ApiRoute, doc: &Doc, requests: &mut SchemaGenerator) -> Vec<Value> {
    let mut params = Vec::new();
    for segment in route.path.split('/') {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            params.push(json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string", "minLength": 1 } }));
        }
    }
    if let Some(query) = doc.query {
        let schema = query(requests).to_value();
        let required: Vec<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            let mut param = json!({ "name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": property });
            if let Some(description) = property.get("description") {
                param["description"] = description.clone();
            }
            params.push(param);
        }
    }
    if doc.idempotency_key {
        params.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Retries with the same key return the first answer; the same key with a different body is 409.",
            "schema": { "type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$" }
        }));
    }
    params
}

fn operation(route: &ApiRoute, doc: &Doc, requests: &mut SchemaGenerator, responses: &mut SchemaGenerator) -> Value {
    let mut answers = Map::new();
    if let Some((status, text, schema)) = doc.ok {
        let content = json!({ "application/json": { "schema": schema(responses).to_value() } });
        answers.insert(status.to_string(), json!({ "description": text, "content": content }));
        if doc.replays {
            answers.insert("200".into(), json!({ "description": "The stored answer to an earlier identical request (`replayed: true`).", "content": content }));
        }
    }
    for (status, text) in ERRORS {
        answers.insert(status.to_string(), json!({ "$ref": format!("#/components/responses/Error{status}"), "description": text }));
    }
    let mut op = json!({
        "operationId": operation_id(route),
        "summary": doc.summary,
        "tags": [doc.tag],
        "security": [{ "pipelineToken": [] }],
        "parameters": parameters(route, doc, requests),
        "responses": answers,
    });
    let needs = match route.needs {
        Some(capability) => format!("Needs a token allowed to {}.", capability.description()),
        None => "Any valid token.".to_owned(),
    };
    op["description"] = Value::String(if doc.description.is_empty() { needs } else { format!("{}\n\n{needs}", doc.description) });
    if let Some((schema, required)) = doc.body {
        op["requestBody"] = json!({ "required": required, "content": { "application/json": { "schema": schema(requests).to_value() } } });
    }
    op
}

/// The whole document.
pub fn document(routes: &[(ApiRoute, Doc)]) -> Value {
    // Request schemas are written inline (they describe what is accepted, which for shared
    // types can differ from what is returned); response schemas are shared components.
    let mut requests = generator(SchemaSettings::draft2020_12().for_deserialize(), true);
    let mut responses = generator(SchemaSettings::draft2020_12().for_serialize(), false);
    let mut paths = Map::new();
    for (route, doc) in routes {
        let item = paths.entry(route.path.clone()).or_insert_with(|| json!({}));
        item[route.method.as_str().to_lowercase()] = operation(route, doc, &mut requests, &mut responses);
    }
    let error_schema = responses.subschema_for::<super::ApiError>().to_value();
    let mut error_responses = Map::new();
    for (status, text) in ERRORS {
        error_responses.insert(format!("Error{status}"), json!({ "description": text, "content": { "application/json": { "schema": error_schema } } }));
    }
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "nhidb API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The Non-Human Identities Database for pipelines: read the ledger, provision and decommission services \
                from reviewed templates, report usage, read and verify the audit log. Authenticate with a pipeline token \
                (`Authorization: Bearer nhidb_…`, created under Settings → Pipeline tokens). Every error has the same shape: \
                `code` (stable, e.g. NHI-VAL-001), `message`, `request_id` and, for invalid input, `fields`. Lists are \
                paginated: pass `next_cursor` as `after`.",
        },
        "paths": paths,
        "components": {
            "schemas": responses.take_definitions(true),
            "responses": error_responses,
            "securitySchemes": {
                "pipelineToken": { "type": "http", "scheme": "bearer", "description": "A pipeline token, `nhidb_…`." }
            },
        },
    })
}
