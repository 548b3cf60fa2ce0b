//! Where the agent finds database servers and the passwords of logins: the operator's
//! `<root>/databases.toml` and the agent's own `<root>/secrets/database-logins.toml`, both
//! readable by the agent's user only. Nothing here is ever sent in an answer.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::made::{self, MadeDatabase};
use super::{DatabaseKind, Server};
use crate::error::{io_context, AgentError, Result};
use crate::layout::write_atomic;

/// How the agent reaches a database server, and as whom it administers it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerConfig {
    pub kind: DatabaseKind,
    #[serde(default = "default_host")]
    pub host: String,
    pub port: u16,
    /// A user that may create databases and logins (PostgreSQL: `CREATEDB CREATEROLE` or a
    /// superuser; MariaDB: `ALL PRIVILEGES ... WITH GRANT OPTION`).
    pub admin_user: String,
    #[serde(default)]
    pub admin_password: String,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("admin_user", &self.admin_user)
            .finish_non_exhaustive()
    }
}

fn default_host() -> String {
    "127.0.0.1".to_owned()
}

/// A login's password on a server.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    pub server: String,
    pub user: String,
    pub password: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct OperatorFile {
    #[serde(default)]
    servers: BTreeMap<String, ServerConfig>,
    #[serde(default)]
    logins: Vec<Login>,
}

#[derive(Default, Serialize, Deserialize)]
struct AgentLogins {
    #[serde(default)]
    logins: Vec<Login>,
}

/// The servers and logins the agent knows, read afresh for each operation (so an operator's
/// edit applies without a restart).
#[derive(Debug)]
pub struct Catalog {
    root: PathBuf,
    operator: OperatorFile,
    agent: Vec<Login>,
    made: Vec<MadeDatabase>,
}

impl std::fmt::Debug for AgentLogins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentLogins").field("count", &self.logins.len()).finish()
    }
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login").field("server", &self.server).field("user", &self.user).finish_non_exhaustive()
    }
}

pub fn operator_file(root: &Path) -> PathBuf {
    root.join("databases.toml")
}

fn agent_file(root: &Path) -> PathBuf {
    root.join("secrets").join("database-logins.toml")
}

impl Catalog {
    pub fn load(root: &Path) -> Result<Catalog> {
        let operator_path = operator_file(root);
        let operator: OperatorFile = read_private(&operator_path)?.unwrap_or_default();
        let agent: AgentLogins = read_private(&agent_file(root))?.unwrap_or_default();
        Ok(Catalog { root: root.to_owned(), operator, agent: agent.logins, made: made::read(root)? })
    }

