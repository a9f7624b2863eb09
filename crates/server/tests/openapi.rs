//! The hand-kept OpenAPI document (`src/api/openapi.json`, served at `/api/openapi.json`)
//! checked against the routes the server really has. The routes are read from the source
//! (`.route("PATH", get(..).post(..))` literals), so adding, removing or changing a route
//! without the document, or documenting one that does not exist, fails here
//! (docs/adr/0002-openapi-by-hand.md).

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use tributary_app::AppError;
use tributary_server::api::OPENAPI;
use tributary_server::error::status_of;

/// Route prefixes the document must cover. The web UI (`/admin`, `/portal`) is not API.
const DOCUMENTED_PREFIXES: [&str; 7] = [
    "/api",
    "/healthz",
    "/metrics",
    "/r/",
    "/webhooks/",
    "/t.js",
    "/t/",
];
const HTTP_METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];
const ERROR_SCHEMA_REF: &str = "#/components/schemas/Error";

fn document() -> Value {
    serde_json::from_str(OPENAPI).expect("src/api/openapi.json is not valid JSON")
}

/// The source files that register routes: every file under `src/api`, `src/redirect.rs` and
/// `src/lib.rs`.
fn route_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![
        root.join("lib.rs"),
        root.join("redirect.rs"),
        root.join("snippet.rs"),
    ];
    let mut folders = vec![root.join("api")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("src/api is readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The text of `arguments` up to the parenthesis that closes the `.route(` call, skipping
/// string literals so a `)` inside a path does not end it early.
fn call_arguments(arguments: &str) -> &str {
    let mut depth = 1usize;
    let mut in_string = false;
    let mut escaped = false;
    for (index, character) in arguments.char_indices() {
        if in_string {
            match (escaped, character) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match character {
            '"' => in_string = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &arguments[..index];
                }
            }
            _ => {}
        }
    }
    panic!("unclosed .route( call: {arguments:.80}");
}

/// Methods named in a method router expression such as `get(list).post(create)`.
fn methods_in(expression: &str) -> BTreeSet<String> {
    let bytes = expression.as_bytes();
    let mut methods = BTreeSet::new();
    for method in HTTP_METHODS {
        let call = format!("{method}(");
        for (start, _) in expression.match_indices(&call) {
            let standalone = start == 0
                || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
            if standalone {
                methods.insert(method.to_string());
            }
        }
    }
    methods
}

/// Every `.route("PATH", ..)` in `source`, with its methods. Whole-line comments are skipped.
fn routes_in(source: &str) -> Vec<(String, BTreeSet<String>)> {
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut routes = Vec::new();
    for (start, marker) in code.match_indices(".route(") {
        let arguments = call_arguments(&code[start + marker.len()..]);
        let literal = arguments
            .trim_start()
            .strip_prefix('"')
            .unwrap_or_else(|| panic!("route path is not a string literal: {arguments:.80}"));
        let end = literal.find('"').expect("route path literal is closed");
        let path = literal[..end].to_string();
        let methods = methods_in(&literal[end + 1..]);
        assert!(!methods.is_empty(), "no method found for route {path}");
        routes.push((path, methods));
    }
    routes
}

/// The server's documented routes: path → methods, read from the source.
fn server_routes() -> BTreeMap<String, BTreeSet<String>> {
    let mut routes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in route_files() {
        let source = std::fs::read_to_string(&file).expect("route file is readable");
        // A nested router would prefix its paths, and this scan would read them wrong.
        assert!(
            !source.contains(".nest("),
            "{} uses .nest(); teach tests/openapi.rs to prefix nested paths",
            file.display()
        );
        for (path, methods) in routes_in(&source) {
            if DOCUMENTED_PREFIXES
                .iter()
                .any(|prefix| path.starts_with(prefix))
            {
                routes.entry(path).or_default().extend(methods);
            }
        }
    }
    routes
}

/// The document's routes: path → methods.
fn documented_routes(document: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let paths = document["paths"].as_object().expect("paths is an object");
    paths
        .iter()
        .map(|(path, item)| {
            let item = item.as_object().expect("a path item is an object");
            let methods = item
                .keys()
                .filter(|key| HTTP_METHODS.contains(&key.as_str()))
                .cloned()
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// Follows a local `$ref` (`#/components/...`) to what it names.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("non-local $ref {reference}"));
            let target = document
                .pointer(pointer)
                .unwrap_or_else(|| panic!("$ref {reference} points at nothing"));
            resolve(document, target)
        }
        None => value,
    }
}

/// Every operation in the document as (path, method, operation).
fn operations(document: &Value) -> Vec<(String, String, &Value)> {
    let paths = document["paths"].as_object().expect("paths is an object");
    let mut all = Vec::new();
    for (path, item) in paths {
        for method in HTTP_METHODS {
            if let Some(operation) = item.get(method) {
                all.push((path.clone(), method.to_string(), operation));
            }
        }
    }
    all
}

/// The JSON error shape's `$ref` of a response, if it answers with that shape.
fn error_schema_of<'a>(document: &'a Value, response: &'a Value) -> Option<&'a str> {
    resolve(document, response)
        .pointer("/content/application~1json/schema/$ref")
        .and_then(Value::as_str)
}

#[test]
fn the_document_is_openapi_3_1() {
    let document = document();
    let version = document["openapi"].as_str().expect("openapi is a string");
    assert!(
        version.starts_with("3.1."),
        "openapi is {version}, not 3.1.x"
    );
    assert!(
        document["info"]["title"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert!(
        document["info"]["version"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
    );
    assert!(document["paths"].as_object().is_some_and(|p| !p.is_empty()));
    let scheme = &document["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    for (path, method, operation) in operations(&document) {
        assert!(
            operation["responses"]
                .as_object()
                .is_some_and(|r| !r.is_empty()),
            "{method} {path} has no responses"
        );
    }
}

#[test]
fn every_ref_resolves() {
    fn walk(document: &Value, value: &Value, trail: &str) {
        match value {
            Value::Object(object) => {
                if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
                    let pointer = reference.strip_prefix('#').unwrap_or(reference);
                    assert!(
                        document.pointer(pointer).is_some(),
                        "{trail}: $ref {reference} points at nothing"
                    );
                }
                for (key, child) in object {
                    walk(document, child, &format!("{trail}/{key}"));
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    walk(document, child, &format!("{trail}/{index}"));
                }
            }
            _ => {}
        }
    }
    let document = document();
    walk(&document, &document, "");
}

#[test]
fn the_route_scan_finds_the_known_routes() {
    // Guards the scanner itself: if it found nothing, the drift test would pass vacuously.
    let routes = server_routes();
    for (path, method) in [
        ("/healthz", "get"),
        ("/metrics", "get"),
        ("/r/{code}", "get"),
        ("/api/openapi.json", "get"),
        ("/api/v1/events", "post"),
        ("/api/v1/payouts/{id}/mark-paid", "post"),
    ] {
        assert!(
            routes
                .get(path)
                .is_some_and(|methods| methods.contains(method)),
            "the scan missed {method} {path}; found {routes:?}"
        );
    }
}

#[test]
fn the_document_has_exactly_the_server_routes() {
    let server = server_routes();
    let documented = documented_routes(&document());
    let undocumented: Vec<_> = server
        .keys()
        .filter(|path| !documented.contains_key(*path))
        .collect();
    let phantom: Vec<_> = documented
        .keys()
        .filter(|path| !server.contains_key(*path))
        .collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from src/api/openapi.json: {undocumented:?}"
    );
    assert!(
        phantom.is_empty(),
        "paths in src/api/openapi.json that the server does not route: {phantom:?}"
    );
    for (path, methods) in &server {
        assert_eq!(
            &documented[path], methods,
            "methods of {path}: documented (left) differ from routed (right)"
        );
    }
}

#[test]
fn every_path_parameter_is_declared() {
    let document = document();
    for (path, method, operation) in operations(&document) {
        let declared: BTreeSet<String> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|parameter| resolve(&document, parameter))
            .filter(|parameter| parameter["in"] == "path")
            .map(|parameter| {
                assert_eq!(parameter["required"], true, "{method} {path}");
                parameter["name"].as_str().expect("name").to_string()
            })
            .collect();
        let templated: BTreeSet<String> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_string)
            .collect();
        assert_eq!(declared, templated, "path parameters of {method} {path}");
    }
}

