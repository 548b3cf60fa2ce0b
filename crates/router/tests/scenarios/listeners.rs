//! Listeners: several share one table, shutting one down lets its open requests finish, and a
//! connection accepted elsewhere (after TLS) can be handed over.

use std::time::Duration;

use switchyard_router::ClientConnection;

use crate::support::{get_once, KeepAlive, Stage, PUBLIC, SITE};

#[tokio::test]
async fn every_listener_follows_the_same_table() {
    let stage = Stage::start().await;
    let second = stage.router.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    assert_eq!(get_once(second.local_addr(), PUBLIC, "/").await.body, "v1");
    stage.router.swap_environments(SITE, "blue", "green").unwrap();
    assert_eq!(get_once(stage.addr(), PUBLIC, "/").await.body, "v2");
    assert_eq!(get_once(second.local_addr(), PUBLIC, "/").await.body, "v2");
    second.shutdown().await;
}

#[tokio::test]
async fn shutdown_lets_open_requests_finish_and_refuses_new_connections() {
    let stage = Stage::start().await;
    let addr = stage.addr();
    let slow = tokio::spawn(async move { get_once(addr, PUBLIC, "/slow").await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    tokio::time::timeout(Duration::from_secs(5), stage.listening.shutdown()).await.expect("shutdown drains in time");
    let slow = slow.await.unwrap();
    assert_eq!((slow.status.as_u16(), slow.body.as_str()), (200, "v1"));
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the listener is closed");
}

#[tokio::test]
async fn a_connection_handed_over_after_tls_is_marked_https() {
    let stage = Stage::start().await;
    let (client_end, router_end) = tokio::io::duplex(64 * 1024);
    let peer = "127.0.0.1:40000".parse().unwrap();
    let router = stage.router.clone();
    tokio::spawn(async move { router.serve_connection(router_end, ClientConnection { peer, tls: true }).await });

    let mut client = KeepAlive::over(client_end).await;
    let answer = client.get(PUBLIC, "/").await.unwrap();
    assert_eq!(answer.body, "v1");
    assert_eq!(answer.headers["x-seen-proto"], "https");
    assert_eq!(answer.headers["x-seen-for"], "127.0.0.1");

    let plain = get_once(stage.addr(), PUBLIC, "/").await;
    assert_eq!(plain.headers["x-seen-proto"], "http");
}
