//! Stock applications run by their release manifest (`switchyard.toml` or a `Procfile`), not
//! by Switchyard's conventions: a plain `python3 -m http.server`, a small Python app, each
//! health check kind, `[env]` seen by the site and its steps, a stop signal other than
//! SIGTERM, manifests refused at unpack with their line, and ports the agent chooses.

use std::time::{Duration, Instant};

use crate::support::{free_port, http, process_alive, tar_gz, TestAgent};
use switchyard_agent::api::{Activate, CreateEnv, EnvConfig, ErrorKind, ProcessState, RunStep, UnpackRelease};
use switchyard_agent::AgentError;

/// A web app that follows none of our conventions: its port comes from the variable named by
/// its first argument, it has no /health, `/env` shows its variables, and `--sigint-only`
/// makes it ignore SIGTERM and exit only on SIGINT (or when the agent that started it dies).
const APP: &str = r#"import http.server, json, os, signal, sys, threading, time
port = int(os.environ[sys.argv[1] if len(sys.argv) > 1 else "PORT"])
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        pages = {"/": b"hello from a stock app", "/env": json.dumps(dict(os.environ)).encode()}
        body = pages.get(self.path, b"no such page")
        self.send_response(200 if self.path in pages else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
def on_sigint(*_):
    print("got SIGINT, exiting", flush=True)
    os._exit(0)
signal.signal(signal.SIGINT, on_sigint)
if "--sigint-only" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = os.getppid()
    def orphaned():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)
    threading.Thread(target=orphaned, daemon=True).start()
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"#;

const CHECK: &str = "import os, urllib.request\nurllib.request.urlopen('http://127.0.0.1:%s/' % os.environ['PORT'], timeout=2)\n";

fn config(port: u16) -> EnvConfig {
    // The legacy command must never run when a manifest applies; `false` would fail at once.
    let mut config = EnvConfig::new(vec!["false".into()], port);
    config.stop_timeout_secs = 5;
    config
}

/// Creates `env` and activates a release holding `app.py`, `check.py` and `files`.
async fn deploy(agent: &TestAgent, env: &str, config: EnvConfig, files: &[(&str, &str)]) -> u16 {
    let c = &agent.client;
    let created = c.create_env(&CreateEnv { op_id: format!("create-{env}"), name: env.into(), config }).await.unwrap();
    let mut all: Vec<(&str, &[u8], u32)> = vec![("app.py", APP.as_bytes(), 0o644), ("check.py", CHECK.as_bytes(), 0o644)];
    all.extend(files.iter().map(|(name, text)| (*name, text.as_bytes(), 0o644)));
    let (bytes, sha) = tar_gz(&all);
    c.upload_bytes(bytes, &sha).await.unwrap();
    c.unpack_release(env, &UnpackRelease { op_id: format!("unpack-{env}"), release_id: "r1".into(), sha256: sha, limits: None })
        .await
        .unwrap();
    c.activate(env, &Activate { op_id: format!("activate-{env}"), release_id: "r1".into() }).await.unwrap();
    created.config.port
}

async fn page(port: u16, path: &str) -> String {
    http().get(format!("http://127.0.0.1:{port}{path}")).send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn a_stock_python_http_server_runs_as_its_manifest_says() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let manifest = "[web]\ncommand = \"python3 -m http.server $PORT --bind 127.0.0.1\"\n\n[health]\nhttp_path = \"/\"\n";
    let port =
        deploy(&agent, "web", config(free_port()), &[("switchyard.toml", manifest), ("index.html", "a page served by http.server")]).await;
    let started = c.start("web", "start").await.unwrap();
    assert!(started.healthy, "{started:?}");
    assert!(page(port, "/").await.contains("a page served by http.server"));
    assert!(c.process_status("web").await.unwrap().healthy, "the status probe uses the manifest's check too");
    let pid = started.pid.unwrap();
    c.stop("web", "stop").await.unwrap();
    assert!(!process_alive(pid));
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free again");
}

#[tokio::test]
async fn tcp_and_command_health_checks_and_a_procfile_judge_and_start_the_site() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let tcp = "[web]\ncommand = \"python3 app.py\"\n[health]\ntcp = true\n";
    let command = "[web]\ncommand = \"python3 app.py\"\n[health]\ncommand = \"python3 check.py\"\ntimeout_secs = 20\n";
    let procfile = "web: python3 app.py\nworker: sleep 1000\n";
    for (env, file, text) in [("tcp", "switchyard.toml", tcp), ("command", "switchyard.toml", command), ("procfile", "Procfile", procfile)]
    {
        let port = deploy(&agent, env, config(free_port()), &[(file, text)]).await;
        let started = c.start(env, &format!("start-{env}")).await.unwrap();
        assert!(started.healthy, "{env}: {started:?}");
        assert_eq!(page(port, "/").await, "hello from a stock app", "{env}");
        assert!(c.process_status(env).await.unwrap().healthy, "{env}");
        c.stop(env, &format!("stop-{env}")).await.unwrap();
    }
}

