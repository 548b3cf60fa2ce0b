//! Tests of the release manifest: defaults, the documented example, round trips, every
//! refusal with its line, Procfiles, summaries and `${NAME}` expansion.

use super::*;

const EXAMPLE: &str = r#"[web]
command = "gunicorn --bind 127.0.0.1:$PORT notes.wsgi"
port_variable = "APP_PORT"
stop_signal = "SIGINT"
stop_timeout_secs = 20

[health]
http_path = "/version"
expect_status = 204
timeout_secs = 60

[migrate]
command = "python3 manage.py migrate --noinput"
down = "python3 manage.py migrate notes 0001"
timeout_secs = 900

[data]
sqlite = ["notes.sqlite3"]
paths = ["uploads", "media/thumbs"]

[env]
NOTES_DB = "${DATA_DIR}/notes.sqlite3"
DJANGO_SETTINGS_MODULE = "notes.settings"
"#;

fn errors(source: &str) -> Vec<String> {
    match ReleaseManifest::parse(source) {
        Ok(m) => panic!("expected errors, the manifest parsed: {m:#?}"),
        Err(errors) => errors.messages(),
    }
}

/// Asserts that `source` is refused with exactly one problem, on `line`, mentioning `words`.
fn refused(source: &str, line: usize, words: &str) {
    let found = errors(source);
    assert_eq!(found.len(), 1, "one problem expected in\n{source}\ngot {found:#?}");
    assert!(found[0].starts_with(&format!("line {line}: ")), "expected line {line}: {found:?}");
    assert!(found[0].contains(words), "expected {words:?} in {found:?}");
}

fn web(rest: &str) -> String {
    format!("[web]\ncommand = \"bin/serve\"\n{rest}")
}

#[test]
fn the_documented_example_reads_into_every_field() {
    let m = ReleaseManifest::parse(EXAMPLE).unwrap();
    assert_eq!(m.web.command, "gunicorn --bind 127.0.0.1:$PORT notes.wsgi");
    assert_eq!((m.web.port_variable.as_str(), m.web.stop_signal, m.web.stop_timeout_secs), ("APP_PORT", StopSignal::Int, 20));
    assert_eq!(m.health, HealthCheck { probe: HealthProbe::Http { path: "/version".into(), expect_status: 204 }, timeout_secs: 60 });
    let migrate = m.migrate.clone().unwrap();
    assert_eq!(migrate.down.as_deref(), Some("python3 manage.py migrate notes 0001"));
    assert_eq!(migrate.timeout_secs, 900);
    assert_eq!(m.data.sqlite, ["notes.sqlite3"]);
    assert_eq!(m.data.paths, ["uploads", "media/thumbs"]);
    assert_eq!(m.env["NOTES_DB"], "${DATA_DIR}/notes.sqlite3");
}

#[test]
fn a_bare_web_command_gets_every_default() {
    let m = ReleaseManifest::parse("[web]\ncommand = \"python3 -m http.server $PORT\"\n").unwrap();
    assert_eq!(m, ReleaseManifest::for_command("python3 -m http.server $PORT"));
    assert_eq!(m.web.port_variable, "PORT");
    assert_eq!((m.web.stop_signal, m.web.stop_timeout_secs), (StopSignal::Term, 10));
    assert_eq!(m.health, HealthCheck { probe: HealthProbe::Tcp, timeout_secs: 30 });
    assert_eq!((m.migrate, m.data, m.env.len()), (None, DataPaths::default(), 0));

    let http = ReleaseManifest::parse(&web("[health]\nhttp_path = \"/\"\n")).unwrap();
    assert_eq!(http.health.probe, HealthProbe::Http { path: "/".into(), expect_status: 200 });
    let migrate = ReleaseManifest::parse(&web("[migrate]\ncommand = \"bin/migrate\"\n")).unwrap().migrate.unwrap();
    assert_eq!((migrate.down, migrate.timeout_secs), (None, 600));
}

#[test]
fn every_kind_of_manifest_round_trips_through_its_canonical_text() {
    let mut command_health = ReleaseManifest::for_command("node server.js");
    command_health.health =
        HealthCheck { probe: HealthProbe::Command { command: "curl -fsS \"localhost:$PORT/\"".into() }, timeout_secs: 5 };
    command_health.web.stop_signal = StopSignal::Usr2;
    let manifests = [ReleaseManifest::parse(EXAMPLE).unwrap(), ReleaseManifest::for_command("php -S 127.0.0.1:$PORT"), command_health];
    for m in manifests {
        let text = m.render();
        let back = ReleaseManifest::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, m, "parse(render(m)) == m for\n{text}");
        assert_eq!(back.render(), text, "the rendering is canonical");
    }
}

