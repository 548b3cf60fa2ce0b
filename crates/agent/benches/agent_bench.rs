//! Benchmark of the agent's two heavy operations against the plain tools, measured side by side
//! in one run on the same disk: cloning an environment against `cp -a` of its tree, and
//! uploading a candidate over HTTPS (streamed, hashed) against `cp` of the file.
//!
//! `AGENT_BENCH_MB` sets the data size (default 1024); `AGENT_BENCH_MB=16` is a smoke run.
//! Run with `cargo bench -p switchyard-agent --bench agent_bench`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use switchyard_agent::api::{CloneEnv, CreateEnv, EnvConfig};
use switchyard_agent::{AgentClient, Registration};

const ROUNDS: usize = 2;

fn main() {
    let mb: usize = std::env::var("AGENT_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut agent, registration) = start_agent(dir.path());
    let client = AgentClient::new(&registration.url, &registration.token, &registration.fingerprint).expect("client");
    let rows = runtime.block_on(async {
        let clone = bench_clone(&client, dir.path(), mb).await;
        let (upload, upload_synced) = bench_upload(&client, dir.path(), mb).await;
        [clone, upload, upload_synced]
    });
    let _ = agent.kill();
    let _ = agent.wait();

    println!("\nagent benchmark, {mb} MB, best of {ROUNDS} rounds each, same disk, same run");
    println!("| operation | switchyard | baseline | baseline time | ratio |");
    println!("|---|---|---|---|---|");
    for (name, ours, baseline_name, baseline) in rows {
        println!(
            "| {name} | {:.3} s | {baseline_name} | {:.3} s | {:.2}x |",
            ours.as_secs_f64(),
            baseline.as_secs_f64(),
            ours.as_secs_f64() / baseline.as_secs_f64()
        );
    }
}

fn start_agent(dir: &Path) -> (std::process::Child, Registration) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard-agent"))
        .arg("--root")
        .arg(dir.join("root"))
        .args(["--listen", "127.0.0.1:0", "--max-upload-bytes", &(64u64 << 30).to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start switchyard-agent");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("agent output");
    assert!(line.contains("listening on"), "agent did not start: {line}");
    let text = std::fs::read_to_string(dir.join("root/agent/registration.json")).expect("registration");
    (child, serde_json::from_str(&text).expect("registration json"))
}

/// Writes `mb` MiB: half in one large file (a database or media blob), half in 1 MiB files.
fn fill(dir: &Path, mb: usize) {
    std::fs::create_dir_all(dir.join("uploads")).unwrap();
    let chunk: Vec<u8> = (0..1 << 20).map(|i: u32| (i.wrapping_mul(2654435761) >> 11) as u8).collect();
    let mut big = std::fs::File::create(dir.join("big.bin")).unwrap();
    for _ in 0..mb / 2 {
        big.write_all(&chunk).unwrap();
    }
    for i in 0..mb - mb / 2 {
        std::fs::write(dir.join(format!("uploads/file-{i}.bin")), &chunk).unwrap();
    }
}

/// Flushes dirty pages (untimed) so one measurement does not pay for the previous one's writeback.
fn settle() {
    let _ = Command::new("sync").status();
}

fn time_command(command: &mut Command) -> Duration {
    settle();
    let start = Instant::now();
    let status = command.status().expect("baseline command");
    assert!(status.success(), "{command:?} failed");
    start.elapsed()
}

async fn bench_clone(client: &AgentClient, dir: &Path, mb: usize) -> (String, Duration, String, Duration) {
    let config = EnvConfig::new(vec!["bin/site".into()], 1);
    client.create_env(&CreateEnv { op_id: "create".into(), name: "prod".into(), config }).await.expect("create");
    let prod = dir.join("root/envs/prod");
    fill(&prod.join("shared"), mb);
    let (mut ours, mut baseline) = (Duration::MAX, Duration::MAX);
    for round in 0..ROUNDS {
        let copy = dir.join(format!("cp-{round}"));
        baseline = baseline.min(time_command(Command::new("cp").arg("-a").arg(&prod).arg(&copy)));
        std::fs::remove_dir_all(&copy).unwrap();
        settle();
        let start = Instant::now();
        client
            .clone_env(
                "prod",
                &CloneEnv {
                    op_id: format!("clone-{round}"),
                    target: format!("test-{round}"),
                    port: Some(2000 + round as u16),
                    share_volume: false,
                },
            )
            .await
            .expect("clone");
        ours = ours.min(start.elapsed());
        std::fs::remove_dir_all(dir.join(format!("root/envs/test-{round}"))).unwrap();
    }
    (format!("clone a {mb} MB environment"), ours, "cp -a".into(), baseline)
}

/// Two rows: against plain `cp`, and against `cp` plus fsync, since the agent makes the
/// candidate durable before it answers.
async fn bench_upload(
    client: &AgentClient,
    dir: &Path,
    mb: usize,
) -> ((String, Duration, String, Duration), (String, Duration, String, Duration)) {
    let file = dir.join("candidate.tar.gz");
    fill(&dir.join("candidate-src"), mb);
    std::fs::rename(dir.join("candidate-src/big.bin"), &file).unwrap();
    // Same size as the clone data: append the small files' bytes to the single candidate.
    let mut out = std::fs::OpenOptions::new().append(true).open(&file).unwrap();
    for entry in std::fs::read_dir(dir.join("candidate-src/uploads")).unwrap().flatten() {
        out.write_all(&std::fs::read(entry.path()).unwrap()).unwrap();
    }
    drop(out);
    let (mut ours, mut baseline, mut synced) = (Duration::MAX, Duration::MAX, Duration::MAX);
    for round in 0..ROUNDS {
        let copy = dir.join(format!("candidate-copy-{round}"));
        baseline = baseline.min(time_command(Command::new("cp").arg(&file).arg(&copy)));
        std::fs::remove_file(&copy).unwrap();
        let script = format!("cp '{}' '{}' && sync '{}'", file.display(), copy.display(), copy.display());
        synced = synced.min(time_command(Command::new("sh").arg("-c").arg(script)));
        std::fs::remove_file(&copy).unwrap();
        // A different candidate each round (one byte appended), so nothing is deduplicated.
        std::fs::OpenOptions::new().append(true).open(&file).unwrap().write_all(&[round as u8]).unwrap();
        let sha = hex::encode(Sha256::digest(std::fs::read(&file).unwrap()));
        settle();
        let start = Instant::now();
        let stored = client.upload_candidate(&file, &sha).await.expect("upload");
        ours = ours.min(start.elapsed());
        assert_eq!(stored.sha256, sha);
        std::fs::remove_file(dir.join(format!("root/artifacts/{sha}.tar.gz"))).unwrap();
    }
    let name = format!("upload a {mb} MB candidate (HTTPS, sha256, fsync)");
    ((name.clone(), ours, "cp".into(), baseline), (name, ours, "cp + sync".into(), synced))
}