#[tokio::test]
async fn the_default_manifest_runs_a_release_that_ships_none() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let mut with_default = config(free_port());
    with_default.default_manifest = Some("[web]\ncommand = \"python3 app.py\"\n".into());
    let port = deploy(&agent, "web", with_default, &[]).await;
    assert!(c.start("web", "start").await.unwrap().healthy);
    assert_eq!(page(port, "/").await, "hello from a stock app");
    c.stop("web", "stop").await.unwrap();

    let mut broken = config(free_port());
    broken.default_manifest = Some("[web]\ncommand = \"python3 app.py\"\nstop_signal = 15\n".into());
    let err = c.create_env(&CreateEnv { op_id: "create-broken".into(), name: "broken".into(), config: broken }).await.unwrap_err();
    let AgentError::Remote { status, body } = &err else { panic!("{err}") };
    assert_eq!((*status, body.kind), (422, ErrorKind::InvalidInput));
    assert!(body.message.contains("default_manifest:3: [web]: stop_signal is an integer"), "{}", body.message);
}

#[tokio::test]
async fn env_variables_expand_for_the_site_and_its_steps() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let manifest = r#"[web]
command = "python3 app.py APP_PORT"
port_variable = "APP_PORT"

[env]
NOTES_DB = "${DATA_DIR}/notes.sqlite3"
GREETING = "notes in ${SWITCHYARD_ENV}"
"#;
    let port = deploy(&agent, "notes", config(free_port()), &[("switchyard.toml", manifest)]).await;
    assert!(c.start("notes", "start").await.unwrap().healthy);
    let seen: serde_json::Value = serde_json::from_str(&page(port, "/env").await).unwrap();
    let shared = agent.root().join("envs/notes/shared");
    assert_eq!(seen["NOTES_DB"], format!("{}/notes.sqlite3", shared.display()), "DATA_DIR is shared/ without a volume");
    assert_eq!(seen["GREETING"], "notes in notes");
    assert_eq!((seen["APP_PORT"].as_str(), seen["PORT"].as_str()), (Some(port.to_string().as_str()), Some(port.to_string().as_str())));

    let step = RunStep {
        op_id: "show-env".into(),
        command: vec!["python3".into(), "-c".into(), "import os; print(os.environ['NOTES_DB'], os.environ['GREETING'])".into()],
        timeout_secs: 30,
        env: Default::default(),
    };
    let result = c.run_step("notes", &step, |_| {}).await.unwrap();
    assert_eq!(result.code, Some(0), "{result:?}");
    assert_eq!(result.stdout.trim(), format!("{}/notes.sqlite3 notes in notes", shared.display()));
    c.stop("notes", "stop").await.unwrap();
}

#[tokio::test]
async fn the_manifests_stop_signal_stops_a_site_that_ignores_sigterm() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let manifest = "[web]\ncommand = \"python3 app.py PORT --sigint-only\"\nstop_signal = \"SIGINT\"\nstop_timeout_secs = 60\n";
    deploy(&agent, "web", config(free_port()), &[("switchyard.toml", manifest)]).await;
    let pid = c.start("web", "start").await.unwrap().pid.unwrap();
    let asked = Instant::now();
    c.stop("web", "stop").await.unwrap();
    // SIGKILL would only come after 60 s: a quick stop means SIGINT was sent.
    assert!(asked.elapsed() < Duration::from_secs(20), "stopping took {:?}", asked.elapsed());
    assert!(!process_alive(pid));
    let log = std::fs::read_to_string(agent.root().join("envs/web/logs/site.log")).unwrap();
    assert!(log.contains("got SIGINT, exiting"), "the site saw SIGINT: {log}");
}

#[tokio::test]
async fn a_site_that_never_turns_healthy_is_stopped_and_the_check_named() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let http_check = "[web]\ncommand = \"python3 app.py\"\n[health]\nhttp_path = \"/health\"\ntimeout_secs = 2\n";
    let port = deploy(&agent, "http", config(free_port()), &[("switchyard.toml", http_check)]).await;
    let err = c.start("http", "start").await.unwrap_err().to_string();
    assert!(err.contains(&format!("HTTP GET http://127.0.0.1:{port}/health expecting status 200")), "{err}");
    assert!(err.contains("so it was stopped; last lines of logs/site.log"), "{err}");
    assert_eq!(c.process_status("http").await.unwrap().state, ProcessState::Stopped);
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the site was stopped and its port freed");

    let command_check = "[web]\ncommand = \"python3 app.py\"\n[health]\ncommand = \"exit 3\"\ntimeout_secs = 2\n";
    deploy(&agent, "command", config(free_port()), &[("switchyard.toml", command_check)]).await;
    let err = c.start("command", "start").await.unwrap_err().to_string();
    assert!(err.contains("the command `exit 3` exiting 0"), "{err}");
    assert_eq!(c.process_status("command").await.unwrap().state, ProcessState::Stopped);
}