    /// Every server of `databases.toml`, by name.
    pub fn servers(&self) -> impl Iterator<Item = Server<'_>> {
        self.operator.servers.iter().map(|(name, config)| Server { name, config })
    }

    pub fn server<'a>(&'a self, name: &'a str) -> Result<Server<'a>> {
        let config = self.operator.servers.get(name).ok_or_else(|| {
            AgentError::NotFound(format!(
                "no database server {name:?} in {}: add a [servers.{name}] table with its kind, host, port and admin user",
                operator_file(&self.root).display()
            ))
        })?;
        Ok(Server { name, config })
    }

    /// The password of `user` on `server`: the operator's entry first, then one the agent made.
    pub fn password(&self, server: &str, user: &str) -> Result<&str> {
        let found = self.operator.logins.iter().chain(&self.agent).find(|l| l.server == server && l.user == user);
        found.map(|l| l.password.as_str()).ok_or_else(|| {
            AgentError::NotFound(format!(
                "no password for user {user:?} on database server {server:?}: add a [[logins]] entry to {}",
                operator_file(&self.root).display()
            ))
        })
    }

    /// Records a login the agent created, replacing an earlier one of the same user.
    pub fn remember_login(&mut self, login: Login) -> Result<()> {
        self.change_agent_logins(|logins| {
            logins.retain(|l| !(l.server == login.server && l.user == login.user));
            logins.push(login);
        })
    }

    pub fn forget_login(&mut self, server: &str, user: &str) -> Result<()> {
        self.change_agent_logins(|logins| logins.retain(|l| !(l.server == server && l.user == user)))
    }

    /// Clones of different environments run at once: each change re-reads the file under a
    /// lock, so one never writes back the logins without another's new one.
    fn change_agent_logins(&mut self, change: impl FnOnce(&mut Vec<Login>)) -> Result<()> {
        static CHANGING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _changing = CHANGING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let on_disk: AgentLogins = read_private(&agent_file(&self.root))?.unwrap_or_default();
        self.agent = on_disk.logins;
        change(&mut self.agent);
        self.save_agent_logins()
    }

    /// Registers a database the agent is about to make (before it makes it, so a crash never
    /// leaves one it does not know of), replacing an earlier entry of the same database.
    pub fn remember_database(&mut self, made: MadeDatabase) -> Result<()> {
        self.made = made::change(&self.root, |all| {
            all.retain(|m| !(m.server == made.server && m.database == made.database));
            all.push(made);
        })?;
        Ok(())
    }

    /// Forgets a database the agent made, once it was dropped.
    pub fn forget_database(&mut self, server: &str, database: &str) -> Result<()> {
        self.made = made::change(&self.root, |all| all.retain(|m| !(m.server == server && m.database == database)))?;
        Ok(())
    }

    /// Every database the agent made and has not dropped.
    pub fn made_databases(&self) -> &[MadeDatabase] {
        &self.made
    }

    /// The register's entry of `database` on `server`, if the agent made it.
    pub fn made(&self, server: &str, database: &str) -> Option<&MadeDatabase> {
        self.made.iter().find(|m| m.server == server && m.database == database)
    }

    fn save_agent_logins(&self) -> Result<()> {
        let text = toml::to_string(&AgentLogins { logins: self.agent.clone() })
            .map_err(|e| AgentError::Internal(format!("cannot encode the database logins: {e}")))?;
        write_private(&agent_file(&self.root), text.as_bytes())
    }
}

/// Reads a TOML file that holds passwords; refuses one other users can read.
fn read_private<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_context(format!("cannot read {}", path.display()))(e)),
    };
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(AgentError::Invalid(format!(
            "{} holds passwords but other users may read it: run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(io_context(format!("cannot read {}", path.display())))?;
    toml::from_str(&text).map(Some).map_err(|e| AgentError::Invalid(format!("{} does not read: {e}", path.display())))
}

/// The file written 0600 (`write_atomic`'s mode) in a directory only the agent enters.
pub(super) fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_context(format!("cannot create {}", dir.display())))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(io_context(format!("cannot protect {}", dir.display())))?;
    write_atomic(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_come_from_private_files_only_and_never_show_in_debug_output() {
        let dir = tempfile::tempdir().unwrap();
        let path = operator_file(dir.path());
        let text = "[servers.pg]\nkind = \"postgresql\"\nport = 5432\nadmin_user = \"postgres\"\nadmin_password = \"s3cret\"\n\n[[logins]]\nserver = \"pg\"\nuser = \"shop\"\npassword = \"hunter2\"\n";
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(Catalog::load(dir.path()).unwrap_err().to_string().contains("chmod 600"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut catalog = Catalog::load(dir.path()).unwrap();
        assert_eq!(catalog.password("pg", "shop").unwrap(), "hunter2");
        assert!(!format!("{catalog:?}").contains("s3cret") && !format!("{catalog:?}").contains("hunter2"));
        assert!(catalog.server("mysql").unwrap_err().to_string().contains("no database server \"mysql\""));
        catalog.remember_login(Login { server: "pg".into(), user: "shop_copy".into(), password: "abc".into() }).unwrap();
        let mode = std::fs::metadata(agent_file(dir.path())).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(Catalog::load(dir.path()).unwrap().password("pg", "shop_copy").unwrap(), "abc");
        catalog.forget_login("pg", "shop_copy").unwrap();
        assert!(Catalog::load(dir.path()).unwrap().password("pg", "shop_copy").is_err());
    }
}
