//! MariaDB (and MySQL) through its own client tools: `mariadb` for statements and
//! `mariadb-dump --single-transaction | mariadb` for a consistent copy while writers go on
//! (InnoDB gives the dump one snapshot). A database cannot be renamed, so a replacing copy
//! moves its tables into the emptied database with one `RENAME TABLE`.

use super::run::{pipe, Tool};
use super::{DatabaseSize, DatabaseStats, ServerConfig, TableStats};
use crate::error::{AgentError, Result};

pub(crate) fn connect(tool: &str, c: &ServerConfig) -> Tool {
    Tool::new(tool)
        .args(["--no-defaults", "-h", &c.host, "-P", &c.port.to_string(), "-u", &c.admin_user, "--protocol=tcp"])
        .secret("MYSQL_PWD", &c.admin_password)
}

/// Runs `sql` as the administrator; the statements go in on standard input, never the command
/// line, which every user of the host can read: a login's password is in some of them.
pub(crate) async fn sql(c: &ServerConfig, sql: &str, doing: &str) -> Result<String> {
    connect("mariadb", c).args(["--batch", "--skip-column-names"]).run_with_input(doing, sql).await
}

pub(super) async fn exists(c: &ServerConfig, database: &str) -> Result<bool> {
    let found =
        sql(c, &format!("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{database}'"), "look for the database").await?;
    Ok(found.trim() == "1")
}

/// Creates `target` empty, granted to `owner`, and loads a dump of `source` into it.
async fn load_copy(c: &ServerConfig, source: &str, target: &str, owner: &str, doing: &str) -> Result<()> {
    let create =
        format!("DROP DATABASE IF EXISTS `{target}`; CREATE DATABASE `{target}`; GRANT ALL PRIVILEGES ON `{target}`.* TO '{owner}'@'%'");
    sql(c, &create, doing).await?;
    let dump = connect("mariadb-dump", c).args(["--single-transaction", "--routines", "--triggers", "--events", "--hex-blob", source]);
    let load = connect("mariadb", c).args([target]);
    pipe(dump, load, doing).await
}

pub(super) async fn copy(c: &ServerConfig, source: &str, target: &str, owner: &str) -> Result<()> {
    let doing = format!("copy database {source} into {target}");
    if let Err(e) = load_copy(c, source, target, owner, &doing).await {
        let _ = drop_database(c, target).await;
        return Err(e);
    }
    Ok(())
}

/// Puts `incoming`'s tables in `target`'s place (a database cannot be renamed, its tables can:
/// one `RENAME TABLE` moves them all at once), then drops the emptied `incoming`.
pub(super) async fn swap_in(c: &ServerConfig, incoming: &str, target: &str, owner: &str) -> Result<()> {
    let doing = format!("put the copy {incoming} in place of {target}");
    let listed = sql(c, &format!("SELECT table_name FROM information_schema.TABLES WHERE table_schema = '{incoming}'"), &doing).await?;
    let moves: Vec<String> = listed
        .lines()
        .filter(|l| !l.is_empty())
        .map(|t| {
            let t = t.replace('`', "``");
            format!("`{incoming}`.`{t}` TO `{target}`.`{t}`")
        })
        .collect();
    let mut statement =
        format!("DROP DATABASE IF EXISTS `{target}`; CREATE DATABASE `{target}`; GRANT ALL PRIVILEGES ON `{target}`.* TO '{owner}'@'%'");
    if !moves.is_empty() {
        statement.push_str(&format!("; RENAME TABLE {}", moves.join(", ")));
    }
    sql(c, &statement, &doing).await?;
    drop_database(c, incoming).await
}

pub(super) async fn drop_database(c: &ServerConfig, database: &str) -> Result<()> {
    sql(c, &format!("DROP DATABASE IF EXISTS `{database}`"), &format!("remove database {database}")).await?;
    Ok(())
}

pub(super) async fn ensure_login(c: &ServerConfig, user: &str, password: &str) -> Result<()> {
    let statement =
        format!("CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '{password}'; ALTER USER '{user}'@'%' IDENTIFIED BY '{password}'");
    sql(c, &statement, &format!("create login {user}")).await?;
    Ok(())
}

pub(super) async fn drop_login(c: &ServerConfig, user: &str) -> Result<()> {
    sql(c, &format!("DROP USER IF EXISTS '{user}'@'%'"), &format!("remove login {user}")).await?;
    Ok(())
}

pub(super) async fn stats(c: &ServerConfig, database: &str) -> Result<DatabaseStats> {
    let doing = format!("read the tables of {database}");
    let size = sql(
        c,
        &format!("SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.TABLES WHERE table_schema = '{database}'"),
        &doing,
    )
    .await?;
    let size_bytes = size.trim().parse().map_err(|_| AgentError::Internal(format!("cannot {doing}: size {size:?}")))?;
    let listed = sql(
        c,
        &format!(
            "SELECT table_name FROM information_schema.TABLES WHERE table_schema = '{database}' AND table_type = 'BASE TABLE' ORDER BY 1"
        ),
        &doing,
    )
    .await?;
    let mut tables = Vec::new();
    for table in listed.lines().filter(|l| !l.is_empty()) {
        let quoted = format!("`{database}`.`{}`", table.replace('`', "``"));
        let rows = sql(c, &format!("SELECT COUNT(*) FROM {quoted}"), &doing).await?;
        let rows = rows.trim().parse().map_err(|_| AgentError::Internal(format!("cannot {doing}: row count {rows:?}")))?;
        let checksum = sql(c, &format!("CHECKSUM TABLE {quoted} EXTENDED"), &doing).await?;
        let checksum = checksum.trim().rsplit('\t').next().unwrap_or_default().to_owned();
        tables.push(TableStats { table: table.to_owned(), rows, checksum });
    }
    Ok(DatabaseStats { size_bytes, tables })
}

pub(super) async fn size(c: &ServerConfig, database: &str) -> Result<Option<DatabaseSize>> {
    let doing = format!("read the size of {database}");
    // One row when the database exists, none otherwise.
    let statement = format!(
        "SELECT (SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.TABLES WHERE table_schema = '{database}'), \
         (SELECT COUNT(*) FROM information_schema.TABLES WHERE table_schema = '{database}' AND table_type = 'BASE TABLE') \
         FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{database}'"
    );
    let row = sql(c, &statement, &doing).await?;
    let Some(row) = row.lines().map(str::trim).find(|l| !l.is_empty()) else { return Ok(None) };
    let (size, tables) = row.split_once('\t').unwrap_or((row, "0"));
    let size_bytes = size.parse().map_err(|_| AgentError::Internal(format!("cannot {doing}: size {size:?}")))?;
    let tables = tables.parse().map_err(|_| AgentError::Internal(format!("cannot {doing}: table count {tables:?}")))?;
    Ok(Some(DatabaseSize { size_bytes, tables }))
}
