//! A site's databases on database servers (PostgreSQL, MariaDB/MySQL), as the agent copies,
//! snapshots, restores and removes them: the one seam the rest of the agent speaks of "the
//! site's data" through. Each kind is one module (`postgres.rs`, `mariadb.rs`) behind
//! [`Server`]; adding a kind touches this file's matches and its own module.
//!
//! Credentials never leave the agent host. The operator describes the servers and the login
//! each live database is used with in `<root>/databases.toml` (kept 0600); the logins the
//! agent makes for the copies it creates are kept in `<root>/secrets/database-logins.toml`
//! (0600). An environment names its databases by server, database and user
//! ([`DatabaseBinding`]); the site gets the connection as `DATABASE_URL` and the kind's own
//! variables, filled in by the agent when it starts the site.

mod catalog;
pub mod env;
pub mod inventory;
mod made;
pub(crate) mod mariadb;
pub(crate) mod postgres;
pub(crate) mod run;
pub mod snapshot;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use catalog::{Catalog, Login, ServerConfig};
pub use made::{MadeDatabase, MadeFor};

use crate::error::{AgentError, Result};

/// The database servers Switchyard can release sites on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseKind {
    Postgresql,
    Mariadb,
}

impl DatabaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseKind::Postgresql => "postgresql",
            DatabaseKind::Mariadb => "mariadb",
        }
    }
}

/// One database an environment uses: which server, which database on it, as which user.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DatabaseBinding {
    /// What the site calls it: `default` is passed as `DATABASE_URL`, another name `n` as
    /// `DATABASE_URL_N`.
    #[serde(default = "default_binding_name")]
    pub name: String,
    /// A server of the host's `databases.toml`.
    pub server: String,
    pub database: String,
    pub user: String,
    /// Made by the agent for this environment (a private clone): removed with it. A database
    /// the operator declared never is.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub owned: bool,
}

fn default_binding_name() -> String {
    "default".to_owned()
}

/// What one table holds, to tell a faithful copy from a broken one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableStats {
    pub table: String,
    pub rows: u64,
    /// A checksum of the table's rows in a fixed order (the kind's own where it has one).
    pub checksum: String,
}

/// A database's size and tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseStats {
    pub size_bytes: u64,
    pub tables: Vec<TableStats>,
}

impl DatabaseStats {
    /// Compares a copy with its source: `Ok` when every table has the same rows and checksum,
    /// else the first difference in words.
    pub fn verify_copy_of(&self, source: &DatabaseStats) -> std::result::Result<(), String> {
        let mine: BTreeMap<&str, &TableStats> = self.tables.iter().map(|t| (t.table.as_str(), t)).collect();
        for table in &source.tables {
            match mine.get(table.table.as_str()) {
                None => return Err(format!("table {} is missing from the copy", table.table)),
                Some(copy) if copy.rows != table.rows => {
                    return Err(format!("table {} has {} rows in the copy and {} in the source", table.table, copy.rows, table.rows))
                }
                Some(copy) if copy.checksum != table.checksum => {
                    return Err(format!("table {} differs from the source ({} rows each)", table.table, table.rows))
                }
                Some(_) => {}
            }
        }
        if let Some(extra) = self.tables.iter().find(|t| !source.tables.iter().any(|s| s.table == t.table)) {
            return Err(format!("the copy has table {} the source has not", extra.table));
        }
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// How big a database is, read from the server's catalogs alone (no table is scanned, unlike
/// [`DatabaseStats`], so listing a host's databases stays cheap however big they are).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseSize {
    /// On disk (PostgreSQL: `pg_database_size`; MariaDB: data and index length of its tables).
    pub size_bytes: u64,
    pub tables: u64,
}

/// A server of the catalog, with what the agent does on it.
#[derive(Debug)]
pub struct Server<'a> {
    pub name: &'a str,
    pub config: &'a ServerConfig,
}

/// How a copy is taken: of a database in use (a consistent dump, the writers go on; every
/// object of the copy belongs to its owner), or of one nobody uses while it is copied (the
/// kind's fastest copy, which may close connections left open; objects keep their owners, so
/// it suits a snapshot to be restored for the same user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    Live,
    Quiesced,
}

