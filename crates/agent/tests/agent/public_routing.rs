//! The agent's router on its public listener, driven through the agent API: a swap changes which
//! environment answers, a retried swap (same operation id) does not swap back, the site-down
//! page is a 503 with Retry-After, the routes survive an agent restart, and counters count.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use switchyard_router::api::{SetMaintenance, SwapEnvironments};
use switchyard_router::{RouteTable, SiteRoutes, Target};

use crate::support::{http, TestAgent};

/// A backend that answers every request with `version`.
async fn backend(version: &'static str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move || async move { version });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn get(public: SocketAddr, host: &str) -> (u16, Option<String>, String) {
    let reply = http().get(format!("http://{public}/")).header("host", host).send().await.unwrap();
    let status = reply.status().as_u16();
    let retry_after = reply.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, reply.text().await.unwrap())
}

fn public_address(agent: &TestAgent) -> SocketAddr {
    *agent.registration.public_addresses.first().expect("the agent reports its public listener")
}

#[tokio::test(flavor = "multi_thread")]
async fn swaps_apply_once_per_operation_and_routes_survive_a_restart() {
    let (blue, green) = (backend("v1").await, backend("v2").await);
    let mut agent = TestAgent::start_with(&["--public-listen", "127.0.0.1:0"]);
    let site = SiteRoutes {
        environments: BTreeMap::from([("blue".to_owned(), blue), ("green".to_owned(), green)]),
        addresses: BTreeMap::from([("shop.test".to_owned(), Target::environment("blue"))]),
        ..SiteRoutes::default()
    };
    let table = RouteTable { sites: BTreeMap::from([("shop".to_owned(), site)]) };
    agent.client.replace_routes("routes-1", table.clone()).await.unwrap();
    assert_eq!(agent.client.routes().await.unwrap(), table);
    assert_eq!(get(public_address(&agent), "shop.test").await.2, "v1");

    let swap = SwapEnvironments { site: "shop".into(), first: "blue".into(), second: "green".into() };
    agent.client.swap("swap-1", swap.clone()).await.unwrap();
    assert_eq!(get(public_address(&agent), "shop.test").await.2, "v2");
    // The engine retries after a lost answer: the same operation id must not swap back.
    agent.client.swap("swap-1", swap.clone()).await.unwrap();
    assert_eq!(get(public_address(&agent), "shop.test").await.2, "v2");

    let down = SetMaintenance { site: "shop".into(), on: true, page: None };
    agent.client.maintenance("down-1", down).await.unwrap();
    let (status, retry_after, page) = get(public_address(&agent), "shop.test").await;
    assert_eq!((status, retry_after.as_deref()), (503, Some("30")));
    assert!(page.contains("<html"), "{page}");

    // A restarted agent serves the same routes (here: still down) on its new public port.
    agent.restart();
    assert_eq!(get(public_address(&agent), "shop.test").await.0, 503);
    agent.client.maintenance("down-2", SetMaintenance { site: "shop".into(), on: false, page: None }).await.unwrap();
    assert_eq!(get(public_address(&agent), "shop.test").await.2, "v2");

    let unknown = agent.client.swap("swap-2", SwapEnvironments { site: "nope".into(), ..swap }).await.unwrap_err();
    assert!(unknown.to_string().contains("site nope is not in the route table"), "{unknown}");

    let counters = agent.client.counters().await.unwrap();
    let green_requests: u64 = counters.environments.iter().filter(|e| e.environment == "green").map(|e| e.traffic.requests).sum();
    assert!(green_requests >= 1, "{counters:?}");
    let metrics = agent.client.metrics().await.unwrap();
    assert!(metrics.contains("# TYPE switchyard_router_unrouted_requests_total counter"), "{metrics}");
}
