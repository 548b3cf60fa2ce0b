//! A manager reads the release history on a real SQLite file: each filter narrows to its
//! releases, a customer never sees another customer's, pages add up to the total, weeks group
//! across a year boundary, failures are told from rollbacks, and the CSV export quotes.

use sqlx::SqlitePool;
use switchyard_api::{CustomerDraft, HistoryFilter, SiteDraft};
use switchyard_core::workflow::Outcome;
use switchyard_store::{HistoryScope, NewRelease, NewTransition, Store, StoreError, HISTORY_CSV_COLUMNS};

/// How a release ends in a scenario.
#[derive(Clone, Copy)]
enum End {
    Running,
    Completed,
    /// Rolled back before it completed, because a step failed.
    Failed,
    /// Rolled back before it completed, because someone rejected it.
    Rejected,
    /// Completed, then rolled back on request.
    RolledBack,
}

struct World {
    _dir: tempfile::TempDir,
    store: Store,
    /// A second connection for what the store never does: backdating rows.
    pool: SqlitePool,
    acme: i64,
    globex: i64,
    shop: i64,
    blog: i64,
    portal: i64,
    next_uid: u32,
}

const LONG_AGO: &str = "2020-01-01T00:00:00.000Z";

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchyard.db");
    let store = Store::open(&path).await.unwrap();
    let pool = SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let acme = customer(&store, "Acme, \"The\" Company").await;
    let globex = customer(&store, "Globex").await;
    let shop = site(&store, "shop", acme).await;
    let blog = site(&store, "blog", acme).await;
    let portal = site(&store, "portal", globex).await;
    // The scenarios' releases are dated years back; their sites existed then.
    sqlx::query("UPDATE sites SET created_at = $1").bind(LONG_AGO).execute(&pool).await.unwrap();
    World { _dir: dir, store, pool, acme, globex, shop, blog, portal, next_uid: 0 }
}

async fn customer(store: &Store, name: &str) -> i64 {
    store.create_customer(&CustomerDraft { name: name.into(), contact_email: String::new() }).await.unwrap().id
}

async fn site(store: &Store, name: &str, customer_id: i64) -> i64 {
    store.create_site(&SiteDraft { name: name.into(), customer_id, description: String::new() }).await.unwrap().id
}

