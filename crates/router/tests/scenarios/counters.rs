//! Counters per environment and per address, as a snapshot and in Prometheus text.

use crate::support::{KeepAlive, Stage, PUBLIC, SITE, TEST_ADDRESS};

#[tokio::test]
async fn counters_count_requests_5xx_site_down_and_unrouted() {
    let stage = Stage::start().await;
    let mut client = KeepAlive::connect(stage.addr()).await;
    for _ in 0..5 {
        assert_eq!(client.get(PUBLIC, "/").await.unwrap().status, 200);
    }
    assert_eq!(client.get(PUBLIC, "/fail").await.unwrap().status, 500);
    for _ in 0..3 {
        assert_eq!(client.get(TEST_ADDRESS, "/").await.unwrap().status, 200);
    }
    stage.router.set_maintenance(SITE, true, None).unwrap();
    assert_eq!(client.get(PUBLIC, "/").await.unwrap().status, 503);
    stage.router.set_maintenance(SITE, false, None).unwrap();
    assert_eq!(client.get("nobody.test", "/").await.unwrap().status, 404);

    let counters = stage.router.counters();
    let environment = |name: &str| &counters.environments.iter().find(|e| e.environment == name).unwrap().traffic;
    let address = |name: &str| &counters.addresses.iter().find(|a| a.address == name).unwrap().traffic;
    assert_eq!((environment("blue").requests, environment("blue").responses_5xx), (6, 1));
    assert_eq!((environment("green").requests, environment("green").responses_5xx), (3, 0));
    let public = address(PUBLIC);
    assert_eq!((public.requests, public.responses_5xx, public.site_down), (7, 2, 1));
    assert_eq!(public.latency.counts.iter().sum::<u64>(), 7);
    assert_eq!(counters.unrouted, 1);

    let text = stage.router.prometheus();
    for line in [
        r#"switchyard_router_environment_requests_total{site="shop",environment="blue"} 6"#,
        r#"switchyard_router_environment_responses_5xx_total{site="shop",environment="blue"} 1"#,
        r#"switchyard_router_address_site_down_total{site="shop",address="shop.test"} 1"#,
        r#"switchyard_router_address_request_duration_seconds_count{site="shop",address="shop.test"} 7"#,
        "switchyard_router_unrouted_requests_total 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
}

#[tokio::test]
async fn counters_survive_swaps_and_follow_the_environment() {
    let stage = Stage::start().await;
    let mut client = KeepAlive::connect(stage.addr()).await;
    client.get(PUBLIC, "/").await.unwrap();
    stage.router.swap_environments(SITE, "blue", "green").unwrap();
    client.get(PUBLIC, "/").await.unwrap();
    client.get(PUBLIC, "/").await.unwrap();
    let counters = stage.router.counters();
    let requests = |name: &str| counters.environments.iter().find(|e| e.environment == name).unwrap().traffic.requests;
    assert_eq!((requests("blue"), requests("green")), (1, 2));
    let public = counters.addresses.iter().find(|a| a.address == PUBLIC).unwrap();
    assert_eq!(public.traffic.requests, 3);
}
