//! Hold mode: requests wait through a cutover and reach the new environment, or get the page on timeout.

use std::time::{Duration, Instant};

use crate::support::{get_once, Stage, PUBLIC, SITE};

#[tokio::test]
async fn held_requests_are_delivered_to_the_new_environment() {
    let stage = Stage::start().await;
    stage.router.begin_hold(SITE, Duration::from_secs(10)).unwrap();
    let held: Vec<_> = (0..8)
        .map(|_| {
            let addr = stage.addr();
            tokio::spawn(async move { get_once(addr, PUBLIC, "/").await })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(held.iter().all(|h| !h.is_finished()), "requests must wait while the site is held");
    // The swap itself does not end the hold: the cutover decides when traffic flows again.
    stage.router.swap_environments(SITE, "blue", "green").unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(held.iter().all(|h| !h.is_finished()), "the swap alone must not release held requests");

    let released = Instant::now();
    stage.router.end_hold(SITE).unwrap();
    for request in held {
        let answer = tokio::time::timeout(Duration::from_secs(5), request).await.expect("released promptly").unwrap();
        assert_eq!((answer.status.as_u16(), answer.body.as_str()), (200, "v2"));
    }
    // Well inside the 10 s hold: ending the hold releases at once, not when the hold runs out.
    assert!(released.elapsed() < Duration::from_secs(8), "release took {:?}", released.elapsed());
}

#[tokio::test]
async fn a_hold_that_times_out_serves_the_site_down_page() {
    let stage = Stage::start().await;
    let started = Instant::now();
    stage.router.begin_hold(SITE, Duration::from_millis(1_000)).unwrap();
    let answer = get_once(stage.addr(), PUBLIC, "/").await;
    let waited = started.elapsed();
    assert_eq!(answer.status, 503);
    assert_eq!(answer.headers["retry-after"], "30");
    assert!(waited >= Duration::from_millis(1_000), "answered after {waited:?}, before the hold ran out");

    // While the expired hold stays on, requests get the page without waiting a second hold out.
    let again = Instant::now();
    assert_eq!(get_once(stage.addr(), PUBLIC, "/").await.status, 503);
    assert!(again.elapsed() < Duration::from_millis(1_000), "waited {:?} again", again.elapsed());

    stage.router.end_hold(SITE).unwrap();
    assert_eq!(get_once(stage.addr(), PUBLIC, "/").await.body, "v1");
}

#[tokio::test]
async fn a_hold_on_one_site_leaves_other_sites_flowing() {
    let stage = Stage::start().await;
    let mut table = stage.router.table();
    let mut blog = table.sites[SITE].clone();
    blog.addresses.clear();
    blog.addresses.insert("blog.test".into(), switchyard_router::Target::environment("green"));
    table.sites.insert("blog".into(), blog);
    stage.router.set_table(table).unwrap();

    stage.router.begin_hold(SITE, Duration::from_secs(10)).unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(2), get_once(stage.addr(), "blog.test", "/")).await;
    assert_eq!(answer.expect("blog is not held").body, "v2");
    stage.router.end_hold(SITE).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_cutover_under_load_fails_no_request() {
    let stage = Stage::start().await;
    let load = crate::support::Load::start(stage.addr(), 4);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The cutover as the engine runs it: hold, swap (data sync would happen here), release.
    stage.router.begin_hold(SITE, Duration::from_secs(5)).unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    stage.router.swap_environments(SITE, "blue", "green").unwrap();
    stage.router.end_hold(SITE).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let report = load.stop().await;

    assert!(report.failures.is_empty(), "failed requests during the cutover: {:?}", report.failures);
    assert!(report.v1 > 0 && report.v2 > 0, "traffic before and after the cutover: {report:?}");
    let counters = stage.router.counters();
    let production = counters.addresses.iter().find(|a| a.address == PUBLIC).unwrap();
    assert_eq!(production.traffic.site_down, 0, "no request waited past the hold");
    // Held requests count their wait in the latency histogram, above the 100 ms bound.
    let slow: u64 = production.traffic.latency.counts[8..].iter().sum();
    assert!(slow >= 1, "the held requests waited about 150 ms: {:?}", production.traffic.latency);
}
