//! What sharing rooms through Redis costs: `cargo bench --bench shared_rooms`
//! (needs `redis-server`, which `scripts/install-deps.sh` installs).
//!
//! Three set-ups of step 17's server, measured one after the other in one
//! run by the same load generator:
//!
//! - **memory**: one process, rooms in its memory (the default);
//! - **Redis, 1 process**: one process with `--redis-url`;
//! - **Redis, 2 processes**: two processes on one Redis, each room split
//!   across them (one member of each pair on each process), so every
//!   message crosses from one process to the other through Redis.
//!
//! Pairs in rooms of two send ~200-byte messages to each other at fixed
//! offered loads. For each load: the servers' CPU time per relayed message
//! (all server processes together), Redis's own CPU per message, p50/p99
//! time from send to arrival, and the share delivered. Server processes and
//! Redis run on CPU 0, the generator on CPU 1: on a shared two-core machine
//! read the ratios to "memory" from one run, not the absolute times.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

mod common;

use common::load::{self, MessageFor, Pair, Socket};

/// Pairs sending to each other.
const PAIRS: usize = 200;
/// Offered loads, in relayed messages per second across all pairs.
const LOADS: [u32; 2] = [2_000, 8_000];

#[derive(Clone, Copy, PartialEq)]
enum Setup {
    Memory,
    RedisOne,
    RedisTwo,
}

impl Setup {
    fn name(self) -> &'static str {
        match self {
            Setup::Memory => "memory",
            Setup::RedisOne => "Redis, 1 process",
            Setup::RedisTwo => "Redis, 2 processes",
        }
    }
}

