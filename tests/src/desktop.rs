//! The real desktop app under a private Xvfb display, driven through tauri-driver and
//! WebKitWebDriver.

use crate::process::{wait_for_port, Running};
use crate::{free_port, system_tool, workspace_binary};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// An X server of our own, so tests never depend on (or disturb) a desktop session.
pub struct Display {
    pub name: String,
    _server: Running,
}

impl Display {
    pub fn start(log_dir: &Path) -> Self {
        let xvfb = system_tool("/usr/bin/Xvfb", "xvfb");
        // Pick a display number whose socket is free; several tests may run at once. Tests in
        // one process start from different numbers: two that checked the same free number at
        // the same moment would share one Xvfb, and the first to finish would take it away.
        static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let offset = STARTED.fetch_add(7, std::sync::atomic::Ordering::SeqCst);
        let number = (100..400)
            .map(|n| n + offset + (std::process::id() % 300))
            .find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() && !Path::new(&format!("/tmp/.X{n}-lock")).exists())
            .expect("a free X display number");
        let name = format!(":{number}");
        let mut command = Command::new(xvfb);
        command.args([name.as_str(), "-screen", "0", "1280x860x24", "-nolisten", "tcp"]);
        let server = Running::spawn("Xvfb", command, log_dir);
        let socket = format!("/tmp/.X11-unix/X{number}");
        let start = std::time::Instant::now();
        while !Path::new(&socket).exists() {
            assert!(start.elapsed() < Duration::from_secs(15), "Xvfb did not start; output:\n{}", server.output());
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { name, _server: server }
    }
}

pub struct DesktopApp {
    pub client: Client,
    pub display: Display,
    _driver: Running,
}

impl DesktopApp {
    /// Starts the desktop app over `data_dir` with all its HOME writes kept in `scratch`.
    pub async fn start(data_dir: &Path, scratch: &Path) -> Self {
        Self::start_with_env(data_dir, scratch, &[]).await
    }

    /// [`Self::start`] with extra environment for the app, e.g. the debug build's answers to
    /// its file dialogs (`SWITCHYARD_DESKTOP_PICK_FILE`, `SWITCHYARD_DESKTOP_SAVE_FILE`).
    pub async fn start_with_env(data_dir: &Path, scratch: &Path, env: &[(&str, &Path)]) -> Self {
        let app = workspace_binary("switchyard-desktop");
        let tauri_driver = crate::cargo_bin("tauri-driver");
        assert!(tauri_driver.is_file(), "tauri-driver is missing; `cargo xtask test` installs it");
        let webkit_driver = system_tool("/usr/bin/WebKitWebDriver", "webkit2gtk-driver");
        let display = Display::start(scratch);
        let port = free_port();
        let native_port = free_port();
        let mut command = Command::new(tauri_driver);
        command
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string(), "--native-driver"])
            .arg(webkit_driver)
            .env("DISPLAY", &display.name)
            .env("SWITCHYARD_DATA", data_dir)
            // Standalone mode's local agent on a free port: tests run side by side.
            .env("SWITCHYARD_AGENT_LISTEN", "127.0.0.1:0")
            .env("XDG_DATA_HOME", scratch.join("data"))
            .env("XDG_CACHE_HOME", scratch.join("cache"))
            .env("XDG_CONFIG_HOME", scratch.join("config"))
            .env("XDG_RUNTIME_DIR", scratch)
            .env_remove("WAYLAND_DISPLAY");
        command.envs(env.iter().copied());
        let driver = Running::spawn("tauri-driver", command, scratch);
        // tauri-driver listens at once but forwards to WebKitWebDriver, which starts a moment
        // later: a session request before that fails with a connect error.
        for (what, port) in [("tauri-driver", port), ("WebKitWebDriver", native_port)] {
            assert!(wait_for_port(port, Duration::from_secs(30)), "{what} did not listen; output:\n{}", driver.output());
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), serde_json::json!("wry"));
        capabilities.insert("tauri:options".into(), serde_json::json!({ "application": app }));
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("cannot start the desktop app through tauri-driver: {e}; output:\n{}", driver.output()));
        Self { client, display, _driver: driver }
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
