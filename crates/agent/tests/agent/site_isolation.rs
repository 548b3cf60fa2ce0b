//! A customer's code reaches nothing of the agent's or of another site: a hostile candidate
//! that tries to read the agent's token, TLS key, operation journal and route table, another
//! site's files and data volume, the server's database and the agent's own environment, as its
//! start command and as a step, is denied every one, runs as its site's own user, and stays
//! within its site's limits. A clone of an environment belongs to the same user.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::support::{free_port, http, tar_gz, TestAgent};
use switchyard_agent::api::{Activate, CloneEnv, CreateEnv, EnvConfig, EnvInfo, LimitsMechanism, RunStep, SiteLimits, UnpackRelease};

/// Tries each path given after the agent's pid: a file is read, a directory listed, and one
/// more write into the release; prints `denied <path>` or what it got, its uid, and the names
/// of the variables it was given.
const PROBE: &str = r#"agent=$1; shift
[ "$agent" = parent ] && agent=$PPID
echo "uid $(id -u)"
for path in "$@" "/proc/$agent/environ"; do
  if [ -d "$path" ]; then
    if ls "$path" >/dev/null 2>&1; then echo "LISTED $path"; else echo "denied $path"; fi
  elif cat "$path" >/dev/null 2>&1; then echo "READ $path"; else echo "denied $path"; fi
done
if echo planted > "$RELEASE_DIR/planted" 2>/dev/null; then echo "WROTE $RELEASE_DIR"; else echo "denied $RELEASE_DIR"; fi
env | cut -d= -f1 | sed 's/^/variable /'
"#;

fn need_root() {
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(root, "site isolation needs an agent running as root (it creates unix users): run these tests as root, as CI does");
}

async fn create(agent: &TestAgent, env: &str, config: EnvConfig) -> EnvInfo {
    let req = CreateEnv { op_id: format!("create-{env}"), name: env.into(), config };
    agent.client.create_env(&req).await.unwrap()
}

async fn deploy(agent: &TestAgent, env: &str, files: &[(&str, &str)]) {
    let c = &agent.client;
    let all: Vec<(&str, &[u8], u32)> = files.iter().map(|(name, text)| (*name, text.as_bytes(), 0o644)).collect();
    let (bytes, sha) = tar_gz(&all);
    c.upload_bytes(bytes, &sha).await.unwrap();
    c.unpack_release(env, &UnpackRelease { op_id: format!("unpack-{env}"), release_id: "r1".into(), sha256: sha, limits: None })
        .await
        .unwrap();
    c.activate(env, &Activate { op_id: format!("activate-{env}"), release_id: "r1".into() }).await.unwrap();
}

fn step(op_id: &str, command: &[&str]) -> RunStep {
    RunStep { op_id: op_id.into(), command: command.iter().map(|s| s.to_string()).collect(), timeout_secs: 30, env: Default::default() }
}

fn write_as(path: &Path, text: &str, uid: u32, gid: u32) {
    std::fs::write(path, text).unwrap();
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
}

/// What the probe reported: every target denied, nothing read, written or listed, run as
/// `uid`, and none of the agent's variables.
fn assert_contained(report: &str, targets: &[PathBuf], uid: u32, token: &str) {
    assert!(report.contains(&format!("uid {uid}\n")), "the site runs as its own user {uid}:\n{report}");
    assert_ne!(uid, 0);
    for target in targets {
        assert!(report.contains(&format!("denied {}\n", target.display())), "{} must be denied:\n{report}", target.display());
    }
    for got in ["READ ", "LISTED ", "WROTE "] {
        assert!(!report.contains(got), "the site got at something it must not:\n{report}");
    }
    assert!(report.contains("/environ\n") && !report.contains("READ /proc"), "{report}");
    assert!(!report.contains(token), "the agent's token reached the site:\n{report}");
    let variables: Vec<&str> = report.lines().filter_map(|l| l.strip_prefix("variable ")).collect();
    assert!(variables.contains(&"HOME") && variables.contains(&"PORT"), "{variables:?}");
    let leaked: Vec<&&str> =
        variables.iter().filter(|v| v.starts_with("CARGO") || v.starts_with("RUST_LOG") || v.contains("TOKEN")).collect();
    assert!(leaked.is_empty(), "the agent's variables {leaked:?} reached the site: {variables:?}");
}

