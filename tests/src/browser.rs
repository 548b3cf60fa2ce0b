//! A real headless Chromium driven through chromedriver, in a throwaway profile.

use crate::process::{wait_for_port, Running};
use crate::{free_port, system_tool};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Browser {
    pub client: Client,
    _driver: Running,
    dir: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Self {
        let chromium = system_tool("/usr/bin/chromium", "chromium");
        let chromedriver = system_tool("/usr/bin/chromedriver", "chromium-driver");
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut command = Command::new(chromedriver);
        command.arg(format!("--port={port}"));
        // Chromium writes caches and settings under HOME and XDG dirs: keep them in the temp dir.
        for var in ["HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"] {
            command.env(var, dir.path());
        }
        let driver = Running::spawn("chromedriver", command, dir.path());
        assert!(wait_for_port(port, Duration::from_secs(20)), "chromedriver did not listen; output:\n{}", driver.output());
        let profile = dir.path().join("profile");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("cannot start a Chromium session: {e}; chromedriver said:\n{}", driver.output()));
        Self { client, _driver: driver, dir }
    }

    /// Waits for an element to appear, failing with the page's text when it does not.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("no element {css:?} ({e}); the page says:\n{}", self.page_text().await),
        }
    }

    /// Waits until the page's visible text contains `needle`.
    pub async fn wait_for_text(&self, needle: &str) {
        let start = Instant::now();
        loop {
            let text = self.page_text().await;
            if text.contains(needle) {
                return;
            }
            if start.elapsed() > Duration::from_secs(15) {
                panic!("the page never showed {needle:?}; it says:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn page_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(e) => format!("(no body: {e})"),
        }
    }

    /// Opens `url` and waits until nothing on the page still says it is loading or checking,
    /// so what a test reads is what a person would see once the page has settled.
    pub async fn settled(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
        let start = Instant::now();
        loop {
            let text = self.page_text().await;
            let busy = text.contains("Loading…") || text.contains("checking…") || !text.contains("Switchyard");
            if !busy {
                break;
            }
            if start.elapsed() > Duration::from_secs(15) {
                panic!("{url} never finished loading; it says:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Cards that load after the page (a status asked of an agent) get a moment to render.
        tokio::time::sleep(Duration::from_millis(400)).await;
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.map(|u| u.path().to_owned()).unwrap_or_default()
    }

    pub async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        let path = self.dir.path().join(format!("{name}.png"));
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(&path, png);
        }
        path
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