#[test]
fn syntax_errors_and_the_wrong_shape_point_at_their_line() {
    refused("[web]\ncommand = \"x\"\nstop_timeout_secs = \n", 3, "fix the TOML syntax here");
    refused("", 1, "there is no [web] table");
    refused("web = \"bin/serve\"\n", 1, "write it as a [web] table");
    refused(
        &web("\n[worker]\ncommand = \"x\"\n"),
        4,
        "unknown table [worker]; a release manifest has only the tables [web], [health], [migrate], [data], [env]",
    );
    refused(&web("\n[health]\nhttp_path = \"/\"\n[healthz]\n"), 6, "unknown table [healthz]");
}

#[test]
fn web_refusals_say_what_to_write() {
    refused("[web]\nport_variable = \"PORT\"\n", 1, "[web]: command is missing; add command =");
    refused("[web]\ncommand = \"  \"\n", 2, "command is empty");
    refused("[web]\ncommand = [\"gunicorn\"]\n", 2, "command is an array; write command =");
    refused(&web("port_variable = \"app-port\""), 3, "is not a variable name");
    refused(&web("port_variable = \"DATA_DIR\""), 3, "set by the agent");
    refused(
        &web("stop_signal = \"SIGKILL\""),
        3,
        "unknown stop_signal \"SIGKILL\"; use one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2",
    );
    refused(&web("stop_timeout_secs = 0"), 3, "stop_timeout_secs is 0; use a whole number from 1 to 3600");
    refused(&web("stop_timeout_secs = \"10\""), 3, "stop_timeout_secs is a string");
    refused(
        &web("restart = \"always\""),
        3,
        "unknown key `restart`; the keys here are command, port_variable, stop_signal, stop_timeout_secs",
    );
}

#[test]
fn health_refusals_say_what_to_write() {
    refused(&web("[health]\ntimeout_secs = 5\n"), 3, "says no check; add one of http_path");
    refused(&web("[health]\nhttp_path = \"/\"\ntcp = true\n"), 3, "more than one check; keep exactly one");
    refused(&web("[health]\nhttp_path = \"health\"\n"), 4, "must start with /");
    refused(&web("[health]\ntcp = true\nexpect_status = 200\n"), 5, "expect_status goes with http_path");
    refused(&web("[health]\nhttp_path = \"/\"\nexpect_status = 99\n"), 5, "from 100 to 599");
    refused(&web("[health]\ntcp = false\n"), 4, "tcp = false turns no check on");
    refused(&web("[health]\ncommand = \"\"\n"), 4, "command is empty");
    refused(&web("[health]\ntcp = true\ntimeout_secs = 3601\n"), 5, "timeout_secs is 3601");
    refused(
        &web("[health]\ntcp = true\npath = \"/\"\n"),
        5,
        "unknown key `path`; the keys here are http_path, expect_status, command, tcp, timeout_secs",
    );
}

#[test]
fn migrate_data_and_env_refusals_say_what_to_write() {
    refused(&web("[migrate]\ndown = \"x\"\n"), 3, "[migrate]: command is missing");
    refused(&web("[migrate]\ncommand = \"x\"\ndown = \"\"\n"), 5, "down is empty");
    refused(&web("[data]\nsqlite = [\"/var/lib/notes.db\"]\n"), 4, "is absolute");
    refused(&web("[data]\npaths = [\"../other-site\"]\n"), 4, "leaves $DATA_DIR");
    refused(&web("[data]\npaths = [\"\"]\n"), 4, "is empty");
    refused(&web("[data]\nsqlite = \"notes.db\"\n"), 4, "sqlite is a string; write sqlite = [");
    refused(&web("[data]\nsqlite = [1]\n"), 4, "holds an integer");
    refused(&web("[data]\nfiles = []\n"), 4, "unknown key `files`; the keys here are sqlite, paths");
    refused(&web("[env]\nnotes_db = \"x\"\n"), 4, "\"notes_db\" is not a variable name");
    refused(&web("[env]\nDATA_DIR = \"/tmp\"\n"), 4, "DATA_DIR is set by the agent and cannot be overridden");
    refused(&web("[env]\nPORT = \"80\"\n"), 4, "PORT is set by the agent");
    refused(&web("[env]\nDB = \"${HOME}/db\"\n"), 4, "refers to ${HOME}, which the agent does not set");
    refused(&web("[env]\nDB = \"${DATA_DIR/db\"\n"), 4, "without its closing `}`");
    refused(&web("[env]\nWORKERS = 4\n"), 4, "WORKERS is an integer; write it as a string");
    refused(&web("port_variable = \"APP_PORT\"\n[env]\nAPP_PORT = \"1\"\n"), 5, "carries the port");
}

