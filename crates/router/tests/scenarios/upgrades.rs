//! Protocol upgrades (WebSocket-style) pass through, and an upgraded connection stays on its backend.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{get_once, Stage, PUBLIC, SITE};

async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).await.unwrap(), 1, "connection closed inside the head: {head:?}");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

async fn echo(stream: &mut TcpStream, message: &[u8]) -> String {
    stream.write_all(message).await.unwrap();
    let mut answer = vec![0u8; message.len() + 3];
    stream.read_exact(&mut answer).await.unwrap();
    String::from_utf8(answer).unwrap()
}

#[tokio::test]
async fn an_upgraded_connection_stays_on_its_backend_across_a_swap() {
    let stage = Stage::start().await;
    let mut stream = TcpStream::connect(stage.addr()).await.unwrap();
    stream.write_all(b"GET /echo-upgrade HTTP/1.1\r\nHost: shop.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n").await.unwrap();
    let head = read_head(&mut stream).await.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: echo") && head.contains("connection: upgrade"), "{head}");
    assert_eq!(echo(&mut stream, b"ping").await, "v1:ping");

    stage.router.swap_environments(SITE, "blue", "green").unwrap();
    assert_eq!(echo(&mut stream, b"pong").await, "v1:pong", "the tunnel stays on the backend it opened to");
    assert_eq!(get_once(stage.addr(), PUBLIC, "/").await.body, "v2", "new requests follow the swap");
}
