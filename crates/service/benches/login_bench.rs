//! How long a login takes by who is named: a known user with the right or a wrong password, an
//! unknown user, a user who has no password yet. All but the first are refusals an attacker
//! can time; they should cost the same argon2 work (they used to answer 15 times faster for
//! unknown users). Each try comes from its own address and account, so throttling stays out.
//!
//! `LOGIN_BENCH_ROUNDS` sets the tries per case (default 15). Run with
//! `cargo bench -p switchyard-service --bench login_bench` (or `cargo xtask bench`).

use std::time::{Duration, Instant};
use switchyard_api::{Login, Role, Setup, UserDraft};
use switchyard_service::{Caller, Service};
use switchyard_store::Store;

/// Who a case's `i`-th try names and with which password.
type Credentials<'a> = &'a dyn Fn(usize) -> (String, String);

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("LOGIN_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(15);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    runtime.block_on(async {
        let service = Service::new(Store::open(&dir.path().join("switchyard.db")).await.expect("store"));
        let password = "correct horse battery".to_owned();
        let admin = service
            .setup(Setup { username: "ada".into(), display_name: String::new(), password: password.clone() }, "bench")
            .await
            .expect("set-up");
        let caller = Caller { me: admin.me, remote: "bench".into() };
        for i in 0..rounds {
            let with_password = |name: String, password: Option<String>| UserDraft {
                username: name,
                display_name: String::new(),
                role: Role::Support,
                customer_id: None,
                admin: false,
                password,
            };
            service.create_user(&caller, with_password(format!("known-{i}"), Some(password.clone()))).await.expect("user");
            service.create_user(&caller, with_password(format!("nopass-{i}"), None)).await.expect("user");
        }
        let mut rows = Vec::new();
        let cases: [(&str, Credentials); 4] = [
            ("known user, right password", &|_| ("ada".into(), password.clone())),
            ("known user, wrong password", &|i| (format!("known-{i}"), "a wrong password".into())),
            ("unknown user", &|i| (format!("nobody-{i}"), "a wrong password".into())),
            ("user without a password", &|i| (format!("nopass-{i}"), "a wrong password".into())),
        ];
        for (case, login) in cases {
            let mut times = Vec::new();
            for i in 0..rounds {
                let (username, password) = login(i);
                let started = Instant::now();
                let _ = service.login(Login { username, password, code: None }, &format!("10.0.{}.{}", rows.len(), i)).await;
                times.push(started.elapsed());
            }
            rows.push((case, median(times)));
        }
        let reference = rows[1].1.as_secs_f64();
        println!("\nlogin timing, median of {rounds} tries each (ratio to a known user's wrong password)");
        println!("{:<30} {:>10} {:>7}", "case", "median", "ratio");
        for (case, time) in rows {
            println!("{case:<30} {:>8.1}ms {:>7.2}", time.as_secs_f64() * 1000.0, time.as_secs_f64() / reference);
        }
    });
}
