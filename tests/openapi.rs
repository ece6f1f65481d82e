//! The OpenAPI document (docs/openapi.json, served at /api/openapi.json)
//! against the server: the same operations as the route table, the shape
//! every operation must have, and the real binary answering each of them.
//!
//! When a route is added to `ROUTES` (src/http/routes.rs), the first test
//! says what to add to docs/openapi.json; when the document names an
//! operation the server does not have, it says so too.

mod common;

use cashdesk_card::http::openapi::DOCUMENT;
use cashdesk_card::http::ROUTES;
use cashdesk_card::ErrorKey;
use common::spawn_app;
use serde_json::Value;
use std::collections::BTreeSet;

const HTTP_METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("docs/openapi.json is JSON")
}

/// (METHOD, path) of every operation in the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in HTTP_METHODS {
            if item.get(method).is_some() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in HTTP_METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_uppercase(), path.clone(), op));
            }
        }
    }
    out
}

/// What a maintainer writes for an undocumented route.
fn what_to_add(method: &str, path: &str) -> String {
    let has_body = matches!(method, "POST" | "PUT" | "PATCH");
    format!(
        "{method} {path} is in the route table (src/http/routes.rs) but not in docs/openapi.json.\n\
         Add paths[\"{path}\"][\"{lower}\"] with: operationId; summary; a description listing the error keys in \
         their order of checks; parameters (every {{name}} of the path, in: path, required: true, plus \
         {{\"$ref\": \"#/components/parameters/RequestId\"}}){body}; responses 200 (oneOf: the success schema | an \
         error envelope whose Key enum lists the method's error keys), {codes}; x-error-keys (the same keys); \
         security [] only if it needs no credentials. Copy a neighbour such as {neighbour}. Then describe it in \
         docs/api.md.",
        lower = method.to_lowercase(),
        body = if has_body { "; requestBody (required, application/json, a schema and an example)" } else { "" },
        codes = if has_body {
            "400, 401, 403, 408, 413, 500 as $refs to components/responses"
        } else {
            "401, 403, 500 as $refs to components/responses (and 404 when the path has values)"
        },
        neighbour = if has_body { "POST /api/card/Block" } else { "GET /api/admin/cards/{number}/history" },
    )
}

#[test]
fn the_document_and_the_route_table_name_the_same_operations() {
    let doc = document();
    let in_doc = documented(&doc);
    let in_table: BTreeSet<(String, String)> =
        ROUTES.iter().map(|e| (e.method.to_string(), e.path.to_string())).collect();
    assert_eq!(in_table.len(), ROUTES.len(), "the route table names one operation twice");
    let mut problems = Vec::new();
    for (method, path) in in_table.difference(&in_doc) {
        problems.push(what_to_add(method, path));
    }
    for (method, path) in in_doc.difference(&in_table) {
        problems.push(format!(
            "docs/openapi.json documents {method} {path}, which the server does not route: remove it from the \
             document, or add the route to ROUTES in src/http/routes.rs (spelled exactly as in the document)."
        ));
    }
    assert!(problems.is_empty(), "\n\n{}\n", problems.join("\n\n"));
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').expect("local $ref");
            doc.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {r}"))
        }
        None => v,
    }
}

/// The `Key` enum of the error envelope in an operation's HTTP 200 answer.
fn error_keys(doc: &Value, op: &Value) -> Option<Vec<String>> {
    let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
    let variants = schema.get("oneOf")?.as_array()?;
    let error = variants.iter().map(|v| resolve(doc, v)).find(|v| v["properties"]["Status"]["const"] == false)?;
    Some(error["properties"]["Key"]["enum"].as_array()?.iter().map(|k| k.as_str().unwrap().to_string()).collect())
}

