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

async fn send(app: axum::Router, method: &str, uri: &str, body: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(uri);
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
    let (status, body) = send(app.clone(), "POST", "/api/v1/sites", Some(r#"{"name":"  Bakery ","customer_id":1}"#)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let site: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(site["name"], "Bakery");
    assert_eq!(site["customer_name"], "Acme Outfitters");
    let (status, body) = send(app, "DELETE", &format!("/api/v1/sites/{}", site["id"]), None).await;
    assert_eq!((status, body.as_str()), (StatusCode::NO_CONTENT, ""));
}

#[tokio::test]
async fn a_body_without_json_content_type_is_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let app = switchyard_server::api_router(service(dir.path()).await);
    let request = Request::builder().method("POST").uri("/api/v1/sites").body(Body::from("{}")).unwrap();
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
        let (status, body) = send(app.clone(), "GET", path, None).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "<html>switchyard ui</html>"), "{path}");
    }
    let (status, body) = send(app.clone(), "GET", "/app.css", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "body{}"));
    let (status, body) = send(app, "GET", "/api/v1/no-such-thing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("no such API route"), "{body}");
}
