//! Calls per second and latency of `core.ping` and `user.query` against the in-process simulator,
//! over one connection and over four, with a raw tokio-tungstenite echo round trip as the floor.
//!
//! Criterion measures the per-call time; a summary pass then prints calls/s and p50/p99 latency.
//! Run: `cargo bench -p truenas-client`.

// Benchmark setup: a failure aborts the run.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use truenas_client::{Client, Endpoint, Op, Options, Protocol, Query, SecretString};
use truenas_sim::{SimConfig, Simulator, demo};

struct Env {
    rt: Runtime,
    _servers: Runtime,
    _sim: Simulator,
    clients: Vec<Client>,
    /// A client of a minimal JSON-RPC responder: the client's own cost without the simulator's.
    minimal: Client,
    echo_addr: std::net::SocketAddr,
}

/// The transport settings the client and the simulator use (a 16 KiB read buffer), so the echo
/// floor and the minimal responder measure the same transport.
fn transport() -> Option<WebSocketConfig> {
    Some(WebSocketConfig::default().read_buffer_size(16 * 1024))
}

/// Answers every JSON-RPC request at once with `"pong"`, echoing its id.
async fn minimal_server() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(s, transport()).await
                else {
                    return;
                };
                while let Some(Ok(m)) = ws.next().await {
                    let Ok(text) = m.to_text() else { continue };
                    // The client writes `"id":<n>,` first: read it without a JSON parser, so
                    // this responder costs about what the echo costs.
                    let Some(id) = text
                        .split_once(r#""id":"#)
                        .and_then(|(_, rest)| rest.split([',', '}']).next())
                    else {
                        continue;
                    };
                    let reply = format!(r#"{{"jsonrpc":"2.0","result":"pong","id":{id}}}"#);
                    if ws.send(Message::Text(reply.into())).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// Servers (simulator, minimal responder, echo) run on a runtime of their own, on their own
/// thread, as a TrueNAS would run apart from its clients; the clients run on a second runtime.
fn env() -> Env {
    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("servers")
        .enable_all()
        .build()
        .expect("server runtime");
    let (sim, echo_addr, minimal_addr) = servers.block_on(async {
        let sim = Simulator::start(SimConfig::demo())
            .await
            .expect("simulator");
        let echo = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let echo_addr = echo.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((s, _)) = echo.accept().await {
                let _ = s.set_nodelay(true);
                tokio::spawn(async move {
                    let Ok(mut ws) =
                        tokio_tungstenite::accept_async_with_config(s, transport()).await
                    else {
                        return;
                    };
                    while let Some(Ok(m)) = ws.next().await {
                        if m.is_text() && ws.send(m).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        (sim, echo_addr, minimal_server().await)
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime");
    let (clients, minimal) = rt.block_on(async {
        let ep: Endpoint = sim.url("").parse().expect("url");
        let mut clients = Vec::new();
        for _ in 0..4 {
            let c = Client::connect(ep.clone(), Options::default().protocol(Protocol::JsonRpc))
                .await
                .expect("connect");
            c.login_api_key(
                SecretString::from(demo::SERVICE_API_KEY),
                Some(demo::SERVICE_USER),
            )
            .await
            .expect("login");
            clients.push(c);
        }
        let minimal = Client::connect(
            Endpoint::ws("127.0.0.1").with_port(minimal_addr.port()),
            Options::default().protocol(Protocol::JsonRpc),
        )
        .await
        .expect("minimal");
        (clients, minimal)
    });
    Env {
        rt,
        _servers: servers,
        _sim: sim,
        clients,
        minimal,
        echo_addr,
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn echo_client(addr: std::net::SocketAddr) -> Ws {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("tcp");
    let _ = tcp.set_nodelay(true);
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(format!("ws://{addr}/"), tcp, transport())
            .await
            .expect("upgrade");
    ws
}

const PING_FRAME: &str = r#"{"jsonrpc":"2.0","id":1,"method":"core.ping","params":[]}"#;

async fn echo_once(ws: &mut Ws) {
    ws.send(Message::Text(PING_FRAME.into()))
        .await
        .expect("send");
    let _ = ws.next().await;
}

fn query() -> Query {
    Query::new().filter("username", Op::Eq, "alice")
}

async fn call(c: &Client, ping: bool) {
    if ping {
        black_box(c.ping().await.expect("ping"));
    } else {
        black_box(c.users(&query()).await.expect("query"));
    }
}

/// `per_conn` concurrent callers on each of `conns` connections, for `total` calls.
async fn burst(clients: &[Client], conns: usize, per_conn: usize, total: usize, ping: bool) {
    let each = total / (conns * per_conn);
    let mut tasks = Vec::new();
    for c in clients.iter().take(conns) {
        for _ in 0..per_conn {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..each {
                    call(&c, ping).await;
                }
            }));
        }
    }
    for t in tasks {
        let _ = t.await;
    }
}

fn bench(c: &mut Criterion) {
    let env = env();
    let mut g = c.benchmark_group("round_trip");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    let mut ws = env.rt.block_on(echo_client(env.echo_addr));
    g.bench_function("echo_raw_tungstenite", |b| {
        b.iter(|| env.rt.block_on(echo_once(&mut ws)))
    });
    let m = env.minimal.clone();
    g.bench_function("core.ping_minimal_server", |b| {
        b.iter(|| env.rt.block_on(call(&m, true)))
    });
    let c0 = env.clients[0].clone();
    g.bench_function("core.ping", |b| b.iter(|| env.rt.block_on(call(&c0, true))));
    g.bench_function("user.query", |b| {
        b.iter(|| env.rt.block_on(call(&c0, false)))
    });
    g.finish();

    let mut g = c.benchmark_group("throughput");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    const BATCH: usize = 2000;
    g.throughput(Throughput::Elements(BATCH as u64));
    for (name, ping) in [("core.ping", true), ("user.query", false)] {
        for conns in [1usize, 4] {
            let id = format!("{name}/{conns}conn");
            g.bench_function(id, |b| {
                b.iter(|| env.rt.block_on(burst(&env.clients, conns, 20, BATCH, ping)))
            });
        }
    }
    g.finish();
    summary(&env);
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Prints calls/s and p50/p99 per scenario (latency measured per call under load).
fn summary(env: &Env) {
    println!("\n== summary (calls/s, p50, p99) ==");
    // Sequential round trips: echo, simulator and minimal responder take turns in rounds, so a
    // change in the machine's load hits all three alike and the ratios stay comparable.
    let (echo, sim, minimal) = env.rt.block_on(async {
        let mut ws = echo_client(env.echo_addr).await;
        let (mut echo, mut sim, mut minimal) = (Vec::new(), Vec::new(), Vec::new());
        for _round in 0..20 {
            for _ in 0..250 {
                let t = Instant::now();
                echo_once(&mut ws).await;
                echo.push(t.elapsed());
            }
            for _ in 0..250 {
                let t = Instant::now();
                call(&env.clients[0], true).await;
                sim.push(t.elapsed());
            }
            for _ in 0..250 {
                let t = Instant::now();
                call(&env.minimal, true).await;
                minimal.push(t.elapsed());
            }
        }
        for v in [&mut echo, &mut sim, &mut minimal] {
            v.sort();
        }
        (echo, sim, minimal)
    });
    let echo_p50 = pct(&echo, 0.5);
    println!(
        "echo round trip (raw tokio-tungstenite): p50 {:?} p99 {:?}",
        echo_p50,
        pct(&echo, 0.99)
    );
    for (name, lat) in [
        ("core.ping sequential, 1 conn", &sim),
        ("core.ping sequential, minimal JSON-RPC responder", &minimal),
    ] {
        let p50 = pct(lat, 0.5);
        println!(
            "{name}: p50 {:?} p99 {:?} ({:.2}x echo p50)",
            p50,
            pct(lat, 0.99),
            p50.as_secs_f64() / echo_p50.as_secs_f64()
        );
    }
    for (name, ping) in [("core.ping", true), ("user.query", false)] {
        for conns in [1usize, 4] {
            let (rate, lat) = env.rt.block_on(async {
                let lat = Arc::new(std::sync::Mutex::new(Vec::new()));
                let total = 20_000;
                let per_conn = 20;
                let each = total / (conns * per_conn);
                let start = Instant::now();
                let mut tasks = Vec::new();
                for c in env.clients.iter().take(conns) {
                    for _ in 0..per_conn {
                        let c = c.clone();
                        let lat = lat.clone();
                        tasks.push(tokio::spawn(async move {
                            let mut mine = Vec::with_capacity(each);
                            for _ in 0..each {
                                let t = Instant::now();
                                call(&c, ping).await;
                                mine.push(t.elapsed());
                            }
                            if let Ok(mut g) = lat.lock() {
                                g.extend(mine);
                            }
                        }));
                    }
                }
                for t in tasks {
                    let _ = t.await;
                }
                let secs = start.elapsed().as_secs_f64();
                let mut v = lat.lock().map(|g| g.clone()).unwrap_or_default();
                v.sort();
                ((v.len() as f64) / secs, v)
            });
            println!(
                "{name}, {conns} conn x 20 in flight: {:.0} calls/s, p50 {:?}, p99 {:?}",
                rate,
                pct(&lat, 0.5),
                pct(&lat, 0.99)
            );
        }
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
