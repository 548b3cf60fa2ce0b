//! Benchmark of the release-history queries on 100,000 releases (two years of 60 customers'
//! 240 sites, five workflows, every outcome) in a real SQLite file, each measured against the
//! same query on a 1,000-release database built the same way in the same run, so the ratio
//! shows how the query scales rather than how fast this machine is.
//!
//! `HISTORY_BENCH_RELEASES` sets the large size (default 100000); `HISTORY_BENCH_DIR` keeps the
//! databases in that directory. Run with
//! `cargo bench -p switchyard-store --bench history_bench`.

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use sqlx::SqlitePool;
use switchyard_api::HistoryFilter;
use switchyard_store::{HistoryScope, Store};

const SMALL: usize = 1_000;
const CUSTOMERS: usize = 60;
const SITES: usize = 240;
const WORKFLOWS: [&str; 5] = ["no-migration", "migration", "minor-patch", "blue-green", "rollout"];
/// Rows per INSERT statement: 17 values each stays far under SQLite's 32,766 parameters.
const BATCH: usize = 500;

fn main() {
    let large: usize = std::env::var("HISTORY_BENCH_RELEASES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let temp = tempfile::tempdir().expect("temp dir");
    // HISTORY_BENCH_DIR keeps the databases there, to inspect query plans afterwards.
    let dir = std::env::var_os("HISTORY_BENCH_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| temp.path().to_owned());
    for name in ["large.db", "small.db"] {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.join(format!("{name}{suffix}")));
        }
    }
    let (big, built) = runtime.block_on(build(&dir.join("large.db"), large));
    let (small, _) = runtime.block_on(build(&dir.join("small.db"), SMALL));
    let size_mb = std::fs::metadata(dir.join("large.db")).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    println!(
        "\nbuilt {large} releases in {:.2} s ({size_mb:.0} MB file); each query median of its rounds, warm cache",
        built.as_secs_f64()
    );

    // Site 1 and customer 1 exist in both databases with the same share of releases.
    let filters: [(&str, HistoryScope, HistoryFilter); 7] = [
        ("first page, unfiltered", HistoryScope::Everything, HistoryFilter::default()),
        ("page filtered by site", HistoryScope::Everything, HistoryFilter { site_id: Some(1), ..Default::default() }),
        (
            "customer + outcome rolled-back",
            HistoryScope::Everything,
            HistoryFilter { customer_id: Some(1), outcome: Some("rolled-back".into()), ..Default::default() },
        ),
        (
            "date range (one quarter)",
            HistoryScope::Everything,
            HistoryFilter { from: Some("2025-07-01".into()), to: Some("2025-09-30".into()), ..Default::default() },
        ),
        ("customer scope, first page", HistoryScope::Customer(2), HistoryFilter::default()),
        (
            "workflow + run",
            HistoryScope::Everything,
            HistoryFilter { workflow: Some("migration".into()), run: Some("production".into()), ..Default::default() },
        ),
        ("deep page (offset = half)", HistoryScope::Everything, HistoryFilter::default()),
    ];

    println!("| query | {large} releases | {SMALL} releases | ratio | rows (large) |");
    println!("|---|---|---|---|---|");
    let row = |name: &str, ours: Duration, base: Duration, rows: String| {
        println!("| {name} | {:.2} ms | {:.2} ms | {:.1}x | {rows} |", ms(ours), ms(base), ours.as_secs_f64() / base.as_secs_f64());
    };
    let reader = |store: &Store| runtime.block_on(SqlitePool::connect(&format!("sqlite://{}", store.path().display()))).expect("pool");
    let (big_pool, small_pool) = (reader(&big), reader(&small));
    let (ours, total) = measure(&runtime, 30, || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM releases").fetch_one(&big_pool).await.unwrap()
    });
    let (base, _) = measure(&runtime, 30, || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM releases").fetch_one(&small_pool).await.unwrap()
    });
    row("baseline: SELECT count(*)", ours, base, total.to_string());

    for (name, scope, filter) in filters {
        let deep = |n: usize| HistoryFilter { offset: Some(n as i64 / 2), ..filter.clone() };
        let (big_filter, small_filter) =
            if name.starts_with("deep") { (deep(large), deep(SMALL)) } else { (filter.clone(), filter.clone()) };
        let (ours, page) = measure(&runtime, 20, || async { big.release_history(scope, &big_filter).await.unwrap() });
        let (base, _) = measure(&runtime, 20, || async { small.release_history(scope, &small_filter).await.unwrap() });
        row(name, ours, base, format!("{} of {}", page.rows.len(), page.total));
    }

    let everything = HistoryFilter::default();
    let (ours, stats) = measure(&runtime, 10, || async { big.release_stats(HistoryScope::Everything, &everything).await.unwrap() });
    let (base, _) = measure(&runtime, 10, || async { small.release_stats(HistoryScope::Everything, &everything).await.unwrap() });
    row(
        "stats, all releases",
        ours,
        base,
        format!("{} weeks, {} failed, {} rolled back", stats.weeks.len(), stats.all.failed, stats.all.rolled_back),
    );
    let one_customer = HistoryFilter { customer_id: Some(1), ..Default::default() };
    let (ours, stats) = measure(&runtime, 10, || async { big.release_stats(HistoryScope::Everything, &one_customer).await.unwrap() });
    let (base, _) = measure(&runtime, 10, || async { small.release_stats(HistoryScope::Everything, &one_customer).await.unwrap() });
    row("stats, one customer", ours, base, format!("{} releases, {} weeks", stats.all.total, stats.weeks.len()));

    let export = |store: &'_ Store| {
        let store = store.clone();
        async move {
            let mut out = Vec::with_capacity(1 << 20);
            let rows = store.release_history_csv(HistoryScope::Everything, &HistoryFilter::default(), &mut out).await.unwrap();
            (rows, out.len())
        }
    };
    let (ours, (rows, bytes)) = measure(&runtime, 3, || export(&big));
    let (base, _) = measure(&runtime, 3, || export(&small));
    row("CSV export, all releases", ours, base, format!("{rows} rows, {:.1} MB", bytes as f64 / 1e6));
    println!("\nratio = large / small; linear growth would be {:.0}x", large as f64 / SMALL as f64);
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Runs `query` `rounds` times and returns the median time and the last result.
fn measure<T, F: Future<Output = T>>(runtime: &tokio::runtime::Runtime, rounds: usize, mut query: impl FnMut() -> F) -> (Duration, T) {
    let mut times = Vec::with_capacity(rounds);
    let mut last = None;
    for _ in 0..rounds {
        let start = Instant::now();
        let result = runtime.block_on(query());
        times.push(start.elapsed());
        last = Some(result);
    }
    times.sort();
    (times[rounds / 2], last.expect("at least one round"))
}

