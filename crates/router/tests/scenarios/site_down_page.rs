//! The site-down page: maintenance, a production moved to a temporary address, a dead or slow backend.

use switchyard_router::site_down::DEFAULT_PAGE;
use switchyard_router::SiteDownPage;

use crate::support::{get_once, Stage, PUBLIC, SITE};

#[tokio::test]
async fn maintenance_serves_the_site_down_page_with_503_and_retry_after() {
    let stage = Stage::start().await;
    stage.router.set_maintenance(SITE, true, None).unwrap();
    let answer = get_once(stage.addr(), PUBLIC, "/any/page").await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.headers["retry-after"], "30");
    assert_eq!(answer.headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(answer.body, DEFAULT_PAGE);

    // A site's own page and retry hint replace the default.
    let page = SiteDownPage { html: Some("<h1>Shop is patching</h1>".into()), retry_after_secs: 120 };
    stage.router.set_maintenance(SITE, true, Some(page)).unwrap();
    let answer = get_once(stage.addr(), crate::support::TEST_ADDRESS, "/").await;
    assert_eq!((answer.status.as_u16(), answer.body.as_str()), (503, "<h1>Shop is patching</h1>"));
    assert_eq!(answer.headers["retry-after"], "120");

    stage.router.set_maintenance(SITE, false, None).unwrap();
    assert_eq!(get_once(stage.addr(), PUBLIC, "/").await.body, "v1");

    let counters = stage.router.counters();
    let production = counters.addresses.iter().find(|a| a.address == PUBLIC).unwrap();
    assert_eq!((production.traffic.requests, production.traffic.site_down), (2, 1));
}

#[tokio::test]
async fn production_at_a_temporary_address_then_routed_back() {
    let stage = Stage::start().await;
    let temporary = "tmp.shop.test";
    stage.router.move_to_temporary_address(SITE, PUBLIC, temporary).unwrap();
    let public = get_once(stage.addr(), PUBLIC, "/").await;
    assert_eq!((public.status.as_u16(), public.headers["retry-after"].to_str().unwrap()), (503, "30"));
    assert_eq!(get_once(stage.addr(), temporary, "/").await.body, "v1", "the customer tests production here");

    stage.router.route_back(SITE, temporary, PUBLIC).unwrap();
    assert_eq!(get_once(stage.addr(), PUBLIC, "/").await.body, "v1");
    assert_eq!(get_once(stage.addr(), temporary, "/").await.status, 404, "the temporary address is gone");
}

#[tokio::test]
async fn a_dead_backend_gets_the_page_with_502_not_a_reset() {
    let stage = Stage::start().await;
    // Bind and drop a port so nothing listens there.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut table = stage.router.table();
    table.sites.get_mut(SITE).unwrap().environments.insert("blue".into(), dead);
    stage.router.set_table(table).unwrap();

    let answer = get_once(stage.addr(), PUBLIC, "/").await;
    assert_eq!(answer.status, 502);
    assert!(answer.headers.get("retry-after").is_none());
    assert_eq!(answer.body, DEFAULT_PAGE);
    let counters = stage.router.counters();
    let blue = counters.environments.iter().find(|e| e.environment == "blue").unwrap();
    assert_eq!((blue.traffic.requests, blue.traffic.responses_5xx), (1, 1));
}

#[tokio::test]
async fn a_backend_too_slow_to_answer_gets_the_page_with_504() {
    let config = switchyard_router::RouterConfig { upstream_response_timeout: std::time::Duration::from_millis(100), ..Default::default() };
    let stage = Stage::start_with(config).await;
    let answer = get_once(stage.addr(), PUBLIC, "/slow").await;
    assert_eq!(answer.status, 504);
    assert_eq!(answer.body, DEFAULT_PAGE);
    assert_eq!(get_once(stage.addr(), PUBLIC, "/").await.body, "v1", "fast pages still work");
}
