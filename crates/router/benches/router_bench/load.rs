//! Bench load: keep-alive HTTP/1.1 connections, closed-loop or paced, bounded in time and count.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A backstop so no connection loops forever even if the clock misbehaves.
const MAX_REQUESTS_PER_CONNECTION: u64 = 10_000_000;

#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub connections: usize,
    pub duration: Duration,
    /// Total requests per second over all connections; `None` sends as fast as answers come.
    pub rate: Option<f64>,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub ok: u64,
    /// Transport errors (reset, closed mid-request) and non-2xx answers.
    pub failed: u64,
    pub v1: u64,
    pub v2: u64,
    pub latencies_us: Vec<u32>,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn requests_per_second(&self) -> f64 {
        (self.ok + self.failed) as f64 / self.elapsed.as_secs_f64()
    }

    /// Latency at `quantile` (0..=1) in milliseconds; `latencies_us` must be sorted.
    pub fn percentile_ms(&self, quantile: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies_us.len() - 1) as f64 * quantile).round() as usize;
        f64::from(self.latencies_us[index]) / 1000.0
    }

    fn merge(&mut self, other: Outcome) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.v1 += other.v1;
        self.v2 += other.v2;
        self.latencies_us.extend(other.latencies_us);
    }
}

pub async fn run(addr: SocketAddr, host: &'static str, load: Load) -> Outcome {
    let started = Instant::now();
    let deadline = started + load.duration;
    let interval = load.rate.map(|rate| Duration::from_secs_f64(load.connections as f64 / rate));
    let workers: Vec<_> = (0..load.connections)
        .map(|index| {
            // Stagger paced connections so the rate is smooth, not bursts of `connections`.
            let offset = interval.map_or(Duration::ZERO, |i| i.mul_f64(index as f64 / load.connections as f64));
            tokio::spawn(connection(addr, host, deadline, interval, offset))
        })
        .collect();
    let mut total = Outcome::default();
    for worker in workers {
        total.merge(worker.await.expect("a load connection panicked"));
    }
    total.elapsed = started.elapsed();
    total.latencies_us.sort_unstable();
    total
}

async fn connection(addr: SocketAddr, host: &'static str, deadline: Instant, interval: Option<Duration>, offset: Duration) -> Outcome {
    let mut outcome = Outcome::default();
    let mut sender: Option<SendRequest<Empty<Bytes>>> = None;
    let mut next_send = Instant::now() + offset;
    for _ in 0..MAX_REQUESTS_PER_CONNECTION {
        if let Some(interval) = interval {
            tokio::time::sleep_until(next_send.into()).await;
            next_send += interval;
        }
        if Instant::now() >= deadline {
            break;
        }
        let current = match sender.as_mut() {
            Some(current) => current,
            None => match connect(addr).await {
                Ok(fresh) => sender.insert(fresh),
                Err(_) => {
                    outcome.failed += 1;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                }
            },
        };
        let sent = Instant::now();
        match get(current, host).await {
            Ok(body) => {
                outcome.ok += 1;
                outcome.latencies_us.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                match &body[..] {
                    b"v1" => outcome.v1 += 1,
                    b"v2" => outcome.v2 += 1,
                    _ => {}
                }
            }
            Err(_) => {
                outcome.failed += 1;
                // A failed connection is replaced, as a browser or wrk would.
                sender = None;
            }
        }
    }
    outcome
}

pub async fn connect(addr: SocketAddr) -> Result<SendRequest<Empty<Bytes>>, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// One GET; a non-2xx answer counts as an error, like wrk's "Non-2xx responses".
pub async fn get(sender: &mut SendRequest<Empty<Bytes>>, host: &str) -> Result<Bytes, String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let request = Request::get("/").header(http::header::HOST, host).body(Empty::new()).expect("a valid request");
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("status {status}"))
    }
}

/// Time from the start of `swap` until a request answered by `expected`, on a connection that
/// was open (and warm) before the swap. Bounded by `limit`.
pub async fn time_to_new_environment(
    addr: SocketAddr,
    host: &str,
    expected: &[u8],
    limit: Duration,
    swap: &mut dyn FnMut(),
) -> Option<Duration> {
    let mut sender = connect(addr).await.ok()?;
    get(&mut sender, host).await.ok()?;
    let started = Instant::now();
    swap();
    while started.elapsed() < limit {
        match get(&mut sender, host).await {
            Ok(body) if body == expected => return Some(started.elapsed()),
            Ok(_) => {}
            Err(_) => sender = connect(addr).await.ok()?,
        }
    }
    None
}
