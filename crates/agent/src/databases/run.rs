//! Running a database's own client tools (`psql`, `pg_dump`, `mariadb`, …) for the agent:
//! passwords go in the child's environment, never on its command line (where `ps` shows
//! them), and a failure reports the tool's own message without them.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::error::{AgentError, Result};

/// A client tool invocation: the program, its arguments, its secret environment.
pub(crate) struct Tool {
    command: Command,
    shown: String,
}

impl Tool {
    pub(crate) fn new(program: &str) -> Tool {
        let mut command = Command::new(program);
        command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("LC_ALL", "C");
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        Tool { command, shown: program.to_owned() }
    }

    pub(crate) fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(mut self, args: I) -> Tool {
        self.command.args(args);
        self
    }

    /// An environment variable that must not be shown (a password).
    pub(crate) fn secret(mut self, name: &str, value: &str) -> Tool {
        self.command.env(name, value);
        self
    }

    /// Runs it with `input` on its standard input and returns its standard output.
    pub(crate) async fn run_with_input(self, doing: &str, input: &str) -> Result<String> {
        Ok(String::from_utf8_lossy(&self.output(doing, Some(input)).await?).into_owned())
    }

    /// Runs it and returns its standard output as the bytes it wrote (a binary log's rows are
    /// in their columns' own character sets, not necessarily UTF-8).
    pub(crate) async fn run_for_bytes(self, doing: &str) -> Result<Vec<u8>> {
        self.output(doing, None).await
    }

    async fn output(mut self, doing: &str, input: Option<&str>) -> Result<Vec<u8>> {
        if input.is_some() {
            self.command.stdin(Stdio::piped());
        }
        let mut child = self.command.spawn().map_err(|e| missing_tool(&self.shown, doing, &e))?;
        if let (Some(mut stdin), Some(input)) = (child.stdin.take(), input) {
            stdin.write_all(input.as_bytes()).await.map_err(|e| AgentError::CommandFailed(format!("cannot {doing}: {e}")))?;
        }
        let out = child.wait_with_output().await.map_err(|e| AgentError::CommandFailed(format!("cannot {doing}: {e}")))?;
        if !out.status.success() {
            return Err(AgentError::CommandFailed(format!(
                "cannot {doing}: {} exited with {}: {}",
                self.shown,
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(out.stdout)
    }
}

/// Pipes `from`'s standard output into `into`'s standard input (a dump into a load), and
/// fails with whichever side failed.
pub(crate) async fn pipe(from: Tool, into: Tool, doing: &str) -> Result<()> {
    let (mut from, mut into) = (from, into);
    into.command.stdin(Stdio::piped());
    let mut producer = from.command.spawn().map_err(|e| missing_tool(&from.shown, doing, &e))?;
    let mut consumer = into.command.spawn().map_err(|e| missing_tool(&into.shown, doing, &e))?;
    let (Some(mut dump), Some(mut load)) = (producer.stdout.take(), consumer.stdin.take()) else {
        return Err(AgentError::Internal(format!("cannot {doing}: the tools' pipes are not set up")));
    };
    let copied = tokio::spawn(async move {
        let copied = tokio::io::copy(&mut dump, &mut load).await;
        drop(load);
        copied
    });
    let (produced, consumed) = tokio::join!(producer.wait_with_output(), consumer.wait_with_output());
    let produced = produced.map_err(|e| AgentError::CommandFailed(format!("cannot {doing}: {e}")))?;
    let consumed = consumed.map_err(|e| AgentError::CommandFailed(format!("cannot {doing}: {e}")))?;
    let copy = copied.await.map_err(|e| AgentError::Internal(format!("cannot {doing}: {e}")))?;
    for (tool, out) in [(&from.shown, &produced), (&into.shown, &consumed)] {
        if !out.status.success() {
            return Err(AgentError::CommandFailed(format!(
                "cannot {doing}: {tool} exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
    }
    copy.map_err(|e| AgentError::CommandFailed(format!("cannot {doing}: the copy between the tools broke off: {e}")))?;
    Ok(())
}

fn missing_tool(program: &str, doing: &str, error: &std::io::Error) -> AgentError {
    if error.kind() == std::io::ErrorKind::NotFound {
        AgentError::CommandFailed(format!("cannot {doing}: {program} is not installed on this host; install the database's client tools"))
    } else {
        AgentError::CommandFailed(format!("cannot {doing}: cannot start {program}: {error}"))
    }
}
