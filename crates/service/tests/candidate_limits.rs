//! Candidates against their limits, through the service as an upload arrives: a gzip bomb is
//! stopped at the unpacked-size limit with nothing kept, random bytes behind a gzip header are
//! refused, the per-site and total quotas stop an upload while it streams, and a candidate can
//! be deleted or pruned only when no unfinished release and no production uses it.

use std::io::Write;
use std::path::Path;
use switchyard_api::{CustomerDraft, SiteDraft};
use switchyard_service::{Caller, CandidateLimits, Service, ServiceError};
use switchyard_store::{NewRelease, NewTransition, Store};

struct Fixture {
    dir: tempfile::TempDir,
    service: Service,
    site_id: i64,
    other_site_id: i64,
}

async fn fixture(limits: CandidateLimits) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("switchyard.db")).await.expect("store");
    let service = Service::new(store).with_candidate_limits(limits);
    let me = Caller::system();
    let customer = service.create_customer(&me, CustomerDraft { name: "Acme".into(), contact_email: String::new() }).await.unwrap();
    let mut sites = Vec::new();
    for name in ["Notes", "Shop"] {
        let draft = SiteDraft { name: name.into(), customer_id: customer.id, description: String::new() };
        sites.push(service.create_site(&me, draft).await.unwrap().id);
    }
    Fixture { dir, service, site_id: sites[0], other_site_id: sites[1] }
}

impl Fixture {
    async fn upload(&self, site_id: i64, name: &str, bytes: Vec<u8>) -> Result<switchyard_api::Candidate, ServiceError> {
        // In chunks, as a request body arrives.
        let chunks: Vec<_> = bytes.chunks(64 * 1024).map(|c| Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(c))).collect();
        self.service.upload_candidate(&Caller::system(), site_id, name, futures_util::stream::iter(chunks)).await
    }

    fn candidates_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("candidates")
    }

    /// Every file in the candidates directory (kept candidates and partial uploads alike).
    fn files_kept(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.candidates_dir()) else { return Vec::new() };
        let mut names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    fn bytes_kept(&self) -> u64 {
        let Ok(entries) = std::fs::read_dir(self.candidates_dir()) else { return 0 };
        entries.flatten().map(|e| e.metadata().map(|m| m.len()).unwrap_or(0)).sum()
    }
}