impl Server<'_> {
    pub fn kind(&self) -> DatabaseKind {
        self.config.kind
    }

    /// Makes `target` a new database with `source`'s schema and data, owned by (PostgreSQL)
    /// or granted to (MariaDB) `owner`, which must exist. A `target` left by an earlier try
    /// is replaced.
    pub async fn copy(&self, source: &str, target: &str, owner: &str, consistency: Consistency) -> Result<()> {
        for name in [source, target] {
            check_identifier("database", name)?;
        }
        check_identifier("user", owner)?;
        match self.config.kind {
            DatabaseKind::Postgresql => postgres::copy(self.config, source, target, owner, consistency).await,
            DatabaseKind::Mariadb => mariadb::copy(self.config, source, target, owner).await,
        }
    }

    /// Makes `target` a copy of `source` owned by `owner`, in place of what it held: the copy
    /// is built beside it first, so a failure leaves `target` as it was.
    pub async fn replace(&self, source: &str, target: &str, owner: &str) -> Result<()> {
        for name in [source, target] {
            check_identifier("database", name)?;
        }
        check_identifier("user", owner)?;
        let [incoming, _] = replacement_names(target);
        self.copy(source, &incoming, owner, Consistency::Live).await?;
        match self.config.kind {
            DatabaseKind::Postgresql => postgres::swap_in(self.config, &incoming, target).await,
            DatabaseKind::Mariadb => mariadb::swap_in(self.config, &incoming, target, owner).await,
        }
    }

    /// Removes `database` if it exists (closing its connections first).
    pub async fn drop_database(&self, database: &str) -> Result<()> {
        check_identifier("database", database)?;
        match self.config.kind {
            DatabaseKind::Postgresql => postgres::drop_database(self.config, database).await,
            DatabaseKind::Mariadb => mariadb::drop_database(self.config, database).await,
        }
    }

    /// Creates login `user` with `password`, or sets the password of the one an earlier try made.
    pub async fn ensure_login(&self, user: &str, password: &str) -> Result<()> {
        check_identifier("user", user)?;
        check_password(password)?;
        let made = match self.config.kind {
            DatabaseKind::Postgresql => postgres::ensure_login(self.config, user, password).await,
            DatabaseKind::Mariadb => mariadb::ensure_login(self.config, user, password).await,
        };
        // A server's error may quote the statement, password and all.
        made.map_err(|e| AgentError::CommandFailed(e.to_string().replace(password, "<password>")))
    }

    /// Removes login `user` if it exists.
    pub async fn drop_login(&self, user: &str) -> Result<()> {
        check_identifier("user", user)?;
        match self.config.kind {
            DatabaseKind::Postgresql => postgres::drop_login(self.config, user).await,
            DatabaseKind::Mariadb => mariadb::drop_login(self.config, user).await,
        }
    }

    pub async fn exists(&self, database: &str) -> Result<bool> {
        check_identifier("database", database)?;
        match self.config.kind {
            DatabaseKind::Postgresql => postgres::exists(self.config, database).await,
            DatabaseKind::Mariadb => mariadb::exists(self.config, database).await,
        }
    }

    /// The database's size and each table's rows and checksum.
    pub async fn stats(&self, database: &str) -> Result<DatabaseStats> {
        check_identifier("database", database)?;
        match self.config.kind {
            DatabaseKind::Postgresql => postgres::stats(self.config, database).await,
            DatabaseKind::Mariadb => mariadb::stats(self.config, database).await,
        }
    }

    /// The database's size and number of tables, or `None` when the server has no such
    /// database (a copy broken off before it was made).
    pub async fn size(&self, database: &str) -> Result<Option<DatabaseSize>> {
        check_identifier("database", database)?;
        match self.config.kind {
            DatabaseKind::Postgresql => postgres::size(self.config, database).await,
            DatabaseKind::Mariadb => mariadb::size(self.config, database).await,
        }
    }

    /// The variables a site connecting as `user` with `password` is given: `DATABASE_URL`
    /// (suffixed for a binding not named `default`) and the kind's own.
    pub fn connection_env(&self, binding: &DatabaseBinding, password: &str) -> BTreeMap<String, String> {
        let c = self.config;
        let scheme = match c.kind {
            DatabaseKind::Postgresql => "postgres",
            DatabaseKind::Mariadb => "mysql",
        };
        let url = format!("{scheme}://{}:{}@{}:{}/{}", encode(&binding.user), encode(password), c.host, c.port, binding.database);
        let mut env = BTreeMap::new();
        if binding.name == "default" {
            env.insert("DATABASE_URL".to_owned(), url);
            let own: [(&str, String); 5] = match c.kind {
                DatabaseKind::Postgresql => [
                    ("PGHOST", c.host.clone()),
                    ("PGPORT", c.port.to_string()),
                    ("PGDATABASE", binding.database.clone()),
                    ("PGUSER", binding.user.clone()),
                    ("PGPASSWORD", password.to_owned()),
                ],
                DatabaseKind::Mariadb => [
                    ("MYSQL_HOST", c.host.clone()),
                    ("MYSQL_TCP_PORT", c.port.to_string()),
                    ("MYSQL_DATABASE", binding.database.clone()),
                    ("MYSQL_USER", binding.user.clone()),
                    ("MYSQL_PWD", password.to_owned()),
                ],
            };
            env.extend(own.into_iter().map(|(k, v)| (k.to_owned(), v)));
        } else {
            env.insert(format!("DATABASE_URL_{}", binding.name.to_ascii_uppercase()), url);
        }
        env
    }
}

