//! PostgreSQL through its own client tools: `psql` for statements, `pg_dump | pg_restore` for
//! a consistent copy of a database in use (MVCC gives the dump one snapshot while writers go
//! on), `CREATE DATABASE ... TEMPLATE` for a copy of one nobody uses, `ALTER DATABASE ...
//! RENAME` to put a replacing copy in place in one step.

use super::run::{pipe, Tool};
use super::{Consistency, DatabaseSize, DatabaseStats, ServerConfig, TableStats};
use crate::error::{AgentError, Result};

fn connect(tool: &str, c: &ServerConfig) -> Tool {
    Tool::new(tool).args(["-h", &c.host, "-p", &c.port.to_string(), "-U", &c.admin_user]).secret("PGPASSWORD", &c.admin_password)
}

/// Runs `sql` in `database` as the administrator; rows come back tab-separated, one per line.
/// The statements go in on standard input, never the command line, which every user of the
/// host (a site's code too) can read: a login's password is in some of them.
pub(crate) async fn sql(c: &ServerConfig, database: &str, sql: &str, doing: &str) -> Result<String> {
    connect("psql", c).args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-A", "-t", "-F", "\t", "-d", database]).run_with_input(doing, sql).await
}

pub(super) async fn exists(c: &ServerConfig, database: &str) -> Result<bool> {
    let found = sql(c, "postgres", &format!("SELECT 1 FROM pg_database WHERE datname = '{database}'"), "look for the database").await?;
    Ok(found.trim() == "1")
}

pub(super) async fn copy(c: &ServerConfig, source: &str, target: &str, owner: &str, consistency: Consistency) -> Result<()> {
    let doing = format!("copy database {source} into {target}");
    drop_database(c, target).await?;
    match consistency {
        Consistency::Quiesced => {
            // A template must have no connections; the caller has stopped whoever used it.
            let statement = format!("CREATE DATABASE \"{target}\" TEMPLATE \"{source}\" OWNER \"{owner}\"");
            terminate(c, source).await?;
            if let Err(first) = sql(c, "postgres", &statement, &doing).await {
                if !first.to_string().contains("being accessed by other users") {
                    return Err(first);
                }
                terminate(c, source).await?;
                sql(c, "postgres", &statement, &doing).await?;
            }
        }
        Consistency::Live => {
            sql(c, "postgres", &format!("CREATE DATABASE \"{target}\" TEMPLATE template0 OWNER \"{owner}\""), &doing).await?;
            let dump = connect("pg_dump", c).args(["-Fc", "-Z0", "--no-owner", "--no-privileges", "-d", source]);
            let load = connect("pg_restore", c).args(["--no-owner", "--no-privileges", "--exit-on-error", "--role", owner, "-d", target]);
            if let Err(e) = pipe(dump, load, &doing).await {
                let _ = drop_database(c, target).await;
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Puts `incoming` in `target`'s place: the old one is renamed aside and dropped once the new
/// one has its name. Renames need the databases idle, so their connections are closed.
pub(super) async fn swap_in(c: &ServerConfig, incoming: &str, target: &str) -> Result<()> {
    let doing = format!("put the copy {incoming} in place of {target}");
    let [_, old] = super::replacement_names(target);
    drop_database(c, &old).await?;
    if exists(c, target).await? {
        terminate(c, target).await?;
        sql(c, "postgres", &format!("ALTER DATABASE \"{target}\" RENAME TO \"{old}\""), &doing).await?;
    }
    terminate(c, incoming).await?;
    sql(c, "postgres", &format!("ALTER DATABASE \"{incoming}\" RENAME TO \"{target}\""), &doing).await?;
    drop_database(c, &old).await
}

pub(super) async fn drop_database(c: &ServerConfig, database: &str) -> Result<()> {
    sql(c, "postgres", &format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"), &format!("remove database {database}")).await?;
    Ok(())
}

/// Closes every connection to `database` (a template or a database being replaced).
async fn terminate(c: &ServerConfig, database: &str) -> Result<()> {
    let statement =
        format!("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{database}' AND pid <> pg_backend_pid()");
    sql(c, "postgres", &statement, &format!("close the connections to {database}")).await?;
    Ok(())
}

pub(super) async fn ensure_login(c: &ServerConfig, user: &str, password: &str) -> Result<()> {
    let statement = format!(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{user}') THEN CREATE ROLE \"{user}\" LOGIN; END IF; END $$; \
         ALTER ROLE \"{user}\" LOGIN PASSWORD '{password}'"
    );
    sql(c, "postgres", &statement, &format!("create login {user}")).await?;
    Ok(())
}

pub(super) async fn drop_login(c: &ServerConfig, user: &str) -> Result<()> {
    sql(c, "postgres", &format!("DROP ROLE IF EXISTS \"{user}\""), &format!("remove login {user}")).await?;
    Ok(())
}

pub(super) async fn stats(c: &ServerConfig, database: &str) -> Result<DatabaseStats> {
    let doing = format!("read the tables of {database}");
    let size = sql(c, database, "SELECT pg_database_size(current_database())", &doing).await?;
    let size_bytes = size.trim().parse().map_err(|_| AgentError::Internal(format!("cannot {doing}: size {size:?}")))?;
    let listed = sql(
        c,
        database,
        "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables \
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
        &doing,
    )
    .await?;
    let mut tables = Vec::new();
    for table in listed.lines().filter(|l| !l.is_empty()) {
        // `table` is PostgreSQL's own quoting of the name (format %I), safe to put in SQL.
        let row = sql(
            c,
            database,
            // A sum of 64-bit hashes of the rows: the same rows in any order give the same
            // sum, with no sort (a digest of the rows in order costs several times the copy).
            &format!("SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0) FROM {table} t"),
            &doing,
        )
        .await?;
        let (rows, checksum) = row.trim().split_once('\t').unwrap_or((row.trim(), ""));
        let rows = rows.parse().map_err(|_| AgentError::Internal(format!("cannot {doing}: row count {rows:?}")))?;
        tables.push(TableStats { table: table.to_owned(), rows, checksum: checksum.to_owned() });
    }
    Ok(DatabaseStats { size_bytes, tables })
}

pub(super) async fn size(c: &ServerConfig, database: &str) -> Result<Option<DatabaseSize>> {
    let doing = format!("read the size of {database}");
    let size =
        sql(c, "postgres", &format!("SELECT pg_database_size(datname) FROM pg_database WHERE datname = '{database}'"), &doing).await?;
    let Some(size) = size.lines().map(str::trim).find(|l| !l.is_empty()) else { return Ok(None) };
    let size_bytes = size.parse().map_err(|_| AgentError::Internal(format!("cannot {doing}: size {size:?}")))?;
    let tables =
        sql(c, database, "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')", &doing).await?;
    let tables = tables.trim().parse().map_err(|_| AgentError::Internal(format!("cannot {doing}: table count {tables:?}")))?;
    Ok(Some(DatabaseSize { size_bytes, tables }))
}
