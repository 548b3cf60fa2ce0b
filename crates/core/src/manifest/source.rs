//! Which file of a release a manifest was read from: `switchyard.toml` wins over a `Procfile`
//! when a release holds both, as the agent reads them.

use super::{ManifestErrors, ReleaseManifest, MANIFEST_FILE, PROCFILE};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ManifestSource {
    SwitchyardToml,
    Procfile,
}

impl ManifestSource {
    pub fn file_name(self) -> &'static str {
        match self {
            ManifestSource::SwitchyardToml => MANIFEST_FILE,
            ManifestSource::Procfile => PROCFILE,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ManifestSource::SwitchyardToml => "switchyard-toml",
            ManifestSource::Procfile => "procfile",
        }
    }

    /// Parses `text` as this kind of file.
    pub fn read(self, text: &str) -> Result<ReleaseManifest, ManifestErrors> {
        match self {
            ManifestSource::SwitchyardToml => ReleaseManifest::parse(text),
            ManifestSource::Procfile => ReleaseManifest::from_procfile(text),
        }
    }
}

impl FromStr for ManifestSource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [ManifestSource::SwitchyardToml, ManifestSource::Procfile]
            .into_iter()
            .find(|source| source.as_str() == s)
            .ok_or_else(|| format!("unknown manifest source {s:?}; use switchyard-toml or procfile"))
    }
}

impl ReleaseManifest {
    /// The manifest a release declares with these root files, if it has either: the file it
    /// came from and what it says, or that file's problems.
    pub fn from_release_files(
        manifest: Option<&str>,
        procfile: Option<&str>,
    ) -> Option<(ManifestSource, Result<ReleaseManifest, ManifestErrors>)> {
        let (source, text) = match (manifest, procfile) {
            (Some(text), _) => (ManifestSource::SwitchyardToml, text),
            (None, Some(text)) => (ManifestSource::Procfile, text),
            (None, None) => return None,
        };
        Some((source, source.read(text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switchyard_toml_wins_over_a_procfile_and_each_source_round_trips_its_name() {
        let (source, manifest) = ReleaseManifest::from_release_files(Some("[web]\ncommand = \"a\"\n"), Some("web: b\n")).unwrap();
        assert_eq!((source, manifest.unwrap().web.command), (ManifestSource::SwitchyardToml, "a".to_owned()));
        let (source, manifest) = ReleaseManifest::from_release_files(None, Some("web: b\n")).unwrap();
        assert_eq!((source, manifest.unwrap().web.command), (ManifestSource::Procfile, "b".to_owned()));
        assert!(ReleaseManifest::from_release_files(None, None).is_none());
        for source in [ManifestSource::SwitchyardToml, ManifestSource::Procfile] {
            assert_eq!(source.as_str().parse::<ManifestSource>(), Ok(source));
        }
        assert!("yaml".parse::<ManifestSource>().unwrap_err().contains("switchyard-toml or procfile"));
    }

    #[test]
    fn a_broken_manifest_reports_its_problems_with_lines() {
        let (_, broken) = ReleaseManifest::from_release_files(Some("[web]\ncomand = \"a\"\n"), None).unwrap();
        let problems = broken.unwrap_err();
        assert!(problems.0.iter().any(|p| p.line == 2), "{problems:?}");
    }
}
