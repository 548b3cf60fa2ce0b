//! Test helpers: real backend servers on 127.0.0.1 that answer with their version, a
//! keep-alive client, and a router started on port 0 in front of two environments.

#![allow(dead_code)] // The bench includes this file too and uses only part of it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use switchyard_router::{Listening, RouteTable, Router, RouterConfig, SiteRoutes, Target};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub const SITE: &str = "shop";
pub const PUBLIC: &str = "shop.test";
pub const TEST_ADDRESS: &str = "test.shop.test";

/// A site's environment process stand-in: answers every request with its version.
/// `/slow` answers after 300 ms, `/fail` answers 500, `/echo-upgrade` switches to a protocol
/// that echoes every chunk back prefixed with the version (`v1:ping`).
pub struct Backend {
    pub addr: SocketAddr,
    pub version: &'static str,
    accept: JoinHandle<()>,
}

impl Backend {
    pub async fn start(version: &'static str) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a backend on 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(version, request));
                    let _ =
                        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).with_upgrades().await;
                });
            }
        });
        Backend { addr, version, accept }
    }

    /// Stops accepting; connections already open keep being served until their client leaves.
    pub fn stop(&self) {
        self.accept.abort();
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn answer(version: &'static str, mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let status = match request.uri().path() {
        "/echo-upgrade" if request.headers().contains_key(http::header::UPGRADE) => {
            let upgrade = hyper::upgrade::on(&mut request);
            tokio::spawn(echo_upgraded(version, upgrade));
            let mut response = Response::new(Full::default());
            *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            response.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("upgrade"));
            response.headers_mut().insert(http::header::UPGRADE, http::HeaderValue::from_static("echo"));
            return Ok(response);
        }
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            StatusCode::OK
        }
        "/fail" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::OK,
    };
    let mut response = Response::new(Full::new(Bytes::from_static(version.as_bytes())));
    *response.status_mut() = status;
    // Echo what the router told the backend about the client, for the tests to check.
    for (seen, echoed) in [("host", "x-seen-host"), ("x-forwarded-for", "x-seen-for"), ("x-forwarded-proto", "x-seen-proto")] {
        if let Some(value) = request.headers().get(seen) {
            response.headers_mut().insert(echoed, value.clone());
        }
    }
    Ok(response)
}

async fn echo_upgraded(version: &'static str, upgrade: hyper::upgrade::OnUpgrade) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(upgraded) = upgrade.await else { return };
    let mut io = TokioIo::new(upgraded);
    let mut chunk = [0u8; 1024];
    while let Ok(read) = io.read(&mut chunk).await {
        if read == 0 {
            return;
        }
        let echo = [format!("{version}:").as_bytes(), &chunk[..read]].concat();
        if io.write_all(&echo).await.is_err() {
            return;
        }
    }
}

/// The answer a client got.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

/// One keep-alive HTTP/1.1 connection; every request reuses it, so a reset shows up as an error.
pub struct KeepAlive {
    sender: SendRequest<Full<Bytes>>,
    connection: JoinHandle<()>,
}

impl KeepAlive {
    pub async fn connect(addr: SocketAddr) -> KeepAlive {
        let stream = TcpStream::connect(addr).await.expect("connect to the router");
        let _ = stream.set_nodelay(true);
        KeepAlive::over(stream).await
    }

    /// A client over any byte stream (an in-memory pipe in tests of `serve_connection`).
    pub async fn over<S>(stream: S) -> KeepAlive
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("HTTP/1.1 handshake with the router");
        let connection = tokio::spawn(async move {
            let _ = connection.await;
        });
        KeepAlive { sender, connection }
    }

    pub async fn get(&mut self, host: &str, path: &str) -> Result<Answer, String> {
        self.send(Request::get(path).header(http::header::HOST, host).body(Full::default()).unwrap()).await
    }

    pub async fn post(&mut self, host: &str, path: &str, body: &'static str) -> Result<Answer, String> {
        let request = Request::post(path).header(http::header::HOST, host).body(Full::new(Bytes::from_static(body.as_bytes())));
        self.send(request.unwrap()).await
    }

    async fn send(&mut self, request: Request<Full<Bytes>>) -> Result<Answer, String> {
        let (host, path) = (request.headers()[http::header::HOST].clone(), request.uri().clone());
        let host = host.to_str().unwrap_or_default().to_string();
        self.sender.ready().await.map_err(|e| format!("connection not ready: {e}"))?;
        let response = self.sender.send_request(request).await.map_err(|e| format!("{host}{path}: {e}"))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.map_err(|e| format!("body of {host}{path}: {e}"))?.to_bytes();
        Ok(Answer { status, headers, body: String::from_utf8_lossy(&body).into_owned() })
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// Load from a second task: a few workers, each with one keep-alive connection for the whole
/// run (so a reset fails every later request), sending GETs to production until stopped.
/// Bounded by `stop`, and by a request count and a time limit in case a test never calls it.
pub struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    workers: Vec<JoinHandle<LoadReport>>,
}