/// A tar.gz with a Procfile and `files`, each `(name, size)` of pseudo-random bytes (so the
/// compressed size is the real size, for quota tests).
fn candidate(files: &[(&str, usize)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut append = |name: &str, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, name, data).unwrap();
    };
    append("Procfile", b"web: ./serve\n");
    for (name, size) in files {
        append(name, &noise(*size, name.len() as u32));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&builder.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// A gzip bomb, written without compressing gigabytes in the test: a Procfile, then one entry
/// of `mib` MiB of zeros (its tar header declares them honestly) or, with `hidden`, the tar's
/// end marker and the zeros after it. Deflate output for a MiB of zeros once the window is all
/// zeros is the same bytes every time, so that block is compressed once and repeated; the gzip
/// trailer's CRC is combined per block. The result is a valid .tar.gz of `mib` MiB and more.
fn bomb(path: &Path, mib: u64, hidden: bool) -> u64 {
    use flate2::{Compress, Compression, Crc, FlushCompress};
    let mut prefix = Vec::new();
    let mut entry = |name: &str, size: u64| {
        let mut header = tar::Header::new_gnu();
        header.set_path(name).unwrap();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_cksum();
        prefix.extend_from_slice(header.as_bytes());
    };
    entry("Procfile", 13);
    prefix.extend_from_slice(b"web: ./serve\n");
    prefix.resize(1024, 0);
    if !hidden {
        let mut header = tar::Header::new_gnu();
        header.set_path("zeros.bin").unwrap();
        header.set_size(mib << 20);
        header.set_mode(0o644);
        header.set_cksum();
        prefix.extend_from_slice(header.as_bytes());
    }
    let zeros = vec![0u8; 1 << 20];
    let mut deflate = Compress::new(Compression::best(), false);
    let mut block = |input: &[u8], flush: FlushCompress| {
        let mut out: Vec<u8> = Vec::new();
        let before = deflate.total_in();
        loop {
            out.reserve(64 * 1024);
            let done = (deflate.total_in() - before) as usize;
            let status = deflate.compress_vec(&input[done..], &mut out, flush).unwrap();
            // All input taken and room left over: the flush is complete (Sync and Finish both
            // end at a byte boundary).
            let consumed = (deflate.total_in() - before) as usize == input.len();
            if consumed && (out.len() < out.capacity() || status == flate2::Status::StreamEnd) {
                break;
            }
        }
        out
    };
    let mut first = prefix.clone();
    first.extend_from_slice(&zeros);
    let head = block(&first, FlushCompress::Sync);
    let repeated = block(&zeros, FlushCompress::Sync);
    assert_eq!(block(&zeros, FlushCompress::Sync), repeated, "deflate of a zero MiB after zeros should repeat");
    // The end marker (1024 zero bytes) in the final block.
    let tail = block(&[0u8; 1024], FlushCompress::Finish);

    let mut crc = Crc::new();
    crc.update(&first);
    let mut zero_block = Crc::new();
    zero_block.update(&zeros);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]).unwrap();
    out.write_all(&head).unwrap();
    // Two blocks of zeros were compressed above (the first with the prefix, one to check).
    out.write_all(&repeated).unwrap();
    crc.combine(&zero_block);
    for _ in 2..mib {
        out.write_all(&repeated).unwrap();
        crc.combine(&zero_block);
    }
    let mut end = Crc::new();
    end.update(&[0u8; 1024]);
    crc.combine(&end);
    out.write_all(&tail).unwrap();
    out.write_all(&crc.sum().to_le_bytes()).unwrap();
    out.write_all(&((prefix.len() as u64 + (mib << 20) + 1024) as u32).to_le_bytes()).unwrap();
    out.into_inner().unwrap().sync_all().unwrap();
    std::fs::metadata(path).unwrap().len()
}

use std::io::Read;

#[tokio::test]
async fn a_gzip_bomb_is_stopped_at_the_unpacked_limit_and_nothing_is_kept() {
    let f = fixture(CandidateLimits::default()).await;
    // 2 GiB and a MiB of zeros: past the default 2 GiB limit, a few MiB compressed.
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("bomb.tar.gz");
    let compressed = bomb(&path, 2049, false);
    assert!(compressed < 16 << 20, "the bomb should be small compressed, is {compressed}");
    // It is a real archive: its start reads back as the Procfile and zeros.
    let mut start = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap()).take(8 << 20).read_to_end(&mut start).unwrap();
    assert_eq!((&start[512..525], start.len()), (&b"web: ./serve\n"[..], 8 << 20));
    assert!(start[2048..].iter().all(|b| *b == 0));

    let refused = f.upload(f.site_id, "bomb.tar.gz", std::fs::read(&path).unwrap()).await.unwrap_err();
    let message = refused.to_string();
    assert!(matches!(refused, ServiceError::Invalid(_)), "{refused:?}");
    assert!(
        message.contains("bomb.tar.gz unpacks to more than 2 GiB") && message.contains("--candidate-max-unpacked-bytes"),
        "names the limit and how to raise it: {message}"
    );
    // Neither the tarball nor a partial upload is kept, and nothing was unpacked to disk.
    assert_eq!(f.files_kept(), Vec::<String>::new());
    assert!(f.service.list_candidates(&Caller::system(), f.site_id).await.unwrap().is_empty());
    let data_dir_bytes: u64 = walk_bytes(f.dir.path());
    assert!(data_dir_bytes < 8 << 20, "the data directory holds {data_dir_bytes} bytes after the refusal");
}

