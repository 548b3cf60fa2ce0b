//! People log in: the first visitor of a fresh install creates the administrator; each role is
//! offered only its own pages; a customer sees only their own sites and is told clearly when
//! they open someone else's; an ended session sends the person back to the login page.

use crate::people::{log_in, navigation, present, staffed, Api, ADMIN, PASSWORD};
use fantoccini::Locator;
use reqwest::{Method, StatusCode};
use serde_json::json;
use switchyard_e2e::browser::Browser;
use switchyard_e2e::server::Server;

#[tokio::test(flavor = "multi_thread")]
async fn the_first_visitor_creates_the_administrator_and_stays_logged_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let browser = Browser::start().await;
    let client = &browser.client;

    client.goto(&format!("{}/sites", server.url)).await.unwrap();
    browser.find("#setup-page").await;
    browser.find("#setup-form input[name=username]").await.send_keys(ADMIN.0).await.unwrap();
    browser.find("#setup-form input[name=display_name]").await.send_keys("Ada Admin").await.unwrap();
    browser.find("#setup-form input[name=password]").await.send_keys("too short").await.unwrap();
    browser.find("#setup-form input[name=repeat]").await.send_keys("too short").await.unwrap();
    browser.find("#setup-form button[type=submit]").await.click().await.unwrap();
    let problem = browser.find(".field-error[data-field=password]").await.text().await.unwrap();
    assert!(problem.contains("at least 10 characters"), "{problem}");

    for (field, text) in [("password", ADMIN.1), ("repeat", ADMIN.1)] {
        let input = browser.find(&format!("#setup-form input[name={field}]")).await;
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }
    browser.find("#setup-form button[type=submit]").await.click().await.unwrap();
    assert_eq!(browser.find("#whoami-name").await.text().await.unwrap(), "Ada Admin");
    assert_eq!(browser.find("#whoami-role").await.text().await.unwrap(), "support · administrator");
    assert_eq!(navigation(&browser).await, ["Dashboard", "Sites", "Approvals", "Hosts", "Customers", "Users", "Audit"]);
    browser.wait_for_text("Acme Shop").await;
    assert_eq!(browser.path().await, "/sites");

    // The session is a cookie: a reload keeps the administrator logged in.
    client.refresh().await.unwrap();
    assert_eq!(browser.find("#whoami-name").await.text().await.unwrap(), "Ada Admin");

    // Set-up happens once.
    let again = reqwest::Client::new()
        .post(server.api("/setup"))
        .json(&json!({"username": "mallory", "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);

    browser.find("#logout").await.click().await.unwrap();
    assert_eq!(browser.find("#session-notice").await.text().await.unwrap(), "You have logged out.");
    browser.find("#login-form input[name=username]").await.send_keys(ADMIN.0).await.unwrap();
    browser.find("#login-form input[name=password]").await.send_keys("not the password").await.unwrap();
    browser.find("#login-form button[type=submit]").await.click().await.unwrap();
    browser.find("#login-form .banner.error").await;
    assert!(!present(&browser, "#whoami-name").await, "a wrong password let someone in");

    log_in(&browser, &server, ADMIN.0, ADMIN.1).await;
    assert_eq!(browser.find("#whoami-name").await.text().await.unwrap(), "Ada Admin");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_is_offered_its_own_pages_and_a_customer_only_their_sites() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let admin = staffed(&server).await;
    let globex = admin.post("/customers", json!({"name": "Globex", "contact_email": "it@globex.example"})).await;
    let portal =
        admin.post("/sites", json!({"name": "Globex Portal", "customer_id": globex["id"], "description": "Globex's portal"})).await;
    let portal_id = portal["id"].as_i64().unwrap();

    let browser = Browser::start().await;
    log_in(&browser, &server, "alice", PASSWORD).await;
    assert_eq!(navigation(&browser).await, ["Dashboard", "My sites"]);
    assert_eq!(browser.find("#dashboard-page h1").await.text().await.unwrap(), "My sites");
    browser.wait_for_text("Acme Shop").await;
    assert!(!browser.page_text().await.contains("Globex Portal"), "alice sees another customer's site");
    assert!(!present(&browser, "#new-site").await, "a customer is offered to create sites");

    // Another customer's site by its address: refused, with a way back.
    browser.client.goto(&format!("{}/sites/{portal_id}", server.url)).await.unwrap();
    browser.find("#site-refused").await;
    let refusal = browser.find(".banner.error").await.text().await.unwrap();
    assert!(refusal.contains("another customer") && !browser.page_text().await.contains("Globex's portal"), "{refusal}");
    browser.client.find(Locator::Css("#site-refused a")).await.unwrap().click().await.unwrap();
    browser.wait_for_text("Acme Shop").await;

    // What the UI does not offer, the server refuses too.
    let alice = Api::log_in(&server, "alice", PASSWORD).await;
    for (method, path) in [(Method::GET, "/approvals"), (Method::GET, "/audit"), (Method::GET, "/hosts"), (Method::POST, "/sites")] {
        let body = (method == Method::POST).then(|| json!({"name": "Sneaky", "customer_id": globex["id"]}));
        let (status, error) = alice.send(method.clone(), path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} as a customer: {error}");
        assert!(!error["detail"].as_str().unwrap_or_default().is_empty(), "{method} {path}: the refusal says why: {error}");
    }
    let (status, _) = alice.send(Method::GET, &format!("/sites/{portal_id}"), None).await;
    assert!(matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "alice opened Globex's site: {status}");

    browser.find("#logout").await.click().await.unwrap();
    log_in(&browser, &server, "sam", PASSWORD).await;
    assert_eq!(navigation(&browser).await, ["Dashboard", "Sites", "Approvals", "Hosts", "Customers", "Audit"]);
    browser.wait_for_text("Globex Portal").await;

    browser.find("#logout").await.click().await.unwrap();
    log_in(&browser, &server, "maria", PASSWORD).await;
    assert_eq!(navigation(&browser).await, ["Dashboard", "History", "Sites", "Audit"]);
    browser.find("#dashboard-page").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ended_session_sends_the_person_back_to_the_login_page_and_then_where_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    staffed(&server).await;
    let browser = Browser::start().await;
    log_in(&browser, &server, "sam", PASSWORD).await;

    browser.client.delete_all_cookies().await.unwrap();
    browser.client.find(Locator::Css("#nav [data-nav='/hosts']")).await.unwrap().click().await.unwrap();
    let notice = browser.find("#session-notice").await.text().await.unwrap();
    assert!(notice.contains("session has ended"), "{notice}");

    browser.find("#login-form input[name=username]").await.send_keys("sam").await.unwrap();
    browser.find("#login-form input[name=password]").await.send_keys(PASSWORD).await.unwrap();
    browser.find("#login-form button[type=submit]").await.click().await.unwrap();
    browser.find("#hosts").await;
    assert_eq!(browser.path().await, "/hosts");
    browser.close().await;
}
