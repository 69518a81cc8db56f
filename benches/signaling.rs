//! How fast and how lean the signaling server is: `cargo bench --bench signaling`.
//!
//! The server runs in a child process (this same binary, started again with
//! `VIDEOCHAT_BENCH_SERVER=1`), so its memory is measured apart from the
//! clients'. It serves step 17's composition (the rooms policy) on a loopback
//! port, and the clients speak the real protocol over real WebSockets:
//!
//! 1. **latency**: one pair in a room bounces a message back and forth;
//!    each round trip is two relays through the hub. Idle, then again while
//!    hundreds of other rooms relay at the pages' real rate limit.
//! 2. **throughput**: many pairs bounce messages as fast as they can.
//! 3. **memory**: the server's resident memory before and after a thousand
//!    sockets have joined rooms of four, per socket.
//!
//! Machines differ and are shared, and here the clients share the CPU with
//! the server: read the ratios (loaded vs idle latency) and orders of
//! magnitude, not the last digit. The rate limit is raised for the bench so
//! it measures the relay, not the limiter.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

mod common;

// The protocol tests' WebSocket client: connect, send, and read JSON.
#[allow(dead_code)]
#[path = "../tests/common/ws.rs"]
mod ws;

use ws::{send, Socket};

const ROUND_TRIPS: usize = 2_000;
const LOAD_ROOMS: usize = 200;
/// What each background page sends: the default sustained rate limit.
const LOAD_RATE_PER_SOCKET: u32 = videochat::signaling::MESSAGES_PER_SECOND;
const THROUGHPUT_PAIRS: usize = 50;
const THROUGHPUT_TIME: Duration = Duration::from_secs(3);
const MEMORY_SOCKETS: usize = 1_000;

fn main() {
    if std::env::var_os("VIDEOCHAT_BENCH_SERVER").is_some() {
        common::serve_step17();
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let server = ServerProcess::start();
    runtime.block_on(run(&server));
}

struct ServerProcess {
    child: Child,
    port: u16,
}

impl ServerProcess {
    fn start() -> ServerProcess {
        let exe = std::env::current_exe().expect("this binary's path");
        let mut child = Command::new(exe)
            .env("VIDEOCHAT_BENCH_SERVER", "1")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server process");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("the child's stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("read the port");
        let port = line.trim().parse().expect("the server prints its port");
        ServerProcess { child, port }
    }

    /// Resident memory of the server process, in KiB.
    fn rss_kib(&self) -> u64 {
        common::rss_kib(self.child.id())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

async fn run(server: &ServerProcess) {
    println!("signaling bench: rooms policy, server in its own process\n");

    let idle = latency(server, "idle").await;
    let load = Load::start(server, LOAD_ROOMS).await;
    // A second for the traffic to settle, then measure while it runs.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (count_before, since) = (load.received(), Instant::now());
    let loaded = latency(server, "loaded").await;
    let background = (load.received() - count_before) as f64 / since.elapsed().as_secs_f64();
    load.stop().await;
    println!("latency, one relayed round trip ({ROUND_TRIPS} of them):");
    println!(
        "  idle:   p50 {:>7.1} µs   p99 {:>7.1} µs",
        idle.p50, idle.p99
    );
    println!(
        "  loaded: p50 {:>7.1} µs   p99 {:>7.1} µs   ({} other sockets relaying {:.0} msg/s)",
        loaded.p50,
        loaded.p99,
        LOAD_ROOMS * 4,
        background
    );
    println!(
        "  ratio loaded/idle: p50 {:.2}, p99 {:.2}\n",
        loaded.p50 / idle.p50,
        loaded.p99 / idle.p99
    );

    let relays = throughput(server).await;
    println!(
        "throughput: {relays:.0} messages relayed per second ({THROUGHPUT_PAIRS} pairs, as fast as they can)\n"
    );

    let before = server.rss_kib();
    let mut sockets = Vec::with_capacity(MEMORY_SOCKETS);
    for index in 0..MEMORY_SOCKETS {
        let (socket, _) = arrive(server, &format!("m{}", index / 4)).await;
        sockets.push(socket);
    }
    let after = server.rss_kib();
    let per_socket = (after.saturating_sub(before)) as f64 * 1024.0 / MEMORY_SOCKETS as f64;
    println!(
        "memory: {before} KiB before, {after} KiB with {MEMORY_SOCKETS} joined sockets: \
         about {:.1} KiB per socket",
        per_socket / 1024.0
    );
    drop(sockets);
}

/// Connects, reads the welcome, joins `room`, and returns the socket and its id.
async fn arrive(server: &ServerProcess, room: &str) -> (Socket, String) {
    let mut socket = ws::connect_to(([127, 0, 0, 1], server.port).into()).await;
    let welcome = next_json(&mut socket).await;
    let id = welcome["id"]
        .as_str()
        .expect("welcome carries an id")
        .to_string();
    // Names must differ within a room (the server refuses a taken one).
    static ARRIVALS: AtomicU64 = AtomicU64::new(0);
    let name = format!("bench-{}", ARRIVALS.fetch_add(1, Ordering::Relaxed));
    send(
        &mut socket,
        json!({"type": "join", "username": name, "room": room}),
    )
    .await;
    (socket, id)
}

/// The next text message as JSON. Not `ws::next_json`: that one arms a
/// deadline timer on every read, and here only the relay should be timed.
async fn next_json(socket: &mut Socket) -> serde_json::Value {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(&text).expect("the server sends JSON")
            }
            Some(Ok(_)) => continue,
            other => panic!("the socket ended: {other:?}"),
        }
    }
}

