//! A migration release of the sample site from v1 to v2, whose v2 refuses to start until
//! `sample-site migrate` ran on its database. The rehearsal migrates a clone before v2 starts
//! there; the production run shows the site-down page on the public address while production
//! stops, gets v2, migrates and starts, lets the customer check v2 at the temporary address
//! with the data written before the release, and then puts it back live. Its downtime and
//! failed requests are recorded, and a rollback brings v1 back on its pre-migration snapshot.
//! The accounts' wildcard address shows the site-down page with the public one and returns
//! with it.

use std::time::Duration;

use switchyard_core::patch::{Action, PatchDocument, WorkflowKind};
use switchyard_router::api::PointAddress;
use switchyard_router::Target;

use crate::support::{
    assert_completed, assert_outage_recorded, assert_rolled_back, by_sue, carl, document, http, journal, sam, Host, PublicReader, PUBLIC,
    SHOP,
};

const TEMPORARY: &str = "temporary.shop.test";
const CANDIDATE: &str = "candidate.shop.test";

/// The migration template with the sample site's own migration command. It has no down
/// migration: the snapshot taken before the migration is what a rollback restores.
pub fn migration_document(sha: &str) -> PatchDocument {
    let mut doc = document(WorkflowKind::Migration, "2.0.0", sha);
    let step = doc.steps.iter_mut().find(|s| s.action.is_migration()).expect("the template migrates");
    step.action = Action::migration("bin/site migrate", 60, false);
    step.rollback = None;
    doc.validate().expect("the migration document validates");
    doc
}

/// (status, body as JSON when it is JSON) of `GET path` at `address` through the router.
async fn get(host: &Host, address: &str, path: &str) -> (u16, serde_json::Value) {
    let reply = http().get(format!("http://{}{path}", host.public)).header("host", address).send().await.unwrap();
    let status = reply.status().as_u16();
    let text = reply.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_default())
}

async fn post_record(host: &Host, address: &str, body: &str) -> i64 {
    let reply = http()
        .post(format!("http://{}/records", host.public))
        .header("host", address)
        .json(&serde_json::json!({ "body": body, "author": "carl" }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201, "writing {body:?} at {address}");
    reply.json::<serde_json::Value>().await.unwrap()["id"].as_i64().expect("the new record's id")
}

/// The record bodies `address` serves, with each record's author (`None` on schema 1).
async fn records_at(host: &Host, address: &str) -> Vec<(String, Option<String>)> {
    let (status, records) = get(host, address, "/records").await;
    assert_eq!(status, 200, "{address} /records: {records}");
    records.as_array().unwrap().iter().map(|r| (r["body"].as_str().unwrap().to_owned(), r["author"].as_str().map(str::to_owned))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migration_release_behind_the_site_down_page_then_rollback_to_the_snapshot() {
    let host = Host::start().await;
    let engine = host.engine().await;
    let (_, v2) = host.candidate("2.0.0", 2);
    let doc = migration_document(&v2);
    host.add_record("before the release").await;

    // Rehearsal: the clone stops, gets v2, migrates and only then starts on v2.
    let rehearsal = engine.start_rehearsal(&doc, &by_sue(), &SHOP).await.unwrap();
    assert_eq!(rehearsal.waiting_for, "waiting for the customer's confirmation", "{}", journal(&engine, rehearsal.id).await);
    let (_, candidate) = get(&host, CANDIDATE, "/version").await;
    assert_eq!((&candidate["version"], &candidate["schema"]), (&"2.0.0".into(), &2.into()));
    assert_eq!(
        records_at(&host, CANDIDATE).await,
        [("before the release".to_owned(), Some("anonymous".to_owned()))],
        "the clone's data was migrated to schema 2"
    );
    assert_eq!(host.version().await, "1.0.0", "a rehearsal never touches production");
    let rehearsed = engine.confirm(rehearsal.id, &carl(), "ready").await.unwrap();
    assert_eq!(rehearsed.outcome.as_deref(), Some("completed"));

    // The site's accounts at a wildcard of their own are served by production too (one under
    // `*.shop.test` would also catch the temporary address once it is gone).
    let accounts = PointAddress { site: "shop".into(), address: "*.stores.test".into(), target: Target::environment("shop-blue") };
    host.client.point("setup-stores", accounts).await.unwrap();
    assert_eq!(host.version_at("bob.stores.test").await, "1.0.0");
    // Production: a reader on the public address counts what it gets throughout.
    let run = engine.start_production(&doc, &by_sue(), &[], &SHOP).await.unwrap();
    let reader = PublicReader::start(host.public);
    tokio::time::sleep(Duration::from_millis(100)).await;

    let at_check = engine.approve(run.id, &sam(), "go").await.unwrap();
    assert_eq!(at_check.waiting_for, "waiting for the customer's confirmation", "{}", journal(&engine, run.id).await);
    // The public address shows the site-down page while the customer checks production,
    // migrated and on v2, at the temporary address.
    let (status, _) = get(&host, PUBLIC, "/version").await;
    assert_eq!(status, 503, "the public address serves the site-down page");
    let (status, _) = get(&host, "bob.stores.test", "/version").await;
    assert_eq!(status, 503, "an account shows the site-down page too, not the stopped production");
    let (status, temporary) = get(&host, TEMPORARY, "/version").await;
    assert_eq!(
        (status, &temporary["version"], &temporary["schema"]),
        (200, &"2.0.0".into(), &2.into()),
        "{}",
        journal(&engine, run.id).await
    );
    assert_eq!(
        records_at(&host, TEMPORARY).await,
        [("before the release".to_owned(), Some("anonymous".to_owned()))],
        "production's own data, migrated"
    );
    post_record(&host, TEMPORARY, "written while checking").await;

    let done = engine.confirm(run.id, &carl(), "v2 looks right").await.unwrap();
    assert_completed(&engine, &done).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (ok, site_down) = reader.finish().await;

    assert_eq!(host.version().await, "2.0.0", "v2 is live on the public address");
    assert_eq!(host.version_at("bob.stores.test").await, "2.0.0", "and at every account");
    let live = records_at(&host, PUBLIC).await;
    assert!(
        live.contains(&("before the release".to_owned(), Some("anonymous".to_owned())))
            && live.contains(&("written while checking".to_owned(), Some("carl".to_owned()))),
        "{live:?}"
    );
    let (status, _) = get(&host, TEMPORARY, "/version").await;
    assert_eq!(status, 404, "the temporary address is gone");
    let given_on_v2 = post_record(&host, PUBLIC, "written on v2").await;

    let record = engine.store().release(run.id).await.unwrap();
    assert_outage_recorded(&record, (ok, site_down), 1);

    // Rollback: v1 comes back on the snapshot taken before the migration.
    let rolled = engine.rollback(run.id, &sam(), "the customer asked").await.unwrap();
    assert_rolled_back(&engine, &rolled).await;
    let (_, version) = get(&host, PUBLIC, "/version").await;
    assert_eq!((&version["version"], &version["schema"]), (&"1.0.0".into(), &1.into()));
    assert_eq!(records_at(&host, PUBLIC).await, [("before the release".to_owned(), None)], "v1 serves its pre-migration data");
    // The snapshot's rows are back, but no id handed out since is handed out again.
    let next = post_record(&host, PUBLIC, "after the rollback").await;
    assert!(next > given_on_v2, "a write after the rollback got id {next}, already given to a row written on v2 ({given_on_v2})");
    let (status, _) = get(&host, TEMPORARY, "/version").await;
    assert_eq!(status, 404, "the temporary address is gone again");
}
