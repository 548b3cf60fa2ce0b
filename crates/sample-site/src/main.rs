//! The sample site Switchyard releases in tests and the demo: a tiny HTTP app with a version
//! string, a SQLite database and a `migrate` command.
//!
//! One binary serves every version: what differs between releases is the `site.toml` shipped
//! next to it (`version = "2.0.0"`, `schema = 2`), so tests build v1 and v2 tarballs from the
//! same executable. Schema 1 has `records(id, body)`; schema 2 adds `records.author`.
//!
//! Environment: `PORT` (required for `serve`), `SHARED_DIR` (the environment's persistent
//! directory; the database is `$SHARED_DIR/site.db`) or `DATABASE_PATH` to name the file,
//! `SITE_CONFIG` to name the `site.toml`, `SAMPLE_SITE_IGNORE_SIGTERM` to play a hung process.
//! The database is `$DATA_DIR/site.db` when the agent gives the site a data volume.
//! `fail_percent = 30` in `site.toml` plays a broken release that fails that share of
//! `GET /version` requests; `min_schema = 1` lets a schema-2 release serve a database not yet
//! migrated (as code released blue-green beside its migration must); `max_schema = 2` lets a
//! schema-1 release serve (and start on) a database an expand migration took to schema 2,
//! since that migration only adds a defaulted column the release never reads.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

/// The newest schema this binary knows how to create; a release's `site.toml` picks one.
const NEWEST_SCHEMA: i64 = 2;

/// Statements that bring the database from schema `n - 1` to `n` (index 0 is schema 1).
const MIGRATIONS: [&str; 2] = [
    "CREATE TABLE records (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)",
    "ALTER TABLE records ADD COLUMN author TEXT NOT NULL DEFAULT 'anonymous'",
];

#[derive(Debug, Clone, Deserialize, Serialize)]
struct Release {
    version: String,
    schema: i64,
    /// Plays a broken release: this share (in percent) of `GET /version` requests answer 500.
    #[serde(default, skip_serializing_if = "is_zero")]
    fail_percent: u64,
    /// The oldest database schema this release still serves (written so that it runs before
    /// and after its own migration, as a blue-green release on a shared database must be);
    /// by default only its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_schema: Option<i64>,
    /// The newest database schema this release also serves: one an expand migration made,
    /// which only adds what this release ignores. By default only its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_schema: Option<i64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Clone)]
struct Site {
    release: Release,
    db: SqlitePool,
    /// `GET /version` requests so far, to fail exactly `fail_percent` of them.
    served: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

#[derive(Deserialize)]
struct NewRecord {
    body: String,
    author: Option<String>,
}

#[derive(Serialize)]
struct Record {
    id: i64,
    body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".to_owned());
    let release = load_release()?;
    match command.as_str() {
        "serve" => serve(release).await,
        "migrate" => migrate(&release).await,
        "version" => {
            println!("{} (schema {})", release.version, release.schema);
            Ok(())
        }
        other => bail!("unknown command {other:?}: use `sample-site serve`, `sample-site migrate` or `sample-site version`"),
    }
}

/// Reads `site.toml` from `SITE_CONFIG`, or next to the executable, or its parent directory
/// (releases put the binary in `bin/`). Without one the binary is a development build.
fn load_release() -> anyhow::Result<Release> {
    let candidates: Vec<PathBuf> = match std::env::var_os("SITE_CONFIG") {
        Some(path) => vec![PathBuf::from(path)],
        None => {
            let exe = std::env::current_exe().context("cannot find the sample-site executable's own path")?;
            let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
            let mut found = vec![dir.join("site.toml")];
            if let Some(parent) = dir.parent() {
                found.push(parent.join("site.toml"));
            }
            found
        }
    };
    for path in &candidates {
        if path.exists() {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            let release: Release = toml::from_str(&text)
                .with_context(|| format!("{} is not a valid site.toml: it needs `version = \"1.0.0\"` and `schema = 1`", path.display()))?;
            if !(1..=NEWEST_SCHEMA).contains(&release.schema) {
                bail!("{} asks for schema {} but this binary knows schemas 1 to {NEWEST_SCHEMA}", path.display(), release.schema);
            }
            return Ok(release);
        }
    }
    Ok(Release { version: "dev".to_owned(), schema: NEWEST_SCHEMA, fail_percent: 0, min_schema: None, max_schema: None })
}

fn database_path() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("DATABASE_PATH") {
        return Ok(PathBuf::from(path));
    }
    if let Some(dir) = std::env::var_os("DATA_DIR") {
        return Ok(PathBuf::from(dir).join("site.db"));
    }
    match std::env::var_os("SHARED_DIR") {
        Some(dir) => Ok(PathBuf::from(dir).join("site.db")),
        None => bail!("neither SHARED_DIR nor DATABASE_PATH is set: set SHARED_DIR to the environment's shared directory"),
    }
}

async fn open_database() -> anyhow::Result<(SqlitePool, PathBuf)> {
    let path = database_path()?;
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        // WAL lets the agent take an online backup while the site keeps writing.
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(std::time::Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open the database {}", path.display()))?;
    Ok((pool, path))
}

async fn schema_of(db: &SqlitePool) -> anyhow::Result<i64> {
    Ok(sqlx::query("PRAGMA user_version").fetch_one(db).await?.get::<i64, _>(0))
}

async fn migrate_to(db: &SqlitePool, target: i64) -> anyhow::Result<i64> {
    let mut current = schema_of(db).await?;
    while current < target {
        let mut tx = db.begin().await?;
        sqlx::query(MIGRATIONS[current as usize]).execute(&mut *tx).await?;
        sqlx::query(&format!("PRAGMA user_version = {}", current + 1)).execute(&mut *tx).await?;
        tx.commit().await?;
        current += 1;
    }
    Ok(current)
}

async fn migrate(release: &Release) -> anyhow::Result<()> {
    let (db, path) = open_database().await?;
    let before = schema_of(&db).await?;
    if before > release.schema {
        bail!(
            "database {} is at schema {before}, newer than release {}'s schema {}: restore the pre-migration snapshot instead",
            path.display(),
            release.version,
            release.schema
        );
    }
    let after = migrate_to(&db, release.schema).await?;
    println!("migrated {} from schema {before} to {after}", path.display());
    db.close().await;
    Ok(())
}

async fn serve(release: Release) -> anyhow::Result<()> {
    let port: u16 = std::env::var("PORT")
        .context("PORT is not set: the agent passes the environment's port in PORT")?
        .parse()
        .context("PORT is not a port number")?;
    let (db, path) = open_database().await?;
    let schema = schema_of(&db).await?;
    if schema == 0 {
        // A brand-new database: nothing to migrate from, so create the release's schema.
        migrate_to(&db, release.schema).await?;
    } else if schema < release.min_schema.unwrap_or(release.schema) {
        bail!(
            "database {} is at schema {schema} but release {} needs schema {}: run `sample-site migrate` first",
            path.display(),
            release.version,
            release.schema
        );
    } else if schema > release.max_schema.unwrap_or(release.schema) {
        bail!("database {} is at schema {schema}, newer than release {}'s schema {}: deploy a newer release or restore the pre-migration snapshot", path.display(), release.version, release.schema);
    }
    let app = Router::new()
        .route("/health", get(health))
        .route("/version", get(version))
        .route("/records", get(list_records).post(add_record))
        .with_state(Site { release: release.clone(), db, served: Default::default() });
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}: is another process using port {port}?"))?;
    tracing::info!("sample-site {} (schema {}) listening on {addr}", release.version, release.schema);
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    tracing::info!("sample-site stopped");
    Ok(())
}

/// Waits for SIGTERM or Ctrl-C. With `SAMPLE_SITE_IGNORE_SIGTERM` set the site plays a hung
/// process that ignores SIGTERM, so tests can check that the agent kills it after its timeout.
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    let ignore_term = std::env::var_os("SAMPLE_SITE_IGNORE_SIGTERM").is_some();
    loop {
        tokio::select! {
            _ = term.recv() => {
                if !ignore_term {
                    return;
                }
                tracing::warn!("ignoring SIGTERM because SAMPLE_SITE_IGNORE_SIGTERM is set");
            }
            _ = tokio::signal::ctrl_c() => return,
        }
    }
}