#[test]
fn every_operation_has_its_keys_statuses_parameters_and_examples() {
    let doc = document();
    let mut ids = BTreeSet::new();
    let mut problems = Vec::new();
    for (method, path, op) in operations(&doc) {
        let name = format!("{method} {path}");
        let id = op["operationId"].as_str().unwrap_or_default();
        if !ids.insert(id.to_string()) || id.is_empty() {
            problems.push(format!("{name}: operationId `{id}` is missing or not unique"));
        }
        let open = op.get("security").and_then(Value::as_array).is_some_and(|s| s.is_empty());
        let statuses: BTreeSet<&str> =
            op["responses"].as_object().map(|r| r.keys().map(String::as_str).collect()).unwrap_or_default();
        let mut need: Vec<&str> = vec!["200"];
        if !open {
            need.extend(["401", "403", "500"]);
        }
        if op.get("requestBody").is_some() {
            need.extend(["400", "408", "413"]);
            let content = &op["requestBody"]["content"]["application/json"];
            if content.get("schema").is_none() || content.get("examples").is_none() {
                problems.push(format!("{name}: requestBody needs a schema and examples"));
            }
        }
        if path.contains('{') && !open {
            need.push("404");
        }
        for status in need {
            if !statuses.contains(status) {
                problems.push(format!("{name}: no response {status}"));
            }
        }
        // Path values declared as parameters, and nothing else in the path.
        let placeholders: BTreeSet<String> =
            path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).map(str::to_string).collect();
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| resolve(&doc, p))
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap_or_default().to_string())
            .collect();
        if placeholders != declared {
            problems.push(format!("{name}: path parameters {declared:?}, the path has {placeholders:?}"));
        }
        if open || path == "/api/openapi.json" {
            continue;
        }
        // An export answers a file, not an envelope: no method keys, but a
        // file type and an example of its first lines.
        if path.starts_with("/api/admin/export/") {
            let files = op["responses"]["200"]["content"].as_object().cloned().unwrap_or_default();
            let typed = files
                .iter()
                .any(|(t, m)| ["text/csv", "application/x-ndjson"].contains(&t.as_str()) && m.get("example").is_some());
            if !typed || files.contains_key("application/json") || op.get("x-error-keys").is_some() {
                problems.push(format!("{name}: an export answers text/csv or application/x-ndjson with an example"));
            }
            continue;
        }
        // The method's error keys: real keys, the same in x-error-keys.
        match error_keys(&doc, op) {
            None => problems.push(format!("{name}: the 200 answer has no error envelope with a Key enum")),
            Some(keys) => {
                for k in &keys {
                    if ErrorKey::from_key(k).is_none() {
                        problems.push(format!("{name}: `{k}` is not an error key of the server (src/key.rs)"));
                    }
                }
                let listed: Vec<String> = op["x-error-keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|k| k.as_str().unwrap_or_default().to_string())
                    .collect();
                if listed != keys {
                    problems.push(format!("{name}: x-error-keys {listed:?} differ from the Key enum {keys:?}"));
                }
            }
        }
        if op["responses"]["200"]["content"]["application/json"].get("examples").is_none() {
            problems.push(format!("{name}: the 200 answer has no examples"));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn the_document_names_this_version_and_basic_authentication() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"), "set info.version in docs/openapi.json");
    assert_eq!(
        doc["components"]["securitySchemes"]["basic"],
        serde_json::json!({"type": "http", "scheme": "basic",
        "description": doc["components"]["securitySchemes"]["basic"]["description"]})
    );
    assert_eq!(doc["security"], serde_json::json!([{"basic": []}]));
}

/// A path with each `{name}` replaced by its parameter's example.
fn sample_path(doc: &Value, path: &str, op: &Value) -> String {
    let mut out = path.to_string();
    for p in op["parameters"].as_array().into_iter().flatten().map(|p| resolve(doc, p)) {
        if p["in"] == "path" {
            let example = p["example"].as_str().expect("a path parameter has an example");
            let encoded = percent_encoding::utf8_percent_encode(example, percent_encoding::NON_ALPHANUMERIC);
            out = out.replace(&format!("{{{}}}", p["name"].as_str().unwrap()), &encoded.to_string());
        }
    }
    out
}

#[test]
fn the_server_serves_the_document_without_credentials_and_answers_every_operation_in_it() {
    let app = spawn_app();
    let r = app.raw("GET", "/api/openapi.json", None, None);
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(r.header("content-type").is_some_and(|t| t.starts_with("application/json")), "{}", r.head);
    assert_eq!(r.json, document(), "the server serves docs/openapi.json as it is");

    let doc = document();
    let admin = app.as_role("administrator");
    for (method, path, op) in operations(&doc) {
        let target = sample_path(&doc, &path, op);
        let body = op.get("requestBody").map(|_| b"{}".as_slice());
        let open = op.get("security").and_then(Value::as_array).is_some_and(|s| s.is_empty());
        // Routed: neither 404 nor 405, and with credentials the method answers.
        let r = app.raw(&method, &target, Some(&admin), body);
        assert!(![404, 405].contains(&r.status), "{method} {target}: {} {}", r.status, r.body);
        assert!(op["responses"].get(r.status.to_string()).is_some(), "{method} {target}: undocumented {}", r.status);
        // Credentials are asked for exactly where the document says.
        let r = app.raw(&method, &target, None, body);
        if open {
            assert_eq!(r.status, 200, "{method} {target} needs no credentials: {}", r.body);
        } else {
            r.expect(401, "Unauthorized");
        }
    }
}
