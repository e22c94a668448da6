//! Load run: full sign-in + change flows per second against the demo backend (portal and simulator
//! in this process), with p50/p99 latency per concurrency level and peak RSS.
//!
//! `cargo bench -p selfpass-web --bench load -- [SECONDS] [CLIENTS,CLIENTS…]`
//!
//! Each client owns one seeded user (`user0001`…, its password changes every flow); the demo
//! backend runs with the simulator's rate limit off, as the load run asks.
//!
//! In the same run it times one `$6$` check and counts the hash operations a flow performs (the
//! portal's and the simulator's, through `unix_crypt::operations`), and prints the hash-bound
//! limit: cores ÷ (operations per flow × operation time).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[allow(dead_code)]
#[path = "../tests/portal/support.rs"]
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::Http;

/// Seeded users, so up to this many clients each own one.
const MAX_CLIENTS: usize = 64;

fn letters(mut i: usize) -> String {
    (0..4)
        .map(|_| {
            let c = (b'a' + (i % 26) as u8) as char;
            i /= 26;
            c
        })
        .collect()
}

/// One flow: sign in, open the change page, change the password. Returns the new password.
async fn flow(addr: std::net::SocketAddr, user: &str, current: &str, n: usize) -> String {
    // Letters only: digits could spell part of the server's address, which the rules refuse.
    let salt: usize = user.bytes().map(usize::from).sum();
    let new = format!(
        "Glacier-Trombone-{}-{}-Quiet-Lamp",
        letters(n),
        letters(salt * 31)
    );
    let mut c = Http::new(addr);
    let signed = c.sign_in("", user, current).await;
    assert_eq!(
        signed.location(),
        "/change",
        "{user}: {:?}",
        signed.failure_kind()
    );
    c.get("/change").await;
    let done = c
        .post(
            "/change",
            &[("current", current), ("new", &new), ("confirm", &new)],
        )
        .await;
    assert_eq!(
        done.location(),
        "/done",
        "{user}: {:?}",
        done.failure_kind()
    );
    new
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Mean time of one `$6$` (5000 rounds) check while `threads` threads check at once and nothing
/// else runs in the process. With one thread per core this is the cost the hash-bound limit
/// needs: on shared (hyper-threaded) cores a check takes longer when the other core hashes too.
fn sha512_check_time(threads: usize) -> f64 {
    let password = b"load-bench-reference";
    let stored = unix_crypt::hash(password, unix_crypt::Scheme::Sha512Crypt).unwrap();
    assert!(unix_crypt::verify(password, &stored).unwrap());
    const CHECKS: u32 = 20;
    let t = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..CHECKS {
                    assert!(unix_crypt::verify(std::hint::black_box(password), &stored).unwrap());
                }
            });
        }
    });
    t.elapsed().as_secs_f64() / f64::from(CHECKS)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let seconds: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(10);
    let levels: Vec<usize> = args
        .get(1)
        .map(|l| l.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![8, MAX_CLIENTS]);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let demo = selfpass_core::demo::start_with_options(selfpass_core::demo::DemoOptions {
            seed_users: MAX_CLIENTS,
            no_rate_limit: true,
        })
        .await
        .unwrap();
        let users: Vec<String> = (1..=MAX_CLIENTS).map(|i| format!("user{i:04}")).collect();
        let config = demo.config.clone();
        let core = selfpass_core::Core::connect(config.clone()).await.unwrap();
        let state = selfpass_web::AppState::new(core, &config.portal);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let server = selfpass_web::server::start(state, listener, workers).unwrap();
        let handle = server.handle();
        tokio::spawn(server);

        let passwords: Arc<Mutex<HashMap<String, String>>> = Arc::new(Mutex::new(
            users
                .iter()
                .map(|u| (u.clone(), selfpass_core::demo::SEED_PASSWORD.to_owned()))
                .collect(),
        ));
        println!("portal {addr}, {workers} workers; {seconds} s per level");
        for clients in levels {
            let clients = clients.min(MAX_CLIENTS);
            let latencies = Arc::new(Mutex::new(Vec::new()));
            // The machine's speed drifts (shared cores): time a check right before and right
            // after the level and use the mean.
            let alone = sha512_check_time(1);
            let check_before = sha512_check_time(cores);
            let ops_before = unix_crypt::operations();
            let started = Instant::now();
            let end = started + Duration::from_secs(seconds);
            let mut tasks = Vec::new();
            for user in &users[..clients] {
                let user = user.clone();
                let (passwords, latencies) = (passwords.clone(), latencies.clone());
                tasks.push(tokio::spawn(async move {
                    let mut n = 0;
                    while Instant::now() < end {
                        let current = passwords.lock().unwrap()[&user].clone();
                        let t = Instant::now();
                        let new = flow(addr, &user, &current, n).await;
                        latencies.lock().unwrap().push(t.elapsed());
                        passwords.lock().unwrap().insert(user.clone(), new);
                        n += 1;
                    }
                }));
            }
            for task in tasks {
                task.await.unwrap();
            }
            let elapsed = started.elapsed().as_secs_f64();
            let ops = unix_crypt::operations() - ops_before;
            let check_after = sha512_check_time(cores);
            let op_time = (check_before + check_after) / 2.0;
            let mut lat = latencies.lock().unwrap().clone();
            lat.sort();
            let ops_per_flow = ops as f64 / lat.len().max(1) as f64;
            let pick = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
            let rate = lat.len() as f64 / elapsed;
            let limit = cores as f64 / (ops_per_flow * op_time);
            println!(
                "clients {clients:>2}: {rate:>6.1} flows/s  p50 {:>5.1} ms  p99 {:>5.1} ms  ({} flows)",
                pick(0.50).as_secs_f64() * 1e3,
                pick(0.99).as_secs_f64() * 1e3,
                lat.len()
            );
            println!(
                "            {ops_per_flow:.2} hash operations per flow; one $6$ check with every core hashing {:.2} ms (before {:.2}, after {:.2}; alone {:.2}); hash-bound limit {cores} ÷ ({ops_per_flow:.2} × {:.2} ms) = {limit:.1} flows/s; reached {:.0} %",
                op_time * 1e3,
                check_before * 1e3,
                check_after * 1e3,
                alone * 1e3,
                op_time * 1e3,
                rate / limit * 100.0
            );
        }
        println!(
            "peak RSS (portal + simulator + load generator): {} KiB",
            peak_rss_kib()
        );
        handle.stop(true).await;
    });
}
