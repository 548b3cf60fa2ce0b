//! A backend closing a pooled connection under the router: requests without a body are replayed, others are not.

use switchyard_router::{Router, RouterConfig};

use crate::support::{shop_table, Backend, KeepAlive, OneShotBackend, PUBLIC};

async fn router_in_front_of_one_shot_backend() -> (Router, switchyard_router::Listening, OneShotBackend, Backend) {
    let flaky = OneShotBackend::start("v1").await;
    let green = Backend::start("v2").await;
    let router = Router::new(RouterConfig::default());
    router.set_table(shop_table(flaky.addr, green.addr)).unwrap();
    let listening = router.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    (router, listening, flaky, green)
}

#[tokio::test]
async fn a_get_on_a_connection_the_backend_dropped_is_replayed() {
    let (_router, listening, _flaky, _green) = router_in_front_of_one_shot_backend().await;
    let mut client = KeepAlive::connect(listening.local_addr()).await;
    for attempt in 0..5 {
        // From the second request on, the pooled upstream connection dies under the request.
        let answer = client.get(PUBLIC, "/").await.unwrap();
        assert_eq!((answer.status.as_u16(), answer.body.as_str()), (200, "v1"), "request {attempt}");
    }
}

#[tokio::test]
async fn a_post_with_a_body_is_not_replayed() {
    let (router, listening, _flaky, _green) = router_in_front_of_one_shot_backend().await;
    let mut client = KeepAlive::connect(listening.local_addr()).await;
    assert_eq!(client.get(PUBLIC, "/").await.unwrap().status, 200);
    let answer = client.post(PUBLIC, "/orders", "item=1").await.unwrap();
    assert_eq!(answer.status, 502, "the backend may have acted on the POST; repeating it could order twice");
    let counters = router.counters();
    let blue = counters.environments.iter().find(|e| e.environment == "blue").unwrap();
    assert_eq!(blue.traffic.responses_5xx, 1);
}
