//! A site's own candidate limits through the API: the site page (GET /sites/{id}) shows each
//! effective limit and whether it comes from the site or the server, support staff set them
//! (PUT /sites/{id}/candidate-limits, audited), a limit above the server's total quota is a
//! 422 naming the field, and customers are refused with 403.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::Served;

async fn demo_site(served: &Served, cookie: &str) -> i64 {
    let (_, sites) = served.send(cookie, Method::GET, "/sites", None).await;
    sites[0]["id"].as_i64().expect("the demo has a site")
}

#[tokio::test]
async fn support_sets_a_sites_limits_the_site_page_says_where_each_comes_from_and_customers_may_not() {
    let served = Served::start().await;
    let admin = served.administrator().await;
    let site = demo_site(&served, &admin).await;

    // Nothing set: every limit is the server's default.
    let (status, detail) = served.send(&admin, Method::GET, &format!("/sites/{site}"), None).await;
    assert_eq!(status, 200, "{detail}");
    let limits = &detail["candidate_limits"];
    for name in ["quota_bytes", "max_unpacked_bytes", "max_entries"] {
        assert_eq!(limits[name]["source"], "server", "{limits}");
    }
    assert_eq!(limits["max_unpacked_bytes"]["value"], 2u64 << 30);

    let path = format!("/sites/{site}/candidate-limits");
    let set = json!({"quota_bytes": 1u64 << 30, "max_unpacked_bytes": 64u64 << 20, "max_entries": null});
    let (status, answer) = served.send(&admin, Method::PUT, &path, Some(set)).await;
    assert_eq!(status, 200, "{answer}");
    let (_, detail) = served.send(&admin, Method::GET, &format!("/sites/{site}"), None).await;
    let limits = &detail["candidate_limits"];
    assert_eq!((&limits["quota_bytes"]["value"], &limits["quota_bytes"]["source"]), (&json!(1u64 << 30), &json!("site")));
    assert_eq!(limits["quota_bytes"]["server_default"], 5u64 << 30);
    assert_eq!((&limits["max_unpacked_bytes"]["value"], &limits["max_unpacked_bytes"]["source"]), (&json!(64u64 << 20), &json!("site")));
    assert_eq!((&limits["max_entries"]["value"], &limits["max_entries"]["source"]), (&json!(100_000), &json!("server")));
    assert_eq!(answer, *limits, "the PUT answers what the site page then shows");
    let audit = served.audit(&admin).await;
    let entry = audit.iter().find(|e| e["action"] == "site.candidate-limits").expect("the change is audited");
    assert_eq!(entry["detail"], "candidate limits of Acme Shop: quota 1 GiB, max unpacked 64 MiB, max entries server default");

    // Above the server's total quota: refused, naming the field.
    let (status, refused) = served.send(&admin, Method::PUT, &path, Some(json!({"quota_bytes": 21u64 << 30}))).await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused.to_string().contains("above the server's total quota of 20 GiB"), "{refused}");

    // A customer of the site sees the limits but may not change them.
    let (_, users) = served.send(&admin, Method::GET, "/users", None).await;
    let alice = users.as_array().unwrap().iter().find(|u| u["role"] == "customer").cloned().expect("the demo has a customer user");
    let password = json!({"password": "a customer's password"});
    assert_eq!(served.send(&admin, Method::PUT, &format!("/users/{}/password", alice["id"]), Some(password)).await.0, 204);
    let (_, _, customer) = served.log_in(&json!({"username": alice["username"], "password": "a customer's password"})).await;
    let customer = customer.expect("the customer logs in");
    let (status, refused) = served.send(&customer, Method::PUT, &path, Some(json!({"max_unpacked_bytes": 1u64 << 40}))).await;
    assert_eq!(status, 403, "{refused}");
    let (status, detail): (u16, Value) = served.send(&customer, Method::GET, &format!("/sites/{site}"), None).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["candidate_limits"]["max_unpacked_bytes"]["value"], 64u64 << 20, "unchanged by the refused request");
}