/// A small deterministic generator (xorshift64*), so every run builds the same history.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Creates the store (schema by its own migrations), then customers, sites and `releases`
/// releases spread over the two years before 2026-11-25, oldest first, in one transaction.
async fn build(path: &std::path::Path, releases: usize) -> (Store, Duration) {
    let started = Instant::now();
    let store = Store::open(path).await.expect("open store");
    let pool = SqlitePool::connect(&format!("sqlite://{}", path.display())).await.expect("pool");
    let mut tx = pool.begin().await.expect("begin");
    let long_ago = "2024-01-01T00:00:00.000Z";
    for c in 1..=CUSTOMERS {
        sqlx::query("INSERT INTO customers (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(c as i64)
            .bind(format!("Customer {c}, Ltd."))
            .bind(long_ago)
            .execute(&mut *tx)
            .await
            .expect("customer");
    }
    for s in 1..=SITES {
        sqlx::query("INSERT INTO sites (id, key, name, customer_id, created_at, updated_at) VALUES ($1, $2, $2, $3, $4, $4)")
            .bind(s as i64)
            .bind(format!("site-{s}"))
            .bind(((s - 1) % CUSTOMERS + 1) as i64)
            .bind(long_ago)
            .execute(&mut *tx)
            .await
            .expect("site");
    }
    let end = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap();
    let span_ms = 2 * 365 * 86_400_000_i64;
    let start = end - chrono::Duration::milliseconds(span_ms);
    let state = format!("{{\"stage\":7,\"phase\":\"done\",\"waiting\":null,\"undo\":[],\"note\":\"{}\"}}", "x".repeat(200));
    let document = format!(
        "[release]\nsite = \"shop\"\nworkflow = \"migration\"\n{}",
        "[[step]]\nkind = \"run\"\ncommand = \"bin/migrate --all\"\n".repeat(12)
    );
    let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
    let mut id = 0;
    while id < releases {
        let rows = BATCH.min(releases - id);
        let placeholders: Vec<String> = (0..rows)
            .map(|r| {
                let p: Vec<String> = (1..=19).map(|c| format!("${}", r * 19 + c)).collect();
                format!("({})", p.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO releases (uid, site, run, workflow, document_toml, document_version, candidate_sha256, submitted_by, \
             placement, config, state, outcome, ended_as, downtime_ms, failed_requests, created_at, finished_at, completed_at, site_id) VALUES {}",
            placeholders.join(", ")
        );
        let mut insert = sqlx::query(&sql);
        for _ in 0..rows {
            id += 1;
            let created = start + chrono::Duration::milliseconds(span_ms / releases as i64 * id as i64 + dice.below(60_000) as i64);
            let site = dice.below(SITES as u64) as usize + 1;
            let workflow = WORKFLOWS[[0, 0, 0, 1, 1, 2, 2, 3, 4][dice.below(9) as usize]];
            let roll = dice.below(100);
            let recent = end - created < chrono::Duration::days(3);
            // The last few days still run.
            // Mostly completed; some fail or are rejected, some are rolled back after completing.
            let (outcome, ended_as, ever_completed) = match roll {
                _ if recent && roll < 50 => (None, None, false),
                0..=5 => (Some("rolled-back"), Some("failed"), false),
                6..=7 => (Some("rolled-back"), Some("rejected"), false),
                8..=12 => (Some("rolled-back"), Some("rolled-back"), true),
                _ => (Some("completed"), Some("completed"), true),
            };
            let minutes = 2 + dice.below(120) as i64;
            let done = outcome.map(|_| created + chrono::Duration::minutes(minutes));
            let downtime = (workflow == "migration" && outcome.is_some()).then(|| dice.below(90_000) as i64);
            insert = insert
                .bind(format!("uid-{id}"))
                .bind(format!("site-{site}"))
                .bind(if dice.below(2) == 0 { "rehearsal" } else { "production" })
                .bind(workflow)
                .bind(&document)
                .bind(1 + dice.below(20) as i64)
                .bind(format!("{:016x}{:016x}", dice.next(), dice.next()))
                .bind(format!("user{}", dice.below(300)))
                .bind("{}")
                .bind("{}")
                .bind(&state)
                .bind(outcome)
                .bind(ended_as)
                .bind(downtime)
                .bind(downtime.map(|_| dice.below(20) as i64))
                .bind(stamp(created))
                .bind(done.map(stamp))
                .bind(done.filter(|_| ever_completed).map(stamp))
                .bind(site as i64);
        }
        insert.execute(&mut *tx).await.expect("insert releases");
    }
    tx.commit().await.expect("commit");
    pool.close().await;
    (store, started.elapsed())
}
