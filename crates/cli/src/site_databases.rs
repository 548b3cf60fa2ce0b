//! `switchyard site databases`: a site's databases on its hosts' database servers (those its
//! environments use, the copies Switchyard made for rehearsals and snapshots, leftovers), and
//! `--remove SERVER/DATABASE` for a leftover copy (support staff).

use crate::remote::Remote;
use anyhow::{bail, Context, Result};
use switchyard_api::{RemoveSiteDatabase, SiteDatabases};

#[derive(clap::Args)]
pub struct DatabasesArgs {
    /// The site, by id or name.
    #[arg(long)]
    site: String,
    /// Remove this leftover copy (`SERVER/DATABASE`, as listed) and its login.
    #[arg(long, value_name = "SERVER/DATABASE")]
    remove: Option<String>,
    /// The host, by id, when two of the site's hosts have a database of that name.
    #[arg(long, requires = "remove")]
    host: Option<i64>,
}

pub async fn run(remote: &Remote, args: DatabasesArgs) -> Result<i32> {
    let site = remote.site(&args.site).await?;
    let listed: SiteDatabases = match &args.remove {
        None => remote
            .get(&format!("/sites/{}/databases", site.id))
            .await
            .with_context(|| format!("cannot list the databases of site {}", site.name))?,
        Some(named) => {
            let Some((server, database)) = named.split_once('/') else {
                bail!(
                    "--remove takes SERVER/DATABASE as `switchyard site databases --site {}` lists them, e.g. main/shop_1a2b3c4d",
                    site.id
                );
            };
            let request = RemoveSiteDatabase { host_id: args.host, server: server.to_owned(), database: database.to_owned() };
            let after = remote
                .post(&format!("/sites/{}/databases/remove", site.id), &request)
                .await
                .with_context(|| format!("cannot remove database {named} of site {}", site.name))?;
            println!("removed {named} and the login Switchyard made for it");
            after
        }
    };
    print!("{}", render(&listed));
    Ok(0)
}

/// The table `site databases` prints, then what could not be asked.
fn render(listed: &SiteDatabases) -> String {
    if listed.databases.is_empty() && listed.problems.is_empty() {
        return "The site has no databases on database servers.\n".to_owned();
    }
    let rows: Vec<Vec<String>> = listed
        .databases
        .iter()
        .map(|d| {
            let kind = match &d.made_for {
                Some(made_for) => format!("{} ({made_for})", d.origin.label()),
                None => d.origin.label().to_owned(),
            };
            let size = match (d.size_bytes, d.tables) {
                (Some(bytes), Some(tables)) => format!("{}, {tables} tables", crate::table::bytes(bytes)),
                (Some(bytes), None) => crate::table::bytes(bytes),
                _ => "not on the server".to_owned(),
            };
            let used_by = if d.used_by.is_empty() { "-".to_owned() } else { d.used_by.join(", ") };
            let server = format!("{} on {}", d.server, d.host_name);
            vec![server, d.database.clone(), kind, size, used_by, if d.leftover { "leftover".into() } else { String::new() }]
        })
        .collect();
    let mut out = crate::table::render(&["SERVER", "DATABASE", "KIND", "SIZE", "USED BY", "LEFTOVER"], &rows);
    for problem in &listed.problems {
        out.push_str(&format!("not listed: {problem}\n"));
    }
    if listed.databases.iter().any(|d| d.leftover) {
        out.push_str("Support staff remove a leftover with --remove SERVER/DATABASE.\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_api::{DatabaseOrigin, SiteDatabaseEntry};

    #[test]
    fn databases_print_as_a_table_with_leftovers_marked() {
        let entry = |database: &str, origin, made_for: Option<&str>, used_by: &[&str], size: Option<u64>| SiteDatabaseEntry {
            host_id: 1,
            host_name: "local".into(),
            server: "main".into(),
            kind: "postgresql".into(),
            database: database.into(),
            origin,
            made_for: made_for.map(str::to_owned),
            made_at: None,
            used_by: used_by.iter().map(|s| s.to_string()).collect(),
            leftover: used_by.is_empty(),
            size_bytes: size,
            tables: size.map(|_| 2),
        };
        let listed = SiteDatabases {
            site_id: 1,
            databases: vec![
                entry("shop", DatabaseOrigin::Declared, None, &["shop-blue"], Some(8 << 20)),
                entry("shop_1a2b", DatabaseOrigin::Clone, Some("copy for environment shop-green"), &[], None),
            ],
            problems: vec!["host web-2 did not answer".into()],
        };
        assert_eq!(
            render(&listed),
            "SERVER         DATABASE   KIND                                     SIZE               USED BY    LEFTOVER\n\
             main on local  shop       declared                                 8.0 MiB, 2 tables  shop-blue\n\
             main on local  shop_1a2b  clone (copy for environment shop-green)  not on the server  -          leftover\n\
             not listed: host web-2 did not answer\n\
             Support staff remove a leftover with --remove SERVER/DATABASE.\n"
        );
    }
}
