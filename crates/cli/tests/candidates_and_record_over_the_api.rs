//! The candidate and record commands against a real `switchyard serve`: upload three candidates,
//! delete one, prune to the newest, check the record through the API and offline on the same
//! data directory while the server runs (both see the same head), and an export of a release
//! that does not exist says which.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

struct Serve {
    child: Child,
    url: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path, ui: &Path) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["serve", "--no-agent", "--no-demo", "--port", "0", "--data"])
        .arg(data)
        .arg("--ui-dir")
        .arg(ui)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start switchyard serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("serve printed its address").unwrap();
        eprintln!("serve: {line}");
        if let Some(rest) = line.split("serving at ").nth(1) {
            break rest.split_whitespace().next().unwrap().trim_end_matches('/').to_owned();
        }
    };
    // Keep reading so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(|line| eprintln!("serve: {}", line.unwrap_or_default())));
    Serve { child, url }
}

fn switchyard(serve: &Serve, token: &str, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .env("SWITCHYARD_URL", &serve.url)
        .env("SWITCHYARD_TOKEN", token)
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .output()
        .expect("run switchyard");
    eprintln!(
        "$ switchyard {}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn tarball(dir: &Path, version: &str) -> String {
    let mut builder = tar::Builder::new(Vec::new());
    let procfile = format!("web: ./serve {version}\n");
    let mut header = tar::Header::new_gnu();
    header.set_size(procfile.len() as u64);
    header.set_mode(0o644);
    builder.append_data(&mut header, "Procfile", procfile.as_bytes()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&builder.into_inner().unwrap()).unwrap();
    let path = dir.join(format!("notes-{version}.tar.gz"));
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn candidates_are_deleted_and_pruned_and_the_record_verifies_through_the_api_and_offline() {
    let dir = tempfile::tempdir().unwrap();
    let (data, ui) = (dir.path().join("data"), dir.path().join("ui"));
    std::fs::create_dir_all(&ui).unwrap();
    std::fs::write(ui.join("index.html"), "<!doctype html><title>Switchyard</title>").unwrap();
    let serve = serve(&data, &ui);

    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let setup = http
        .post(format!("{}/api/v1/setup", serve.url))
        .json(&serde_json::json!({"username": "ada", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert!(setup.status().is_success(), "{}", setup.status());
    let token = setup.headers()["x-switchyard-session"].to_str().unwrap().to_owned();
    let post =
        |path: &str, body: serde_json::Value| http.post(format!("{}/api/v1{path}", serve.url)).bearer_auth(&token).json(&body).send();
    let customer: serde_json::Value =
        post("/customers", serde_json::json!({"name": "Acme", "contact_email": ""})).await.unwrap().json().await.unwrap();
    let site = post("/sites", serde_json::json!({"name": "Notes", "customer_id": customer["id"], "description": ""})).await.unwrap();
    assert!(site.status().is_success(), "{}", site.status());

    let mut shas = Vec::new();
    for version in ["1", "2", "3"] {
        let uploaded = switchyard(&serve, &token, &["candidate", "upload", "--site", "Notes", &tarball(dir.path(), version)]);
        assert!(uploaded.status.success());
        shas.push(String::from_utf8(uploaded.stdout).unwrap().trim().to_owned());
        std::thread::sleep(std::time::Duration::from_millis(5));
    }

    let deleted = switchyard(&serve, &token, &["candidate", "delete", "--site", "Notes", &shas[1]]);
    assert!(deleted.status.success());
    assert!(String::from_utf8_lossy(&deleted.stdout).contains(&format!("Deleted candidate {} of Notes", shas[1])));
    let again = switchyard(&serve, &token, &["candidate", "delete", "--site", "Notes", &shas[1]]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("has no candidate"), "says what is missing");

    let pruned = switchyard(&serve, &token, &["candidate", "prune", "--site", "Notes", "--keep", "1"]);
    assert!(pruned.status.success());
    let stdout = String::from_utf8_lossy(&pruned.stdout);
    assert!(stdout.contains(&format!("deleted {}", shas[0])) && stdout.contains("1 deleted"), "{stdout}");
    let files: Vec<_> = std::fs::read_dir(data.join("candidates")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(files, [std::ffi::OsString::from(format!("{}.tar.gz", shas[2]))]);

    // The record through the API, then on the database file while the server runs: the same
    // audit head (the uploads and deletions are in it).
    let online = switchyard(&serve, &token, &["audit", "verify"]);
    assert_eq!(online.status.code(), Some(0));
    let offline = switchyard(&serve, "", &["audit", "verify", "--data", data.to_str().unwrap()]);
    assert_eq!(offline.status.code(), Some(0));
    let head = |output: &Output| String::from_utf8_lossy(&output.stdout).lines().next().unwrap_or_default().to_owned();
    assert_eq!(head(&online), head(&offline));
    let audit: serde_json::Value =
        http.get(format!("{}/api/v1/audit?limit=100", serve.url)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert!(head(&online).starts_with(&format!("audit log: {} rows, head hash ", audit["total"])), "{}", head(&online));
    let deletions = audit["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "candidate.delete").count();
    assert_eq!(deletions, 2, "the deletion and the prune are audited");

    let export = switchyard(&serve, &token, &["release", "export", "99"]);
    assert_eq!(export.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&export.stderr).contains("cannot export the record of release 99"));
}
