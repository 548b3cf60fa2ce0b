//! Sites and candidates keep their identity whatever their names do: a site's key is fixed at
//! creation and two names folding to one key are refused, a deleted site's releases go to
//! nobody who reuses its name (or its id), and a candidate belongs to the site it was uploaded
//! for. Through the router, as the UI and the CLI use it, on a real SQLite file.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use switchyard_core::patch::{PatchDocument, WorkflowKind};
use switchyard_core::workflow::{Release, Submitter};
use switchyard_service::Service;
use switchyard_store::{NewPatchDocument, NewRelease, Store};
use tower::ServiceExt;

struct App {
    _dir: tempfile::TempDir,
    router: axum::Router,
    store: Store,
    admin: String,
}

impl App {
    /// The demo (customer 1 "Acme Outfitters" with site 1 "Acme Shop") and an administrator.
    async fn start() -> App {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("switchyard.db")).await.unwrap();
        let service = Service::new(store.clone());
        service.seed_demo_if_empty().await.unwrap();
        let router = switchyard_server::api_router(service);
        let mut app = App { _dir: dir, router, store, admin: String::new() };
        let (status, _, cookie) =
            app.request("", "POST", "/api/v1/setup", Some(json!({"username": "ada", "password": "correct horse battery"}))).await;
        assert_eq!(status, StatusCode::CREATED);
        app.admin = cookie.unwrap();
        app
    }

    async fn request(&self, cookie: &str, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value, Option<String>) {
        let mut request = Request::builder().method(method).uri(uri).header("cookie", cookie);
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let body = body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty);
        let response = self.router.clone().oneshot(request.body(body).unwrap()).await.unwrap();
        let status = response.status();
        let cookie = response.headers().get("set-cookie").map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), cookie)
    }

    async fn as_admin(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (status, body, _) = self.request(&self.admin, method, uri, body).await;
        (status, body)
    }

    /// Creates a customer user and logs them in.
    async fn customer_user(&self, username: &str, customer_id: i64) -> String {
        let password = format!("{username}'s long password");
        let user = json!({"username": username, "role": "customer", "customer_id": customer_id, "password": password});
        let (status, body) = self.as_admin("POST", "/api/v1/users", Some(user)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body, cookie) =
            self.request("", "POST", "/api/v1/session", Some(json!({"username": username, "password": password}))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        cookie.unwrap()
    }

    async fn site(&self, name: &str, customer_id: i64) -> Value {
        let (status, site) = self.as_admin("POST", "/api/v1/sites", Some(json!({"name": name, "customer_id": customer_id}))).await;
        assert_eq!(status, StatusCode::CREATED, "{site}");
        site
    }

    /// A rehearsal of `site` in the journal, as the engine records one.
    async fn release_of(&self, site: &Value) -> i64 {
        let key = site["key"].as_str().unwrap();
        let document = PatchDocument::template(WorkflowKind::NoMigration, site["name"].as_str().unwrap(), "1.1.0", &"a".repeat(64));
        let release = Release::rehearsal(&document, &Submitter::new(1, "ada"));
        let config = json!({"release": release, "baseline": {"responses_5xx": 0, "site_down": 0}}).to_string();
        let state = serde_json::to_string(&release.start().0).unwrap();
        let new = NewRelease {
            uid: &format!("test-{key}"),
            site: key,
            site_id: site["id"].as_i64(),
            run: "rehearsal",
            workflow: "no-migration",
            document_toml: "",
            document_version: 1,
            candidate_sha256: "ab",
            submitted_by: "ada",
            submitted_by_id: None,
            placement: "{}",
            config: &config,
            state: &state,
            commands: "[]",
        };
        self.store.create_release(&new).await.unwrap().id
    }
}