#[tokio::test]
async fn a_hostile_candidate_reads_nothing_of_the_agent_the_server_or_another_site() {
    need_root();
    let agent = TestAgent::start();
    let c = &agent.client;
    let root = agent.root();

    // Another customer's site with a file in its shared directory and on its data volume.
    let mut other_config = EnvConfig::new(vec!["false".into()], free_port());
    other_config.volume = Some("other-data".into());
    let other = create(&agent, "other", other_config).await;
    let other_user = other.config.run_as.clone().expect("a root agent gives every site a user");
    write_as(&root.join("envs/other/shared/secret.txt"), "other's secret", other_user.uid, other_user.gid);
    write_as(&root.join("volumes/other-data/orders.db"), "other's orders", other_user.uid, other_user.gid);
    // The route table exists once routes were set.
    let table = c.routes().await.unwrap();
    c.replace_routes("routes-1", table).await.unwrap();
    // The server's database beside the agent, as `switchyard serve` keeps it.
    let server_dir = agent.dir.path().join("server-data");
    std::fs::create_dir(&server_dir).unwrap();
    std::fs::set_permissions(&server_dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    std::fs::write(server_dir.join("switchyard.db"), "password hashes").unwrap();
    std::fs::set_permissions(server_dir.join("switchyard.db"), std::fs::Permissions::from_mode(0o600)).unwrap();

    let targets: Vec<PathBuf> = vec![
        root.join("agent/token"),
        root.join("agent/key.pem"),
        root.join("agent/registration.json"),
        root.join("agent"),
        root.join("ops/create-other.json"),
        root.join("ops"),
        root.join("router/table.json"),
        root.join("envs"),
        root.join("envs/other/env.toml"),
        root.join("envs/other/shared/secret.txt"),
        root.join("envs/other"),
        root.join("volumes/other-data/orders.db"),
        root.join("volumes/other-data"),
        server_dir.join("switchyard.db"),
    ];
    for target in &targets {
        assert!(target.exists(), "the test's target {} must exist, or its denial proves nothing", target.display());
    }
    let quoted: Vec<String> = targets.iter().map(|t| format!("'{}'", t.display())).collect();
    let serve = format!(
        "sh probe.sh \"$PPID\" {} > \"$DATA_DIR/report.txt\" 2>&1\nexec python3 -m http.server \"$PORT\" --bind 127.0.0.1 --directory \"$DATA_DIR\"\n",
        quoted.join(" ")
    );
    let manifest = "[web]\ncommand = \"sh serve.sh\"\n\n[health]\nhttp_path = \"/report.txt\"\n";
    let hostile = create(&agent, "hostile", EnvConfig::new(vec!["false".into()], free_port())).await;
    let user = hostile.config.run_as.clone().expect("the hostile site has its own user");
    assert_ne!(user.uid, other_user.uid, "two sites never share a user");
    deploy(&agent, "hostile", &[("switchyard.toml", manifest), ("serve.sh", &serve), ("probe.sh", PROBE)]).await;

    // As its start command: the page it serves is what it could get at.
    let started = c.start("hostile", "start-hostile").await.unwrap();
    assert!(started.healthy, "{started:?}\n{}", agent.log());
    let url = format!("http://127.0.0.1:{}/report.txt", hostile.config.port);
    let page = http().get(url).send().await.unwrap().text().await.unwrap();
    assert_contained(&page, &targets, user.uid, &agent.registration.token);

    // As a step, with the targets on its command line.
    let mut command = vec!["sh", "probe.sh", "parent"];
    let paths: Vec<String> = targets.iter().map(|t| t.display().to_string()).collect();
    command.extend(paths.iter().map(String::as_str));
    let ran = c.run_step("hostile", &step("probe-step", &command), |_| {}).await.unwrap();
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert_contained(&ran.stdout, &targets, user.uid, &agent.registration.token);
    c.stop("hostile", "stop-hostile").await.unwrap();

    let info = c.agent_info().await.unwrap().isolation.expect("the agent reports its isolation");
    assert!(info.agent_is_root && info.site_users, "{info:?}");
}

#[tokio::test]
async fn a_site_is_held_to_its_process_memory_and_open_file_limits() {
    need_root();
    let agent = TestAgent::start();
    let c = &agent.client;
    let mut config = EnvConfig::new(vec!["false".into()], free_port());
    config.limits = SiteLimits { memory_bytes: Some(256 << 20), max_processes: Some(20), open_files: Some(200) };
    create(&agent, "limited", config).await;
    deploy(&agent, "limited", &[("README", "a release with nothing to serve")]).await;

    let fork = "i=0; while [ $i -lt 60 ]; do sleep 1 & i=$((i+1)); done; echo started all 60";
    let forked = c.run_step("limited", &step("fork", &["sh", "-c", fork]), |_| {}).await.unwrap();
    assert!(!forked.stdout.contains("started all"), "60 processes ran under a limit of 20: {forked:?}");
    assert_ne!(forked.code, Some(0), "{forked:?}");
    assert!(forked.stderr.to_lowercase().contains("fork"), "the shell says it cannot fork: {forked:?}");

    let hog = "python3 -c 'x = bytearray(1024 * 1024 * 1024); print(\"allocated\")'";
    let hogged = c.run_step("limited", &step("hog", &["sh", "-c", hog]), |_| {}).await.unwrap();
    assert!(!hogged.stdout.contains("allocated"), "1 GiB allocated under a 256 MiB limit: {hogged:?}");
    assert_ne!(hogged.code, Some(0), "{hogged:?}");

    let files = c.run_step("limited", &step("nofile", &["sh", "-c", "ulimit -n"]), |_| {}).await.unwrap();
    assert_eq!(files.stdout.trim(), "200", "{files:?}");

    let isolation = c.agent_info().await.unwrap().isolation.unwrap();
    let cgroup_v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    if !cgroup_v2 {
        assert_eq!(isolation.limits, LimitsMechanism::Rlimits, "{isolation:?}");
        assert!(isolation.warnings.iter().any(|w| w.contains("rlimits")), "{isolation:?}");
    }
    // Limits are per site: the same site without them forks freely.
    let free = create(&agent, "unlimited", EnvConfig::new(vec!["false".into()], free_port())).await;
    assert_eq!(free.config.limits, SiteLimits::default());
    deploy(&agent, "unlimited", &[("README", "a release with nothing to serve")]).await;
    let forked = c.run_step("unlimited", &step("fork-free", &["sh", "-c", fork]), |_| {}).await.unwrap();
    assert!(forked.stdout.contains("started all 60"), "{forked:?}");
}

#[tokio::test]
async fn a_clone_belongs_to_the_same_site_user_and_its_data_stays_the_sites() {
    need_root();
    let agent = TestAgent::start();
    let c = &agent.client;
    let mut config = EnvConfig::new(vec!["false".into()], free_port());
    config.site = Some("shop".into());
    config.volume = Some("shop".into());
    let blue = create(&agent, "shop-blue", config).await;
    let user = blue.config.run_as.clone().unwrap();
    deploy(&agent, "shop-blue", &[("README", "the shop")]).await;
    let wrote = "echo order-1 > \"$DATA_DIR/orders.txt\" && echo cached > \"$SHARED_DIR/cache.txt\" && id -u";
    let ran = c.run_step("shop-blue", &step("write", &["sh", "-c", wrote]), |_| {}).await.unwrap();
    assert_eq!(ran.stdout.trim(), user.uid.to_string(), "{ran:?}");

    let shared = CloneEnv { op_id: "clone-green".into(), target: "shop-green".into(), port: None, share_volume: true };
    let green = c.clone_env("shop-blue", &shared).await.unwrap();
    let private = CloneEnv { op_id: "clone-rehearsal".into(), target: "shop-rehearsal".into(), port: None, share_volume: false };
    let rehearsal = c.clone_env("shop-blue", &private).await.unwrap();
    let root = agent.root();
    for clone in [&green, &rehearsal] {
        assert_eq!(clone.config.run_as.as_ref(), Some(&user), "{} runs as the site's user", clone.name);
        let dir = root.join("envs").join(&clone.name);
        let owner = |path: PathBuf| {
            let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (meta.uid(), meta.gid())
        };
        assert_eq!(owner(dir.join("shared/cache.txt")), (user.uid, user.gid), "copied data is the site's");
        assert_eq!(owner(dir.join("shared")), (user.uid, user.gid));
        assert_eq!(owner(dir.join("releases/r1/README")), (0, user.gid), "releases stay root's, readable by the site");
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o750);
        let volume = root.join("volumes").join(clone.config.volume.as_ref().unwrap());
        assert_eq!(owner(volume.join("orders.txt")), (user.uid, user.gid), "{}", volume.display());
        let append = "echo order-2 >> \"$DATA_DIR/orders.txt\" && id -u";
        let ran = c.run_step(&clone.name, &step(&format!("append-{}", clone.name), &["sh", "-c", append]), |_| {}).await.unwrap();
        assert_eq!((ran.code, ran.stdout.trim()), (Some(0), user.uid.to_string().as_str()), "{ran:?}");
    }
    // Another site may not take the shop's volume.
    let mut thief = EnvConfig::new(vec!["false".into()], free_port());
    thief.volume = Some("shop".into());
    let refused = c.create_env(&CreateEnv { op_id: "create-thief".into(), name: "thief".into(), config: thief }).await.unwrap_err();
    assert!(refused.to_string().contains("belongs to environment"), "{refused}");
}