/// The databases [`Server::replace`] makes beside `target` while it runs: the copy coming in
/// and (PostgreSQL) the old one going out. Both are gone when it returns.
pub fn replacement_names(target: &str) -> [String; 2] {
    let stem: String = target.chars().take(58).collect();
    [format!("{stem}_in"), format!("{stem}_old")]
}

/// Database and user names the agent puts in SQL: letters, digits and `_`, starting with a
/// letter, at most 63 bytes (PostgreSQL's limit; MariaDB's user limit is 80).
pub fn check_identifier(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AgentError::Invalid(format!(
            "{what} name {name:?} is not usable: use letters, digits and _ (starting with a letter, at most 63)"
        )))
    }
}

/// Passwords the agent writes into SQL literals are its own random ones; any other is refused
/// rather than quoted.
fn check_password(password: &str) -> Result<()> {
    if !password.is_empty() && password.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(AgentError::Invalid("a login the agent creates takes a password of letters and digits only".into()))
    }
}

/// A fresh random password of letters and digits.
pub fn random_password() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 32)
}

/// Percent-encodes what a URL's user or password part cannot hold as it is.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_break_out_of_sql_are_refused() {
        for bad in ["", "1shop", "shop; drop", "shop\"", "a-b", &"x".repeat(64)] {
            assert!(check_identifier("database", bad).is_err(), "{bad:?}");
        }
        check_identifier("database", "shop_candidate_2").unwrap();
        assert!(check_password("it's").is_err());
        assert_eq!(random_password().len(), 32);
    }

    #[test]
    fn a_copy_is_verified_table_by_table() {
        let table = |name: &str, rows, sum: &str| TableStats { table: name.into(), rows, checksum: sum.into() };
        let source = DatabaseStats { size_bytes: 1, tables: vec![table("notes", 3, "a"), table("tags", 1, "b")] };
        assert_eq!(source.verify_copy_of(&source), Ok(()));
        let short = DatabaseStats { size_bytes: 1, tables: vec![table("notes", 2, "a"), table("tags", 1, "b")] };
        assert!(short.verify_copy_of(&source).unwrap_err().contains("2 rows in the copy and 3"));
        let edited = DatabaseStats { size_bytes: 1, tables: vec![table("notes", 3, "z"), table("tags", 1, "b")] };
        assert!(edited.verify_copy_of(&source).unwrap_err().contains("differs"));
        let missing = DatabaseStats { size_bytes: 1, tables: vec![table("notes", 3, "a")] };
        assert!(missing.verify_copy_of(&source).unwrap_err().contains("tags is missing"));
    }

    #[test]
    fn the_url_encodes_an_operators_password() {
        let config = ServerConfig {
            kind: DatabaseKind::Postgresql,
            host: "127.0.0.1".into(),
            port: 5432,
            admin_user: "postgres".into(),
            admin_password: String::new(),
        };
        let server = Server { name: "pg", config: &config };
        let binding =
            DatabaseBinding { name: "default".into(), server: "pg".into(), database: "shop".into(), user: "shop".into(), owned: false };
        let env = server.connection_env(&binding, "p@ss:w/rd");
        assert_eq!(env["DATABASE_URL"], "postgres://shop:p%40ss%3Aw%2Frd@127.0.0.1:5432/shop");
        assert_eq!(env["PGPASSWORD"], "p@ss:w/rd");
        let other = DatabaseBinding { name: "reports".into(), ..binding };
        assert!(server.connection_env(&other, "x").contains_key("DATABASE_URL_REPORTS"));
    }
}
