//! An operator's script sends bad input to a running server: each gets a 4xx with a message
//! saying what was wrong, and nothing in the database changes.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use switchyard_e2e::server::Server;

struct Case {
    what: &'static str,
    method: Method,
    path: &'static str,
    body: Option<String>,
    status: StatusCode,
    /// A phrase the error's detail must contain.
    says: &'static str,
}

fn json_case(what: &'static str, method: Method, path: &'static str, body: Value, status: StatusCode, says: &'static str) -> Case {
    Case { what, method, path, body: Some(body.to_string()), status, says }
}

/// Everything a bad request could have touched, to compare before and after.
async fn snapshot(server: &Server) -> Vec<Value> {
    let mut state = Vec::new();
    for path in ["/overview", "/customers", "/sites", "/sites/1", "/hosts", "/users", "/releases", "/sites/1/candidates"] {
        let reply = server.request(Method::GET, path).await.send().await.expect("GET");
        assert_eq!(reply.status(), StatusCode::OK, "GET {path}");
        state.push(reply.json::<Value>().await.expect("JSON"));
    }
    state
}

#[tokio::test(flavor = "multi_thread")]
async fn each_bad_input_gets_a_4xx_with_a_message_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let long_name = "x".repeat(101);
    let cases = vec![
        json_case(
            "empty site name",
            Method::POST,
            "/sites",
            json!({"name": "  ", "customer_id": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "site name must not be empty",
        ),
        json_case(
            "duplicate site name",
            Method::POST,
            "/sites",
            json!({"name": "Acme Shop", "customer_id": 1}),
            StatusCode::CONFLICT,
            "already exists",
        ),
        json_case(
            "unknown customer",
            Method::POST,
            "/sites",
            json!({"name": "Orphan", "customer_id": 999}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "customer 999 does not exist",
        ),
        json_case(
            "oversized site name",
            Method::POST,
            "/sites",
            json!({"name": long_name, "customer_id": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "use at most 100",
        ),
        json_case(
            "oversized description",
            Method::PUT,
            "/sites/1",
            json!({"name": "Acme Shop", "customer_id": 1, "description": "d".repeat(2001)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "at most 2000",
        ),
        json_case(
            "malformed domain",
            Method::POST,
            "/sites/1/addresses",
            json!({"value": "shop..acme.example"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty label",
        ),
        json_case(
            "address in use",
            Method::POST,
            "/sites/1/addresses",
            json!({"value": "shop.acme.example"}),
            StatusCode::CONFLICT,
            "already in use",
        ),
        json_case(
            "environment of an unknown host",
            Method::POST,
            "/sites/1/environments",
            json!({"name": "staging", "kind": "staging", "host_id": 42}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "host 42 does not exist",
        ),
        json_case(
            "second production",
            Method::POST,
            "/sites/1/environments",
            json!({"name": "prod2", "kind": "production", "host_id": 1}),
            StatusCode::CONFLICT,
            "already has a production",
        ),
        json_case(
            "environment name with a space",
            Method::POST,
            "/sites/1/environments",
            json!({"name": "my env", "kind": "test", "host_id": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "letters, digits and hyphens",
        ),
        json_case(
            "unknown environment kind",
            Method::POST,
            "/sites/1/environments",
            json!({"name": "qa", "kind": "qa", "host_id": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "kind",
        ),
        json_case(
            "environment under an unknown site",
            Method::POST,
            "/sites/77/environments",
            json!({"name": "qa", "kind": "test", "host_id": 1}),
            StatusCode::NOT_FOUND,
            "site 77 does not exist",
        ),
        json_case(
            "duplicate host",
            Method::POST,
            "/hosts",
            json!({"name": "local", "agent_url": "https://127.0.0.1:7443"}),
            StatusCode::CONFLICT,
            "already exists",
        ),
        json_case(
            "agent over plain http",
            Method::POST,
            "/hosts",
            json!({"name": "web9", "agent_url": "http://web9.example.com:7443"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "agents speak https",
        ),
        json_case(
            "a token reference naming a server file",
            Method::POST,
            "/hosts",
            json!({"name": "web9", "agent_url": "https://web9.example.com:7443", "token_ref": "file:/etc/shadow"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no longer accepted",
        ),
        json_case(
            "customer user without a customer",
            Method::POST,
            "/users",
            json!({"username": "eve", "role": "customer"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "must belong to a customer",
        ),
        json_case(
            "duplicate account subdomain",
            Method::POST,
            "/sites/1/accounts",
            json!({"subdomain": "bob"}),
            StatusCode::CONFLICT,
            "already has an account",
        ),
        json_case("delete a host still in use", Method::DELETE, "/hosts/1", json!(null), StatusCode::CONFLICT, "still runs environments"),
        json_case("delete a customer with sites", Method::DELETE, "/customers/1", json!(null), StatusCode::CONFLICT, "still has sites"),
        json_case(
            "update a missing site",
            Method::PUT,
            "/sites/404",
            json!({"name": "Ghost", "customer_id": 1}),
            StatusCode::NOT_FOUND,
            "site 404 does not exist",
        ),
        Case {
            what: "malformed JSON",
            method: Method::POST,
            path: "/sites",
            body: Some("{\"name\": ".into()),
            status: StatusCode::BAD_REQUEST,
            says: "not valid JSON",
        },
        json_case(
            "wrong field type",
            Method::POST,
            "/sites",
            json!({"name": "X", "customer_id": "one"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "expected fields",
        ),
        Case {
            what: "id that is not a number",
            method: Method::GET,
            path: "/sites/abc",
            body: None,
            status: StatusCode::BAD_REQUEST,
            says: "whole numbers",
        },
        Case {
            what: "missing site",
            method: Method::GET,
            path: "/sites/9999",
            body: None,
            status: StatusCode::NOT_FOUND,
            says: "site 9999 does not exist",
        },
        Case {
            what: "unknown route",
            method: Method::GET,
            path: "/nonsense",
            body: None,
            status: StatusCode::NOT_FOUND,
            says: "ARCHITECTURE.md",
        },
        json_case(
            "release of a missing document version",
            Method::POST,
            "/releases",
            json!({"site_id": 1, "document_version": 99, "run": "rehearsal"}),
            StatusCode::NOT_FOUND,
            "does not exist",
        ),
        json_case(
            "release with an unknown run",
            Method::POST,
            "/releases",
            json!({"site_id": 1, "document_version": 1, "run": "staging"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "rehearsal or production",
        ),
        json_case(
            "production without a rehearsal",
            Method::POST,
            "/releases",
            json!({"site_id": 1, "document_version": 1, "run": "production"}),
            StatusCode::CONFLICT,
            "rehears",
        ),
        Case {
            what: "candidate without a file name",
            method: Method::POST,
            path: "/sites/1/candidates",
            body: Some("\u{1f}\u{8b}".into()),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            says: "X-Filename",
        },
        json_case(
            "decision on a missing release",
            Method::POST,
            "/releases/404/approve",
            json!({"comment": "go"}),
            StatusCode::NOT_FOUND,
            "release 404 does not exist",
        ),
        json_case(
            "history with a malformed date",
            Method::GET,
            "/releases?from=yesterday",
            json!(null),
            StatusCode::UNPROCESSABLE_ENTITY,
            "YYYY-MM-DD",
        ),
        json_case(
            "go-live of a candidate never uploaded",
            Method::POST,
            "/sites/1/go-live",
            json!({"candidate_sha256": "ab".repeat(32)}),
            StatusCode::CONFLICT,
            "upload it first",
        ),
    ];

    let before = snapshot(&server).await;
    for case in cases {
        let mut request = server.request(case.method.clone(), case.path).await;
        if let Some(body) = &case.body {
            // Uploads are the tarball's bytes, every other body JSON.
            let kind = if case.path.ends_with("/candidates") { "application/gzip" } else { "application/json" };
            request = request.header("content-type", kind).body(body.clone());
        }
        let reply = request.send().await.expect("request");
        let status = reply.status();
        let body: Value = reply.json().await.unwrap_or_else(|e| panic!("{}: the error body is not JSON: {e}", case.what));
        assert_eq!(status, case.status, "{}: {body}", case.what);
        let error = body["error"].as_str().unwrap_or_default();
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(!error.is_empty(), "{}: no error in {body}", case.what);
        assert!(detail.contains(case.says), "{}: detail {detail:?} does not say {:?}", case.what, case.says);
        assert_eq!(snapshot(&server).await, before, "{} changed the database", case.what);
    }
    assert!(!server.output().contains("panicked"), "the server panicked:\n{}", server.output());
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_fields_are_named_for_the_form() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let reply = server
        .request(Method::POST, "/sites")
        .await
        .json(&json!({"name": "", "customer_id": 0, "description": "ok"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = reply.json().await.unwrap();
    let fields: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "customer_id"], "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_candidate_that_is_not_a_tarball_is_refused_and_nothing_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let reply = server
        .request(Method::POST, "/sites/1/candidates")
        .await
        .header("x-filename", "notes.txt")
        .header("content-type", "application/gzip")
        .body("these are not the release you are looking for")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = reply.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("not a gzip-compressed tarball"), "{body}");
    let kept: Vec<_> = std::fs::read_dir(dir.path().join("candidates")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(kept.iter().all(|name| name.to_string_lossy().ends_with(".tar.gz")), "a refused upload left {kept:?}");
}
