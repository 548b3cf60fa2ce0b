//! A page on another origin of the same host (another port: same site, so the SameSite=Strict
//! cookie goes along) cannot change anything: a real server on a socket refuses its POST with
//! the session cookie by Origin or Sec-Fetch-Site, and refuses bodies that are not JSON. The
//! CLI's bearer-token requests carry no ambient credential and are not held to the Origin.

mod support;

use serde_json::{json, Value};
use support::Served;

async fn post(served: &Served, headers: &[(&str, String)], body: &str) -> (u16, Value) {
    let mut request = served.http.post(served.url("/customers")).body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

async fn customers(served: &Served, cookie: &str) -> usize {
    let (_, list) = served.send(cookie, reqwest::Method::GET, "/customers", None).await;
    list.as_array().unwrap().len()
}

#[tokio::test]
async fn a_same_site_page_on_another_port_cannot_post_with_the_session_cookie() {
    let served = Served::start().await;
    let cookie = served.administrator().await;
    let before = customers(&served, &cookie).await;
    let body = r#"{"name":"Evil Corp","contact_email":"x@evil.example"}"#;
    let json = ("content-type", "application/json".to_owned());
    let with_cookie = ("cookie", cookie.clone());

    let other_port = ("origin", "http://127.0.0.1:8081".to_owned());
    let (status, refused) = post(&served, &[with_cookie.clone(), json.clone(), other_port], body).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"], "cross-origin request refused");
    assert!(refused["detail"].as_str().unwrap().contains("http://127.0.0.1:8081"), "{refused}");

    // Browsers that send no Origin still say where a request came from.
    let same_site = ("sec-fetch-site", "same-site".to_owned());
    assert_eq!(post(&served, &[with_cookie.clone(), json.clone(), same_site], body).await.0, 403);

    // A form or text/plain POST (what a page can send without a preflight) is not JSON.
    let (status, refused) = post(&served, &[with_cookie.clone(), ("content-type", "text/plain".to_owned())], body).await;
    assert_eq!(status, 415, "{refused}");
    assert!(refused["detail"].as_str().unwrap().contains("Content-Type: application/json"), "{refused}");
    let form = ("content-type", "application/x-www-form-urlencoded".to_owned());
    assert_eq!(post(&served, &[with_cookie.clone(), form], "name=Evil").await.0, 415);
    assert_eq!(customers(&served, &cookie).await, before, "nothing was created");

    // Switchyard's own page succeeds.
    let own = ("origin", format!("http://{}", served.authority));
    let (status, created) = post(&served, &[with_cookie.clone(), json.clone(), own], body).await;
    assert_eq!(status, 201, "{created}");
}

#[tokio::test]
async fn bearer_requests_skip_the_origin_check_but_not_the_json_rule_and_decisions_need_json() {
    let served = Served::start().await;
    served.administrator().await;
    let response =
        served.http.post(served.url("/session")).json(&json!({"username": "ada", "password": support::ADMIN.1})).send().await.unwrap();
    let token = response.headers()["x-switchyard-session"].to_str().unwrap().to_owned();
    let bearer = ("authorization", format!("Bearer {token}"));
    let json = ("content-type", "application/json".to_owned());
    let foreign = ("origin", "http://127.0.0.1:1".to_owned());
    let body = r#"{"name":"Globex","contact_email":"it@globex.example"}"#;
    assert_eq!(post(&served, &[bearer.clone(), json, foreign], body).await.0, 201);

    // A decision without a body used to be accepted; now it must say {} as JSON.
    let response = served.http.post(served.url("/releases/1/approve")).header(bearer.0, &bearer.1).send().await.unwrap();
    assert_eq!(response.status(), 415);
    let response = served
        .http
        .post(served.url("/sites/1/candidates"))
        .header(bearer.0, &bearer.1)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415, "an upload names its own content type");
    let body: Value = response.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("application/gzip"), "{body}");
}