#[tokio::test]
async fn a_name_folding_to_an_existing_key_is_refused_and_a_rename_keeps_the_key() {
    let app = App::start().await;
    let (status, site) = app.as_admin("GET", "/api/v1/sites/1", None).await;
    assert_eq!((status, &site["site"]["name"], &site["site"]["key"]), (StatusCode::OK, &json!("Acme Shop"), &json!("acme-shop")));

    for clash in ["acme-shop", "ACME  shop!"] {
        let (status, body) = app.as_admin("POST", "/api/v1/sites", Some(json!({"name": clash, "customer_id": 1}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{clash}: {body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("\"Acme Shop\"") && detail.contains("acme-shop"), "the refusal names the site holding the key: {detail}");
    }
    let (status, body) = app.as_admin("POST", "/api/v1/sites", Some(json!({"name": "¡¿?!", "customer_id": 1}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("letter or digit"), "{body}");

    let (status, renamed) = app.as_admin("PUT", "/api/v1/sites/1", Some(json!({"name": "Acme Storefront", "customer_id": 1}))).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!((&renamed["name"], &renamed["key"]), (&json!("Acme Storefront"), &json!("acme-shop")));
    // The old name is free as a name, but its key is still the renamed site's.
    let (status, body) = app.as_admin("POST", "/api/v1/sites", Some(json!({"name": "Acme Shop", "customer_id": 1}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("\"Acme Storefront\""), "{body}");
}

#[tokio::test]
async fn a_deleted_sites_releases_go_to_nobody_who_reuses_its_name_or_id() {
    let app = App::start().await;
    let (_, globex) = app.as_admin("POST", "/api/v1/customers", Some(json!({"name": "Globex"}))).await;
    let globex = globex["id"].as_i64().unwrap();
    let alice = app.customer_user("alice2", 1).await;
    let gina = app.customer_user("gina", globex).await;
    // The newest site, so SQLite would hand its id to the next site created.
    let blog = app.site("Blog", 1).await;
    let old_release = app.release_of(&blog).await;
    let (status, seen, _) = app.request(&alice, "GET", &format!("/api/v1/releases/{old_release}"), None).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["summary"]["site"], "Blog");

    let (status, _) = app.as_admin("DELETE", &format!("/api/v1/sites/{}", blog["id"]), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let reused = app.site("Blog", globex).await;
    assert_eq!(reused["key"], "blog");

    for (who, cookie) in [("the new site's customer", &gina), ("the old site's customer", &alice)] {
        let (status, body, _) = app.request(cookie, "GET", &format!("/api/v1/releases/{old_release}"), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who} must not read a deleted site's release: {body}");
        let (status, page, _) = app.request(cookie, "GET", "/api/v1/releases", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page["releases"].as_array().unwrap().iter().all(|r| r["id"] != old_release), "{who}: {page}");
    }
    let (_, page, _) = app.request(&gina, "GET", &format!("/api/v1/releases?site_id={}", reused["id"]), None).await;
    assert_eq!(page["total"], 0, "{page}");
    // Staff still read it, as a deleted site's release.
    let (status, seen) = app.as_admin("GET", &format!("/api/v1/releases/{old_release}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((&seen["summary"]["site_id"], &seen["summary"]["customer"]), (&Value::Null, &json!("(deleted site)")));
}

#[tokio::test]
async fn another_sites_candidate_is_refused_in_a_document_and_a_release() {
    let app = App::start().await;
    let alice = app.customer_user("alice2", 1).await;
    let other = app.site("Acme Blog", 1).await;
    let other_id = other["id"].as_i64().unwrap();
    // The blog uploaded this candidate; the shop did not.
    let sha = "c".repeat(64);
    app.store.record_candidate(other_id, &sha, "blog.tar.gz", 10, (None, "alice2")).await.unwrap();
    let document = PatchDocument::template(WorkflowKind::NoMigration, "Acme Shop", "1.1.0", &sha);

    let (status, body, _) = app.request(&alice, "POST", "/api/v1/sites/1/patch-documents", Some(json!({"toml": document.to_toml()}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let text = body.to_string();
    assert!(text.contains(&sha) && text.contains("not uploaded for site Acme Shop"), "{text}");

    // A document that names it anyway (saved before this rule) cannot start a release.
    let render = |version: i64| {
        let mut numbered = document.clone();
        numbered.version = version as u32;
        (numbered.to_toml(), numbered.summary())
    };
    let new = NewPatchDocument { workflow: "no-migration", target_version: "1.1.0", candidate_sha256: &sha, render: &render };
    let saved = app.store.create_patch_document(1, &new).await.unwrap();
    let start = json!({"site_id": 1, "document_version": saved.version, "run": "rehearsal"});
    let (status, body, _) = app.request(&alice, "POST", "/api/v1/releases", Some(start)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("not uploaded for site Acme Shop"), "{body}");
}
