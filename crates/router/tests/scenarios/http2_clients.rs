//! Clients speaking HTTP/2 (prior knowledge, no TLS) are routed by `:authority` like HTTP/1.1 ones by Host.

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::support::{Stage, SITE};

#[tokio::test]
async fn an_h2c_client_is_routed_by_authority_and_follows_a_swap() {
    let stage = Stage::start().await;
    let stream = tokio::net::TcpStream::connect(stage.addr()).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.expect("h2c handshake");
    tokio::spawn(connection);

    for expected in ["v1", "v2"] {
        let request = Request::get("http://shop.test/").body(Empty::<Bytes>::new()).unwrap();
        let response = sender.send_request(request).await.expect("an HTTP/2 answer");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-seen-host"], "shop.test", "the backend sees the public host");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, expected.as_bytes());
        stage.router.swap_environments(SITE, "blue", "green").unwrap();
    }
}