#[tokio::test]
async fn zeros_hidden_after_the_end_marker_stop_the_read_at_the_limit_too() {
    let f = fixture(CandidateLimits { max_unpacked_bytes: 64 << 20, max_entries: 1000, ..CandidateLimits::default() }).await;
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("hidden.tar.gz");
    bomb(&path, 1024, true);
    let started = std::time::Instant::now();
    let refused = f.upload(f.site_id, "hidden.tar.gz", std::fs::read(&path).unwrap()).await.unwrap_err().to_string();
    assert!(refused.contains("hidden.tar.gz unpacks to more than 64 MiB"), "{refused}");
    // Stopped near the limit, not after inflating the whole GiB.
    eprintln!("refused after {:?}", started.elapsed());
    assert_eq!(f.files_kept(), Vec::<String>::new());
}

fn walk_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => walk_bytes(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn too_many_entries_and_random_bytes_behind_a_gzip_header_are_refused() {
    let limits = CandidateLimits { max_entries: 50, ..CandidateLimits::default() };
    let f = fixture(limits).await;
    let names: Vec<String> = (0..60).map(|i| format!("f{i}")).collect();
    let files: Vec<(&str, usize)> = names.iter().map(|n| (n.as_str(), 10)).collect();
    let refused = f.upload(f.site_id, "many.tar.gz", candidate(&files)).await.unwrap_err().to_string();
    assert!(refused.contains("many.tar.gz holds more than 50 files") && refused.contains("--candidate-max-entries"), "{refused}");

    // 3 MiB of random bytes behind the two gzip magic bytes.
    let mut fake = vec![0x1f, 0x8b];
    fake.extend(noise(3 << 20, 7));
    let refused = f.upload(f.site_id, "random.tar.gz", fake).await.unwrap_err();
    assert!(matches!(refused, ServiceError::Invalid(_)), "{refused:?}");
    assert!(refused.to_string().contains("random.tar.gz is not a readable .tar.gz"), "{refused}");
    assert_eq!(f.files_kept(), Vec::<String>::new());
}

#[tokio::test]
async fn the_site_and_total_quotas_stop_an_upload_while_it_streams() {
    let limits = CandidateLimits { site_bytes: 5 << 20, total_bytes: 6 << 20, ..CandidateLimits::default() };
    let f = fixture(limits).await;
    f.upload(f.site_id, "one.tar.gz", candidate(&[("a", 2 << 20)])).await.unwrap();
    let refused = f.upload(f.site_id, "two.tar.gz", candidate(&[("b", 4 << 20)])).await.unwrap_err();
    assert!(matches!(refused, ServiceError::Conflict(_)), "{refused:?}");
    let message = refused.to_string();
    assert!(message.contains("quota of 5 MiB") && message.contains("switchyard candidate prune --site"), "{message}");
    assert!(message.contains("--candidate-quota-site-bytes"), "{message}");
    assert_eq!(f.files_kept().len(), 1, "only the first candidate is kept: {:?}", f.files_kept());
    assert!(f.bytes_kept() < 3 << 20, "nothing past the quota was written: {} bytes", f.bytes_kept());

    // The other site has room of its own, until all sites together reach the total.
    f.upload(f.other_site_id, "three.tar.gz", candidate(&[("c", 3 << 20)])).await.unwrap();
    let refused = f.upload(f.other_site_id, "four.tar.gz", candidate(&[("d", 1536 << 10)])).await.unwrap_err().to_string();
    assert!(refused.contains("server's quota of 6 MiB") && refused.contains("--candidate-quota-total-bytes"), "{refused}");
    assert_eq!(f.files_kept().len(), 2);

    // Deleting the first makes room again.
    let first = f.service.list_candidates(&Caller::system(), f.site_id).await.unwrap().remove(0);
    f.service.delete_candidate(&Caller::system(), f.site_id, &first.sha256).await.unwrap();
    assert_eq!(f.files_kept().len(), 1);
    f.upload(f.site_id, "five.tar.gz", candidate(&[("e", 2 << 20)])).await.unwrap();
}

fn finished() -> NewTransition<'static> {
    NewTransition { event: "\"done\"", state: "\"done\"", commands: "[]" }
}