async fn health(State(site): State<Site>) -> Result<&'static str, (StatusCode, String)> {
    sqlx::query("SELECT 1").execute(&site.db).await.map_err(internal)?;
    Ok("ok")
}

async fn version(State(site): State<Site>) -> Result<Json<Release>, (StatusCode, String)> {
    let n = site.served.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if n % 100 < site.release.fail_percent {
        return Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("release {} fails {} % of requests on purpose", site.release.version, site.release.fail_percent),
        ));
    }
    Ok(Json(site.release.clone()))
}

async fn add_record(
    State(site): State<Site>,
    Json(record): Json<NewRecord>,
) -> Result<(StatusCode, Json<serde_json::Value>), (StatusCode, String)> {
    let id = if serving_schema(&site).await? >= 2 {
        let author = record.author.unwrap_or_else(|| "anonymous".to_owned());
        sqlx::query("INSERT INTO records (body, author) VALUES (?, ?)").bind(&record.body).bind(author).execute(&site.db).await
    } else {
        sqlx::query("INSERT INTO records (body) VALUES (?)").bind(&record.body).execute(&site.db).await
    }
    .map_err(internal)?
    .last_insert_rowid();
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))))
}

async fn list_records(State(site): State<Site>) -> Result<Json<Vec<Record>>, (StatusCode, String)> {
    let with_author = serving_schema(&site).await? >= 2;
    let sql = if with_author { "SELECT id, body, author FROM records ORDER BY id" } else { "SELECT id, body FROM records ORDER BY id" };
    let rows = sqlx::query(sql).fetch_all(&site.db).await.map_err(internal)?;
    Ok(Json(rows.iter().map(|row| Record { id: row.get(0), body: row.get(1), author: with_author.then(|| row.get(2)) }).collect()))
}

/// The schema requests are served with: the release's own, or the database's when that is
/// older (a release with `min_schema` running before its migration).
async fn serving_schema(site: &Site) -> Result<i64, (StatusCode, String)> {
    let db: i64 = sqlx::query("PRAGMA user_version").fetch_one(&site.db).await.map_err(internal)?.get(0);
    Ok(db.min(site.release.schema))
}

fn internal(error: sqlx::Error) -> (StatusCode, String) {
    (StatusCode::INTERNAL_SERVER_ERROR, format!("database error: {error}"))
}
