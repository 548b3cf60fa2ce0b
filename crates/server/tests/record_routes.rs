//! The record through the API: `GET /audit/verify` reports an intact chain with its heads, and
//! names the row someone edited in the database file; `GET /releases/{id}/record` exports a
//! release's journal with its chain, which verifies on its own.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use switchyard_api::{RecordCheck, ReleaseRecordExport};
use switchyard_service::Service;
use switchyard_store::{NewRelease, Store};
use tower::ServiceExt;

async fn send(app: &axum::Router, cookie: Option<&str>, method: &str, uri: &str, body: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request.body(body.map(|b| Body::from(b.to_owned())).unwrap_or_else(Body::empty)).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let cookie = response.headers().get("set-cookie").map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, cookie.unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned()))
}

#[tokio::test]
async fn verify_names_an_edited_row_and_a_release_record_exports_with_its_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("switchyard.db")).await.unwrap();
    let release = store
        .create_release(&NewRelease {
            uid: "r1",
            site: "shop",
            site_id: None,
            run: "rehearsal",
            workflow: "no-migration",
            document_toml: "site = \"shop\"",
            document_version: 1,
            candidate_sha256: "ab",
            submitted_by: "sue",
            submitted_by_id: None,
            placement: "{}",
            config: "{}",
            state: "s0",
            commands: "[]",
        })
        .await
        .unwrap();
    let app = switchyard_server::api_router(Service::new(store.clone()));
    let (status, _) = send(&app, None, "GET", "/api/v1/audit/verify", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, cookie) =
        send(&app, None, "POST", "/api/v1/setup", Some(r#"{"username":"ada","password":"correct horse battery"}"#)).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, body) = send(&app, Some(&cookie), "GET", "/api/v1/audit/verify", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let check: RecordCheck = serde_json::from_str(&body).unwrap();
    assert!(check.intact() && check.audit_rows >= 1 && check.releases == 1, "{check:?}");

    let (status, body) = send(&app, Some(&cookie), "GET", &format!("/api/v1/releases/{}/record", release.id), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let export: ReleaseRecordExport = serde_json::from_str(&body).unwrap();
    assert_eq!(export.verify().unwrap(), export.head_hash);
    let (status, _) = send(&app, Some(&cookie), "GET", "/api/v1/releases/999/record", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The first audit row (the administrator's set-up) rewritten in the file.
    let output = std::process::Command::new("sqlite3")
        .arg(store.path())
        .arg("UPDATE audit_log SET actor = 'someone else' WHERE id = 1")
        .output()
        .expect("sqlite3 is installed");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (_, body) = send(&app, Some(&cookie), "GET", "/api/v1/audit/verify", None).await;
    let check: RecordCheck = serde_json::from_str(&body).unwrap();
    assert_eq!(check.breaks.len(), 1, "{check:?}");
    assert_eq!((check.breaks[0].table.as_str(), check.breaks[0].row.as_str()), ("audit_log", "1"));
}
