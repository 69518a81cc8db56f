//! This server beside the seed tutorial's stack, in one run:
//! `bash scripts/bench-compare.sh` (it installs the Node side with npm, then
//! runs `cargo bench --bench compare`).
//!
//! Three relays with the same room semantics, each in its own process pinned
//! to CPU 0 while this load generator runs on CPU 1:
//!
//! - **videochat**: step 17's server (the rooms policy), rate limit raised;
//! - **Socket.IO**: `bench/compare/socketio-relay.js`, Socket.IO 4 as the
//!   seed tutorial used it (`socket.to(room).emit`);
//! - **Node ws**: `bench/compare/ws-relay.js`, a plain relay on `ws`.
//!
//! For each, the generator measures, with the same clients and messages:
//!
//! 1. **CPU per relayed message** at equal offered loads: pairs in rooms of
//!    two send ~200-byte messages to each other at a fixed rate; the server's
//!    user + system CPU time over the window, divided by the messages that
//!    arrived; p50/p99 of the time from send to arrival.
//! 2. **Memory per held socket**: RSS before and after 5,000, then 19,000, sockets have joined
//!    rooms of four and sit idle (each answered by a reader, so heartbeats
//!    keep them open).
//! 3. **Memory given back**: RSS ten seconds after all those sockets left.
//!
//! The table prints each figure and its ratio to Socket.IO's. This machine is
//! shared and has two cores: read ratios from one run, not absolute times.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

mod common;

use common::load::{self, MessageFor, Pair, Socket};

/// Pairs sending to each other in the CPU and latency phase.
const PAIRS: usize = 500;
/// Offered loads, in relayed messages per second across all pairs.
const LOADS: [u32; 2] = [5_000, 20_000];
/// Idle sockets held in the memory phase: two rounds, the second near what
/// one process may hold under a 20k file limit.
const HELD_SOCKETS: [usize; 2] = [5_000, 19_000];
/// How long after the held sockets leave memory is read again.
const GIVE_BACK_TIME: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq, Debug)]
enum Stack {
    Videochat,
    SocketIo,
    NodeWs,
}

