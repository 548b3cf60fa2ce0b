//! Measured downtime of a release: how long its public address served the site-down page or
//! held requests, from the journal's timestamps of the commands that switched them, and how
//! many requests failed, from the router's counters.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchyard_core::workflow::Command;
use switchyard_router::CountersSnapshot;

/// The public address's counters when the release was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressBaseline {
    pub responses_5xx: u64,
    pub site_down: u64,
}

impl AddressBaseline {
    pub fn read(snapshot: &CountersSnapshot, site: &str, address: &str) -> AddressBaseline {
        snapshot.addresses.iter().filter(|a| a.site == site && a.address == address).fold(AddressBaseline::default(), |sum, a| {
            AddressBaseline { responses_5xx: sum.responses_5xx + a.traffic.responses_5xx, site_down: sum.site_down + a.traffic.site_down }
        })
    }

    /// Requests answered with a 5xx (site-down pages included) since the baseline. A router
    /// restart resets its counters; then only what it counted since is known.
    pub fn failed_since(self, now: AddressBaseline) -> u64 {
        now.responses_5xx.saturating_sub(self.responses_5xx).max(now.site_down.saturating_sub(self.site_down))
    }
}

/// Milliseconds during which the site-down page, held requests or a temporary address stood
/// in for the public address, given `(when the command was journaled, the command)` in order.
/// Journaling comes right before sending, so each interval is the one the engine caused.
pub fn downtime_ms<'a>(commands: impl IntoIterator<Item = (DateTime<Utc>, &'a Command)>) -> i64 {
    split_outage(commands, None).0.downtime_ms
}

/// One part of a release as the public address lived it: milliseconds it did not serve
/// normally, and the part of those it held requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outage {
    pub downtime_ms: i64,
    pub held_ms: i64,
}

/// The production run's outage and, when a rollback began at `rollback_from`, the rollback's:
/// every interval the site-down page, held requests or a temporary address stood in for the
/// public address is cut at the rollback's start, each side counted for its own part.
pub fn split_outage<'a>(
    commands: impl IntoIterator<Item = (DateTime<Utc>, &'a Command)>,
    rollback_from: Option<DateTime<Utc>>,
) -> (Outage, Option<Outage>) {
    let (mut maintenance, mut hold, mut moved) = (false, false, false);
    let (mut down_since, mut held_since): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = (None, None);
    let (mut run, mut rollback) = (Outage::default(), Outage::default());
    // Adds [from, to) to whichever part each piece of it belongs to.
    let add = |from: DateTime<Utc>, to: DateTime<Utc>, run: &mut i64, rollback: &mut i64| {
        let cut = rollback_from.unwrap_or(to).clamp(from, to);
        *run += (cut - from).num_milliseconds().max(0);
        *rollback += (to - cut).num_milliseconds().max(0);
    };
    for (at, command) in commands {
        match command {
            Command::Maintenance { on } => maintenance = *on,
            Command::Hold { on } => hold = *on,
            Command::MoveToTemporaryAddress { .. } => moved = true,
            Command::ReturnFromTemporaryAddress { .. } => moved = false,
            _ => continue,
        }
        let down = maintenance || hold || moved;
        match (down, down_since) {
            (true, None) => down_since = Some(at),
            (false, Some(since)) => {
                add(since, at, &mut run.downtime_ms, &mut rollback.downtime_ms);
                down_since = None;
            }
            _ => {}
        }
        match (hold, held_since) {
            (true, None) => held_since = Some(at),
            (false, Some(since)) => {
                add(since, at, &mut run.held_ms, &mut rollback.held_ms);
                held_since = None;
            }
            _ => {}
        }
    }
    (run, rollback_from.map(|_| rollback))
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_core::workflow::Env;

    #[test]
    fn overlapping_switches_count_once() {
        let t = |ms: i64| DateTime::<Utc>::from_timestamp_millis(1_000_000 + ms).unwrap();
        let swap = Command::SwapAddresses;
        let commands = [
            (t(0), Command::Hold { on: true }),
            (t(100), swap.clone()),
            (t(400), Command::Hold { on: false }),
            (t(1000), Command::Maintenance { on: true }),
            (t(1500), Command::MoveToTemporaryAddress { env: Env::Production }),
            (t(2000), Command::Maintenance { on: false }),
            (t(3000), Command::ReturnFromTemporaryAddress { env: Env::Production }),
        ];
        assert_eq!(downtime_ms(commands.iter().map(|(at, c)| (*at, c))), 400 + 2000);
        let before = AddressBaseline { responses_5xx: 3, site_down: 1 };
        assert_eq!(before.failed_since(AddressBaseline { responses_5xx: 10, site_down: 5 }), 7);
        assert_eq!(before.failed_since(AddressBaseline::default()), 0, "a restarted router counts from zero");
    }

    #[test]
    fn a_rollback_is_measured_apart_from_the_run() {
        let t = |ms: i64| DateTime::<Utc>::from_timestamp_millis(1_000_000 + ms).unwrap();
        let commands = [
            (t(0), Command::Hold { on: true }),
            (t(300), Command::Hold { on: false }),
            (t(1000), Command::Maintenance { on: true }),
            // The rollback begins at 1200 with the page still on, and holds requests later.
            (t(1500), Command::Maintenance { on: false }),
            (t(2000), Command::Hold { on: true }),
            (t(2100), Command::Hold { on: false }),
        ];
        let (run, rollback) = split_outage(commands.iter().map(|(at, c)| (*at, c)), Some(t(1200)));
        assert_eq!(run, Outage { downtime_ms: 300 + 200, held_ms: 300 });
        assert_eq!(rollback, Some(Outage { downtime_ms: 300 + 100, held_ms: 100 }));
        let (whole, none) = split_outage(commands.iter().map(|(at, c)| (*at, c)), None);
        assert_eq!((whole.downtime_ms, whole.held_ms, none), (900, 400, None));
    }
}
