//! Removing candidates through the API: an uploaded candidate is deleted (204) and gone from the
//! list, a malformed sha256 is a 422 that says what to send, one never uploaded a 404, and a
//! prune answers what it deleted.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use std::io::Write;
use switchyard_api::{Candidate, PrunedCandidates};
use switchyard_service::{Caller, Service};
use switchyard_store::Store;
use tower::ServiceExt;

async fn send(app: &axum::Router, cookie: &str, method: &str, uri: &str, body: Body, kind: &str) -> (StatusCode, String) {
    let request = Request::builder().method(method).uri(uri).header("cookie", cookie).header("content-type", kind);
    let request = request.header("x-filename", "site.tar.gz").body(body).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn tarball(version: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    let procfile = format!("web: ./serve {version}\n");
    header.set_size(procfile.len() as u64);
    header.set_mode(0o644);
    builder.append_data(&mut header, "Procfile", procfile.as_bytes()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&builder.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

#[tokio::test]
async fn a_candidate_is_deleted_and_pruned_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::new(Store::open(&dir.path().join("switchyard.db")).await.unwrap());
    let me = Caller::system();
    let customer =
        service.create_customer(&me, switchyard_api::CustomerDraft { name: "Acme".into(), contact_email: String::new() }).await.unwrap();
    let site = service
        .create_site(&me, switchyard_api::SiteDraft { name: "Notes".into(), customer_id: customer.id, description: String::new() })
        .await
        .unwrap();
    let app = switchyard_server::api_router(service);
    let setup = Request::builder()
        .method("POST")
        .uri("/api/v1/setup")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"username":"ada","password":"correct horse battery"}"#))
        .unwrap();
    let response = app.clone().oneshot(setup).await.unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();

    let candidates = format!("/api/v1/sites/{}/candidates", site.id);
    let mut shas = Vec::new();
    for version in ["1", "2", "3"] {
        let (status, body) = send(&app, &cookie, "POST", &candidates, Body::from(tarball(version)), "application/gzip").await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        shas.push(serde_json::from_str::<Candidate>(&body).unwrap().sha256);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }

    let (status, body) = send(&app, &cookie, "DELETE", &format!("{candidates}/{}", shas[1]), Body::empty(), "application/json").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = send(&app, &cookie, "DELETE", &format!("{candidates}/{}", shas[1]), Body::empty(), "application/json").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) =
        send(&app, &cookie, "DELETE", &format!("{candidates}/..%2Fswitchyard.db"), Body::empty(), "application/json").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("64 lower-case hex digits"), "{body}");
    assert!(dir.path().join("switchyard.db").is_file());

    let (status, body) = send(&app, &cookie, "POST", &format!("{candidates}/prune"), Body::from(r#"{"keep":1}"#), "application/json").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let pruned: PrunedCandidates = serde_json::from_str(&body).unwrap();
    assert_eq!(pruned.deleted, [shas[0].clone()]);
    let (_, body) = send(&app, &cookie, "GET", &candidates, Body::empty(), "application/json").await;
    let left: Vec<Candidate> = serde_json::from_str(&body).unwrap();
    assert_eq!(left.iter().map(|c| c.sha256.as_str()).collect::<Vec<_>>(), [shas[2].as_str()]);
}