#[tokio::test]
async fn a_release_never_keeps_setuid_bits_and_its_site_can_read_but_not_change_it() {
    need_root();
    let agent = TestAgent::start();
    let c = &agent.client;
    let info = create(&agent, "modes", EnvConfig::new(vec!["false".into()], free_port())).await;
    let user = info.config.run_as.unwrap();
    let (bytes, sha) = tar_gz(&[("bin/tool", b"#!/bin/sh\necho tool\n", 0o6755), ("secret.conf", b"key=1\n", 0o600)]);
    c.upload_bytes(bytes, &sha).await.unwrap();
    c.unpack_release("modes", &UnpackRelease { op_id: "unpack-modes".into(), release_id: "r1".into(), sha256: sha, limits: None })
        .await
        .unwrap();
    c.activate("modes", &Activate { op_id: "activate-modes".into(), release_id: "r1".into() }).await.unwrap();
    let release = agent.root().join("envs/modes/releases/r1");
    let tool = std::fs::metadata(release.join("bin/tool")).unwrap();
    assert_eq!(tool.permissions().mode() & 0o7000, 0, "setuid and setgid bits are dropped");
    assert_eq!((tool.uid(), tool.gid()), (0, user.gid));
    let read = "cat secret.conf && bin/tool && (echo changed > secret.conf || echo refused)";
    let ran = c.run_step("modes", &step("read-own-release", &["sh", "-c", read]), |_| {}).await.unwrap();
    assert_eq!(ran.stdout, "key=1\ntool\nrefused\n", "{ran:?}");
}

