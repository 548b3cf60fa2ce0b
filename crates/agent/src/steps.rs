//! Steps: a command run in an environment's current release with a timeout. Its output is
//! appended to `steps/<op_id>.ndjson` as it arrives and the HTTP response follows that file,
//! so a retried request (same operation id, also after a reconnect) replays the same stream
//! instead of running the command again.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::api::{OutputStream, RunStep, StepEvent};
use crate::error::{io_context, AgentError, Result};
use crate::launch::{command_in_current, signal_group};
use crate::layout::{check_op_id, read_json, write_json, Layout};
use crate::ops::request_digest;

/// Output beyond this is dropped (with a note) so a chatty step cannot fill the disk.
const MAX_STORED_OUTPUT: u64 = 16 << 20;
const MAX_TIMEOUT_SECS: u64 = 24 * 3600;

pub struct Steps {
    layout: Layout,
    running: Mutex<HashSet<String>>,
}

impl Steps {
    pub fn new(layout: Layout) -> Arc<Self> {
        Arc::new(Steps { layout, running: Mutex::new(HashSet::new()) })
    }

    fn paths(&self, op_id: &str) -> (PathBuf, PathBuf, PathBuf) {
        let dir = self.layout.steps_dir();
        (dir.join(format!("{op_id}.request.json")), dir.join(format!("{op_id}.ndjson")), dir.join(format!("{op_id}.done")))
    }

    fn is_running(&self, op_id: &str) -> bool {
        self.running.lock().expect("steps lock poisoned").contains(op_id)
    }

    /// Starts the step unless `req.op_id` was started before, then streams its events.
    pub async fn run_or_follow(self: &Arc<Self>, env: &str, req: RunStep) -> Result<impl Stream<Item = std::io::Result<Bytes>>> {
        check_op_id(&req.op_id)?;
        let digest = request_digest(&format!("step:{env}"), &req);
        let (request_path, log_path, done_path) = self.paths(&req.op_id);
        let started = {
            let mut running = self.running.lock().expect("steps lock poisoned");
            if request_path.exists() {
                let stored: String = read_json(&request_path)?;
                if stored != digest {
                    return Err(AgentError::Conflict(format!(
                        "operation id {} was already used for a different step: choose a new operation id",
                        req.op_id
                    )));
                }
                false
            } else {
                if req.timeout_secs == 0 || req.timeout_secs > MAX_TIMEOUT_SECS {
                    return Err(AgentError::Invalid(format!(
                        "step timeout {} s is out of range: give 1 to {MAX_TIMEOUT_SECS} seconds",
                        req.timeout_secs
                    )));
                }
                let config = crate::envs::load_runnable(&self.layout, env)?;
                let (mut command, _) = command_in_current(&self.layout, env, &config, &req.command, &req.env)?;
                command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
                let child = command.spawn().map_err(|e| {
                    let hint = if e.kind() == std::io::ErrorKind::PermissionDenied { crate::confine::REACH_HINT } else { "" };
                    AgentError::CommandFailed(format!("cannot start step {:?} in environment {env}: {e}{hint}", req.command.join(" ")))
                })?;
                std::fs::File::create(&log_path).map_err(io_context(format!("cannot create {}", log_path.display())))?;
                write_json(&request_path, &digest)?;
                running.insert(req.op_id.clone());
                let steps = Arc::clone(self);
                let (op_id, timeout) = (req.op_id.clone(), Duration::from_secs(req.timeout_secs));
                tokio::spawn(async move {
                    if let Err(e) = supervise_step(child, &log_path, &done_path, timeout).await {
                        tracing::error!("step {op_id} could not record its output: {e}");
                    }
                    steps.running.lock().expect("steps lock poisoned").remove(&op_id);
                });
                true
            }
        };
        tracing::info!("step {} in environment {env}: {}", req.op_id, if started { "started" } else { "replaying" });
        let (_, log_path, done_path) = self.paths(&req.op_id);
        let file = tokio::fs::File::open(&log_path).await.map_err(io_context(format!("cannot open {}", log_path.display())))?;
        let deadline = Instant::now() + Duration::from_secs(req.timeout_secs.min(MAX_TIMEOUT_SECS)) + Duration::from_secs(30);
        let follow = Follow { file, done_path, steps: Arc::clone(self), op_id: req.op_id, deadline, finished: false };
        Ok(futures_util::stream::unfold(follow, |mut f| async move { f.next().await.map(|item| (item, f)) }))
    }
}

struct Follow {
    file: tokio::fs::File,
    done_path: PathBuf,
    steps: Arc<Steps>,
    op_id: String,
    deadline: Instant,
    finished: bool,
}