impl World {
    /// A release of `site` created at `created_at` that ran `minutes` and ended as `end`,
    /// driven through the journal like the engine drives it, then backdated.
    async fn release(&mut self, site: &str, run: &str, workflow: &str, created_at: &str, minutes: i64, end: End) -> i64 {
        self.next_uid += 1;
        let uid = format!("r{}", self.next_uid);
        let site_id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM sites WHERE key = $1").bind(site).fetch_optional(&self.pool).await.unwrap();
        let new = NewRelease {
            uid: &uid,
            site,
            site_id,
            run,
            workflow,
            document_toml: "",
            document_version: 1,
            candidate_sha256: "ab12",
            submitted_by: "sue",
            submitted_by_id: None,
            placement: "{}",
            config: "{}",
            state: "\"start\"",
            commands: "[]",
        };
        let id = self.store.create_release(&new).await.unwrap().id;
        let step = |state| [NewTransition { event: "e", state, commands: "[]" }];
        let outcomes: &[Option<Outcome>] = match end {
            End::Running => &[],
            End::Completed => &[Some(Outcome::Completed)],
            End::Failed => &[Some(Outcome::Failed)],
            End::Rejected => &[Some(Outcome::Rejected)],
            End::RolledBack => &[Some(Outcome::Completed), None, Some(Outcome::RolledBack)],
        };
        for (seq, outcome) in outcomes.iter().enumerate() {
            self.store.append_transitions(id, seq as i64, &step("\"next\""), *outcome).await.unwrap();
        }
        let created = chrono::DateTime::parse_from_rfc3339(created_at).unwrap();
        let finished = (created + chrono::Duration::minutes(minutes)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        sqlx::query(
            "UPDATE releases SET created_at = $1, finished_at = CASE WHEN finished_at IS NULL THEN NULL ELSE $2 END, \
             completed_at = CASE WHEN completed_at IS NULL THEN NULL ELSE $2 END WHERE id = $3",
        )
        .bind(created_at)
        .bind(finished)
        .bind(id)
        .execute(&self.pool)
        .await
        .unwrap();
        id
    }

    async fn ids(&self, scope: HistoryScope, filter: HistoryFilter) -> Vec<i64> {
        let page = self.store.release_history(scope, &filter).await.unwrap();
        let ids: Vec<i64> = page.rows.iter().map(|r| r.id).collect();
        assert_eq!(page.total, ids.len() as i64, "the whole history fits one page here");
        ids
    }
}

/// Six releases across two customers, workflows, runs, outcomes and months.
async fn mixed(w: &mut World) -> [i64; 6] {
    [
        w.release("shop", "rehearsal", "migration", "2026-03-01T00:00:00.000Z", 10, End::Completed).await,
        w.release("shop", "production", "migration", "2026-03-31T23:59:59.999Z", 20, End::Failed).await,
        w.release("blog", "production", "blue-green", "2026-04-01T00:00:00.000Z", 30, End::RolledBack).await,
        w.release("portal", "production", "no-migration", "2026-02-28T23:59:59.999Z", 40, End::Completed).await,
        w.release("portal", "rehearsal", "rollout", "2026-03-15T12:00:00.000Z", 0, End::Running).await,
        w.release("blog", "rehearsal", "blue-green", "2026-03-20T08:00:00.000Z", 5, End::Completed).await,
    ]
}

#[tokio::test]
async fn each_filter_narrows_to_its_releases_newest_first() {
    let mut w = world().await;
    let [shop_rehearsal, shop_failed, blog_rolled_back, portal_done, portal_running, blog_rehearsal] = mixed(&mut w).await;
    let all = HistoryScope::Everything;
    let filter = HistoryFilter::default;
    assert_eq!(w.ids(all, filter()).await, [blog_rolled_back, shop_failed, blog_rehearsal, portal_running, shop_rehearsal, portal_done]);
    assert_eq!(w.ids(all, HistoryFilter { site_id: Some(w.shop), ..filter() }).await, [shop_failed, shop_rehearsal]);
    assert_eq!(w.ids(all, HistoryFilter { customer_id: Some(w.globex), ..filter() }).await, [portal_running, portal_done]);
    assert_eq!(w.ids(all, HistoryFilter { workflow: Some("blue-green".into()), ..filter() }).await, [blog_rolled_back, blog_rehearsal]);
    assert_eq!(
        w.ids(all, HistoryFilter { run: Some("rehearsal".into()), ..filter() }).await,
        [blog_rehearsal, portal_running, shop_rehearsal]
    );
    assert_eq!(w.ids(all, HistoryFilter { outcome: Some("running".into()), ..filter() }).await, [portal_running]);
    assert_eq!(w.ids(all, HistoryFilter { outcome: Some("rolled-back".into()), ..filter() }).await, [blog_rolled_back]);
    assert_eq!(w.ids(all, HistoryFilter { outcome: Some("failed".into()), ..filter() }).await, [shop_failed]);
    assert_eq!(
        w.ids(all, HistoryFilter { outcome: Some("completed".into()), ..filter() }).await,
        [blog_rehearsal, shop_rehearsal, portal_done]
    );
    // Both days are inclusive, to their last millisecond.
    let march = HistoryFilter { from: Some("2026-03-01".into()), to: Some("2026-03-31".into()), ..filter() };
    assert_eq!(w.ids(all, march.clone()).await, [shop_failed, blog_rehearsal, portal_running, shop_rehearsal]);
    let acme_completed_in_march = HistoryFilter { customer_id: Some(w.acme), outcome: Some("completed".into()), ..march };
    assert_eq!(w.ids(all, acme_completed_in_march).await, [blog_rehearsal, shop_rehearsal]);
    assert_eq!(w.ids(all, HistoryFilter { from: Some("2026-04-01".into()), ..filter() }).await, [blog_rolled_back]);
    assert_eq!(w.ids(all, HistoryFilter { to: Some("2026-02-28".into()), ..filter() }).await, [portal_done]);

    let row = &w.store.release_history(all, &HistoryFilter { site_id: Some(w.portal), ..filter() }).await.unwrap().rows[1];
    assert_eq!(
        (row.site.as_str(), row.site_id, row.customer.as_str(), row.customer_id),
        ("portal", Some(w.portal), "Globex", Some(w.globex))
    );
    assert_eq!((row.state.as_str(), row.duration_s), ("\"next\"", Some(2400.0)));
    assert_eq!(row.finished_at.as_deref(), Some("2026-03-01T00:39:59.999Z"));
}

#[tokio::test]
async fn a_customer_never_sees_another_customers_release_whatever_they_filter() {
    let mut w = world().await;
    let [shop_rehearsal, shop_failed, blog_rolled_back, _, _, blog_rehearsal] = mixed(&mut w).await;
    let acme_only = HistoryScope::Customer(w.acme);
    let filter = HistoryFilter::default;
    assert_eq!(w.ids(acme_only, filter()).await, [blog_rolled_back, shop_failed, blog_rehearsal, shop_rehearsal]);
    assert!(w.ids(acme_only, HistoryFilter { customer_id: Some(w.globex), ..filter() }).await.is_empty());
    assert!(w.ids(acme_only, HistoryFilter { site_id: Some(w.portal), ..filter() }).await.is_empty());
    assert!(w.ids(acme_only, HistoryFilter { workflow: Some("rollout".into()), ..filter() }).await.is_empty());
    let stats = w.store.release_stats(acme_only, &HistoryFilter { customer_id: Some(w.globex), ..filter() }).await.unwrap();
    assert_eq!((stats.all.total, stats.weeks.len()), (0, 0));
    let mut csv = Vec::new();
    let written = w.store.release_history_csv(acme_only, &HistoryFilter { site_id: Some(w.portal), ..filter() }, &mut csv).await.unwrap();
    assert_eq!((written, String::from_utf8(csv).unwrap().lines().count()), (0, 1));

    // A deleted site's name reused by another customer: the old releases belong to the site
    // that existed when they ran, so the newcomer does not inherit them.
    w.store.delete_site(w.blog).await.unwrap();
    let new_blog = site(&w.store, "blog", w.globex).await;
    let globex_only = HistoryScope::Customer(w.globex);
    assert!(w.ids(globex_only, HistoryFilter { site_id: Some(new_blog), ..filter() }).await.is_empty());
    assert!(!w.ids(globex_only, filter()).await.contains(&blog_rolled_back));
    // And Acme no longer sees releases of a site it deleted.
    assert_eq!(w.ids(acme_only, filter()).await, [shop_failed, shop_rehearsal]);
}

#[tokio::test]
async fn a_deleted_sites_releases_still_list_for_staff() {
    let mut w = world().await;
    let [_, _, blog_rolled_back, ..] = mixed(&mut w).await;
    w.store.delete_site(w.blog).await.unwrap();
    let page = w.store.release_history(HistoryScope::Everything, &HistoryFilter::default()).await.unwrap();
    assert_eq!(page.total, 6);
    let row = page.rows.iter().find(|r| r.id == blog_rolled_back).unwrap();
    assert_eq!((row.site.as_str(), row.site_id, row.customer.as_str(), row.customer_id), ("blog", None, "(deleted site)", None));
}

#[tokio::test]
async fn pages_walk_newest_first_and_add_up_to_the_total() {
    let mut w = world().await;
    let mut created = Vec::new();
    for i in 0..120 {
        let at = format!("2026-05-{:02}T{:02}:00:00.000Z", 1 + i / 24, i % 24);
        created.push(w.release("shop", "production", "no-migration", &at, 1, End::Completed).await);
    }
    w.release("portal", "production", "no-migration", "2026-05-02T00:00:00.000Z", 1, End::Completed).await;
    let mut seen = Vec::new();
    for offset in [0, 50, 100, 150] {
        let filter = HistoryFilter { site_id: Some(w.shop), limit: Some(50), offset: Some(offset), ..Default::default() };
        let page = w.store.release_history(HistoryScope::Everything, &filter).await.unwrap();
        assert_eq!((page.total, page.limit, page.offset), (120, 50, offset));
        seen.extend(page.rows.iter().map(|r| r.id));
    }
    created.reverse();
    assert_eq!(seen, created, "every release once, newest first");
    let default = w.store.release_history(HistoryScope::Everything, &HistoryFilter::default()).await.unwrap();
    assert_eq!((default.total, default.limit, default.rows.len()), (121, 50, 50));
    let huge =
        w.store.release_history(HistoryScope::Everything, &HistoryFilter { limit: Some(100_000), ..Default::default() }).await.unwrap();
    assert_eq!((huge.limit, huge.rows.len()), (500, 121));
}

#[tokio::test]
async fn weeks_start_on_monday_and_group_across_a_year_boundary() {
    let mut w = world().await;
    for (at, end) in [
        ("2026-12-27T23:59:59.000Z", End::Completed), // a Sunday: the week of Monday 21 December
        ("2026-12-28T00:00:00.000Z", End::Completed), // Monday
        ("2027-01-01T10:00:00.000Z", End::Failed),    // Friday, new year, same ISO week
        ("2027-01-03T22:00:00.000Z", End::Running),   // Sunday
        ("2027-01-18T09:00:00.000Z", End::Completed), // two weeks on: 11 January had none
    ] {
        w.release("shop", "production", "no-migration", at, 60, end).await;
    }
    let stats = w.store.release_stats(HistoryScope::Everything, &HistoryFilter::default()).await.unwrap();
    let weeks: Vec<(&str, i64, i64, i64)> = stats.weeks.iter().map(|s| (s.week.as_str(), s.releases, s.completed, s.failed)).collect();
    assert_eq!(
        weeks,
        [("2026-12-21", 1, 1, 0), ("2026-12-28", 3, 1, 1), ("2027-01-04", 0, 0, 0), ("2027-01-11", 0, 0, 0), ("2027-01-18", 1, 1, 0)]
    );
    assert_eq!(stats.weeks[1].mean_duration_s, 3600.0, "the running release has no duration yet");
}

#[tokio::test]
async fn stats_tell_failures_rejections_and_rollbacks_apart_and_add_up_downtime() {
    let mut w = world().await;
    let completed = w.release("shop", "production", "migration", "2026-06-01T10:00:00.000Z", 10, End::Completed).await;
    w.release("shop", "production", "migration", "2026-06-02T10:00:00.000Z", 20, End::Completed).await;
    let failed = w.release("shop", "production", "migration", "2026-06-03T10:00:00.000Z", 30, End::Failed).await;
    let rolled_back = w.release("blog", "production", "blue-green", "2026-06-04T10:00:00.000Z", 60, End::RolledBack).await;
    let rejected = w.release("blog", "production", "blue-green", "2026-06-04T11:00:00.000Z", 5, End::Rejected).await;
    w.release("blog", "production", "blue-green", "2026-06-05T10:00:00.000Z", 0, End::Running).await;
    // A failed rehearsal is where failing is cheap: it does not count as a production failure.
    w.release("blog", "rehearsal", "blue-green", "2026-06-05T11:00:00.000Z", 5, End::Failed).await;
    w.store.record_downtime(completed, 1_500, 2).await.unwrap();
    w.store.record_downtime(failed, 250, 7).await.unwrap();

    let stats = w.store.release_stats(HistoryScope::Everything, &HistoryFilter::default()).await.unwrap();
    let all = &stats.all;
    assert_eq!((all.total, all.completed, all.failed, all.rejected, all.rolled_back, all.running), (7, 2, 2, 1, 1, 1));
    assert_eq!((stats.production.total, stats.production.failed, stats.rehearsals.total, stats.rehearsals.failed), (6, 1, 1, 1));
    assert_eq!(stats.failure_rate, 0.2, "one failure out of five finished production runs");
    assert_eq!(stats.rollback_rate, 1.0 / 3.0, "one rollback out of three production runs that completed");
    let week = &stats.weeks[0];
    assert_eq!((week.week.as_str(), week.releases, week.rolled_back, week.rejected), ("2026-06-01", 7, 1, 1));
    assert_eq!(week.downtime_s, 1.75);
    assert_eq!(week.failed_requests, 9);

    let page = w.store.release_history(HistoryScope::Everything, &HistoryFilter::default()).await.unwrap();
    let outcome = |id| page.rows.iter().find(|r| r.id == id).map(|r| r.history_outcome().to_owned());
    assert_eq!(outcome(failed).as_deref(), Some("failed"));
    assert_eq!(outcome(rejected).as_deref(), Some("rejected"));
    assert_eq!(outcome(rolled_back).as_deref(), Some("rolled-back"));
    assert_eq!(outcome(completed).as_deref(), Some("completed"));

    let only_migrations = HistoryFilter { workflow: Some("migration".into()), limit: Some(1), offset: Some(2), ..Default::default() };
    let stats = w.store.release_stats(HistoryScope::Everything, &only_migrations).await.unwrap();
    assert_eq!((stats.all.total, stats.all.rolled_back, stats.weeks[0].failed_requests), (3, 0, 9), "page size and offset do not apply");
}

#[tokio::test]
async fn the_figures_equal_the_tables_count_for_every_outcome_and_run() {
    let mut w = world().await;
    mixed(&mut w).await;
    for (at, end) in [("2026-03-02T00:00:00.000Z", End::Rejected), ("2026-03-03T00:00:00.000Z", End::Failed)] {
        w.release("portal", "production", "no-migration", at, 3, end).await;
    }
    for run in [None, Some("rehearsal"), Some("production")] {
        let base = HistoryFilter { run: run.map(str::to_owned), ..Default::default() };
        let stats = w.store.release_stats(HistoryScope::Everything, &base).await.unwrap();
        let a = &stats.all;
        for (outcome, figure) in [
            ("completed", a.completed),
            ("failed", a.failed),
            ("rejected", a.rejected),
            ("rolled-back", a.rolled_back),
            ("running", a.running),
        ] {
            let filter = HistoryFilter { outcome: Some(outcome.into()), ..base.clone() };
            let listed = w.store.release_history(HistoryScope::Everything, &filter).await.unwrap().total;
            assert_eq!(figure, listed, "{run:?} {outcome}: the figure says {figure}, the table lists {listed}");
            let mut csv = Vec::new();
            w.store.release_history_csv(HistoryScope::Everything, &filter, &mut csv).await.unwrap();
            let text = String::from_utf8(csv).unwrap();
            let exported: Vec<&str> = text.lines().skip(1).collect();
            assert_eq!(exported.len() as i64, figure, "{run:?} {outcome}: the export");
            assert!(exported.iter().all(|line| line.contains(&format!(",{outcome},"))), "{run:?} {outcome}: {exported:?}");
            let total = w.store.release_history(HistoryScope::Everything, &base).await.unwrap().total;
            assert_eq!(a.total, total);
        }
        let by_run = stats.production.total + stats.rehearsals.total;
        assert_eq!(by_run, a.total, "{run:?}: production runs and rehearsals add up");
    }
}

#[tokio::test]
async fn the_csv_export_holds_every_match_quoted() {
    let mut w = world().await;
    let done = w.release("shop", "production", "migration", "2026-06-01T10:00:00.000Z", 2, End::Completed).await;
    w.store.record_downtime(done, 1_250, 3).await.unwrap();
    w.release("shop", "rehearsal", "migration", "2026-06-02T10:00:00.000Z", 0, End::Running).await;
    let mut out = Vec::new();
    let written = w.store.release_history_csv(HistoryScope::Everything, &HistoryFilter::default(), &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(written, 2);
    assert_eq!(lines[0], HISTORY_CSV_COLUMNS.join(","));
    assert_eq!(
        lines[1],
        format!("{},shop,\"Acme, \"\"The\"\" Company\",rehearsal,migration,1,ab12,sue,running,2026-06-02T10:00:00.000Z,,,,", done + 1)
    );
    assert_eq!(
        lines[2],
        format!("{done},shop,\"Acme, \"\"The\"\" Company\",production,migration,1,ab12,sue,completed,2026-06-01T10:00:00.000Z,2026-06-01T10:02:00.000Z,120.000,1.250,3")
    );
}

#[tokio::test]
async fn the_csv_export_walks_past_its_chunk_size_without_losing_ties() {
    let w = world().await;
    // More rows than one read fetches, all created in the same millisecond, so only the id
    // orders them: the export must neither repeat nor skip one at a chunk boundary.
    let mut tx = w.pool.begin().await.unwrap();
    for i in 0..5_003 {
        sqlx::query(
            "INSERT INTO releases (uid, site, run, workflow, document_toml, document_version, candidate_sha256, \
             submitted_by, placement, config, state, created_at, site_id) \
             VALUES ($1, 'portal', 'production', 'rollout', '', 1, 'ab', 'sue', '{}', '{}', '\"s\"', '2026-07-01T00:00:00.000Z', $2)",
        )
        .bind(format!("bulk-{i}"))
        .bind(w.portal)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let mut out = Vec::new();
    let filter = HistoryFilter { customer_id: Some(w.globex), ..Default::default() };
    let written = w.store.release_history_csv(HistoryScope::Everything, &filter, &mut out).await.unwrap();
    let ids: Vec<i64> = String::from_utf8(out).unwrap().lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
    assert_eq!(written, 5_003);
    assert_eq!(ids, (1..=5_003).rev().collect::<Vec<i64>>());
}

#[tokio::test]
async fn a_malformed_filter_is_refused_saying_what_to_send() {
    let w = world().await;
    let bad = HistoryFilter { from: Some("yesterday".into()), outcome: Some("done".into()), offset: Some(-1), ..Default::default() };
    let error = w.store.release_history(HistoryScope::Everything, &bad).await.unwrap_err();
    let StoreError::InvalidFilter(invalid) = &error else { panic!("expected an invalid filter, got {error}") };
    assert_eq!(invalid.message_for("from"), Some("from must be a date YYYY-MM-DD, got \"yesterday\""));
    assert_eq!(invalid.message_for("outcome"), Some("unknown outcome \"done\"; use completed, failed, rejected, rolled-back or running"));
    assert_eq!(invalid.message_for("offset"), Some("offset must be 0 or more, got -1"));
    let unknown_workflow = HistoryFilter { workflow: Some("big-bang".into()), ..Default::default() };
    assert!(matches!(w.store.release_stats(HistoryScope::Everything, &unknown_workflow).await, Err(StoreError::InvalidFilter(_))));
    let unknown_run = HistoryFilter { run: Some("dry".into()), ..Default::default() };
    let mut out = Vec::new();
    assert!(matches!(
        w.store.release_history_csv(HistoryScope::Everything, &unknown_run, &mut out).await,
        Err(StoreError::InvalidFilter(_))
    ));
    assert!(out.is_empty(), "nothing is written for a refused filter");
}
