//! Progressive rollouts by customer account (`<account>.shop.test`) of the sample site from v1
//! to v2 while a load generator reads and writes as many accounts. Pinned test accounts go
//! first, then 5 %, 25 % and 100 % of accounts, each stage watched; both versions serve from
//! one data volume, so no acknowledged write is lost wherever an account is routed. Once every
//! account is on v2 the public address moves to it too; a rollback brings both back to v1. A
//! v2 that fails some requests is halted at its first watch and every account routed back.

use std::time::Duration;

use switchyard_core::patch::{Action, WorkflowKind};
use switchyard_core::workflow::State;
use switchyard_router::Target;

use crate::support::{assert_nothing_failed_or_lost, assert_rolled_back, by_sue, carl, document, journal, sam, Host, Load, PUBLIC, SHOP};

pub fn accounts() -> Vec<String> {
    let mut names: Vec<String> = (0..40).map(|n| format!("acct{n}.{PUBLIC}")).collect();
    names.push(format!("beta.{PUBLIC}"));
    names
}

/// Every record body the accounts' site serves (one database, so any account shows them all).
pub async fn records(host: &Host) -> std::collections::BTreeSet<String> {
    let reply = crate::support::http()
        .get(format!("http://{}/records", host.public))
        .header("host", format!("acct0.{PUBLIC}"))
        .send()
        .await
        .unwrap();
    let v: Vec<serde_json::Value> = reply.json().await.unwrap();
    v.iter().map(|r| r["body"].as_str().unwrap().to_owned()).collect()
}

/// The public address and every account are served by `env`, which runs `version`.
pub async fn assert_everyone_served_by(host: &Host, env: &str, version: &str) {
    assert_eq!(versions(host).await, [version.to_owned()].into(), "every account on {version}");
    assert_eq!(host.version().await, version, "the public address on {version}");
    let table = host.client.routes().await.unwrap();
    let addresses = &table.sites["shop"].addresses;
    for address in [PUBLIC.to_owned(), format!("*.{PUBLIC}")] {
        assert_eq!(addresses[&address], Target::environment(env), "{address}: {table:?}");
    }
}

/// Only v2's own failures, all at the pinned account while it was on v2.
pub fn assert_only_v2_failed(failures: &[String]) {
    assert!(!failures.is_empty(), "v2 failed no request: the halt was not tested");
    let not_v2: Vec<&String> = failures.iter().filter(|f| !f.starts_with(&format!("GET /version at beta.{PUBLIC}: 500"))).collect();
    assert!(not_v2.is_empty(), "failures other than v2's: {not_v2:?}");
}

pub async fn versions(host: &Host) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::BTreeSet::new();
    for account in accounts() {
        seen.insert(host.version_at(&account).await);
    }
    seen
}

/// A host with v1 serving every account, `v2` rehearsed, and the rollout submitted with the
/// `beta` account pinned and one-second watch windows.
async fn rehearsed_rollout(host: &Host, engine: &switchyard_engine::Engine, v2: &str) -> i64 {
    rehearsed_rollout_watching(host, engine, v2, 1).await
}

