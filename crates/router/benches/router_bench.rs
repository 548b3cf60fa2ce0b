//! Router benchmark against nginx `proxy_pass` in the same run: throughput and latency, failures
//! while swapping at a fixed rate, and the time from a swap call to the new environment answering.
//!
//! `cargo bench -p switchyard-router --bench router_bench`. Settings (environment variables):
//! `ROUTER_BENCH_SECONDS` per phase (default 5), `ROUTER_BENCH_CONNECTIONS` (default 32),
//! `ROUTER_BENCH_SWAP_RATE` requests/s while swapping (default 2000), `ROUTER_BENCH_SWAPS` (default 20),
//! `ROUTER_BENCH_PROXY_THREADS` router threads and nginx workers (default 2).
//! The bench's own load is a Rust hyper client; when Debian's `wrk` is installed, a second
//! throughput table comes from it.
//! A quick smoke run: `ROUTER_BENCH_SECONDS=1 ROUTER_BENCH_SWAPS=4 cargo bench -p switchyard-router`.

#[path = "router_bench/load.rs"]
mod load;
#[path = "router_bench/nginx.rs"]
mod nginx;
#[path = "../tests/scenarios/support.rs"]
mod support;
#[path = "router_bench/wrk.rs"]
mod wrk;

use std::net::SocketAddr;
use std::time::Duration;

use load::{Load, Outcome};
use nginx::Nginx;
use support::{shop_table, Backend, PUBLIC, SITE};
use switchyard_router::{Router, RouterConfig};
use tokio::runtime::Runtime;

struct Settings {
    /// Both proxies get this many threads (router) or worker processes (nginx).
    proxy_threads: usize,
    phase: Duration,
    connections: usize,
    swap_rate: f64,
    swaps: usize,
}

impl Settings {
    fn from_env() -> Settings {
        fn var<T: std::str::FromStr>(name: &str, default: T) -> T {
            match std::env::var(name) {
                Ok(value) => value.parse().unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
                Err(_) => default,
            }
        }
        Settings {
            proxy_threads: var("ROUTER_BENCH_PROXY_THREADS", 2),
            phase: Duration::from_secs_f64(var("ROUTER_BENCH_SECONDS", 5.0)),
            connections: var("ROUTER_BENCH_CONNECTIONS", 32),
            swap_rate: var("ROUTER_BENCH_SWAP_RATE", 2000.0),
            swaps: var("ROUTER_BENCH_SWAPS", 20),
        }
    }
}

/// One proxy under test: where it listens and how it swaps production.
struct Contender<'a> {
    name: &'static str,
    addr: SocketAddr,
    swap: Box<dyn FnMut() + 'a>,
}

fn runtime(threads: usize) -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build().expect("a tokio runtime")
}

fn main() {
    let settings = Settings::from_env();
    let backends_rt = runtime(1);
    let router_rt = runtime(settings.proxy_threads);
    let load_rt = runtime(2);

    let v1 = backends_rt.block_on(Backend::start("v1"));
    let v2 = backends_rt.block_on(Backend::start("v2"));
    let router = Router::new(RouterConfig::default());
    router.set_table(shop_table(v1.addr, v2.addr)).expect("the bench table is valid");
    let listening = router_rt.block_on(router.bind("127.0.0.1:0".parse().unwrap())).expect("bind the router");
    let mut nginx = match Nginx::start([v1.addr, v2.addr], settings.proxy_threads) {
        Ok(nginx) => Some(nginx),
        Err(why) => {
            println!("NOTE: no nginx comparison in this run: {why}\n");
            None
        }
    };

    println!(
        "switchyard-router bench: {:.1} s per phase, {} keep-alive connections, {} proxy threads/workers, {} CPUs",
        settings.phase.as_secs_f64(),
        settings.connections,
        settings.proxy_threads,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );

    let mut contenders = Vec::new();
    if let Some(nginx) = nginx.as_mut() {
        let (addr, threads) = (nginx.addr, settings.proxy_threads);
        contenders.push(Contender { name: "nginx proxy_pass", addr, swap: Box::new(move || nginx.swap(threads)) });
    }
    let swap_router = router.clone();
    contenders.push(Contender {
        name: "switchyard router",
        addr: listening.local_addr(),
        swap: Box::new(move || swap_router.swap_environments(SITE, "blue", "green").expect("swap")),
    });

    throughput(&settings, &load_rt, v1.addr, &contenders);
    throughput_by_wrk(&settings, v1.addr, &contenders);
    swapping_under_load(&settings, &load_rt, &mut contenders);
    swap_to_first_request(&settings, &load_rt, &mut contenders);

    drop(contenders);
    drop(nginx);
    router_rt.block_on(listening.shutdown());
}

