//! A second opinion on throughput from Debian's `wrk`, a C load generator, when it is installed.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

/// What one wrk run reported.
#[derive(Debug)]
pub struct WrkReport {
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Socket errors (connect, read, write, timeout) plus non-2xx answers.
    pub errors: u64,
}

pub fn installed() -> bool {
    Command::new("wrk").arg("--version").output().is_ok()
}

pub fn run(addr: SocketAddr, host: &str, connections: usize, duration: Duration) -> Result<WrkReport, String> {
    let seconds = duration.as_secs().max(1);
    let output = Command::new("wrk")
        .args(["-t2", &format!("-c{connections}"), &format!("-d{seconds}s"), "--latency", "-H"])
        .arg(format!("Host: {host}"))
        .arg(format!("http://{addr}/"))
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    parse(&text).ok_or_else(|| format!("cannot read wrk's report:\n{text}"))
}

fn parse(text: &str) -> Option<WrkReport> {
    let mut report = WrkReport { requests_per_second: 0.0, p50_ms: 0.0, p99_ms: 0.0, errors: 0 };
    for line in text.lines().map(str::trim) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["Requests/sec:", value] => report.requests_per_second = value.parse().ok()?,
            ["50%", value] => report.p50_ms = millis(value)?,
            ["99%", value] => report.p99_ms = millis(value)?,
            ["Non-2xx", "or", "3xx", "responses:", count] => report.errors += count.parse::<u64>().ok()?,
            ["Socket", "errors:", rest @ ..] => {
                // "Socket errors: connect 0, read 12, write 0, timeout 0"
                report.errors += rest.iter().filter_map(|f| f.trim_end_matches(',').parse::<u64>().ok()).sum::<u64>();
            }
            _ => {}
        }
    }
    (report.requests_per_second > 0.0).then_some(report)
}

/// wrk prints `812.00us`, `1.23ms` or `2.01s`.
fn millis(value: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = value.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = value.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = value.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}
