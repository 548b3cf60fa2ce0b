//! Renders a counters snapshot in the Prometheus text exposition format (version 0.0.4).

use std::fmt::Write;

use crate::api::{CountersSnapshot, Traffic};

/// The `Content-Type` to serve [`render`]'s output with.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Environment and address series get their own metric names, because one metric name with
/// two different label sets confuses aggregation (`sum by (site)` would count requests twice).
pub fn render(snapshot: &CountersSnapshot) -> String {
    let mut out = String::new();
    let environments: Vec<(String, &Traffic)> = snapshot
        .environments
        .iter()
        .map(|e| (format!("site=\"{}\",environment=\"{}\"", escape(&e.site), escape(&e.environment)), &e.traffic))
        .collect();
    let addresses: Vec<(String, &Traffic)> = snapshot
        .addresses
        .iter()
        .map(|a| (format!("site=\"{}\",address=\"{}\"", escape(&a.site), escape(&a.address)), &a.traffic))
        .collect();
    family(&mut out, "switchyard_router_environment", "proxied to an environment", &environments);
    family(&mut out, "switchyard_router_address", "answered for a public address", &addresses);
    let _ = writeln!(out, "# HELP switchyard_router_unrouted_requests_total Requests whose host matched no address.");
    let _ = writeln!(out, "# TYPE switchyard_router_unrouted_requests_total counter");
    let _ = writeln!(out, "switchyard_router_unrouted_requests_total {}", snapshot.unrouted);
    out
}

/// A counter metric: name suffix, help text, and how to read it from a snapshot.
type CounterMetric = (&'static str, &'static str, fn(&Traffic) -> u64);

fn family(out: &mut String, prefix: &str, what: &str, series: &[(String, &Traffic)]) {
    let counters: [CounterMetric; 3] = [
        ("requests_total", "Requests", |t| t.requests),
        ("responses_5xx_total", "5xx responses to requests", |t| t.responses_5xx),
        ("site_down_total", "Site-down pages served for requests", |t| t.site_down),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(out, "# HELP {prefix}_{name} {help} {what}.");
        let _ = writeln!(out, "# TYPE {prefix}_{name} counter");
        for (labels, traffic) in series {
            let _ = writeln!(out, "{prefix}_{name}{{{labels}}} {}", value(traffic));
        }
    }
    let metric = format!("{prefix}_request_duration_seconds");
    let _ = writeln!(out, "# HELP {metric} Time to response headers of requests {what}.");
    let _ = writeln!(out, "# TYPE {metric} histogram");
    for (labels, traffic) in series {
        let latency = &traffic.latency;
        // The snapshot keeps per-bucket counts; Prometheus buckets are cumulative.
        let mut cumulative = 0u64;
        for (bound, count) in latency.bounds_seconds.iter().zip(&latency.counts) {
            cumulative += count;
            let _ = writeln!(out, "{metric}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let total: u64 = latency.counts.iter().sum();
        let _ = writeln!(out, "{metric}_bucket{{{labels},le=\"+Inf\"}} {total}");
        let _ = writeln!(out, "{metric}_sum{{{labels}}} {}", latency.sum_seconds);
        let _ = writeln!(out, "{metric}_count{{{labels}}} {total}");
    }
}

/// Label values escape backslash, double quote and newline, as the format requires.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{EnvironmentCounters, LatencyHistogram};

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let snapshot = CountersSnapshot {
            environments: vec![EnvironmentCounters {
                site: "shop".into(),
                environment: "bl\"ue".into(),
                traffic: Traffic {
                    requests: 5,
                    responses_5xx: 1,
                    site_down: 0,
                    latency: LatencyHistogram { bounds_seconds: vec![0.01, 0.1], counts: vec![3, 1, 1], sum_seconds: 0.5 },
                },
            }],
            addresses: vec![],
            unrouted: 2,
        };
        let text = render(&snapshot);
        let labels = r#"site="shop",environment="bl\"ue""#;
        for line in [
            format!("switchyard_router_environment_requests_total{{{labels}}} 5"),
            format!("switchyard_router_environment_responses_5xx_total{{{labels}}} 1"),
            format!("switchyard_router_environment_request_duration_seconds_bucket{{{labels},le=\"0.01\"}} 3"),
            format!("switchyard_router_environment_request_duration_seconds_bucket{{{labels},le=\"0.1\"}} 4"),
            format!("switchyard_router_environment_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 5"),
            format!("switchyard_router_environment_request_duration_seconds_count{{{labels}}} 5"),
            "switchyard_router_unrouted_requests_total 2".to_string(),
            "# TYPE switchyard_router_address_requests_total counter".to_string(),
        ] {
            assert!(text.lines().any(|l| l == line), "missing line {line:?} in:\n{text}");
        }
    }
}