fn throughput(settings: &Settings, load_rt: &Runtime, direct: SocketAddr, contenders: &[Contender]) {
    let full = Load { connections: settings.connections, duration: settings.phase, rate: None };
    let warm_up = Load { duration: Duration::from_millis(500), ..full };
    println!("\n## Throughput, as fast as answers come\n");
    println!("| target | req/s | p50 ms | p99 ms | failed |");
    println!("|---|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    let targets = std::iter::once(("backend direct (no proxy)", direct)).chain(contenders.iter().map(|c| (c.name, c.addr)));
    for (name, addr) in targets {
        load_rt.block_on(load::run(addr, PUBLIC, warm_up));
        let outcome = load_rt.block_on(load::run(addr, PUBLIC, full));
        println!(
            "| {name} | {:.0} | {:.3} | {:.3} | {} |",
            outcome.requests_per_second(),
            outcome.percentile_ms(0.5),
            outcome.percentile_ms(0.99),
            outcome.failed
        );
        rows.push((name, outcome));
    }
    if let [.., (_, nginx), (_, router)] = &rows[..] {
        if rows.len() == 3 {
            println!(
                "| router ÷ nginx | {:.2}× | {:.2}× | {:.2}× | |",
                router.requests_per_second() / nginx.requests_per_second(),
                router.percentile_ms(0.5) / nginx.percentile_ms(0.5),
                router.percentile_ms(0.99) / nginx.percentile_ms(0.99),
            );
        }
    }
}

fn throughput_by_wrk(settings: &Settings, direct: SocketAddr, contenders: &[Contender]) {
    println!("\n## Throughput measured by wrk (2 threads, {} connections)\n", settings.connections);
    if !wrk::installed() {
        println!("wrk is not installed (`apt-get install -y wrk`); skipped.");
        return;
    }
    println!("| target | req/s | p50 ms | p99 ms | errors |");
    println!("|---|---:|---:|---:|---:|");
    let targets = std::iter::once(("backend direct (no proxy)", direct)).chain(contenders.iter().map(|c| (c.name, c.addr)));
    for (name, addr) in targets {
        match wrk::run(addr, PUBLIC, settings.connections, settings.phase) {
            Ok(r) => println!("| {name} | {:.0} | {:.3} | {:.3} | {} |", r.requests_per_second, r.p50_ms, r.p99_ms, r.errors),
            Err(why) => println!("| {name} | wrk failed: {} | | | |", why.lines().next().unwrap_or_default()),
        }
    }
}

fn swapping_under_load(settings: &Settings, load_rt: &Runtime, contenders: &mut [Contender]) {
    let paced = Load { connections: settings.connections, duration: settings.phase, rate: Some(settings.swap_rate) };
    println!(
        "\n## {} swaps during {:.1} s at ~{:.0} req/s (nginx: rewrite config + SIGHUP; router: swap_environments)\n",
        settings.swaps,
        settings.phase.as_secs_f64(),
        settings.swap_rate
    );
    println!("| target | requests | req/s | failed | p50 ms | p99 ms | answers v1 / v2 |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    let pause = settings.phase.div_f64(settings.swaps as f64 + 1.0);
    for contender in contenders.iter_mut() {
        let running = load_rt.spawn(load::run(contender.addr, PUBLIC, paced));
        for _ in 0..settings.swaps {
            std::thread::sleep(pause);
            (contender.swap)();
        }
        let outcome: Outcome = load_rt.block_on(running).expect("the paced load");
        println!(
            "| {} | {} | {:.0} | {} | {:.3} | {:.3} | {} / {} |",
            contender.name,
            outcome.ok + outcome.failed,
            outcome.requests_per_second(),
            outcome.failed,
            outcome.percentile_ms(0.5),
            outcome.percentile_ms(0.99),
            outcome.v1,
            outcome.v2
        );
        // An odd number of swaps leaves production on v2; swap once more so every phase starts on v1.
        if settings.swaps % 2 == 1 {
            (contender.swap)();
        }
    }
}

fn swap_to_first_request(settings: &Settings, load_rt: &Runtime, contenders: &mut [Contender]) {
    println!("\n## Swap call → first request answered by the new environment ({} swaps, one warm keep-alive client)\n", settings.swaps);
    println!("| target | median ms | max ms | not seen within 10 s |");
    println!("|---|---:|---:|---:|");
    for contender in contenders.iter_mut() {
        let mut times = Vec::new();
        let mut missed = 0;
        let mut production_on_v1 = true;
        for _ in 0..settings.swaps {
            let expected: &[u8] = if production_on_v1 { b"v2" } else { b"v1" };
            let swap = &mut contender.swap;
            let took =
                load_rt.block_on(load::time_to_new_environment(contender.addr, PUBLIC, expected, Duration::from_secs(10), &mut || swap()));
            match took {
                Some(took) => times.push(took),
                None => missed += 1,
            }
            production_on_v1 = !production_on_v1;
        }
        times.sort();
        let ms = |d: Option<&Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
        println!("| {} | {:.3} | {:.3} | {missed} |", contender.name, ms(times.get(times.len() / 2)), ms(times.last()));
    }
}
