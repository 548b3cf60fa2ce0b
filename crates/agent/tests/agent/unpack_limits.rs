//! The agent holds its own unpack limits whatever the server sends: a request may tighten them
//! for a site (a bomb is stopped at the site's limit, with no byte past it left on disk), never
//! loosen them, and a release within the limits unpacks as before.

use crate::support::{site_config, tar_gz, TestAgent};
use switchyard_agent::api::{CreateEnv, ErrorKind, UnpackCaps, UnpackRelease};
use switchyard_agent::AgentError;

/// Twelve files of a MiB of zeros each: 12 MiB unpacked from a few KiB.
fn bomb() -> (Vec<u8>, String) {
    let zeros = vec![0u8; 1 << 20];
    let names: Vec<String> = (0..12).map(|i| format!("zeros-{i:02}")).collect();
    let files: Vec<(&str, &[u8], u32)> = names.iter().map(|n| (n.as_str(), zeros.as_slice(), 0o644)).collect();
    tar_gz(&files)
}

async fn refusal(agent: &TestAgent, op: &str, sha: &str, limits: Option<UnpackCaps>) -> (ErrorKind, String) {
    let req = UnpackRelease { op_id: op.into(), release_id: op.into(), sha256: sha.into(), limits };
    match agent.client.unpack_release("site", &req).await {
        Err(AgentError::Remote { body, .. }) => (body.kind, body.message),
        other => panic!("{op}: expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_request_tightens_the_agents_unpack_limits_but_never_loosens_them() {
    // The agent's own limit is 8 MiB (TestAgent::start).
    let agent = TestAgent::start();
    agent.client.create_env(&CreateEnv { op_id: "create".into(), name: "site".into(), config: site_config(1) }).await.unwrap();
    let before = agent.env_tree();
    let (bytes, sha) = bomb();
    assert!(bytes.len() < 200_000, "{}", bytes.len());
    agent.client.upload_bytes(bytes, &sha).await.unwrap();

    // The site's limit of 4 MiB: stopped at the fifth file, before writing it.
    let (kind, message) = refusal(&agent, "tight", &sha, Some(UnpackCaps { max_bytes: 4 << 20, max_entries: 1000 })).await;
    assert_eq!(kind, ErrorKind::TooLarge, "{message}");
    assert!(message.contains("entry zeros-04 takes the release past 4194304 bytes unpacked, the limit for this site"), "{message}");
    assert_eq!(agent.env_tree(), before, "the refused unpack left files behind");

    // A server asking for a terabyte gets the agent's 8 MiB.
    let (kind, message) = refusal(&agent, "loose", &sha, Some(UnpackCaps { max_bytes: 1 << 40, max_entries: u64::MAX })).await;
    assert_eq!(kind, ErrorKind::TooLarge, "{message}");
    assert!(message.contains("entry zeros-08 takes the release past 8388608 bytes"), "{message}");
    assert_eq!(agent.env_tree(), before);

    let (_, message) = refusal(&agent, "few", &sha, Some(UnpackCaps { max_bytes: 1 << 30, max_entries: 3 })).await;
    assert!(message.contains("more than 3 entries"), "{message}");
    assert_eq!(agent.env_tree(), before);

    // Within the limits it unpacks.
    let (small, small_sha) = tar_gz(&[("a.txt", b"hello", 0o644)]);
    agent.client.upload_bytes(small, &small_sha).await.unwrap();
    let caps = Some(UnpackCaps { max_bytes: 1 << 20, max_entries: 10 });
    let req = UnpackRelease { op_id: "ok".into(), release_id: "ok".into(), sha256: small_sha, limits: caps };
    let release = agent.client.unpack_release("site", &req).await.unwrap();
    assert_eq!((release.files, release.bytes), (1, 5));
}