fn main() {
    if std::env::var_os("VIDEOCHAT_BENCH_SERVER").is_some() {
        common::serve_step17();
        return;
    }
    let _ = rlimit::increase_nofile_limit(65_536);
    common::pin_to_cpu(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut results = Vec::new();
    for setup in [Setup::Memory, Setup::RedisOne, Setup::RedisTwo] {
        let redis = match setup {
            Setup::Memory => None,
            _ => match Redis::start() {
                Some(redis) => Some(redis),
                None => {
                    println!(
                        "{}: not run: no redis-server (scripts/install-deps.sh)",
                        setup.name()
                    );
                    continue;
                }
            },
        };
        let url = redis.as_ref().map(Redis::url);
        let count = if setup == Setup::RedisTwo { 2 } else { 1 };
        let servers: Vec<Server> = (0..count).map(|_| Server::start(url.as_deref())).collect();
        println!("== {}", setup.name());
        let limit = Duration::from_secs(120);
        let bounded =
            async { tokio::time::timeout(limit, measure(&servers, redis.as_ref())).await };
        match runtime.block_on(bounded) {
            Ok(figures) => results.push((setup, figures)),
            Err(_) => println!("{}: gave up after 120 s", setup.name()),
        }
    }
    print_table(&results);
}

/// A child process on CPU 0, ended when dropped.
struct Process(Child);

impl Process {
    fn cpu_time(&self) -> Duration {
        common::cpu_time(self.0.id())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A step 17 server: this binary again, as the child.
struct Server {
    process: Process,
    port: u16,
}

impl Server {
    fn start(redis_url: Option<&str>) -> Server {
        let mut command = Command::new("taskset");
        command
            .args(["-c", "0"])
            .arg(std::env::current_exe().expect("this binary's path"))
            .env("VIDEOCHAT_BENCH_SERVER", "1")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if let Some(url) = redis_url {
            command.env("VIDEOCHAT_BENCH_REDIS_URL", url);
        }
        let mut child = command.spawn().expect("start the server");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("its stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("read the port");
        let port = line.trim().parse().expect("the server prints its port");
        Server {
            process: Process(child),
            port,
        }
    }
}

/// A Redis on CPU 0, with nothing saved to disk.
struct Redis {
    process: Process,
    port: u16,
}

impl Redis {
    fn start() -> Option<Redis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()?
            .port();
        let child = Command::new("taskset")
            .args(["-c", "0", "redis-server", "--port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        let redis = Redis {
            process: Process(child),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

/// One load's figures.
struct Figures {
    /// Server processes' CPU µs per delivered message.
    server_cpu: f64,
    /// Redis's CPU µs per delivered message.
    redis_cpu: f64,
    p50: f64,
    p99: f64,
    delivered: f64,
}

async fn measure(servers: &[Server], redis: Option<&Redis>) -> Vec<Figures> {
    let mut pairs = Some(make_pairs(servers).await);
    let mut figures = Vec::new();
    for offered in LOADS {
        let (one, back) = run_load(servers, redis, pairs.take().expect("pairs"), offered).await;
        pairs = Some(back);
        println!(
            "  {offered} msg/s offered: servers {:.1} µs CPU per message, Redis {:.1} µs, p50 {:.0} µs, p99 {:.0} µs, {:.1}% delivered",
            one.server_cpu,
            one.redis_cpu,
            one.p50,
            one.p99,
            one.delivered * 100.0
        );
        figures.push(one);
    }
    figures
}

/// Connects to `server`, reads the welcome, joins `room`; returns the
/// socket and its id.
async fn arrive(server: &Server, room: &str, name: &str) -> (Socket, String) {
    let url = format!("ws://127.0.0.1:{}/ws", server.port);
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    let welcome = next_text(&mut socket).await.expect("welcome");
    let welcome: serde_json::Value = serde_json::from_str(&welcome).expect("JSON");
    let id = welcome["id"].as_str().unwrap_or_default().to_string();
    let join = serde_json::json!({"type": "join", "username": name, "room": room});
    socket
        .send(Message::text(join.to_string()))
        .await
        .expect("join");
    (socket, id)
}

async fn next_text(socket: &mut Socket) -> Option<String> {
    loop {
        match socket.next().await? {
            Ok(Message::Text(text)) => return Some(text.to_string()),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

fn message(to: &str, payload: &str) -> String {
    format!(r#"{{"type":"candidate","to":"{to}","candidate":{{"p":"{payload}"}}}}"#)
}

/// PAIRS rooms of two; with two servers, A on the first and B on the second.
async fn make_pairs(servers: &[Server]) -> Vec<Pair> {
    let mut pairs = Vec::with_capacity(PAIRS);
    for index in 0..PAIRS {
        let room = format!("pair-{index}");
        let (mut a, a_id) = arrive(&servers[0], &room, "a").await;
        let (mut b, b_id) = arrive(&servers[servers.len() - 1], &room, "b").await;
        let announced = next_text(&mut a).await.expect("join announced");
        assert!(announced.contains("\"join\""), "{announced}");
        // B's join is in: A's hello reaches it.
        a.send(Message::text(message(&b_id, "hello")))
            .await
            .expect("hello");
        let heard = next_text(&mut b).await.expect("hello heard");
        assert!(heard.contains("hello"), "{heard}");
        pairs.push(Pair { a, b, a_id, b_id });
    }
    pairs
}

/// One load through `servers`, with Redis's CPU read beside theirs.
async fn run_load(
    servers: &[Server],
    redis: Option<&Redis>,
    pairs: Vec<Pair>,
    offered: u32,
) -> (Figures, Vec<Pair>) {
    let server_cpu = || {
        servers
            .iter()
            .map(|s| s.process.cpu_time())
            .sum::<Duration>()
    };
    let redis_cpu = || redis.map_or(Duration::ZERO, |r| r.process.cpu_time());
    let message: MessageFor = Arc::new(message);
    let (measured, back) =
        load::run_load(pairs, offered, message, &[&server_cpu, &redis_cpu]).await;
    let figures = Figures {
        server_cpu: measured.cpu_per_message[0],
        redis_cpu: measured.cpu_per_message[1],
        p50: measured.p50,
        p99: measured.p99,
        delivered: measured.delivered,
    };
    (figures, back)
}

fn print_table(results: &[(Setup, Vec<Figures>)]) {
    let Some((_, base)) = results.iter().find(|(setup, _)| *setup == Setup::Memory) else {
        return;
    };
    println!(
        "\nper relayed message | {}",
        results
            .iter()
            .map(|(s, _)| s.name())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    for (index, offered) in LOADS.iter().enumerate() {
        let base = &base[index];
        let row = |what: &str, cell: &dyn Fn(&Figures) -> String| {
            let cells: Vec<String> = results.iter().map(|(_, f)| cell(&f[index])).collect();
            println!("{what} at {offered} msg/s | {}", cells.join(" | "));
        };
        row("server CPU", &|f| {
            format!(
                "{:.1} µs ({:.2}x)",
                f.server_cpu,
                f.server_cpu / base.server_cpu
            )
        });
        row("Redis CPU", &|f| format!("{:.1} µs", f.redis_cpu));
        row("p50 / p99", &|f| format!("{:.0} / {:.0} µs", f.p50, f.p99));
        row("delivered", &|f| format!("{:.1}%", f.delivered * 100.0));
    }
}