/// An agent started as `nobody` (through `setpriv`), as an operator without root would run it.
#[tokio::test]
async fn an_agent_that_is_not_root_says_so_and_runs_sites_as_its_own_user() {
    need_root();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::os::unix::fs::chown(&root, Some(65534), Some(65534)).unwrap();
    let wrapper = dir.path().join("agent-as-nobody");
    let script = format!(
        "#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups -- '{}' \"$@\"\n",
        crate::support::agent_binary().display()
    );
    std::fs::write(&wrapper, script).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut spawned = switchyard_agent::spawn::spawn_agent(&wrapper, dir.path(), &[]).unwrap_or_else(|e| panic!("{e}"));
    let r = &spawned.registration;
    let c = switchyard_agent::AgentClient::new(&r.url, &r.token, &r.fingerprint).unwrap();

    let isolation = c.agent_info().await.unwrap().isolation.unwrap();
    assert!(!isolation.agent_is_root && !isolation.site_users, "{isolation:?}");
    assert!(isolation.warnings.iter().any(|w| w.contains("does not run as root")), "{isolation:?}");
    let log = std::fs::read_to_string(dir.path().join("agent.log")).unwrap();
    assert!(log.contains("does not run as root"), "the agent says so at start:\n{log}");

    let req = CreateEnv { op_id: "create-solo".into(), name: "solo".into(), config: EnvConfig::new(vec!["false".into()], free_port()) };
    let info = c.create_env(&req).await.unwrap();
    assert_eq!(info.config.run_as, None, "no site user without root");
    let (bytes, sha) = tar_gz(&[("README", b"solo", 0o644)]);
    c.upload_bytes(bytes, &sha).await.unwrap();
    c.unpack_release("solo", &UnpackRelease { op_id: "unpack-solo".into(), release_id: "r1".into(), sha256: sha, limits: None })
        .await
        .unwrap();
    c.activate("solo", &Activate { op_id: "activate-solo".into(), release_id: "r1".into() }).await.unwrap();
    let ran = c.run_step("solo", &step("whoami", &["id", "-u"]), |_| {}).await.unwrap();
    let _ = spawned.child.kill();
    let _ = spawned.child.wait();
    assert_eq!(ran.stdout.trim(), "65534", "the site runs as the agent's own user: {ran:?}");
}
