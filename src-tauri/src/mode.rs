//! Standalone or team mode: where the window's API requests go, kept as a small JSON file in
//! the app's config directory so the choice survives a restart.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use switchyard_api::ApiError;

pub const STANDALONE: &str = "standalone";
pub const TEAM: &str = "team";

/// The file's name inside the app's config directory.
pub const CONFIG_FILE: &str = "desktop.json";

/// Where requests go. The same shape is what `desktop_mode` answers and `set_desktop_mode`
/// takes, and what `frontend/src/desktop.rs` mirrors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesktopMode {
    /// `standalone` (embedded store, engine and local agent) or `team` (a `switchyard serve`).
    pub mode: String,
    /// The team server's base address, e.g. `https://switchyard.example.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_url: Option<String>,
}

impl Default for DesktopMode {
    fn default() -> Self {
        Self { mode: STANDALONE.into(), server_url: None }
    }
}

impl DesktopMode {
    /// The team server's address when in team mode.
    pub fn team_url(&self) -> Option<&str> {
        (self.mode == TEAM).then_some(self.server_url.as_deref()).flatten()
    }

    /// Checks the choice and puts the URL in one canonical form (no trailing slash), so the
    /// API paths can be appended to it.
    pub fn validated(self) -> Result<Self, ApiError> {
        match self.mode.as_str() {
            STANDALONE => Ok(Self { mode: STANDALONE.into(), server_url: None }),
            TEAM => {
                let raw = self.server_url.unwrap_or_default();
                let url = raw.trim().trim_end_matches('/').to_owned();
                if url.is_empty() {
                    return Err(ApiError::new(
                        "team mode needs the server's address",
                        "enter the address people open in a browser, e.g. https://switchyard.example.com",
                    ));
                }
                let parsed = reqwest::Url::parse(&url).map_err(|e| {
                    ApiError::new(format!("{url:?} is not an address"), format!("{e}; write it as http://host:port or https://host"))
                })?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                    return Err(ApiError::new(
                        format!("{url:?} is not a web address"),
                        "a Switchyard server is reached over http:// or https://",
                    ));
                }
                if parsed.query().is_some() || parsed.fragment().is_some() {
                    return Err(ApiError::new(format!("{url:?} has a query or fragment"), "give only the server's base address"));
                }
                Ok(Self { mode: TEAM.into(), server_url: Some(url) })
            }
            other => Err(ApiError::new(format!("unknown mode {other:?}"), "choose standalone or team")),
        }
    }
}

/// Reads the saved choice; a missing file means standalone, an unreadable one is reported.
pub fn load(file: &Path) -> Result<DesktopMode, String> {
    match std::fs::read_to_string(file) {
        Ok(text) => serde_json::from_str::<DesktopMode>(&text)
            .map_err(|e| e.to_string())
            .and_then(|mode| mode.validated().map_err(|e| e.to_string()))
            .map_err(|e| format!("{} is not a valid desktop setting ({e}); fix or delete it", file.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(DesktopMode::default()),
        Err(error) => Err(format!("cannot read {}: {error}", file.display())),
    }
}

/// Saves the choice atomically (a temporary file renamed over the old one).
pub fn save(file: &Path, mode: &DesktopMode) -> Result<(), ApiError> {
    let failed = |e: std::io::Error| ApiError::new(format!("cannot save {}", file.display()), e.to_string());
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let temporary: PathBuf = file.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(mode).expect("the mode always serialises");
    std::fs::write(&temporary, text).map_err(failed)?;
    std::fs::rename(&temporary, file).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(url: &str) -> DesktopMode {
        DesktopMode { mode: TEAM.into(), server_url: Some(url.into()) }
    }

    #[test]
    fn a_team_address_is_kept_without_its_trailing_slash() {
        let mode = team(" https://switchyard.example.com/ ").validated().unwrap();
        assert_eq!(mode.team_url(), Some("https://switchyard.example.com"));
    }

    #[test]
    fn addresses_that_cannot_reach_a_server_are_refused_with_advice() {
        for bad in ["", "switchyard.example.com", "ftp://example.com", "http://example.com/?a=b"] {
            let error = team(bad).validated().unwrap_err();
            assert!(!error.detail.is_empty(), "{bad:?} gave {error}");
        }
    }

    #[test]
    fn the_choice_survives_a_save_and_load_and_defaults_to_standalone() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config").join(CONFIG_FILE);
        assert_eq!(load(&file).unwrap(), DesktopMode::default());
        let chosen = team("http://127.0.0.1:7878").validated().unwrap();
        save(&file, &chosen).unwrap();
        assert_eq!(load(&file).unwrap(), chosen);
        std::fs::write(&file, "{").unwrap();
        assert!(load(&file).unwrap_err().contains("delete it"));
    }
}
