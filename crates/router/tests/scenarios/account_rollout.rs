//! Progressive rollout by account: the split honours the percentage, never flips an account back, and pins win.

use std::collections::{BTreeMap, HashSet};

use switchyard_router::{AccountSplit, Target};

use crate::support::{KeepAlive, Stage, SITE};

const ACCOUNTS: usize = 600;
const WILDCARD: &str = "*.accounts.test";

fn split(percent: u8) -> AccountSplit {
    AccountSplit {
        stable: "blue".into(),
        candidate: "green".into(),
        candidate_percent: percent,
        pins: BTreeMap::from([("beta-tester".to_string(), "green".to_string()), ("vip".to_string(), "blue".to_string())]),
    }
}

/// The accounts the router sent to the candidate (v2), asked through real requests.
async fn accounts_on_candidate(client: &mut KeepAlive) -> HashSet<usize> {
    let mut on_candidate = HashSet::new();
    for account in 0..ACCOUNTS {
        let answer = client.get(&format!("acct-{account}.accounts.test"), "/").await.expect("request for an account");
        match answer.body.as_str() {
            "v2" => {
                on_candidate.insert(account);
            }
            "v1" => {}
            other => panic!("acct-{account} got {} {other:?}", answer.status),
        }
    }
    on_candidate
}

#[tokio::test]
async fn split_follows_the_percentage_and_never_flips_an_account_back() {
    let stage = Stage::start().await;
    let mut client = KeepAlive::connect(stage.addr()).await;
    let mut previous: HashSet<usize> = HashSet::new();
    for percent in [0u8, 5, 25, 50, 100] {
        stage.router.set_account_split(SITE, WILDCARD, split(percent)).unwrap();
        let now = accounts_on_candidate(&mut client).await;
        let share = now.len() as f64 * 100.0 / ACCOUNTS as f64;
        assert!((share - f64::from(percent)).abs() <= 4.0, "{percent} % asked, {share:.1} % of accounts on the candidate");
        let flipped_back: Vec<_> = previous.difference(&now).collect();
        assert!(flipped_back.is_empty(), "accounts went back to stable at {percent} %: {flipped_back:?}");
        previous = now;
    }
}

#[tokio::test]
async fn pins_win_over_the_hash() {
    let stage = Stage::start().await;
    let mut client = KeepAlive::connect(stage.addr()).await;
    stage.router.set_account_split(SITE, WILDCARD, split(0)).unwrap();
    assert_eq!(client.get("beta-tester.accounts.test", "/").await.unwrap().body, "v2");
    assert_eq!(client.get("Beta-Tester.accounts.test", "/").await.unwrap().body, "v2", "hosts are case-insensitive");
    stage.router.set_account_split(SITE, WILDCARD, split(100)).unwrap();
    assert_eq!(client.get("vip.accounts.test", "/").await.unwrap().body, "v1");
    assert_eq!(client.get("anyone.accounts.test", "/").await.unwrap().body, "v2");

    // Ending the rollout: everybody on one version.
    stage.router.point_address(SITE, WILDCARD, Target::environment("green")).unwrap();
    assert_eq!(client.get("vip.accounts.test", "/").await.unwrap().body, "v2");
}
