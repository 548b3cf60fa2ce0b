//! Benchmark of the agent's copies of a site's database against the database's own stock
//! methods, measured side by side in one run on real servers (PostgreSQL 15 and MariaDB from
//! the host's packages, started from temporary directories):
//! - a copy of a database in use (what a rehearsal's clone takes) against `pg_dump | pg_restore`
//!   and `mariadb-dump --single-transaction | mariadb` typed by hand, and against PostgreSQL's
//!   fastest copy, `CREATE DATABASE ... TEMPLATE`;
//! - a copy of a quiet database (what a migration's snapshot takes) against that template copy;
//! - a snapshot and its restore, checks included, with the time requests are held (the restore);
//! - the table-by-table check alone.
//!
//! `DATABASE_BENCH_MB` sets the data size (default 1024); `DATABASE_BENCH_MB=32` is a smoke
//! run. Needs root (the servers run as their own users). Run with
//! `cargo bench -p switchyard-agent --bench database_bench`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use switchyard_agent::databases::snapshot;
use switchyard_agent::databases::{Catalog, Consistency, DatabaseBinding, DatabaseKind, ServerConfig};
use switchyard_agent::layout::Layout;
use switchyard_agent::test_servers::TestServer;

const ROUNDS: usize = 2;

/// One line of the table: what, ours, the baseline's name, the baseline.
type Row = (String, Duration, String, Duration);

