//! Tidy checks that run as ordinary tests, over every crate: conventions that keep the code
//! base readable (a `//!` line per file, files under 600 lines, no stubs) and the
//! architecture's invariants true.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
    }

    fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name == "target" || name == "dist" || name == "gen" || name.to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                rust_files(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    #[test]
    fn every_rust_file_opens_with_a_doc_line_saying_what_it_is_for() {
        let mut files = Vec::new();
        for dir in ["crates", "frontend", "src-tauri", "tests", "xtask"] {
            rust_files(&root().join(dir), &mut files);
        }
        assert!(files.len() > 30, "found only {} files; is the walk broken?", files.len());
        let missing: Vec<String> = files
            .iter()
            .filter(|path| {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                !text.trim_start().starts_with("//!")
            })
            .map(|path| path.strip_prefix(root()).unwrap().display().to_string())
            .collect();
        assert!(missing.is_empty(), "these files do not open with a `//!` line: {missing:#?}");
    }

    #[test]
    fn files_stay_small_and_hold_no_stubs() {
        let mut files = Vec::new();
        for dir in ["crates", "frontend", "src-tauri", "tests", "xtask"] {
            rust_files(&root().join(dir), &mut files);
        }
        // Spelled in two halves so this file does not flag itself.
        let stubs = [["todo", "!("].concat(), ["unimplemented", "!("].concat(), ["#[ig", "nore"].concat()];
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let name = path.strip_prefix(root()).unwrap().display().to_string();
            assert!(text.lines().count() <= 600, "{name} is over 600 lines: split it along a concept");
            for stub in &stubs {
                assert!(!text.contains(stub.as_str()), "{name} contains {stub}: finish it or take it out");
            }
        }
    }

    #[test]
    fn the_domain_and_wire_types_do_no_io() {
        for krate in ["crates/core", "crates/api"] {
            let manifest = std::fs::read_to_string(root().join(krate).join("Cargo.toml")).unwrap();
            for io in ["tokio", "sqlx", "axum", "reqwest", "hyper", "tauri", "std-fs"] {
                let dependency = manifest.lines().any(|line| line.trim_start().starts_with(io));
                assert!(!dependency, "{krate} depends on {io}: the domain must stay free of IO");
            }
        }
    }
}
