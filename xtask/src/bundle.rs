//! The web UI bundle made small and cacheable once trunk has built it: the wasm module shrunk
//! by `wasm-opt` from npm's `binaryen` package (Debian's wasm-opt 108 emits modules that break
//! at load, see ../shared/SETUP.md), its `integrity` hash in `index.html` brought up to date,
//! and every wasm, script, style and page stored beside itself gzip- and brotli-compressed
//! (`x.wasm.gz`, `x.wasm.br`), which the server sends to browsers that accept them. Trunk
//! already names each asset by a hash of its content, so the server lets browsers cache them
//! for good.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::run;

/// npm's binaryen, pinned: the release SETUP.md records as working here.
const BINARYEN: &str = "binaryen@132.0.0";

pub fn finish(root: &Path) -> Result<()> {
    let dist = root.join("frontend/dist");
    let wasm_opt = ensure_wasm_opt(root)?;
    for wasm in files(&dist, |name| name.ends_with(".wasm"))? {
        shrink(&wasm_opt, &wasm, &dist.join("index.html"))?;
    }
    let brotli = Command::new("brotli").arg("--version").output().is_ok_and(|o| o.status.success());
    if !brotli {
        eprintln!("xtask: no brotli on this machine (Debian package `brotli`): the UI is stored gzip-compressed only");
    }
    for file in files(&dist, |name| [".wasm", ".js", ".css", ".html"].iter().any(|ext| name.ends_with(ext)))? {
        run(Command::new("gzip").args(["-9", "-n", "-k", "-f"]).arg(&file))?;
        if brotli {
            run(Command::new("brotli").args(["-q", "11", "-k", "-f"]).arg(&file))?;
        }
    }
    Ok(())
}

/// The files of `dir` whose name `wanted` accepts.
fn files(dir: &Path, wanted: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}; build the UI first", dir.display()))? {
        let path = entry?.path();
        if path.file_name().and_then(|n| n.to_str()).is_some_and(&wanted) {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// `wasm-opt` from npm's binaryen in `target/npm-tools`, installed from the npm registry once.
fn ensure_wasm_opt(root: &Path) -> Result<PathBuf> {
    let tools = root.join("target/npm-tools");
    let wasm_opt = tools.join("node_modules/.bin/wasm-opt");
    let marker = tools.join(BINARYEN);
    if !wasm_opt.is_file() || !marker.exists() {
        std::fs::create_dir_all(&tools).with_context(|| format!("cannot create {}", tools.display()))?;
        run(Command::new("npm").args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"]).arg(&tools).arg(BINARYEN))?;
        std::fs::write(&marker, "installed\n")?;
    }
    Ok(wasm_opt)
}

/// Optimises `wasm` for size in place and puts its new hash in the page that loads it.
fn shrink(wasm_opt: &Path, wasm: &Path, index: &Path) -> Result<()> {
    let before = integrity(wasm)?;
    let size_before = std::fs::metadata(wasm)?.len();
    let optimised = wasm.with_extension("opt.wasm");
    // The features the Rust compiler's wasm32 target emits by default.
    run(Command::new(wasm_opt)
        .args(["-Oz", "--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext", "--enable-mutable-globals"])
        .args(["--enable-reference-types", "--enable-multivalue"])
        .arg(wasm)
        .arg("-o")
        .arg(&optimised))?;
    std::fs::rename(&optimised, wasm)?;
    let after = integrity(wasm)?;
    let page = std::fs::read_to_string(index).with_context(|| format!("cannot read {}", index.display()))?;
    if !page.contains(&before) {
        bail!("{} does not carry the integrity hash of {}: did trunk's output change?", index.display(), wasm.display());
    }
    std::fs::write(index, page.replace(&before, &after))?;
    eprintln!("xtask: wasm-opt shrank {} from {size_before} to {} bytes", wasm.display(), std::fs::metadata(wasm)?.len());
    Ok(())
}

/// The subresource-integrity value trunk writes for `file`: `sha384-` and the base64 digest.
fn integrity(file: &Path) -> Result<String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg("openssl dgst -sha384 -binary \"$1\" | base64 -w0")
        .arg("sh")
        .arg(file)
        .output()
        .context("cannot run openssl to hash the UI bundle")?;
    if !out.status.success() {
        bail!("cannot hash {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    }
    Ok(format!("sha384-{}", String::from_utf8_lossy(&out.stdout).trim()))
}
