//! Swapping production and test under keep-alive load fails no request and resets no connection.

use std::time::Duration;

use crate::support::{KeepAlive, Load, Stage, PUBLIC, SITE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_swaps_under_keep_alive_load_fail_no_request() {
    let stage = Stage::start().await;
    let load = Load::start(stage.addr(), 4);
    for swap in 0..20 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        let (first, second) = if swap % 2 == 0 { ("blue", "green") } else { ("green", "blue") };
        stage.router.swap_environments(SITE, first, second).expect("swap the environments");
    }
    tokio::time::sleep(Duration::from_millis(60)).await;
    let total = load.stop().await;

    eprintln!("load during swaps: {} requests (v1 {}, v2 {})", total.v1 + total.v2, total.v1, total.v2);
    assert!(total.failures.is_empty(), "failed requests during swaps: {:?}", total.failures);
    assert!(total.v1 + total.v2 >= 200, "the load was too light to prove anything: {total:?}");
    assert!(total.v1 > 0 && total.v2 > 0, "both versions must have served production: {total:?}");

    // Twenty swaps bring production back to blue.
    let mut client = KeepAlive::connect(stage.addr()).await;
    assert_eq!(client.get(PUBLIC, "/").await.unwrap().body, "v1");
    let counters = stage.router.counters();
    let production = counters.addresses.iter().find(|a| a.address == PUBLIC).expect("production counters");
    assert_eq!(production.traffic.responses_5xx, 0);
}

#[tokio::test]
async fn a_swap_takes_effect_on_the_next_request_of_an_open_connection() {
    let stage = Stage::start().await;
    let mut client = KeepAlive::connect(stage.addr()).await;
    assert_eq!(client.get(PUBLIC, "/").await.unwrap().body, "v1");
    stage.router.swap_environments(SITE, "blue", "green").unwrap();
    assert_eq!(client.get(PUBLIC, "/").await.unwrap().body, "v2");
    assert_eq!(client.get(crate::support::TEST_ADDRESS, "/").await.unwrap().body, "v1");
}

#[tokio::test]
async fn a_request_in_flight_finishes_on_the_environment_it_started_on() {
    let stage = Stage::start().await;
    let addr = stage.addr();
    let slow = tokio::spawn(async move { crate::support::get_once(addr, PUBLIC, "/slow").await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    stage.router.swap_environments(SITE, "blue", "green").unwrap();
    assert_eq!(crate::support::get_once(addr, PUBLIC, "/").await.body, "v2");
    let slow = slow.await.unwrap();
    assert_eq!((slow.status.as_u16(), slow.body.as_str()), (200, "v1"));
}

#[tokio::test]
async fn the_backend_sees_the_public_host() {
    let stage = Stage::start().await;
    let answer = crate::support::get_once(stage.addr(), "SHOP.test:8080", "/").await;
    assert_eq!(answer.body, "v1");
    assert_eq!(answer.headers["x-seen-host"], "SHOP.test:8080");
}