#[test]
fn every_problem_is_reported_at_once_in_line_order() {
    let source = "[web]\ncommand = \"\"\nstop_signal = \"TERM\"\n\n[health]\ntcp = 1\n\n[env]\nhome = \"x\"\n";
    let found = errors(source);
    let lines: Vec<&str> = found.iter().map(|m| m.split(':').next().unwrap()).collect();
    assert_eq!(lines, ["line 2", "line 3", "line 6", "line 9"], "{found:#?}");
    let shown = ReleaseManifest::parse(source).unwrap_err().in_file(MANIFEST_FILE);
    assert!(shown.starts_with("switchyard.toml:2: [web]: command is empty"), "{shown}");
    assert_eq!(shown.lines().count(), 4);
}

#[test]
fn a_procfile_gives_the_web_command_and_the_release_migration() {
    let m = ReleaseManifest::from_procfile(
        "# Heroku\nweb: gunicorn app.wsgi --bind 0.0.0.0:$PORT\nworker: celery -A app worker\n\nrelease: python manage.py migrate\n",
    )
    .unwrap();
    assert_eq!(m.web.command, "gunicorn app.wsgi --bind 0.0.0.0:$PORT");
    assert_eq!(m.health.probe, HealthProbe::Tcp);
    assert_eq!(m.migrate.unwrap().command, "python manage.py migrate");
    let only_web = ReleaseManifest::from_procfile("web: node server.js").unwrap();
    assert_eq!(only_web, ReleaseManifest::for_command("node server.js"));
}

#[test]
fn procfile_refusals_point_at_their_line() {
    let problems = |source: &str| ReleaseManifest::from_procfile(source).unwrap_err().messages();
    assert_eq!(problems("worker: celery\n"), ["line 1: there is no web process; add a line `web: <command>` that starts the site"]);
    assert_eq!(problems("web: a\nweb: b\n"), ["line 2: a second web process (the first is on line 1); keep one `web:` line"]);
    assert_eq!(problems("web:\n"), ["line 1: the web process has no command; write `web: <command>`"]);
    assert_eq!(problems("web: a\nnode server.js\n"), ["line 2: \"node server.js\" has no `:`; write each process as `web: <command>`"]);
    assert_eq!(
        problems("web: a\nmy worker: b\n")[0],
        "line 2: \"my worker\" is not a process type; use letters, digits, - and _, e.g. `web: <command>`"
    );
    let shown = ReleaseManifest::from_procfile("web:\n").unwrap_err().in_file(PROCFILE);
    assert!(shown.starts_with("Procfile:1: "), "{shown}");
}

#[test]
fn the_summary_says_what_runs_how_health_is_judged_and_what_is_kept() {
    let lines = ReleaseManifest::parse(EXAMPLE).unwrap().summary();
    assert_eq!(
        lines,
        [
            "starts: gunicorn --bind 127.0.0.1:$PORT notes.wsgi",
            "stops: SIGINT, then SIGKILL after 20 s",
            "health: HTTP GET /version expects 204 within 60 s",
            "migration: python3 manage.py migrate --noinput (down: python3 manage.py migrate notes 0001)",
            "keeps: SQLite notes.sqlite3, uploads, media/thumbs",
            "sets: DJANGO_SETTINGS_MODULE, NOTES_DB",
        ]
    );
    let plain = ReleaseManifest::for_command("bin/serve").summary();
    assert_eq!(plain[2], "health: the port accepts a TCP connection within 30 s");
    assert_eq!(plain.len(), 3, "no migration, data or variables: no lines for them");
}

#[test]
fn env_values_expand_provided_variables_and_leave_the_rest_to_the_shell() {
    let vars: BTreeMap<String, String> = [("DATA_DIR", "/srv/data"), ("PORT", "8080")].map(|(k, v)| (k.to_owned(), v.to_owned())).into();
    assert_eq!(expand_env("${DATA_DIR}/notes.sqlite3", &vars), "/srv/data/notes.sqlite3");
    assert_eq!(expand_env("http://127.0.0.1:${PORT}/ and $PORT", &vars), "http://127.0.0.1:8080/ and $PORT");
    assert_eq!(expand_env("${SHARED_DIR}/x", &vars), "/x", "an unset variable expands to nothing");
    assert_eq!(expand_env("cost ${", &vars), "cost ${");
}