/// What the load saw: answers per version, and every failure in full.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub v1: usize,
    pub v2: usize,
    pub failures: Vec<String>,
}

impl Load {
    const MAX_REQUESTS_PER_WORKER: usize = 20_000;
    const MAX_TIME: Duration = Duration::from_secs(20);

    pub fn start(addr: SocketAddr, workers: usize) -> Load {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let workers = (0..workers)
            .map(|_| {
                let stop = stop.clone();
                tokio::spawn(async move {
                    let mut client = KeepAlive::connect(addr).await;
                    let mut report = LoadReport::default();
                    let started = std::time::Instant::now();
                    for _ in 0..Load::MAX_REQUESTS_PER_WORKER {
                        if stop.load(std::sync::atomic::Ordering::Relaxed) || started.elapsed() > Load::MAX_TIME {
                            break;
                        }
                        match client.get(PUBLIC, "/").await {
                            Ok(answer) if answer.status == 200 && answer.body == "v1" => report.v1 += 1,
                            Ok(answer) if answer.status == 200 && answer.body == "v2" => report.v2 += 1,
                            Ok(answer) => report.failures.push(format!("{} {:?}", answer.status, answer.body)),
                            Err(error) => {
                                report.failures.push(error);
                                break;
                            }
                        }
                    }
                    report
                })
            })
            .collect();
        Load { stop, workers }
    }

    pub async fn stop(self) -> LoadReport {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut total = LoadReport::default();
        for worker in self.workers {
            let report = worker.await.expect("a load worker panicked");
            total.v1 += report.v1;
            total.v2 += report.v2;
            total.failures.extend(report.failures);
        }
        total
    }
}

/// One request on a fresh connection.
pub async fn get_once(addr: SocketAddr, host: &str, path: &str) -> Answer {
    KeepAlive::connect(addr).await.get(host, path).await.expect("request through the router")
}

/// Site `shop` with environments blue and green: production `shop.test` on blue, the test
/// address `test.shop.test` on green.
pub fn shop_table(blue: SocketAddr, green: SocketAddr) -> RouteTable {
    let mut site = SiteRoutes::default();
    site.environments.insert("blue".into(), blue);
    site.environments.insert("green".into(), green);
    site.addresses.insert(PUBLIC.into(), Target::environment("blue"));
    site.addresses.insert(TEST_ADDRESS.into(), Target::environment("green"));
    let mut table = RouteTable::default();
    table.sites.insert(SITE.into(), site);
    table
}

/// Two versions of the site, and a router on 127.0.0.1 in front of them.
pub struct Stage {
    pub blue: Backend,
    pub green: Backend,
    pub router: Router,
    pub listening: Listening,
}

impl Stage {
    pub async fn start() -> Stage {
        Stage::start_with(RouterConfig::default()).await
    }

    pub async fn start_with(config: RouterConfig) -> Stage {
        let blue = Backend::start("v1").await;
        let green = Backend::start("v2").await;
        let router = Router::new(config);
        router.set_table(shop_table(blue.addr, green.addr)).expect("the shop table is valid");
        let listening = router.bind("127.0.0.1:0".parse().unwrap()).await.expect("bind the router");
        Stage { blue, green, router, listening }
    }

    pub fn addr(&self) -> SocketAddr {
        self.listening.local_addr()
    }
}

/// A backend that answers the first request on each connection, then drops the connection
/// without answering the second: the race of a backend closing an idle keep-alive connection
/// just as the proxy reuses it, made deterministic.
pub struct OneShotBackend {
    pub addr: SocketAddr,
    accept: JoinHandle<()>,
}

impl OneShotBackend {
    pub async fn start(version: &'static str) -> OneShotBackend {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a backend on 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else { continue };
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let mut requests_seen = 0;
                    while let Ok(read) = stream.read(&mut chunk).await {
                        if read == 0 {
                            return;
                        }
                        buffer.extend_from_slice(&chunk[..read]);
                        while let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            buffer.drain(..end + 4);
                            requests_seen += 1;
                            if requests_seen > 1 {
                                return; // Dropping the stream closes it mid-exchange.
                            }
                            let answer = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{version}", version.len());
                            if stream.write_all(answer.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        OneShotBackend { addr, accept }
    }
}

impl Drop for OneShotBackend {
    fn drop(&mut self) {
        self.accept.abort();
    }
}