impl Stack {
    /// How the command line names it.
    fn key(self) -> &'static str {
        match self {
            Stack::Videochat => "videochat",
            Stack::SocketIo => "socketio",
            Stack::NodeWs => "ws",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Stack::Videochat => "videochat",
            Stack::SocketIo => "Socket.IO 4.8",
            Stack::NodeWs => "Node ws 8",
        }
    }

    fn url(self, port: u16) -> String {
        match self {
            Stack::Videochat => format!("ws://127.0.0.1:{port}/ws"),
            Stack::SocketIo => {
                format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket")
            }
            Stack::NodeWs => format!("ws://127.0.0.1:{port}/"),
        }
    }

    /// One relayed message carrying `payload`, addressed to `to` where the
    /// protocol needs it (videochat names the peer; the others relay to the room).
    fn message(self, to: &str, payload: &str) -> String {
        match self {
            Stack::Videochat => {
                format!(r#"{{"type":"candidate","to":"{to}","candidate":{{"p":"{payload}"}}}}"#)
            }
            Stack::SocketIo => format!(r#"42["signal",{{"p":"{payload}"}}]"#),
            Stack::NodeWs => format!(r#"{{"type":"signal","p":"{payload}"}}"#),
        }
    }
}

fn main() {
    if std::env::var_os("VIDEOCHAT_BENCH_SERVER").is_some() {
        common::serve_step17();
        return;
    }
    // Enough descriptors for the held sockets, ours and (inherited) the servers'.
    let _ = rlimit::increase_nofile_limit(65_536);
    common::pin_to_cpu(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    // `cargo bench --bench compare -- videochat` measures only the stacks
    // named (videochat, socketio, ws): quicker, while trying a change.
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut results = Vec::new();
    for stack in [Stack::SocketIo, Stack::NodeWs, Stack::Videochat] {
        if !named.is_empty() && !named.iter().any(|name| name == stack.key()) {
            continue;
        }
        let Some(server) = ServerProcess::start(stack) else {
            println!("{}: not run (see above)", stack.name());
            continue;
        };
        println!("== {}", stack.name());
        let bounded =
            async { tokio::time::timeout(Duration::from_secs(300), measure(&server)).await };
        match runtime.block_on(bounded) {
            Ok(figures) => results.push((stack, figures)),
            Err(_) => println!("{}: gave up after 300 s", stack.name()),
        }
    }
    print_table(&results);
}

struct ServerProcess {
    stack: Stack,
    child: Child,
    port: u16,
}

impl ServerProcess {
    /// Starts `stack`'s server on CPU 0; `None` (with a note) when Node or
    /// its packages are missing.
    fn start(stack: Stack) -> Option<ServerProcess> {
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/compare");
        let mut command = Command::new("taskset");
        command.arg("-c").arg("0");
        match stack {
            Stack::Videochat => {
                command
                    .arg(std::env::current_exe().expect("this binary's path"))
                    .env("VIDEOCHAT_BENCH_SERVER", "1")
                    .env("RUST_LOG", "warn");
            }
            Stack::SocketIo | Stack::NodeWs => {
                if !here.join("node_modules").is_dir() {
                    println!(
                        "{}: no bench/compare/node_modules: run `bash scripts/bench-compare.sh`",
                        stack.name()
                    );
                    return None;
                }
                let script = if stack == Stack::SocketIo {
                    "socketio-relay.js"
                } else {
                    "ws-relay.js"
                };
                command.arg("node").arg(here.join(script));
            }
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server process");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("the child's stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("read the port");
        let port = line.trim().parse().expect("the server prints its port");
        Some(ServerProcess { stack, child, port })
    }

    /// Resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        common::rss_kib(self.child.id())
    }

    /// User + system CPU time so far.
    fn cpu_time(&self) -> Duration {
        common::cpu_time(self.child.id())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// What one stack measured.
struct Figures {
    /// (offered load, CPU µs per message, p50 µs, p99 µs, delivered share)
    loads: Vec<(u32, f64, f64, f64, f64)>,
    /// KiB per idle socket, for each of HELD_SOCKETS.
    held_kib_per_socket: Vec<f64>,
    /// RSS before any socket was held, with the most held, and
    /// GIVE_BACK_TIME after they all left.
    baseline_kib: u64,
    held_kib: u64,
    after_leave_kib: u64,
}

async fn measure(server: &ServerProcess) -> Figures {
    let mut loads = Vec::new();
    let pairs = make_pairs(server).await;
    let mut pairs = Some(pairs);
    for offered in LOADS {
        let (cpu, p50, p99, share, back) =
            run_load(server, pairs.take().expect("pairs"), offered).await;
        pairs = Some(back);
        println!(
            "  {offered} msg/s offered: {cpu:.1} µs CPU per message, p50 {p50:.0} µs, p99 {p99:.0} µs, {:.1}% delivered",
            share * 100.0
        );
        loads.push((offered, cpu, p50, p99, share));
    }
    drop(pairs);
    tokio::time::sleep(Duration::from_secs(1)).await;

    let baseline_kib = server.rss_kib();
    let mut held_kib_per_socket = Vec::new();
    let (mut held_kib, mut after_leave_kib) = (0, 0);
    for count in HELD_SOCKETS {
        let before = server.rss_kib();
        let (held, stop) = hold_sockets(server, count).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        held_kib = server.rss_kib();
        let per_socket = held_kib.saturating_sub(before) as f64 / count as f64;
        held_kib_per_socket.push(per_socket);
        stop.store(true, Ordering::Relaxed);
        for task in held {
            let _ = task.await;
        }
        tokio::time::sleep(GIVE_BACK_TIME).await;
        after_leave_kib = server.rss_kib();
        println!(
            "  memory: {before} KiB, {held_kib} KiB with {count} idle sockets \
             ({per_socket:.1} KiB each), {after_leave_kib} KiB {GIVE_BACK_TIME:?} after they left"
        );
    }
    Figures {
        loads,
        held_kib_per_socket,
        baseline_kib,
        held_kib,
        after_leave_kib,
    }
}

async fn connect(server: &ServerProcess) -> Socket {
    let (socket, _) = tokio_tungstenite::connect_async(server.stack.url(server.port))
        .await
        .expect("connect");
    socket
}

/// The next text frame, answering Socket.IO's pings ("2") on the way.
async fn next_text(socket: &mut Socket) -> Option<String> {
    loop {
        match socket.next().await? {
            Ok(Message::Text(text)) if text.as_str() == "2" => {
                socket.send(Message::text("3")).await.ok()?;
            }
            Ok(Message::Text(text)) => return Some(text.to_string()),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

/// Connects and joins `room` as `name`; returns the socket and, for
/// videochat, the id the server gave it.
async fn arrive(server: &ServerProcess, room: &str, name: &str) -> (Socket, String) {
    let mut socket = connect(server).await;
    let mut id = String::new();
    match server.stack {
        Stack::Videochat => {
            let welcome = next_text(&mut socket).await.expect("welcome");
            let welcome: serde_json::Value = serde_json::from_str(&welcome).expect("JSON");
            id = welcome["id"].as_str().unwrap_or_default().to_string();
            let join = serde_json::json!({"type": "join", "username": name, "room": room});
            socket
                .send(Message::text(join.to_string()))
                .await
                .expect("join");
        }
        Stack::SocketIo => {
            let open = next_text(&mut socket).await.expect("engine.io open");
            assert!(open.starts_with('0'), "{open}");
            socket.send(Message::text("40")).await.expect("connect");
            let connected = next_text(&mut socket).await.expect("namespace connect");
            assert!(connected.starts_with("40"), "{connected}");
            let join = format!(r#"42["join","{room}"]"#);
            socket.send(Message::text(join)).await.expect("join");
        }
        Stack::NodeWs => {
            let join = serde_json::json!({"type": "join", "room": room});
            socket
                .send(Message::text(join.to_string()))
                .await
                .expect("join");
        }
    }
    (socket, id)
}

async fn make_pairs(server: &ServerProcess) -> Vec<Pair> {
    let mut pairs = Vec::with_capacity(PAIRS);
    for index in 0..PAIRS {
        let room = format!("pair-{index}");
        let (mut a, a_id) = arrive(server, &room, "a").await;
        let (mut b, b_id) = arrive(server, &room, "b").await;
        if server.stack == Stack::Videochat {
            // A hears of B's join; B learns A's id from A's first message.
            let announced = next_text(&mut a).await.expect("join announced");
            assert!(announced.contains("\"join\""), "{announced}");
        }
        // The Node relays answer no join, and handle each socket's messages
        // apart: A says hello until B, having joined, hears it.
        let hello = server.stack.message(&b_id, "hello");
        loop {
            a.send(Message::text(hello.clone())).await.expect("hello");
            match tokio::time::timeout(Duration::from_millis(200), next_text(&mut b)).await {
                Ok(Some(heard)) if heard.contains("hello") => break,
                Ok(None) => panic!("B's socket ended"),
                _ => continue,
            }
        }
        pairs.push(Pair { a, b, a_id, b_id });
    }
    pairs
}

/// One load through `server` (see `common::load`); returns CPU µs per
/// delivered message, p50 and p99 delivery time in µs, the share delivered,
/// and the pairs for the next load.
async fn run_load(
    server: &ServerProcess,
    pairs: Vec<Pair>,
    offered: u32,
) -> (f64, f64, f64, f64, Vec<Pair>) {
    let stack = server.stack;
    let message: MessageFor = Arc::new(move |to: &str, payload: &str| stack.message(to, payload));
    let cpu = || server.cpu_time();
    let (measured, back) = load::run_load(pairs, offered, message, &[&cpu]).await;
    (
        measured.cpu_per_message[0],
        measured.p50,
        measured.p99,
        measured.delivered,
        back,
    )
}

/// `count` sockets joined to rooms of four, each with a reader that answers
/// heartbeats until `stop` is set, then closes.
async fn hold_sockets(
    server: &ServerProcess,
    count: usize,
) -> (Vec<tokio::task::JoinHandle<()>>, Arc<AtomicBool>) {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::with_capacity(count);
    for index in 0..count {
        let (mut socket, _) =
            arrive(server, &format!("held-{}", index / 4), &format!("m{index}")).await;
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match tokio::time::timeout(Duration::from_secs(1), next_text(&mut socket)).await {
                    Ok(None) => return,
                    _ => continue,
                }
            }
            let _ = socket.close(None).await;
        }));
    }
    (tasks, stop)
}

fn print_table(results: &[(Stack, Figures)]) {
    let Some((_, base)) = results.iter().find(|(stack, _)| *stack == Stack::SocketIo) else {
        return;
    };
    println!(
        "\nfigure | {}",
        results
            .iter()
            .map(|(s, _)| s.name())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    for (index, offered) in LOADS.iter().enumerate() {
        let cells: Vec<String> = results
            .iter()
            .map(|(_, f)| {
                let (_, cpu, p50, p99, share) = f.loads[index];
                format!(
                    "{cpu:.1} µs ({:.2}x), p50 {p50:.0} µs, p99 {p99:.0} µs, {:.1}% delivered",
                    cpu / base.loads[index].1,
                    share * 100.0
                )
            })
            .collect();
        println!("CPU per message at {offered} msg/s | {}", cells.join(" | "));
    }
    for (index, count) in HELD_SOCKETS.iter().enumerate() {
        let cells: Vec<String> = results
            .iter()
            .map(|(_, f)| {
                let kib = f.held_kib_per_socket[index];
                format!(
                    "{kib:.1} KiB ({:.2}x)",
                    kib / base.held_kib_per_socket[index]
                )
            })
            .collect();
        println!("RSS per idle socket ({count}) | {}", cells.join(" | "));
    }
    let cells: Vec<String> = results
        .iter()
        .map(|(_, f)| {
            format!(
                "{} -> {} -> {} KiB",
                f.baseline_kib, f.held_kib, f.after_leave_kib
            )
        })
        .collect();
    println!(
        "RSS before, with {} held, {GIVE_BACK_TIME:?} after they left | {}",
        HELD_SOCKETS[HELD_SOCKETS.len() - 1],
        cells.join(" | ")
    );
}
