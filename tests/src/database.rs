//! A customer's database server for the end-to-end tests: a real PostgreSQL or MariaDB (the
//! agent crate's `TestServer`, from a temporary directory on a free port) with the site's
//! production database and login made by hand, as a customer's would be, and declared to the
//! local agent in its `databases.toml`. Its own statistics tell which databases were written.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use switchyard_agent::databases::{DatabaseKind, ServerConfig};
use switchyard_agent::test_servers::TestServer;

/// The production database, its login and the server it is on.
pub struct CustomerDatabase {
    pub server: TestServer,
    pub database: String,
    pub password: String,
}

/// Runs `sql` in `database` as `user` through the kind's own client; `None` when refused.
pub fn query(c: &ServerConfig, database: &str, user: &str, password: &str, sql: &str) -> Option<String> {
    let port = c.port.to_string();
    let out = match c.kind {
        DatabaseKind::Postgresql => Command::new("psql")
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", &c.host, "-p", &port, "-U", user, "-d", database, "-c", sql])
            .env("PGPASSWORD", password)
            .output(),
        DatabaseKind::Mariadb => Command::new("mariadb")
            .args(["--no-defaults", "--protocol=tcp", "-h", &c.host, "-P", &port, "-u", user, "--batch", "--skip-column-names"])
            .args([database, "-e", sql])
            .env("MYSQL_PWD", password)
            .output(),
    }
    .expect("run the database client");
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

impl CustomerDatabase {
    /// A server of `kind` with database `name` owned by (granted to) login `name`.
    pub fn start(kind: DatabaseKind, name: &str) -> CustomerDatabase {
        let server = TestServer::start(kind).unwrap_or_else(|e| panic!("cannot start a {} server: {e}", kind.as_str()));
        let password = format!("{name}Secret42");
        let db = CustomerDatabase { server, database: name.to_owned(), password };
        match kind {
            DatabaseKind::Postgresql => {
                db.admin(&format!("CREATE ROLE {name} LOGIN PASSWORD '{}'", db.password));
                db.admin(&format!("CREATE DATABASE {name} OWNER {name}"));
            }
            DatabaseKind::Mariadb => {
                db.admin(&format!(
                    "CREATE USER '{name}'@'%' IDENTIFIED BY '{}'; CREATE DATABASE {name}; GRANT ALL ON {name}.* TO '{name}'@'%'",
                    db.password
                ));
                // Per-table write counts, the statistics the rehearsal's check reads.
                db.admin("SET GLOBAL userstat = 1");
            }
        }
        db
    }

    pub fn kind(&self) -> DatabaseKind {
        self.server.config.kind
    }

    /// Runs `sql` as the server's administrator.
    pub fn admin(&self, sql: &str) -> String {
        let c = &self.server.config;
        let database = if c.kind == DatabaseKind::Postgresql { "postgres" } else { "mysql" };
        query(c, database, &c.admin_user, &c.admin_password, sql).unwrap_or_else(|| panic!("{sql} was refused\n{}", self.server.log()))
    }

    /// Declares the server and the production login to the agent whose root is `root`.
    pub fn declare_to(&self, root: &Path) {
        let c = &self.server.config;
        let text = format!(
            "[servers.main]\nkind = \"{}\"\nhost = \"{}\"\nport = {}\nadmin_user = \"{}\"\nadmin_password = \"{}\"\n\n\
             [[logins]]\nserver = \"main\"\nuser = \"{}\"\npassword = \"{}\"\n",
            c.kind.as_str(),
            c.host,
            c.port,
            c.admin_user,
            c.admin_password,
            self.database,
            self.password
        );
        let path = root.join("databases.toml");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    /// The databases on the server, the kind's own ones left out.
    pub fn databases(&self) -> Vec<String> {
        let sql = match self.kind() {
            DatabaseKind::Postgresql => "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres' ORDER BY 1",
            DatabaseKind::Mariadb => {
                "SELECT schema_name FROM information_schema.SCHEMATA \
                 WHERE schema_name NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY 1"
            }
        };
        self.admin(sql).lines().map(str::to_owned).collect()
    }

    /// How many rows were ever inserted, updated or deleted in `database`, by the server's own
    /// statistics.
    pub fn rows_written(&self, database: &str) -> u64 {
        let sql = match self.kind() {
            DatabaseKind::Postgresql => {
                format!("SELECT tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = '{database}'")
            }
            DatabaseKind::Mariadb => {
                format!("SELECT COALESCE(SUM(rows_changed), 0) FROM information_schema.TABLE_STATISTICS WHERE table_schema = '{database}'")
            }
        };
        let out = self.admin(&sql);
        out.trim().parse().unwrap_or_else(|_| panic!("{sql} gave {out:?}"))
    }

    /// The columns of `table` in production's database.
    pub fn columns(&self, table: &str) -> Vec<String> {
        let schema = if self.kind() == DatabaseKind::Postgresql { "public".to_owned() } else { self.database.clone() };
        let sql = format!(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = '{schema}' AND table_name = '{table}' ORDER BY 1"
        );
        let database = if self.kind() == DatabaseKind::Postgresql { self.database.as_str() } else { "mysql" };
        let c = &self.server.config;
        query(c, database, &c.admin_user, &c.admin_password, &sql).unwrap_or_default().lines().map(str::to_owned).collect()
    }
}