#[test]
fn every_api_v1_operation_needs_the_bearer_key_and_declares_errors() {
    let document = document();
    let v1 = operations(&document)
        .into_iter()
        .filter(|(path, _, _)| path.starts_with("/api/v1/"))
        .collect::<Vec<_>>();
    assert!(v1.len() >= 20, "only {} /api/v1 operations", v1.len());
    for (path, method, operation) in v1 {
        let security = operation["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path} declares no security"));
        assert!(
            security
                .iter()
                .any(|requirement| requirement.get("bearerAuth").is_some()),
            "{method} {path} does not require bearerAuth"
        );
        let responses = operation["responses"]
            .as_object()
            .expect("responses is an object");
        let unauthenticated = responses
            .get("401")
            .unwrap_or_else(|| panic!("{method} {path} does not declare 401"));
        assert_eq!(
            error_schema_of(&document, unauthenticated),
            Some(ERROR_SCHEMA_REF),
            "{method} {path}: 401 is not the error shape"
        );
        assert!(
            responses.contains_key("500"),
            "{method} {path} does not declare 500"
        );
        if method == "post" {
            assert!(
                responses.contains_key("422"),
                "{method} {path} takes a body but does not declare 422"
            );
        }
    }
}

#[test]
fn error_codes_and_statuses_match_the_server() {
    let document = document();
    let samples = [
        AppError::invalid("field", "message"),
        AppError::NotFound("thing"),
        AppError::Conflict("message".into()),
        AppError::Unauthenticated,
        AppError::Forbidden("message"),
        AppError::Internal("message".into()),
    ];
    let status_by_code: BTreeMap<&str, u16> = samples
        .iter()
        .map(|error| (error.code(), status_of(error).as_u16()))
        .collect();

    let error = &document["components"]["schemas"]["Error"];
    assert_eq!(error["required"], serde_json::json!(["error"]));
    let inner = &error["properties"]["error"];
    assert_eq!(inner["required"], serde_json::json!(["code", "message"]));
    assert!(
        inner["properties"]["field"].is_object(),
        "field is optional"
    );
    let documented_codes: BTreeSet<&str> = inner["properties"]["code"]["enum"]
        .as_array()
        .expect("code has an enum")
        .iter()
        .map(|code| code.as_str().expect("codes are strings"))
        .collect();
    assert_eq!(
        documented_codes,
        status_by_code.keys().copied().collect::<BTreeSet<_>>()
    );

    // Every JSON error example sits under the status the server gives its code.
    let mut examples_seen = 0;
    for (path, method, operation) in operations(&document) {
        let responses = operation["responses"].as_object().expect("responses");
        for (status, response) in responses {
            let response = resolve(&document, response);
            let Some(code) = response
                .pointer("/content/application~1json/example/error/code")
                .and_then(Value::as_str)
            else {
                continue;
            };
            examples_seen += 1;
            assert_eq!(
                status_by_code.get(code).map(u16::to_string).as_deref(),
                Some(status.as_str()),
                "{method} {path}: example code {code} under status {status}"
            );
        }
    }
    assert!(examples_seen > 0, "no error examples were checked");
}

