//! Traffic counters per environment and per public address, lock-free on the request path.
//!
//! Counters live in a registry outside the route table, so they keep counting across swaps
//! (Prometheus counters must never go down) and a compiled table just holds `Arc`s to them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::api::{AddressCounters, CountersSnapshot, EnvironmentCounters, LatencyHistogram, Traffic};

/// Upper bounds of the latency buckets, in seconds; one more bucket holds everything slower.
pub const LATENCY_BOUNDS_SECONDS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// What happened to one request, as far as the counters care.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome {
    pub status: u16,
    pub site_down: bool,
    pub elapsed: Duration,
}

#[derive(Debug, Default)]
pub(crate) struct TrafficCounters {
    requests: AtomicU64,
    responses_5xx: AtomicU64,
    site_down: AtomicU64,
    buckets: [AtomicU64; LATENCY_BOUNDS_SECONDS.len() + 1],
    sum_micros: AtomicU64,
}

impl TrafficCounters {
    pub(crate) fn record(&self, outcome: Outcome) {
        // Relaxed is enough: each counter is independent and a snapshot may be a moment stale.
        self.requests.fetch_add(1, Ordering::Relaxed);
        if outcome.status >= 500 {
            self.responses_5xx.fetch_add(1, Ordering::Relaxed);
        }
        if outcome.site_down {
            self.site_down.fetch_add(1, Ordering::Relaxed);
        }
        let seconds = outcome.elapsed.as_secs_f64();
        let bucket = LATENCY_BOUNDS_SECONDS.iter().position(|bound| seconds <= *bound).unwrap_or(LATENCY_BOUNDS_SECONDS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(outcome.elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Traffic {
        Traffic {
            requests: self.requests.load(Ordering::Relaxed),
            responses_5xx: self.responses_5xx.load(Ordering::Relaxed),
            site_down: self.site_down.load(Ordering::Relaxed),
            latency: LatencyHistogram {
                bounds_seconds: LATENCY_BOUNDS_SECONDS.to_vec(),
                counts: self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect(),
                sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
            },
        }
    }
}

type Key = (String, String);

/// Every counter the router has handed out, by (site, environment) and (site, address).
#[derive(Debug, Default)]
pub(crate) struct CounterRegistry {
    environments: Mutex<BTreeMap<Key, Arc<TrafficCounters>>>,
    addresses: Mutex<BTreeMap<Key, Arc<TrafficCounters>>>,
    unrouted: AtomicU64,
}

impl CounterRegistry {
    pub(crate) fn environment(&self, site: &str, environment: &str) -> Arc<TrafficCounters> {
        get_or_insert(&self.environments, site, environment)
    }

    pub(crate) fn address(&self, site: &str, address: &str) -> Arc<TrafficCounters> {
        get_or_insert(&self.addresses, site, address)
    }

    pub(crate) fn record_unrouted(&self) {
        self.unrouted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> CountersSnapshot {
        let environments = lock(&self.environments)
            .iter()
            .map(|((site, environment), c)| EnvironmentCounters {
                site: site.clone(),
                environment: environment.clone(),
                traffic: c.snapshot(),
            })
            .collect();
        let addresses = lock(&self.addresses)
            .iter()
            .map(|((site, address), c)| AddressCounters { site: site.clone(), address: address.clone(), traffic: c.snapshot() })
            .collect();
        CountersSnapshot { environments, addresses, unrouted: self.unrouted.load(Ordering::Relaxed) }
    }
}

fn get_or_insert(map: &Mutex<BTreeMap<Key, Arc<TrafficCounters>>>, site: &str, name: &str) -> Arc<TrafficCounters> {
    lock(map).entry((site.to_string(), name.to_string())).or_default().clone()
}

/// The maps only ever gain entries, so a panic elsewhere cannot leave them inconsistent.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_requests_5xx_site_down_and_latency() {
        let registry = CounterRegistry::default();
        let blue = registry.environment("shop", "blue");
        blue.record(Outcome { status: 200, site_down: false, elapsed: Duration::from_micros(300) });
        blue.record(Outcome { status: 502, site_down: false, elapsed: Duration::from_millis(20) });
        blue.record(Outcome { status: 503, site_down: true, elapsed: Duration::from_secs(60) });
        // The same key hands out the same counters, so a recompiled table keeps counting.
        assert!(Arc::ptr_eq(&blue, &registry.environment("shop", "blue")));
        registry.record_unrouted();

        let snapshot = registry.snapshot();
        let traffic = &snapshot.environments[0].traffic;
        assert_eq!((traffic.requests, traffic.responses_5xx, traffic.site_down), (3, 2, 1));
        assert_eq!(traffic.latency.counts[0], 1, "300 µs falls in the first bucket");
        assert_eq!(traffic.latency.counts[5], 1, "20 ms falls in the 25 ms bucket");
        assert_eq!(traffic.latency.counts[LATENCY_BOUNDS_SECONDS.len()], 1, "60 s is slower than every bound");
        assert!((traffic.latency.sum_seconds - 60.0203).abs() < 1e-9);
        assert_eq!(snapshot.unrouted, 1);
    }
}