/// Two sockets in a fresh room, the first having seen the second's join.
async fn pair(server: &ServerProcess, room: &str) -> ((Socket, String), (Socket, String)) {
    let (mut a, a_id) = arrive(server, room).await;
    let (b, b_id) = arrive(server, room).await;
    let announced = next_json(&mut a).await;
    assert_eq!(announced["type"], "join");
    ((a, a_id), (b, b_id))
}

struct Percentiles {
    p50: f64,
    p99: f64,
}

/// Round trips through the hub, one at a time: A to B, B back to A.
async fn latency(server: &ServerProcess, room: &str) -> Percentiles {
    let ((mut a, a_id), (mut b, b_id)) = pair(server, &format!("latency-{room}")).await;
    let echo = tokio::spawn(async move {
        for _ in 0..ROUND_TRIPS {
            let message = next_json(&mut b).await;
            send(
                &mut b,
                json!({"type": "answer", "to": a_id, "n": message["n"]}),
            )
            .await;
        }
        b
    });
    let mut micros = Vec::with_capacity(ROUND_TRIPS);
    for n in 0..ROUND_TRIPS {
        let sent = Instant::now();
        send(&mut a, json!({"type": "offer", "to": b_id, "n": n})).await;
        let reply = next_json(&mut a).await;
        assert_eq!(reply["n"], n);
        micros.push(sent.elapsed().as_secs_f64() * 1e6);
    }
    let _b = echo.await.expect("the echo task");
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q) as usize];
    Percentiles {
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// Background traffic: rooms of four where every page sends to the next
/// member at the sustained rate limit and reads whatever arrives.
struct Load {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Relayed messages the background pages have received so far.
    received: Arc<AtomicU64>,
}

impl Load {
    async fn start(server: &ServerProcess, rooms: usize) -> Load {
        // Every room first, then the traffic, so the rate is measured over
        // the time all of them send.
        let mut all_rooms = Vec::with_capacity(rooms);
        for room in 0..rooms {
            let mut members = Vec::new();
            for _ in 0..4 {
                members.push(arrive(server, &format!("load-{room}")).await);
            }
            all_rooms.push(members);
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let received = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for members in all_rooms {
            let ids: Vec<String> = members.iter().map(|(_, id)| id.clone()).collect();
            for (index, (socket, _)) in members.into_iter().enumerate() {
                let next = ids[(index + 1) % ids.len()].clone();
                let (mut sink, mut stream) = socket.split();
                let mut stopped = stopped.clone();
                let received = received.clone();
                tasks.push(tokio::spawn(async move {
                    let mut tick = tokio::time::interval(Duration::from_secs(1) / LOAD_RATE_PER_SOCKET);
                    loop {
                        tokio::select! {
                            _ = stopped.changed() => return,
                            _ = tick.tick() => {
                                let message = json!({"type": "candidate", "to": next, "candidate": {}});
                                if sink.send(Message::text(message.to_string())).await.is_err() {
                                    return;
                                }
                            }
                            frame = stream.next() => match frame {
                                // Relayed traffic only, not the join announcements.
                                Some(Ok(Message::Text(text))) if text.contains("\"candidate\"") => {
                                    received.fetch_add(1, Ordering::Relaxed);
                                }
                                Some(Ok(_)) => {}
                                _ => return,
                            },
                        }
                    }
                }));
            }
        }
        Load {
            stop,
            tasks,
            received,
        }
    }

    fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Messages relayed per second by many pairs bouncing as fast as they can.
async fn throughput(server: &ServerProcess) -> f64 {
    let mut pairs = Vec::with_capacity(THROUGHPUT_PAIRS);
    for index in 0..THROUGHPUT_PAIRS {
        pairs.push(pair(server, &format!("throughput-{index}")).await);
    }
    let started = Instant::now();
    let deadline = started + THROUGHPUT_TIME;
    let mut tasks = Vec::new();
    for ((mut a, a_id), (mut b, b_id)) in pairs {
        tasks.push(tokio::spawn(async move {
            let mut relayed = 0u64;
            while Instant::now() < deadline {
                send(&mut a, json!({"type": "offer", "to": b_id})).await;
                next_json(&mut b).await;
                send(&mut b, json!({"type": "answer", "to": a_id})).await;
                next_json(&mut a).await;
                relayed += 2;
            }
            relayed
        }));
    }
    let mut relayed = 0;
    for task in tasks {
        relayed += task.await.unwrap_or(0);
    }
    relayed as f64 / started.elapsed().as_secs_f64()
}