#[test]
fn events_document_the_idempotency_contract() {
    let document = document();
    let post = &document["paths"]["/api/v1/events"]["post"];
    let key = post["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|parameter| resolve(&document, parameter))
        .find(|parameter| parameter["name"] == "Idempotency-Key")
        .expect("the Idempotency-Key header is documented");
    assert_eq!(key["in"], "header");
    assert_eq!(key["required"], true);
    let responses = &post["responses"];
    assert!(responses["201"].is_object(), "201 for a first request");
    assert_eq!(
        responses["200"]["headers"]["idempotent-replayed"]["schema"]["const"], "true",
        "200 for a replay carries idempotent-replayed: true"
    );
    assert_eq!(
        error_schema_of(&document, &responses["409"]),
        Some(ERROR_SCHEMA_REF),
        "409 for the same key with another body"
    );
}

#[test]
fn listings_have_the_listing_shape() {
    let document = document();
    let page = &document["components"]["schemas"]["ListingPage"];
    assert_eq!(
        page["required"],
        serde_json::json!(["data", "limit", "offset", "has_more"])
    );
    let mut listings = 0;
    for (path, method, operation) in operations(&document) {
        let takes_limit = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|parameter| resolve(&document, parameter)["name"] == "limit");
        if !takes_limit {
            continue;
        }
        listings += 1;
        let schema = resolve(
            &document,
            &operation["responses"]["200"]["content"]["application/json"]["schema"],
        );
        assert_eq!(
            schema["allOf"][0]["$ref"], "#/components/schemas/ListingPage",
            "{method} {path} takes limit but does not answer a listing"
        );
    }
    assert!(listings >= 8, "only {listings} listings found");
}

#[test]
fn the_metrics_description_names_every_counter() {
    let document = document();
    let description = document["paths"]["/metrics"]["get"]["description"]
        .as_str()
        .expect("/metrics has a description");
    let rendered = tributary_app::metrics::Metrics::default().render();
    let names: Vec<&str> = rendered
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(!names.is_empty(), "Metrics::render printed no counter");
    for name in names {
        assert!(
            description.contains(&format!("`{name}`")),
            "the /metrics description does not name {name}"
        );
    }
}