#[tokio::test]
async fn an_invalid_manifest_is_refused_at_unpack_with_its_line_and_leaves_nothing() {
    let agent = TestAgent::start();
    let c = &agent.client;
    c.create_env(&CreateEnv { op_id: "create".into(), name: "web".into(), config: config(free_port()) }).await.unwrap();
    let before = agent.env_tree();
    let cases = [
        (
            "switchyard.toml",
            "[web]\ncommand = \"python3 app.py\"\nstop_signal = \"KILL\"\n",
            "switchyard.toml:3: [web]: unknown stop_signal \"KILL\"",
        ),
        (
            "switchyard.toml",
            "[web]\ncommand = \"python3 app.py\"\n[data]\nsqlite = [\"../other/db\"]\n",
            "switchyard.toml:4: [data]: sqlite entry \"../other/db\" leaves $DATA_DIR",
        ),
        ("Procfile", "worker: python3 app.py\nweb:\n", "Procfile:2: the web process has no command"),
    ];
    for (index, (file, text, expected)) in cases.into_iter().enumerate() {
        let (bytes, sha) = tar_gz(&[("app.py", APP.as_bytes(), 0o644), (file, text.as_bytes(), 0o644)]);
        c.upload_bytes(bytes, &sha).await.unwrap();
        let unpack = UnpackRelease { op_id: format!("unpack-{index}"), release_id: format!("r{index}"), sha256: sha, limits: None };
        let err = c.unpack_release("web", &unpack).await.unwrap_err();
        let AgentError::Remote { status, body } = &err else { panic!("{err}") };
        assert_eq!((*status, body.kind, body.retry_safe), (422, ErrorKind::InvalidInput, false));
        assert!(body.message.contains(&format!("cannot unpack release r{index} for environment web")), "{}", body.message);
        assert!(body.message.contains(expected), "expected {expected:?} in {}", body.message);
        assert_eq!(agent.env_tree(), before, "a refused release leaves nothing behind");
    }
}

#[tokio::test]
async fn port_zero_is_chosen_by_the_agent_and_answered_again_on_retry() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let manifest = "[web]\ncommand = \"python3 app.py\"\n";
    let port = deploy(&agent, "web", config(0), &[("switchyard.toml", manifest)]).await;
    assert_ne!(port, 0);
    let request = CreateEnv { op_id: "create-web".into(), name: "web".into(), config: config(0) };
    assert_eq!(c.create_env(&request).await.unwrap().config.port, port, "a retry under the same operation id");
    let again = CreateEnv { op_id: "create-web-again".into(), ..request };
    assert_eq!(c.create_env(&again).await.unwrap().config.port, port, "a retry whose first answer was lost");
    assert_eq!(c.env("web").await.unwrap().config.port, port, "the port is stored in env.toml");
    assert!(c.start("web", "start").await.unwrap().healthy);
    assert_eq!(page(port, "/").await, "hello from a stock app");
    c.stop("web", "stop").await.unwrap();

    let other = deploy(&agent, "other", config(0), &[("switchyard.toml", manifest)]).await;
    assert_ne!(other, port, "a second environment gets a port of its own");
}

/// A site that keeps an uncheckpointed write in its SQLite WAL while it runs.
const WRITER: &str = r#"import http.server, os, sqlite3
db = sqlite3.connect(os.path.join(os.environ["DATA_DIR"], "notes.sqlite3"))
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA wal_autocheckpoint=0")
db.execute("CREATE TABLE IF NOT EXISTS notes(body TEXT)")
db.execute("INSERT INTO notes VALUES ('kept through the online backup')")
db.commit()
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), http.server.BaseHTTPRequestHandler).serve_forever()
"#;

#[tokio::test]
async fn sqlite_databases_the_manifest_keeps_are_cloned_through_the_online_backup() {
    let agent = TestAgent::start();
    let c = &agent.client;
    let manifest = "[web]\ncommand = \"python3 writer.py\"\n\n[data]\nsqlite = [\"notes.sqlite3\"]\n";
    deploy(&agent, "web", config(free_port()), &[("switchyard.toml", manifest), ("writer.py", WRITER)]).await;
    assert!(c.start("web", "start").await.unwrap().healthy);
    let shared = |env: &str| agent.root().join(format!("envs/{env}/shared"));
    assert!(shared("web").join("notes.sqlite3-wal").exists(), "the running site holds its write in the WAL");

    let clone = switchyard_agent::api::CloneEnv { op_id: "clone".into(), target: "copy".into(), port: None, share_volume: false };
    c.clone_env("web", &clone).await.unwrap();
    // A raw copy would have carried the live WAL along; the backup makes one whole file.
    assert!(!shared("copy").join("notes.sqlite3-wal").exists(), "the clone's database is one consistent file");
    let read = RunStep {
        op_id: "read".into(),
        command: vec!["python3".into(), "-c".into(), "import os, sqlite3; print(sqlite3.connect(os.environ['DATA_DIR'] + '/notes.sqlite3').execute('select body from notes').fetchall())".into()],
        timeout_secs: 30,
        env: Default::default(),
    };
    let result = c.run_step("copy", &read, |_| {}).await.unwrap();
    assert_eq!(result.stdout.trim(), "[('kept through the online backup',)]", "{result:?}");
    c.stop("web", "stop").await.unwrap();
}