fn main() {
    let mb: u64 = std::env::var("DATABASE_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let mut rows = Vec::new();
    for kind in [DatabaseKind::Postgresql, DatabaseKind::Mariadb] {
        let server = TestServer::start(kind).unwrap_or_else(|e| panic!("cannot start a {} server: {e}", kind.as_str()));
        let root = tempfile::tempdir().expect("temp dir");
        declare(root.path(), &server.config);
        fill(&server.config, mb);
        rows.extend(runtime.block_on(bench_kind(root.path(), &server.config, mb)));
    }
    println!("\ndatabase benchmark, {mb} MB of rows, best of {ROUNDS} rounds each, same servers, same run");
    println!("| operation | switchyard | baseline | baseline time | ratio |");
    println!("|---|---|---|---|---|");
    for (name, ours, baseline_name, baseline) in rows {
        println!(
            "| {name} | {:.2} s | {baseline_name} | {:.2} s | {:.2}x |",
            ours.as_secs_f64(),
            baseline.as_secs_f64(),
            ours.as_secs_f64() / baseline.as_secs_f64()
        );
    }
}

fn declare(root: &Path, c: &ServerConfig) {
    let text = format!(
        "[servers.main]\nkind = \"{}\"\nhost = \"{}\"\nport = {}\nadmin_user = \"{}\"\nadmin_password = \"{}\"\n",
        c.kind.as_str(),
        c.host,
        c.port,
        c.admin_user,
        c.admin_password
    );
    let path = root.join("databases.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A shell command line reaching the server as its administrator (the password in the
/// environment).
fn shell(c: &ServerConfig, script: &str) -> Command {
    let mut command = Command::new("sh");
    command.arg("-c").arg(script).env("PGPASSWORD", &c.admin_password).env("MYSQL_PWD", &c.admin_password);
    command.env("PGHOST", &c.host).env("PGPORT", c.port.to_string()).env("PGUSER", &c.admin_user);
    command
}

fn mariadb(c: &ServerConfig, tool: &str) -> String {
    format!("{tool} --no-defaults --protocol=tcp -h {} -P {} -u {}", c.host, c.port, c.admin_user)
}

fn sql(c: &ServerConfig, statement: &str) -> Command {
    match c.kind {
        DatabaseKind::Postgresql => shell(c, &format!("psql -X -q -v ON_ERROR_STOP=1 -d postgres -c \"{statement}\"")),
        DatabaseKind::Mariadb => shell(c, &format!("{} -e \"{statement}\"", mariadb(c, "mariadb"))),
    }
}

fn run(mut command: Command) -> Duration {
    let start = Instant::now();
    let out = command.output().expect("run a baseline");
    assert!(out.status.success(), "{command:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    start.elapsed()
}

/// Database `shop` with `mb` MiB of rows of about 512 bytes, and the site's login `shop`.
fn fill(c: &ServerConfig, mb: u64) {
    let rows = mb * 2048;
    eprintln!("filling a {} database with {rows} rows…", c.kind.as_str());
    match c.kind {
        DatabaseKind::Postgresql => {
            run(sql(c, "CREATE ROLE shop LOGIN PASSWORD 'shopbench'"));
            run(sql(c, "CREATE DATABASE shop OWNER shop"));
            let fill = format!(
                "CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL); ALTER TABLE notes OWNER TO shop; \
                 INSERT INTO notes SELECT g, repeat(md5(g::text), 15) FROM generate_series(1, {rows}) g;"
            );
            run(shell(c, &format!("psql -X -q -v ON_ERROR_STOP=1 -d shop -c '{fill}'")));
        }
        DatabaseKind::Mariadb => {
            run(sql(c, "CREATE USER 'shop'@'%' IDENTIFIED BY 'shopbench'; CREATE DATABASE shop; GRANT ALL ON shop.* TO 'shop'@'%'"));
            let fill = format!(
                "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL) ENGINE=InnoDB; \
                 INSERT INTO notes SELECT seq, REPEAT(MD5(seq), 15) FROM seq_1_to_{rows};"
            );
            run(shell(c, &format!("{} shop -e \"{fill}\"", mariadb(c, "mariadb"))));
        }
    }
}

/// The fastest of `ROUNDS` runs of `work`, each after a `sync` so none pays for the last one's writeback.
async fn best<F, Fut>(mut work: F) -> Duration
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    let mut fastest = Duration::MAX;
    for round in 0..ROUNDS {
        let _ = Command::new("sync").status();
        fastest = fastest.min(work(round).await);
    }
    fastest
}

async fn bench_kind(root: &Path, c: &ServerConfig, mb: u64) -> Vec<Row> {
    let kind = c.kind.as_str();
    let catalog = Catalog::load(root).expect("catalog");
    let server = catalog.server("main").expect("server");
    let drop = |db: &str| sql(c, &format!("DROP DATABASE IF EXISTS {db}"));
    let mut rows = Vec::new();

    let ours_live = best(|round| {
        let server = &server;
        async move {
            let start = Instant::now();
            server.copy("shop", &format!("live_{round}"), "shop", Consistency::Live).await.expect("copy");
            start.elapsed()
        }
    })
    .await;
    let stock_dump = best(|round| {
        let script = match c.kind {
            DatabaseKind::Postgresql => format!(
                "createdb -T template0 dump_{round} && pg_dump -Fc -Z0 --no-owner --no-privileges -d shop | pg_restore --no-owner --no-privileges -d dump_{round}"
            ),
            DatabaseKind::Mariadb => format!(
                "{client} -e 'CREATE DATABASE dump_{round}' && {dump} --single-transaction shop | {client} dump_{round}",
                client = mariadb(c, "mariadb"),
                dump = mariadb(c, "mariadb-dump")
            ),
        };
        let command = shell(c, &script);
        async move { run(command) }
    })
    .await;
    let dump_name = if c.kind == DatabaseKind::Postgresql { "pg_dump | pg_restore" } else { "mariadb-dump | mariadb" };
    rows.push((format!("{kind}: copy of a database in use ({mb} MB)"), ours_live, dump_name.to_owned(), stock_dump));

    if c.kind == DatabaseKind::Postgresql {
        let template = best(|round| {
            let command = sql(c, &format!("CREATE DATABASE template_{round} TEMPLATE shop"));
            async move { run(command) }
        })
        .await;
        rows.push((format!("{kind}: copy of a database in use ({mb} MB)"), ours_live, "CREATE DATABASE … TEMPLATE".into(), template));
        let ours_quiet = best(|round| {
            let server = &server;
            async move {
                let start = Instant::now();
                server.copy("shop", &format!("quiet_{round}"), "shop", Consistency::Quiesced).await.expect("copy");
                start.elapsed()
            }
        })
        .await;
        rows.push((format!("{kind}: copy of a quiet database ({mb} MB)"), ours_quiet, "CREATE DATABASE … TEMPLATE".into(), template));
    }

    // A migration's snapshot and a rollback's restore, each checked; requests are held for the
    // restore. The baseline is the stock copy there and back, unchecked.
    let layout = Layout::new(root.to_owned());
    let binding =
        DatabaseBinding { name: "default".into(), server: "main".into(), database: "shop".into(), user: "shop".into(), owned: false };
    let mut restores = Duration::MAX;
    let snapshots = best(|round| {
        let (layout, binding) = (&layout, &binding);
        async move {
            let start = Instant::now();
            snapshot::take(layout, "shop", &format!("r{round}"), std::slice::from_ref(binding), Consistency::Quiesced)
                .await
                .expect("snapshot");
            start.elapsed()
        }
    })
    .await;
    for round in 0..ROUNDS {
        let _ = Command::new("sync").status();
        let start = Instant::now();
        snapshot::restore(&layout, "shop", &format!("r{round}")).await.expect("restore");
        restores = restores.min(start.elapsed());
    }
    let fastest = if c.kind == DatabaseKind::Postgresql { "CREATE DATABASE … TEMPLATE" } else { dump_name };
    let stock_fastest = rows.last().map(|r| r.3).unwrap_or(stock_dump);
    rows.push((format!("{kind}: snapshot, checked ({mb} MB)"), snapshots, fastest.into(), stock_fastest));
    rows.push((format!("{kind}: restore, checked = requests held ({mb} MB)"), restores, fastest.into(), stock_fastest));
    let check = best(|_| {
        let server = &server;
        async move {
            let start = Instant::now();
            server.stats("shop").await.expect("stats");
            start.elapsed()
        }
    })
    .await;
    rows.push((format!("{kind}: the table-by-table check alone ({mb} MB)"), check, fastest.into(), stock_fastest));

    for db in (0..ROUNDS).flat_map(|r| [format!("live_{r}"), format!("dump_{r}"), format!("template_{r}"), format!("quiet_{r}")]) {
        run(drop(&db));
    }
    snapshot::drop_all(&layout, "shop").await.expect("drop the snapshots");
    rows
}
