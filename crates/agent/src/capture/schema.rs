//! What one environment's schema has that another's lacks, per database, as replaying
//! captured writes between them cares: tables, and columns of the tables both have. The
//! workflow asks it once a candidate's migration has run (`GET /v1/envs/{candidate}/schema?
//! compare_with={production}`), and core turns it into what a cutover and a rollback would do
//! with the writes (`switchyard_core::schema_change`).
//!
//! Databases are named and matched as change capture names them (`shared/<path>`,
//! `volume/<path>`, a binding's name) and tables as capture does (`notes`; `public.notes` on
//! PostgreSQL), from the database's own catalog: SQLite through rusqlite, a server's through
//! `information_schema` (base tables only). The agent's own `_switchyard_*` tables and the
//! servers' system schemas are left out. Read-only.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use switchyard_core::schema_change::{DatabaseDifference, SchemaDifference, TableDifference};

use super::{databases_of, Found};
use crate::databases::{Catalog, DatabaseKind, ServerConfig};
use crate::error::{AgentError, Result};
use crate::layout::Layout;

/// `GET /v1/envs/{env}/schema?compare_with=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaQuery {
    /// The environment compared with (production, when `env` is the migrated candidate).
    #[serde(default)]
    pub compare_with: Option<String>,
}

/// Each table's columns in order, by the name capture gives the table.
type Tables = BTreeMap<String, Vec<String>>;

/// What `env`'s databases have that `other`'s lack (`added`) and the reverse (`removed`). A
/// database only one side has counts as every table of it added or removed.
pub async fn difference(layout: &Layout, env: &str, other: &str) -> Result<SchemaDifference> {
    if env == other {
        return Err(AgentError::Invalid(format!(
            "cannot compare environment {env}'s schema with itself: name another environment in compare_with"
        )));
    }
    let (mine, theirs) = (schemas(layout, env).await?, schemas(layout, other).await?);
    let mut names: Vec<&String> = mine.keys().chain(theirs.keys()).collect();
    names.sort();
    names.dedup();
    let empty = Tables::new();
    let databases = names
        .into_iter()
        .map(|name| {
            let (a, b) = (mine.get(name).unwrap_or(&empty), theirs.get(name).unwrap_or(&empty));
            DatabaseDifference { database: name.clone(), added: lacking(a, b), removed: lacking(b, a) }
        })
        .filter(|d| !d.added.is_empty() || !d.removed.is_empty())
        .collect();
    Ok(SchemaDifference { databases })
}

/// What `have` has that `lack` lacks: whole tables (no columns named), then columns of the
/// tables both have, in `have`'s order.
fn lacking(have: &Tables, lack: &Tables) -> Vec<TableDifference> {
    have.iter()
        .filter_map(|(table, columns)| match lack.get(table) {
            None => Some(TableDifference { table: table.clone(), columns: Vec::new() }),
            Some(theirs) => {
                let columns: Vec<String> = columns.iter().filter(|c| !theirs.contains(c)).cloned().collect();
                (!columns.is_empty()).then(|| TableDifference { table: table.clone(), columns })
            }
        })
        .collect()
}

/// Every database of `env`, by capture's name, with its tables.
async fn schemas(layout: &Layout, env: &str) -> Result<BTreeMap<String, Tables>> {
    let mut found = BTreeMap::new();
    for (name, database) in databases_of(layout, env)? {
        let tables = match database {
            Found::Sqlite(path) => {
                let owner = super::owner(layout, env);
                super::blocking(move || {
                    let tables = sqlite_tables(&path);
                    super::give_back(&path, owner)?;
                    tables
                })
                .await?
            }
            Found::Server(binding) => {
                let catalog = Catalog::load(layout.root())?;
                let server = catalog.server(&binding.server)?;
                server_tables(server.config, server.kind(), &binding.database).await?
            }
        };
        found.insert(name, tables);
    }
    Ok(found)
}

fn sqlite_tables(path: &Path) -> Result<Tables> {
    let conn = super::sqlite::open(path)?;
    let tables = super::sqlite::user_tables(&conn).map_err(|e| {
        AgentError::CommandFailed(format!(
            "cannot read the schema of the SQLite database {} ({e}): check that it is a SQLite database not held by a long write, then retry",
            path.display()
        ))
    })?;
    Ok(tables.into_iter().collect())
}

async fn server_tables(c: &ServerConfig, kind: DatabaseKind, database: &str) -> Result<Tables> {
    let doing = format!("read the schema of database {database}");
    let out = match kind {
        DatabaseKind::Postgresql => {
            crate::databases::postgres::sql(
                c,
                database,
                "SELECT c.table_schema || '.' || c.table_name, c.column_name FROM information_schema.columns c \
                 JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
                 WHERE t.table_type = 'BASE TABLE' AND c.table_schema NOT IN ('pg_catalog', 'information_schema') \
                 AND c.table_schema NOT LIKE 'pg\\_%' AND c.table_name NOT LIKE '\\_switchyard\\_%' \
                 ORDER BY 1, c.ordinal_position",
                &doing,
            )
            .await?
        }
        DatabaseKind::Mariadb => {
            let schema = database.replace('\\', "\\\\").replace('\'', "''");
            crate::databases::mariadb::sql(
                c,
                &format!(
                    "SELECT c.TABLE_NAME, c.COLUMN_NAME FROM information_schema.COLUMNS c JOIN information_schema.TABLES t \
                     ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME \
                     WHERE c.TABLE_SCHEMA = '{schema}' AND t.TABLE_TYPE = 'BASE TABLE' AND c.TABLE_NAME NOT LIKE '\\\\_switchyard\\\\_%' \
                     ORDER BY 1, c.ORDINAL_POSITION"
                ),
                &doing,
            )
            .await?
        }
    };
    let mut tables = Tables::new();
    for line in out.lines() {
        if let Some((table, column)) = line.split_once('\t') {
            tables.entry(table.to_owned()).or_default().push(column.to_owned());
        }
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(list: &[(&str, &[&str])]) -> Tables {
        list.iter().map(|(t, cs)| (t.to_string(), cs.iter().map(|c| c.to_string()).collect())).collect()
    }

    #[test]
    fn whole_tables_and_columns_of_shared_tables_are_told_apart() {
        let migrated = tables(&[("notes", &["id", "body", "pinned"]), ("tags", &["name"])]);
        let running = tables(&[("notes", &["id", "body", "legacy"]), ("visits", &["page"])]);
        let added = lacking(&migrated, &running);
        assert_eq!(
            added,
            [
                TableDifference { table: "notes".into(), columns: vec!["pinned".into()] },
                TableDifference { table: "tags".into(), columns: vec![] }
            ]
        );
        let removed = lacking(&running, &migrated);
        assert_eq!(removed.iter().map(TableDifference::words).collect::<Vec<_>>(), ["notes.legacy", "table visits"]);
        assert!(lacking(&migrated, &migrated).is_empty());
    }
}
