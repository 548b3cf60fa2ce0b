//! A corpus of hostile archives, each refused with a message that names the problem, leaving
//! nothing behind in the environment or outside it.

use std::io::Write;

use crate::support::{gzip, sha256, site_config, tar_gz, TestAgent};
use switchyard_agent::api::{CreateEnv, ErrorKind, UnpackRelease};
use switchyard_agent::AgentError;

/// Writes a raw tar entry, bypassing the `tar` crate's own path checks (it refuses `..`).
fn raw_entry(out: &mut Vec<u8>, name: &str, kind: tar::EntryType, link: &str, data: &[u8]) {
    let mut header = tar::Header::new_old();
    {
        let old = header.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_mode(0o644);
    header.set_size(data.len() as u64);
    header.set_entry_type(kind);
    header.set_mtime(0);
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    let pad = (512 - data.len() % 512) % 512;
    out.extend(std::iter::repeat_n(0u8, pad));
}

fn archive(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> (Vec<u8>, String) {
    let mut tar = Vec::new();
    for (name, kind, link, data) in entries {
        raw_entry(&mut tar, name, *kind, link, data);
    }
    tar.extend(std::iter::repeat_n(0u8, 1024));
    gzip(tar)
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    sha: String,
    expect_kind: ErrorKind,
    expect_message: &'static str,
}

fn corpus(outside: &std::path::Path) -> Vec<Case> {
    use tar::EntryType::*;
    let mut cases = Vec::new();
    let mut add = |name: &'static str, (bytes, sha): (Vec<u8>, String), expect_kind: ErrorKind, expect_message: &'static str| {
        cases.push(Case { name, bytes, sha, expect_kind, expect_message });
    };
    add(
        "path traversal",
        archive(&[("ok.txt", Regular, "", b"fine"), ("../../../escape.txt", Regular, "", b"pwned")]),
        ErrorKind::InvalidInput,
        "entry ../../../escape.txt escapes the release directory",
    );
    let absolute: &'static str = Box::leak(format!("{}/absolute.txt", outside.display()).into_boxed_str());
    add("absolute path", archive(&[(absolute, Regular, "", b"pwned")]), ErrorKind::InvalidInput, "is an absolute path");
    add(
        "symlink escape",
        archive(&[("up", Symlink, "../../../../..", b"")]),
        ErrorKind::InvalidInput,
        "symlink up escapes the release directory",
    );
    let abs_link: &'static str = Box::leak(outside.display().to_string().into_boxed_str());
    add("absolute symlink", archive(&[("etc", Symlink, abs_link, b"")]), ErrorKind::InvalidInput, "points to the absolute path");
    add(
        "write through a symlink",
        archive(&[("dir", Symlink, ".", b""), ("dir/x.txt", Regular, "", b"x")]),
        ErrorKind::InvalidInput,
        "would be written through the symlink dir",
    );
    add(
        "hardlink escape",
        archive(&[("h", Link, "../../../../etc/passwd", b"")]),
        ErrorKind::InvalidInput,
        "hardlink h points to ../../../../etc/passwd, which escapes the release directory",
    );
    add("device node", archive(&[("dev/sda", Char, "", b"")]), ErrorKind::InvalidInput, "entry dev/sda is a device node");
    add("fifo", archive(&[("pipe", Fifo, "", b"")]), ErrorKind::InvalidInput, "entry pipe is a fifo");
    // 12 MiB of zeros compresses to a few KiB but passes the agent's 8 MiB unpack limit.
    let zeros = vec![0u8; 1 << 20];
    let bomb: Vec<(String, &[u8], u32)> = (0..12).map(|i| (format!("zeros-{i}"), zeros.as_slice(), 0o644)).collect();
    let bomb_refs: Vec<(&str, &[u8], u32)> = bomb.iter().map(|(n, d, m)| (n.as_str(), *d, *m)).collect();
    let bomb = tar_gz(&bomb_refs);
    assert!(bomb.0.len() < 200_000, "the bomb should be small compressed, is {}", bomb.0.len());
    add("gzip bomb", bomb, ErrorKind::TooLarge, "past 8388608 bytes unpacked");
    let noise: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let (whole, _) = tar_gz(&[("a.txt", b"first", 0o644), ("noise.bin", &noise, 0o644)]);
    let cut = whole[..whole.len() / 2].to_vec();
    let cut_sha = sha256(&cut);
    add("truncated archive", (cut, cut_sha), ErrorKind::InvalidInput, "truncated");
    let mut junk = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    junk.write_all(&[7u8; 4096]).unwrap();
    let junk = junk.finish().unwrap();
    let junk_sha = sha256(&junk);
    add("not a tar", (junk, junk_sha), ErrorKind::InvalidInput, "truncated or corrupt");
    cases
}

#[tokio::test]
async fn every_hostile_archive_is_refused_and_leaves_nothing_behind() {
    let agent = TestAgent::start();
    let outside = agent.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    agent.client.create_env(&CreateEnv { op_id: "create".into(), name: "test".into(), config: site_config(1) }).await.unwrap();
    let before = agent.env_tree();

    for (i, case) in corpus(&outside).into_iter().enumerate() {
        agent.client.upload_bytes(case.bytes, &case.sha).await.unwrap_or_else(|e| panic!("{}: upload failed: {e}", case.name));
        let req = UnpackRelease { op_id: format!("unpack-{i}"), release_id: format!("r{i}"), sha256: case.sha.clone(), limits: None };
        match agent.client.unpack_release("test", &req).await {
            Err(AgentError::Remote { body, .. }) => {
                assert_eq!(body.kind, case.expect_kind, "{}: {}", case.name, body.message);
                assert!(
                    body.message.contains(case.expect_message),
                    "{}: message {:?} lacks {:?}",
                    case.name,
                    body.message,
                    case.expect_message
                );
                assert!(
                    body.message.starts_with(&format!("cannot unpack release r{i} for environment test: ")),
                    "{}: {}",
                    case.name,
                    body.message
                );
            }
            other => panic!("{}: expected a refusal, got {other:?}", case.name),
        }
        assert_eq!(agent.env_tree(), before, "{}: the refusal left files behind", case.name);
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "{}: wrote outside", case.name);
    }
    let env = agent.client.env("test").await.unwrap();
    assert!(env.releases.is_empty(), "{:?}", env.releases);
    // Still alive and well after the whole corpus.
    agent.client.agent_info().await.unwrap();
}

#[tokio::test]
async fn wrong_hashes_and_oversized_uploads_are_refused_without_storing_anything() {
    let agent = TestAgent::start_with(&["--max-upload-bytes", "100000"]);
    let (bytes, sha) = tar_gz(&[("a.txt", b"hello", 0o644)]);
    let wrong = "0".repeat(64);
    match agent.client.upload_bytes(bytes.clone(), &wrong).await {
        Err(AgentError::Remote { status: 422, body }) => {
            assert!(body.message.contains(&format!("have sha256 {sha}, not the expected {wrong}")), "{}", body.message);
        }
        other => panic!("expected a hash refusal, got {other:?}"),
    }
    assert!(agent.client.artifact(&wrong).await.unwrap().is_none());

    let big = vec![1u8; 200_000];
    let big_sha = sha256(&big);
    // Without a declared length the limit must still hold while streaming.
    let stream = futures_util::stream::iter(big.chunks(10_000).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>());
    match agent.client.upload_body(&big_sha, reqwest::Body::wrap_stream(stream), None).await {
        Err(AgentError::Remote { status: 413, body }) => assert!(body.message.contains("upload limit of 100000 bytes"), "{}", body.message),
        other => panic!("expected 413, got {other:?}"),
    }
    assert!(agent.client.artifact(&big_sha).await.unwrap().is_none());
    assert_eq!(std::fs::read_dir(agent.root().join("artifacts/tmp")).unwrap().count(), 0, "partial upload left behind");

    // The right hash is stored once; a second upload of it is answered from the store.
    let first = agent.client.upload_bytes(bytes.clone(), &sha).await.unwrap();
    let second = agent.client.upload_bytes(bytes, &sha).await.unwrap();
    assert_eq!(first, second);
    let stored: Vec<_> = std::fs::read_dir(agent.root().join("artifacts")).unwrap().flatten().filter(|e| e.path().is_file()).collect();
    assert_eq!(stored.len(), 1);
}
