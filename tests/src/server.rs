//! The real `switchyard serve` on 127.0.0.1 with its own data directory.

use crate::process::Running;
use crate::workspace_binary;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub struct Server {
    pub url: String,
    pub data_dir: PathBuf,
    process: Option<Running>,
}

impl Server {
    /// Starts a server over `data_dir` (created if needed); seeds the demo into an empty store.
    pub fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, &[])
    }

    pub fn start_with(data_dir: &Path, extra_args: &[&str]) -> Self {
        std::fs::create_dir_all(data_dir).expect("create data dir");
        let mut command = Command::new(workspace_binary("switchyard"));
        // A free port for the local agent too: tests run side by side.
        command.args(["serve", "--port", "0", "--agent-listen", "127.0.0.1:0", "--data"]).arg(data_dir).args(extra_args);
        let mut process = Running::spawn("switchyard serve", command, data_dir);
        let output = process.wait_for_output("its URL", Duration::from_secs(30), |out| out.contains("serving at http://"));
        let url = output
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .expect("the URL is printed")
            .trim_end_matches('/')
            .to_owned();
        Self { url, data_dir: data_dir.to_owned(), process: Some(process) }
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}{}{path}", self.url, switchyard_api::API_PREFIX)
    }

    /// GETs an API path and returns its JSON, failing the test on a transport error.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let reply = reqwest::get(self.api(path)).await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
        reply.json().await.unwrap_or_else(|e| panic!("GET {path}: the reply is not JSON: {e}"))
    }

    /// POSTs JSON to an API path and returns the reply's JSON, whatever its status.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> serde_json::Value {
        let reply = reqwest::Client::new()
            .post(self.api(path))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        reply.json().await.unwrap_or_else(|e| panic!("POST {path}: the reply is not JSON: {e}"))
    }

    pub fn output(&self) -> String {
        self.process.as_ref().map(Running::output).unwrap_or_default()
    }

    /// Stops the server the way an operator would (SIGTERM) and checks it shut down cleanly.
    pub fn stop(mut self) {
        let process = self.process.take().expect("running");
        let output_before = process.output();
        let status = process.terminate();
        assert!(status.success(), "switchyard serve exited with {status} on SIGTERM; output:\n{output_before}");
    }
}
