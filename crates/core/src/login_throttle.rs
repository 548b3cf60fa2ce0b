//! When someone may try to log in again: the rule behind per-account and per-address login
//! throttling, as plain arithmetic on millisecond timestamps so it is tested without clocks.
//!
//! The first few failures cost nothing; after that each further try must wait a delay that
//! doubles with every failure; a try made while asked to wait counts as a failure too (a person
//! retrying by hand rarely hits it, a script always does). Enough failures within the window
//! lock the account or address out for a while.

/// The numbers of the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures within the window that ask for no delay.
    pub free_failures: usize,
    /// Failures within the window that start a lockout.
    pub lockout_after: usize,
    pub window_ms: i64,
    pub lockout_ms: i64,
    pub first_delay_ms: i64,
    pub max_delay_ms: i64,
}

/// Three free tries, then 1 s, 2 s, 4 s … (at most 30 s) between tries, and after 10 failures
/// within 15 minutes a 15-minute lockout.
pub const LOGIN_POLICY: ThrottlePolicy = ThrottlePolicy {
    free_failures: 3,
    lockout_after: 10,
    window_ms: 15 * 60 * 1000,
    lockout_ms: 15 * 60 * 1000,
    first_delay_ms: 1000,
    max_delay_ms: 30 * 1000,
};

/// Whether a try may go ahead now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Too soon after the last failure: wait this long.
    Wait {
        retry_after_ms: i64,
    },
    /// Locked out until this time.
    Locked {
        until_ms: i64,
    },
}

/// The recent failures of one account or one address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attempts {
    failures: Vec<i64>,
    locked_until: Option<i64>,
}

impl Attempts {
    pub fn verdict(&self, policy: &ThrottlePolicy, now_ms: i64) -> Verdict {
        if let Some(until_ms) = self.locked_until.filter(|until| *until > now_ms) {
            return Verdict::Locked { until_ms };
        }
        let recent: Vec<i64> = self.failures.iter().copied().filter(|at| now_ms - at < policy.window_ms).collect();
        let Some(last) = recent.last() else { return Verdict::Allowed };
        if recent.len() < policy.free_failures {
            return Verdict::Allowed;
        }
        let doublings = (recent.len() - policy.free_failures).min(30) as u32;
        let delay = policy.first_delay_ms.saturating_mul(1 << doublings).min(policy.max_delay_ms);
        let allowed_at = last + delay;
        if now_ms < allowed_at {
            Verdict::Wait { retry_after_ms: allowed_at - now_ms }
        } else {
            Verdict::Allowed
        }
    }

    /// Records a failed (or premature) try; true when it starts a lockout.
    pub fn fail(&mut self, policy: &ThrottlePolicy, now_ms: i64) -> bool {
        if self.locked_until.is_some_and(|until| until > now_ms) {
            return false;
        }
        self.failures.retain(|at| now_ms - at < policy.window_ms);
        self.failures.push(now_ms);
        if self.failures.len() >= policy.lockout_after {
            self.failures.clear();
            self.locked_until = Some(now_ms + policy.lockout_ms);
            return true;
        }
        false
    }

    /// Nothing left to remember: no recent failure and no lockout in force.
    pub fn is_spent(&self, policy: &ThrottlePolicy, now_ms: i64) -> bool {
        self.locked_until.is_none_or(|until| until <= now_ms) && self.failures.iter().all(|at| now_ms - at >= policy.window_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: ThrottlePolicy = LOGIN_POLICY;

    #[test]
    fn three_failures_are_free_then_each_wait_doubles() {
        let mut attempts = Attempts::default();
        for at in [0, 10, 20] {
            assert_eq!(attempts.verdict(&P, at), Verdict::Allowed);
            assert!(!attempts.fail(&P, at));
        }
        assert_eq!(attempts.verdict(&P, 20 + 999), Verdict::Wait { retry_after_ms: 1 });
        assert_eq!(attempts.verdict(&P, 20 + 1000), Verdict::Allowed);
        attempts.fail(&P, 2000);
        assert_eq!(attempts.verdict(&P, 2000), Verdict::Wait { retry_after_ms: 2000 });
        attempts.fail(&P, 5000);
        assert_eq!(attempts.verdict(&P, 5000), Verdict::Wait { retry_after_ms: 4000 });
    }

    #[test]
    fn ten_failures_within_the_window_lock_out_and_the_lock_ends() {
        let mut attempts = Attempts::default();
        let started: Vec<bool> = (0..10).map(|i| attempts.fail(&P, i * 100)).collect();
        assert_eq!(started.iter().filter(|s| **s).count(), 1);
        assert!(started[9], "the tenth failure starts the lockout");
        let until_ms = 900 + P.lockout_ms;
        assert_eq!(attempts.verdict(&P, 1000), Verdict::Locked { until_ms });
        assert!(!attempts.fail(&P, 2000), "failures during a lockout neither extend nor restart it");
        assert_eq!(attempts.verdict(&P, until_ms), Verdict::Allowed);
        assert!(attempts.is_spent(&P, until_ms));
    }

    #[test]
    fn failures_older_than_the_window_are_forgotten() {
        let mut attempts = Attempts::default();
        for i in 0..9 {
            attempts.fail(&P, i);
        }
        assert!(!attempts.fail(&P, P.window_ms + 100), "the nine old failures no longer count");
        assert_eq!(attempts.verdict(&P, P.window_ms + 100), Verdict::Allowed);
        assert!(!attempts.is_spent(&P, P.window_ms + 100));
    }
}