async fn release_of(f: &Fixture, uid: &str, run: &str, sha256: &str) -> i64 {
    let store = f.service.store();
    let release = NewRelease {
        uid,
        site: "notes",
        site_id: Some(f.site_id),
        run,
        workflow: "no-migration",
        document_toml: "",
        document_version: 1,
        candidate_sha256: sha256,
        submitted_by: "sue",
        submitted_by_id: None,
        placement: "{}",
        config: "{}",
        state: "s0",
        commands: "[]",
    };
    store.create_release(&release).await.unwrap().id
}

#[tokio::test]
async fn a_candidate_in_use_is_not_deleted_and_prune_keeps_the_newest_and_what_is_in_use() {
    let f = fixture(CandidateLimits::default()).await;
    let me = Caller::system();
    let mut shas = Vec::new();
    for n in 0..4 {
        let name = format!("v{n}.tar.gz");
        shas.push(f.upload(f.site_id, &name, candidate(&[("app", 1000 + n)])).await.unwrap().sha256);
        // Upload times are kept to the millisecond; keep the order unambiguous.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // v1 is in a rehearsal still running; v0 is what production serves.
    let rehearsal = release_of(&f, "r1", "rehearsal", &shas[1]).await;
    let production = release_of(&f, "r2", "production", &shas[0]).await;
    f.service.store().append_transitions(production, 0, &[finished()], Some(switchyard_core::workflow::Outcome::Completed)).await.unwrap();
    let refused = f.service.delete_candidate(&me, f.site_id, &shas[1]).await.unwrap_err();
    assert!(matches!(refused, ServiceError::Conflict(_)), "{refused:?}");
    assert!(refused.to_string().contains(&format!("release {rehearsal} (a rehearsal run, not finished) uses it")), "{refused}");
    let refused = f.service.delete_candidate(&me, f.site_id, &shas[0]).await.unwrap_err().to_string();
    assert!(refused.contains(&format!("it is what production serves (release {production})")), "{refused}");
    assert!(f.candidates_dir().join(format!("{}.tar.gz", shas[0])).is_file());

    // Keep the newest one: v2 goes, v1 and v0 stay because they are in use.
    let pruned = f.service.prune_candidates(&me, f.site_id, 1).await.unwrap();
    assert_eq!(pruned.deleted, [shas[2].clone()]);
    assert_eq!(pruned.kept_in_use.len(), 2, "{pruned:?}");
    assert!(!f.candidates_dir().join(format!("{}.tar.gz", shas[2])).exists());
    let left: Vec<String> = f.service.list_candidates(&me, f.site_id).await.unwrap().into_iter().map(|c| c.sha256).collect();
    assert_eq!(left.len(), 3);

    // Once the rehearsal is finished, v1 can go; the deletion is audited.
    f.service.store().append_transitions(rehearsal, 0, &[finished()], Some(switchyard_core::workflow::Outcome::Failed)).await.unwrap();
    f.service.delete_candidate(&me, f.site_id, &shas[1]).await.unwrap();
    assert!(!f.candidates_dir().join(format!("{}.tar.gz", shas[1])).exists());
    let audit = f.service.store().audit_page(10, 0).await.unwrap();
    assert!(audit.entries.iter().any(|e| e.action == "candidate.delete" && e.detail.contains(&shas[1])), "{audit:?}");
    let gone = f.service.delete_candidate(&me, f.site_id, &shas[1]).await.unwrap_err();
    assert!(matches!(gone, ServiceError::NotFound(_)), "{gone:?}");
    assert!(f.service.store().verify_record().await.unwrap().intact());
}

#[tokio::test]
async fn a_site_with_a_lower_unpacked_limit_refuses_a_candidate_another_site_accepts() {
    let f = fixture(CandidateLimits::default()).await;
    let me = Caller::system();
    let own = switchyard_api::CandidateLimitsDraft { max_unpacked_bytes: Some(1 << 20), max_entries: Some(20), ..Default::default() };
    let shown = f.service.set_site_candidate_limits(&me, f.site_id, own).await.unwrap();
    assert_eq!(shown.max_unpacked_bytes.source, switchyard_api::LimitSource::Site);
    assert_eq!(shown.quota_bytes.source, switchyard_api::LimitSource::Server);

    // 2 MiB of files: within the server's 2 GiB, past the site's own 1 MiB.
    let two_mib = candidate(&[("app.bin", 2 << 20)]);
    let refused = f.upload(f.site_id, "app.tar.gz", two_mib.clone()).await.unwrap_err();
    assert!(matches!(refused, ServiceError::Invalid(_)), "{refused:?}");
    let message = refused.to_string();
    assert!(message.contains("app.tar.gz unpacks to more than 1 MiB") && message.contains("switchyard site limits"), "{message}");
    f.upload(f.other_site_id, "app.tar.gz", two_mib).await.expect("the other site keeps the server's limits");

    // The site's entry limit too, below the server's 100,000.
    let names: Vec<String> = (0..25).map(|i| format!("f{i}")).collect();
    let files: Vec<(&str, usize)> = names.iter().map(|n| (n.as_str(), 10)).collect();
    let refused = f.upload(f.site_id, "many.tar.gz", candidate(&files)).await.unwrap_err().to_string();
    assert!(refused.contains("holds more than 20 files"), "{refused}");
    f.upload(f.other_site_id, "many.tar.gz", candidate(&files)).await.unwrap();

    // Cleared, the site is back on the server's limits.
    f.service.set_site_candidate_limits(&me, f.site_id, Default::default()).await.unwrap();
    f.upload(f.site_id, "app.tar.gz", candidate(&[("app.bin", 2 << 20)])).await.unwrap();
}

#[tokio::test]
async fn a_sites_own_quota_overrides_the_servers_both_ways_but_never_passes_the_total() {
    let limits = CandidateLimits { site_bytes: 3 << 20, total_bytes: 12 << 20, ..CandidateLimits::default() };
    let f = fixture(limits).await;
    let me = Caller::system();
    let quota = |bytes: u64| switchyard_api::CandidateLimitsDraft { quota_bytes: Some(bytes), ..Default::default() };
    // Higher than the server's 3 MiB per site for one, lower for the other.
    f.service.set_site_candidate_limits(&me, f.site_id, quota(8 << 20)).await.unwrap();
    f.service.set_site_candidate_limits(&me, f.other_site_id, quota(1 << 20)).await.unwrap();
    f.upload(f.site_id, "big.tar.gz", candidate(&[("a", 5 << 20)])).await.expect("the site's own 8 MiB quota lets 5 MiB in");
    let refused = f.upload(f.other_site_id, "small.tar.gz", candidate(&[("b", 1536 << 10)])).await.unwrap_err();
    assert!(matches!(refused, ServiceError::Conflict(_)), "{refused:?}");
    let message = refused.to_string();
    assert!(message.contains("quota of 1 MiB") && message.contains("switchyard site limits --site"), "{message}");

    let refused = f.service.set_site_candidate_limits(&me, f.site_id, quota(13 << 20)).await.unwrap_err();
    assert!(matches!(refused, ServiceError::Invalid(_)), "{refused:?}");
    assert!(refused.to_string().contains("above the server's total quota of 12 MiB"), "{refused}");
    let audit = f.service.store().audit_page(20, 0).await.unwrap();
    assert_eq!(audit.entries.iter().filter(|e| e.action == "site.candidate-limits").count(), 2, "each change audited, the refusal not");
}
