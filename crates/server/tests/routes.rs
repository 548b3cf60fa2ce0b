//! The router without a socket (as the desktop app uses it): status codes, bodies, and the web
//! UI's routes falling back to index.html so a reload of any page works.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use switchyard_service::Service;
use switchyard_store::Store;
use tower::ServiceExt;

async fn service(dir: &std::path::Path) -> Service {
    let service = Service::new(Store::open(&dir.join("switchyard.db")).await.unwrap());
    service.seed_demo_if_empty().await.unwrap();
    service
}

/// Sets up the first administrator through the API and returns their session cookie.
async fn administrator(app: &axum::Router) -> String {
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/setup")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"username":"ada","password":"correct horse battery"}"#))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    cookie.split(';').next().unwrap().to_owned()
}

async fn send_as(app: axum::Router, cookie: &str, method: &str, uri: &str, body: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(uri).header("cookie", cookie);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request.body(body.map(|b| Body::from(b.to_owned())).unwrap_or_else(Body::empty)).unwrap();
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn creating_a_site_answers_201_with_the_stored_site() {
    let dir = tempfile::tempdir().unwrap();
    let app = switchyard_server::api_router(service(dir.path()).await);
    let cookie = administrator(&app).await;
    let (status, body) = send_as(app.clone(), &cookie, "POST", "/api/v1/sites", Some(r#"{"name":"  Bakery ","customer_id":1}"#)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let site: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(site["name"], "Bakery");
    assert_eq!(site["customer_name"], "Acme Outfitters");
    let (status, body) = send_as(app, &cookie, "DELETE", &format!("/api/v1/sites/{}", site["id"]), None).await;
    assert_eq!((status, body.as_str()), (StatusCode::NO_CONTENT, ""));
}

#[tokio::test]
async fn a_body_without_json_content_type_is_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let app = switchyard_server::api_router(service(dir.path()).await);
    let cookie = administrator(&app).await;
    let request = Request::builder().method("POST").uri("/api/v1/sites").header("cookie", cookie).body(Body::from("{}")).unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert!(body["detail"].as_str().unwrap().contains("Content-Type: application/json"), "{body}");
}

#[tokio::test]
async fn ui_routes_fall_back_to_index_html_but_api_routes_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let ui = dir.path().join("dist");
    std::fs::create_dir_all(&ui).unwrap();
    std::fs::write(ui.join("index.html"), "<html>switchyard ui</html>").unwrap();
    std::fs::write(ui.join("app.css"), "body{}").unwrap();
    let app = switchyard_server::app(service(dir.path()).await, &ui);

    for path in ["/", "/sites/1", "/sites/1/edit", "/hosts"] {
        let (status, body) = send_as(app.clone(), "", "GET", path, None).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "<html>switchyard ui</html>"), "{path}");
    }
    let (status, body) = send_as(app.clone(), "", "GET", "/app.css", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "body{}"));
    let (status, body) = send_as(app, "", "GET", "/api/v1/no-such-thing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("no such API route"), "{body}");
}

