//! `cargo xtask`: the project's one way to set up, run and test, on a fresh Debian 12 machine.
//!
//! Each command installs what it needs and is missing (Debian packages when root, the wasm32
//! target, trunk and the wasm-bindgen CLI at the lockfile's version), then does its job.
//! Nothing is downloaded from outside crates.io and Debian: trunk runs offline.

mod bundle;
mod setup;
mod tidy;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  run [ARGS…]   set up, build the web UI and start `switchyard serve ARGS…` (web UI, embedded SQLite)
  test          set up, check formatting and lints, build everything and run the whole test
                suite (what CI runs)
  desktop       set up, build the web UI and start the desktop app
  bench         run the benchmarks (router vs nginx, agent clone/upload vs cp, site databases
                copied vs pg_dump/mariadb-dump/TEMPLATE, release history on 100k vs 1k
                releases, login timing by who is named); they print tables.
                ROUTER_BENCH_SECONDS, AGENT_BENCH_MB, DATABASE_BENCH_MB,
                HISTORY_BENCH_RELEASES and LOGIN_BENCH_ROUNDS size them
  ui            set up and build the web UI only (optimised and compressed, into frontend/dist)
  setup         only install what is missing";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    // `cargo xtask run -- --port 8080`: the `--` only separates our arguments from serve's.
    let rest: Vec<String> = args.skip_while(|arg| arg == "--").collect();
    let root = workspace_root();
    match command.as_str() {
        "run" => {
            setup::ensure(&root, setup::Purpose::Run)?;
            build_frontend(&root)?;
            // The demo site is the sample site, found beside `switchyard` when serve seeds it.
            run(cargo(&root).args(["build", "--package", "sample-site"]))?;
            let mut serve = cargo(&root);
            serve.args(["run", "--package", "switchyard-cli", "--bin", "switchyard", "--", "serve"]).args(&rest);
            run(&mut serve)
        }
        "desktop" => {
            setup::ensure(&root, setup::Purpose::Run)?;
            build_frontend(&root)?;
            run(cargo(&root).args(["run", "--package", "switchyard-desktop"]))
        }
        "test" => {
            setup::ensure(&root, setup::Purpose::Test)?;
            build_frontend(&root)?;
            test(&root)
        }
        "ui" => {
            setup::ensure(&root, setup::Purpose::Run)?;
            build_frontend(&root)
        }
        "setup" => setup::ensure(&root, setup::Purpose::Test),
        "bench" => {
            setup::ensure(&root, setup::Purpose::Bench)?;
            run(cargo(&root).args(["bench", "--locked", "-p", "switchyard-router", "--bench", "router_bench"]))?;
            run(cargo(&root).args(["bench", "--locked", "-p", "switchyard-agent", "--bench", "agent_bench"]))?;
            run(cargo(&root).args(["bench", "--locked", "-p", "switchyard-agent", "--bench", "database_bench"]))?;
            run(cargo(&root).args(["bench", "--locked", "-p", "switchyard-store", "--bench", "history_bench"]))?;
            run(cargo(&root).args(["bench", "--locked", "-p", "switchyard-service", "--bench", "login_bench"]))
        }
        "" | "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_owned()
}

fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root);
    command
}

/// Runs a command with inherited output; fails with the command line when it fails.
pub fn run(command: &mut Command) -> Result<()> {
    let line = format!("{command:?}");
    eprintln!("xtask: {line}");
    let status = command.status().with_context(|| format!("cannot start {line}"))?;
    if !status.success() {
        bail!("{line} failed with {status}");
    }
    Ok(())
}

/// Builds the web UI into frontend/dist, which both `switchyard serve` and the desktop build use.
fn build_frontend(root: &Path) -> Result<()> {
    // Trunk runs cargo offline (so it never downloads a tool), so fetch crates first.
    run(cargo(root).args(["fetch", "--locked"]))?;
    run(Command::new(setup::cargo_bin("trunk")).current_dir(root.join("frontend")).args(["build", "--release"]))?;
    bundle::finish(root)
}

fn test(root: &Path) -> Result<()> {
    // Formatting and lints are part of the suite: a change that breaks either does not land.
    run(cargo(root).args(["fmt", "--all", "--check"]))?;
    let deny_warnings = ["--", "-D", "warnings"];
    run(cargo(root).args(["clippy", "--locked", "--workspace", "--exclude", "switchyard-frontend", "--all-targets"]).args(deny_warnings))?;
    run(cargo(root).args(["clippy", "--locked", "-p", "switchyard-frontend", "--target", "wasm32-unknown-unknown"]).args(deny_warnings))?;
    // Build every binary first: the end-to-end tests start the real `switchyard` and desktop app.
    run(cargo(root).args(["build", "--locked", "--workspace", "--exclude", "switchyard-frontend", "--bins"]))?;
    let nextest = Command::new(cargo_path()).args(["nextest", "--version"]).output().is_ok_and(|o| o.status.success());
    if nextest {
        run(cargo(root).args(["nextest", "run", "--locked", "--workspace", "--exclude", "switchyard-frontend", "--no-fail-fast"]))
    } else {
        run(cargo(root).args(["test", "--locked", "--workspace", "--exclude", "switchyard-frontend", "--no-fail-fast"]))
    }
}

fn cargo_path() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}
