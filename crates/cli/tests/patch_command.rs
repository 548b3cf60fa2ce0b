//! `switchyard patch` as a customer's CI would run it: the real binary, real files, exit codes.

use std::process::{Command, Output};

fn switchyard(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_switchyard")).args(args).output().expect("run switchyard");
    eprintln!(
        "$ switchyard {}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn a_template_validates_and_a_broken_document_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let template = switchyard(&["patch", "template", "rollout", "--site", "Acme Shop", "--target-version", "2.0.0"]);
    assert!(template.status.success());
    let toml = String::from_utf8(template.stdout).unwrap();
    let good = dir.path().join("rollout.toml");
    std::fs::write(&good, &toml).unwrap();

    let checked = switchyard(&["patch", "validate", good.to_str().unwrap()]);
    assert!(checked.status.success());
    assert!(String::from_utf8_lossy(&checked.stdout).contains("valid rollout document for Acme Shop"));

    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, toml.replace("percent = 100", "percent = 50")).unwrap();
    let refused = switchyard(&["patch", "validate", broken.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with(&format!("{}:", broken.display())), "FILE:LINE: message, got {first:?}");
    assert!(stderr.contains("100"), "says the last stage must reach 100 %: {stderr}");

    let unknown = switchyard(&["patch", "template", "yolo", "--site", "Acme Shop"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr)
        .contains("use no-migration, migration, low-downtime-migration, minor-patch, blue-green or rollout"));
}