#[tokio::test]
async fn the_ui_is_sent_compressed_to_browsers_that_accept_it_and_hashed_files_are_cached_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let ui = dir.path().join("dist");
    std::fs::create_dir_all(&ui).unwrap();
    std::fs::write(ui.join("index.html"), "<html>switchyard ui</html>").unwrap();
    std::fs::write(ui.join("index.html.gz"), "gzip of the page").unwrap();
    std::fs::write(ui.join("app-0123456789abcdef_bg.wasm"), "the module").unwrap();
    std::fs::write(ui.join("app-0123456789abcdef_bg.wasm.br"), "brotli of the module").unwrap();
    std::fs::write(ui.join("app-0123456789abcdef_bg.wasm.gz"), "gzip of the module").unwrap();
    let app = switchyard_server::app(service(dir.path()).await, &ui);
    let get = |path: &str, accept: &str| {
        let request = Request::builder().uri(path).header("accept-encoding", accept).body(Body::empty()).unwrap();
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await.unwrap();
            let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            let (encoding, cache) = (header("content-encoding"), header("cache-control"));
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (encoding, cache, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    let module = "/app-0123456789abcdef_bg.wasm";
    assert_eq!(
        get(module, "gzip, deflate, br").await,
        ("br".into(), "public, max-age=31536000, immutable".into(), "brotli of the module".into())
    );
    assert_eq!(get(module, "gzip").await.0, "gzip");
    assert_eq!(get(module, "identity").await.2, "the module");
    // The page that names the hashed files is asked for afresh, on every UI route too.
    for path in ["/", "/sites/12"] {
        assert_eq!(get(path, "gzip").await, ("gzip".into(), "no-cache".into(), "gzip of the page".into()), "{path}");
    }
}

#[tokio::test]
async fn without_a_session_every_route_but_logging_in_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = switchyard_server::api_router(service(dir.path()).await);
    let (status, body) = send_as(app.clone(), "", "GET", "/api/v1/session", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["needs_setup"], true);
    for (method, uri) in [("GET", "/api/v1/sites"), ("GET", "/api/v1/sites/1"), ("DELETE", "/api/v1/sites/1"), ("GET", "/api/v1/audit")] {
        let (status, body) = send_as(app.clone(), "switchyard_session=forged", method, uri, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}: {body}");
        assert!(body.contains("log in again"), "{body}");
    }
    let cookie = administrator(&app).await;
    let (status, body) = send_as(app.clone(), &cookie, "GET", "/api/v1/sites/1", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = send_as(app.clone(), &cookie, "DELETE", "/api/v1/session", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send_as(app, &cookie, "GET", "/api/v1/sites/1", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a logged-out session must not work again");
}

#[tokio::test]
async fn a_customer_sees_only_their_own_sites_and_cannot_change_the_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let app = switchyard_server::api_router(service(dir.path()).await);
    let admin = administrator(&app).await;
    let (_, other) =
        send_as(app.clone(), &admin, "POST", "/api/v1/customers", Some(r#"{"name":"Globex","contact_email":"it@globex.example"}"#)).await;
    let other: Value = serde_json::from_str(&other).unwrap();
    let body = format!(r#"{{"name":"Globex Portal","customer_id":{}}}"#, other["id"]);
    let (status, other_site) = send_as(app.clone(), &admin, "POST", "/api/v1/sites", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let other_site: Value = serde_json::from_str(&other_site).unwrap();
    let user = r#"{"username":"carl","role":"customer","customer_id":1,"password":"carl's long password"}"#;
    let (status, body) = send_as(app.clone(), &admin, "POST", "/api/v1/users", Some(user)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let login = Request::builder()
        .method("POST")
        .uri("/api/v1/session")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"username":"carl","password":"carl's long password"}"#))
        .unwrap();
    let response = app.clone().oneshot(login).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let carl = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();

    let (_, sites) = send_as(app.clone(), &carl, "GET", "/api/v1/sites", None).await;
    let sites: Vec<Value> = serde_json::from_str(&sites).unwrap();
    assert!(!sites.is_empty() && sites.iter().all(|s| s["customer_id"] == 1), "{sites:?}");
    let (_, sites) = send_as(app.clone(), &carl, "GET", &format!("/api/v1/sites?customer_id={}", other["id"]), None).await;
    assert!(!sites.contains("Globex"), "a filter must not widen a customer's view: {sites}");
    let (status, body) = send_as(app.clone(), &carl, "GET", &format!("/api/v1/sites/{}", other_site["id"]), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("another customer"), "{body}");
    let (status, _) = send_as(app.clone(), &carl, "DELETE", "/api/v1/sites/1", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send_as(app.clone(), &carl, "GET", "/api/v1/audit", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (_, audit) = send_as(app, &admin, "GET", "/api/v1/audit", None).await;
    let audit: Value = serde_json::from_str(&audit).unwrap();
    let actions: Vec<&str> = audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in ["setup", "customer.create", "site.create", "user.create", "login"] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
}
