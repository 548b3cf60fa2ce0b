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
    let (mut maintenance, mut hold, mut moved) = (false, false, false);
    let mut down_since: Option<DateTime<Utc>> = None;
    let mut total = 0;
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
                total += (at - since).num_milliseconds().max(0);
                down_since = None;
            }
            _ => {}
        }
    }
    total
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
}
