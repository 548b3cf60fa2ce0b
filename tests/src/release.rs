//! Release tarballs of the sample site for the tests, built with the system's `tar` and hashed
//! with `sha256sum`, so the sha256 Switchyard reports is checked against an independent one.

use crate::workspace_binary;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A release of the sample site at `version` expecting database `schema`, written into `dir`:
/// `bin/site` starts the workspace's sample-site binary with this release's `site.toml`.
/// Returns the tarball and its sha256.
pub fn sample_release(dir: &Path, version: &str, schema: u32) -> (PathBuf, String) {
    let tree = dir.join(format!("release-{version}"));
    std::fs::create_dir_all(tree.join("bin")).unwrap();
    let script = format!(
        "#!/bin/sh\nhere=$(cd \"$(dirname \"$0\")/..\" && pwd)\nSITE_CONFIG=\"$here/site.toml\" exec '{}' \"$@\"\n",
        workspace_binary("sample-site").display()
    );
    std::fs::write(tree.join("bin/site"), script).unwrap();
    std::fs::set_permissions(tree.join("bin/site"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(tree.join("site.toml"), format!("version = \"{version}\"\nschema = {schema}\n")).unwrap();
    let tarball = dir.join(format!("acme-shop-{version}.tar.gz"));
    let tar = Command::new("tar").arg("czf").arg(&tarball).arg("-C").arg(&tree).args(["bin", "site.toml"]).output().unwrap();
    assert!(tar.status.success(), "tar failed: {}", String::from_utf8_lossy(&tar.stderr));
    let sum = Command::new("sha256sum").arg(&tarball).output().unwrap();
    let sha = String::from_utf8_lossy(&sum.stdout).split_whitespace().next().unwrap().to_owned();
    (tarball, sha)
}
