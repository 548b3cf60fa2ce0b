//! The per-account split policy: pins first, then a stable hash of the account against the percentage.
//!
//! The hash is fixed here (every byte through the splitmix64 finaliser), never a std hasher with
//! random keys, because an account must land in the same bucket on every host and after every restart.

/// Buckets an account falls into; 10,000 lets percentages be compared without rounding.
pub const BUCKETS: u64 = 10_000;

/// Which of a split's two groups of accounts one belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cohort {
    Stable,
    Candidate,
}

/// The account's bucket in `0..BUCKETS`; the same on every machine and every run.
pub fn account_bucket(account: &str) -> u64 {
    const SEED: u64 = 0xcbf2_9ce4_8422_2325;
    const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
    // Mixing after every byte (not once at the end, as FNV does) matters: account names are
    // often sequential (`acct-1`, `acct-2`), and a weaker hash then clusters them, so 25 %
    // of the buckets would not mean 25 % of a few hundred real accounts.
    account.bytes().fold(SEED, |hash, byte| splitmix64((hash ^ u64::from(byte.to_ascii_lowercase())).wrapping_add(GOLDEN))) % BUCKETS
}

fn splitmix64(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The hash-only choice. Monotone in `candidate_percent`: an account on the candidate at
/// some percentage stays there at every higher one, so a growing rollout never flips anyone back.
pub fn cohort_of(account: &str, candidate_percent: u8) -> Cohort {
    if account_bucket(account) < u64::from(candidate_percent.min(100)) * (BUCKETS / 100) {
        Cohort::Candidate
    } else {
        Cohort::Stable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> impl Iterator<Item = String> {
        (0..20_000).map(|i| format!("customer-{i}"))
    }

    fn share_on_candidate(percent: u8) -> f64 {
        let on = accounts().filter(|a| cohort_of(a, percent) == Cohort::Candidate).count();
        on as f64 / 20_000.0 * 100.0
    }

    #[test]
    fn split_honours_the_percentage_within_one_point() {
        for percent in [1u8, 5, 25, 50, 75, 95] {
            let share = share_on_candidate(percent);
            assert!((share - f64::from(percent)).abs() < 1.0, "{percent} % asked, {share:.2} % got");
        }
        assert_eq!(share_on_candidate(0), 0.0);
        assert_eq!(share_on_candidate(100), 100.0);
    }

    #[test]
    fn accounts_never_flip_back_as_the_percentage_grows() {
        let steps = [0u8, 1, 5, 25, 50, 100];
        for account in accounts() {
            let sides: Vec<Cohort> = steps.iter().map(|p| cohort_of(&account, *p)).collect();
            let first_candidate = sides.iter().position(|s| *s == Cohort::Candidate).unwrap_or(sides.len());
            assert!(sides[first_candidate..].iter().all(|s| *s == Cohort::Candidate), "{account} flips back: {sides:?}");
        }
    }

    #[test]
    fn bucket_is_fixed_and_case_insensitive() {
        // Pinned values (checked against an independent Python implementation): a change here
        // would reshuffle every rollout in progress.
        assert_eq!(account_bucket("acme"), account_bucket("ACME"));
        assert_eq!(account_bucket("acme"), 3_641);
        assert_eq!(account_bucket("customer-1"), 804);
    }
}
