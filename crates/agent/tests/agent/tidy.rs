//! Tidy checks over the agent and sample-site sources: every file opens with a `//!` line
//! saying what it is for, files stay small, and nothing is left as a stub.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn sources_open_with_a_doc_line_stay_small_and_have_no_stubs() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in ["agent", "sample-site"] {
        for sub in ["src", "tests", "benches"] {
            let dir = crates.join(krate).join(sub);
            if dir.exists() {
                rust_files(&dir, &mut files);
            }
        }
    }
    assert!(files.len() > 20, "found only {} files", files.len());
    let stub = ["todo", "!("].concat();
    let unimpl = ["unimplemented", "!("].concat();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("//!"), "{} does not open with a //! line", file.display());
        assert!(text.lines().count() <= 600, "{} is over 600 lines: split it along a concept", file.display());
        assert!(!text.contains(&stub) && !text.contains(&unimpl), "{} has a stub", file.display());
    }
}