/// [`rehearsed_rollout`] with watch windows of `window_secs`.
pub async fn rehearsed_rollout_watching(host: &Host, engine: &switchyard_engine::Engine, v2: &str, window_secs: u32) -> i64 {
    host.route_accounts().await;
    let mut doc = document(WorkflowKind::Rollout, "2.0.0", v2);
    for step in &mut doc.steps {
        if let Action::WaitAndWatch { duration_secs, .. } = &mut step.action {
            *duration_secs = window_secs;
        }
    }
    let rehearsal = engine.start_rehearsal(&doc, &by_sue(), &SHOP).await.unwrap();
    let rehearsed = engine.confirm(rehearsal.id, &carl(), "ready").await.unwrap();
    assert_eq!(rehearsed.outcome.as_deref(), Some("completed"), "{}", journal(engine, rehearsal.id).await);
    engine.submit_production(&doc, &by_sue(), &["beta".to_owned()], &SHOP).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rollout_by_account_under_load_then_rollback() {
    let host = Host::start().await;
    let engine = host.engine().await;
    let (_, v2) = host.candidate("2.0.0", 1);
    let id = rehearsed_rollout(&host, &engine, &v2).await;
    // The public address is read and written too: the completion moves it with requests held.
    let mut addresses = accounts();
    addresses.push(PUBLIC.to_owned());
    let load = Load::start_on(host.public, &addresses, 4);

    let done = engine.approve(id, &sam(), "go").await.unwrap();
    let trail = journal(&engine, id).await;
    assert_eq!(done.outcome.as_deref(), Some("completed"), "{trail}");
    // Pinned accounts first, then each share, each stage followed by its watch window.
    // (A journal line ends with the commands it asked for; undo lists come before them.)
    let asked = |line: &str| line.rsplit(" | ").next().unwrap_or("").to_owned();
    let stages: Vec<&str> = trail
        .lines()
        .filter_map(|l| {
            ["\"percent\":0,\"pinned\":[\"beta\"]", "\"percent\":5,", "\"percent\":25,", "\"percent\":100,"]
                .into_iter()
                .find(|s| asked(l).contains(*s))
        })
        .collect();
    assert_eq!(stages.len(), 4, "{trail}");
    let completion: Vec<String> = trail
        .lines()
        .map(asked)
        .skip_while(|c| !c.contains("\"percent\":100,"))
        .filter(|c| c != "[]" && !c.contains("\"op\":\"wait\""))
        .skip(1)
        .collect();
    assert!(
        completion[0].contains("\"op\":\"hold\",\"on\":true")
            && completion[1].contains("swap-addresses")
            && completion[2].contains("\"op\":\"point-accounts\",\"env\":\"candidate\"")
            && completion[3].contains("\"op\":\"hold\",\"on\":false"),
        "after the last watch: hold, swap, point the accounts, release:\n{trail}"
    );
    assert_eq!(trail.matches("counters-observed").count(), 4, "one watch per stage:\n{trail}");
    assert_eq!(versions(&host).await, ["2.0.0".to_owned()].into(), "every account on v2");
    // The completion moved the public address to v2 and pointed the accounts at it alone, so
    // the next release takes v2 for production.
    assert_everyone_served_by(&host, "shop-green", "2.0.0").await;
    let table = host.client.routes().await.unwrap();
    let next = switchyard_engine::Placement::resolve("shop", PUBLIC, &table).unwrap();
    assert_eq!(next.production_env, "shop-green", "the next release's production");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let rolled = engine.rollback(id, &sam(), "the customer asked").await.unwrap();
    assert_rolled_back(&engine, &rolled).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (acknowledged, failures) = load.finish().await;
    assert!(acknowledged.len() > 20, "the load ran ({} writes)", acknowledged.len());
    assert_everyone_served_by(&host, "shop-blue", "1.0.0").await;
    assert_nothing_failed_or_lost("", &failures, &acknowledged, &records(&host).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rollout_whose_new_version_fails_is_halted_and_routed_back() {
    let host = Host::start().await;
    let engine = host.engine().await;
    let v2 = host.candidate_with("2.0.0", 1, "fail_percent = 50\n");
    let id = rehearsed_rollout(&host, &engine, &v2).await;
    // The pinned account sends a fifth of the requests, so its first watch window sees v2.
    let mut addresses = accounts();
    addresses.extend(std::iter::repeat_n(format!("beta.{PUBLIC}"), 9));
    let load = Load::start_on(host.public, &addresses, 4);

    let halted = engine.approve(id, &sam(), "go").await.unwrap();
    let trail = journal(&engine, id).await;
    let State::RolledBack { reason, .. } = &halted.state else { panic!("not rolled back:\n{trail}") };
    assert!(reason.starts_with("halted: the new version's 5xx rate"), "{reason}");
    assert!(!trail.contains("\"percent\":5,"), "halted before 5 % of accounts moved:\n{trail}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (acknowledged, failures) = load.finish().await;

    assert_eq!(versions(&host).await, ["1.0.0".to_owned()].into(), "every account back on v1");
    assert_only_v2_failed(&failures);
    assert_nothing_failed_or_lost("", &[], &acknowledged, &records(&host).await);
}