impl Follow {
    /// The next piece of the log; waits (bounded by the step's timeout) while it is written.
    async fn next(&mut self) -> Option<std::io::Result<Bytes>> {
        if self.finished {
            return None;
        }
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match self.file.read(&mut buf).await {
                Ok(0) => {}
                Ok(n) => {
                    buf.truncate(n);
                    return Some(Ok(Bytes::from(buf)));
                }
                Err(e) => return Some(Err(e)),
            }
            // Checked before `done`: the runner marks done before it stops counting as running.
            let running = self.steps.is_running(&self.op_id);
            if self.done_path.exists() {
                match self.file.read(&mut buf).await {
                    Ok(0) => return None,
                    Ok(n) => {
                        buf.truncate(n);
                        return Some(Ok(Bytes::from(buf)));
                    }
                    Err(e) => return Some(Err(e)),
                }
            }
            if !running {
                // The agent restarted while the step ran; the step died with it.
                self.finished = true;
                let exit = StepEvent::Exit { code: None, timed_out: false, interrupted: true, duration_ms: 0 };
                return Some(Ok(Bytes::from(event_line(&exit))));
            }
            if Instant::now() > self.deadline {
                return Some(Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the step outlived its timeout")));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

fn event_line(event: &StepEvent) -> Vec<u8> {
    let mut line = serde_json::to_vec(event).expect("step events always encode");
    line.push(b'\n');
    line
}

async fn read_into(mut pipe: impl AsyncRead + Unpin, stream: OutputStream, tx: mpsc::Sender<StepEvent>) {
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        // Lossy per chunk: a character split across chunks shows as U+FFFD, output stays flowing.
        let data = String::from_utf8_lossy(&buf[..n]).into_owned();
        if tx.send(StepEvent::Output { stream, data }).await.is_err() {
            break;
        }
    }
}

async fn supervise_step(
    mut child: tokio::process::Child,
    log_path: &std::path::Path,
    done_path: &std::path::Path,
    timeout: Duration,
) -> Result<()> {
    let started = Instant::now();
    let pid = child.id();
    let (tx, mut rx) = mpsc::channel(64);
    if let Some(out) = child.stdout.take() {
        tokio::spawn(read_into(out, OutputStream::Stdout, tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(read_into(err, OutputStream::Stderr, tx));
    }
    let mut log = tokio::fs::OpenOptions::new()
        .append(true)
        .open(log_path)
        .await
        .map_err(io_context(format!("cannot open {}", log_path.display())))?;
    let mut stored: u64 = 0;
    let mut write = |event: StepEvent, log_bytes: &mut Vec<u8>| {
        let line = event_line(&event);
        if stored + line.len() as u64 <= MAX_STORED_OUTPUT {
            stored += line.len() as u64;
            log_bytes.extend_from_slice(&line);
        } else if stored < MAX_STORED_OUTPUT {
            stored = MAX_STORED_OUTPUT;
            let note = StepEvent::Output { stream: OutputStream::Stderr, data: "[agent: output beyond 16 MiB dropped]\n".into() };
            log_bytes.extend_from_slice(&event_line(&note));
        }
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        let mut pending = Vec::new();
        tokio::select! {
            Some(event) = rx.recv() => write(event, &mut pending),
            status = child.wait() => break status,
            _ = tokio::time::sleep_until(deadline) => {
                timed_out = true;
                if let Some(pid) = pid { signal_group(pid, libc::SIGKILL); }
                break child.wait().await;
            }
        }
        log.write_all(&pending).await.map_err(io_context("cannot store step output"))?;
        log.flush().await.map_err(io_context("cannot store step output"))?;
    };
    // Output still in the pipes; bounded, because a background child may keep them open.
    let drain_deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let mut pending = Vec::new();
        tokio::select! {
            event = rx.recv() => match event { Some(event) => write(event, &mut pending), None => break },
            _ = tokio::time::sleep_until(drain_deadline) => {
                if let Some(pid) = pid { signal_group(pid, libc::SIGKILL); }
                break;
            }
        }
        log.write_all(&pending).await.map_err(io_context("cannot store step output"))?;
    }
    let code = status.ok().and_then(|s| s.code());
    let exit = StepEvent::Exit { code, timed_out, interrupted: false, duration_ms: started.elapsed().as_millis() as u64 };
    log.write_all(&event_line(&exit)).await.map_err(io_context("cannot store step output"))?;
    log.sync_all().await.map_err(io_context("cannot store step output"))?;
    std::fs::File::create(done_path).map_err(io_context(format!("cannot create {}", done_path.display())))?;
    Ok(())
}
