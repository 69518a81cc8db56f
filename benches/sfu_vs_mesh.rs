//! Mesh against SFU in a real browser: `cargo bench --bench sfu_vs_mesh`.
//!
//! The same room of 2, 4 and 6 people (windows of one headless Chromium,
//! fake camera and microphone, loopback), once with step 19's page (a mesh:
//! one connection per other member) and once with step 20's (one connection
//! to the server's SFU). Once everyone receives everyone, it measures over
//! `WINDOW`, side by side in one run:
//!
//! - each page's upload (outbound RTP bytes, sound and picture),
//! - the CPU the browser used (every Chromium process) and the server used
//!   (the child process serving the step),
//! - the frames each tile's `<video>` presented per second
//!   (`requestVideoFrameCallback`), averaged over every tile of every page,
//! - and the server's CPU per packet it forwarded (every page's inbound RTP
//!   packets: with the SFU, each one left the server).
//!
//! The server runs as a child process (this binary again, built with the
//! bench's optimisation), so its CPU is its own. The machine is shared and
//! the browsers fill it: read the ratios, not the absolute figures.

/// The benches' own helpers (`benches/common/`): reading a process's CPU.
#[path = "common/mod.rs"]
mod bench_common;
#[path = "../tests/common/mod.rs"]
mod common;

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::browser::{browser, BrowserTurn, Page};
use common::deadline::run_within;
use common::rooms::join_room;
use serde_json::Value as Json;
use videochat::config::Config;
use videochat::steps;

/// The room sizes compared.
const SIZES: [usize; 3] = [2, 4, 6];
/// How long each configuration is measured, once everyone receives everyone.
const WINDOW: Duration = Duration::from_secs(10);
/// Settling time before the window: bandwidth estimates ramp up.
const SETTLE: Duration = Duration::from_secs(5);
/// The whole bench: six configurations, the largest slow to set up.
const BENCH_DEADLINE: Duration = Duration::from_secs(20 * 60);
/// How long everyone may take to receive everyone.
const ALL_CONNECTED: Duration = Duration::from_secs(60);

const NAMES: [&str; 6] = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank"];

/// The child: serves `VIDEOCHAT_BENCH_STEP` (app19 or app20) with rooms of 6,
/// prints its port, and serves until the parent goes away (EOF on stdin).
fn serve_child(step: &str) {
    let config = Config {
        port: 0,
        media_port: 0,
        room_size: Some(6),
        ..Config::default()
    };
    let step = if step == "app20" {
        steps::app20()
    } else {
        steps::app19()
    };
    let server = match videochat::server::start(step, &config) {
        Ok(server) => server,
        Err(err) => panic!("the server did not start: {err}"),
    };
    println!("{}", server.addr().port());
    let _ = std::io::stdin().read_line(&mut String::new());
}

/// The server child and its URL.
struct ServerChild {
    child: Child,
    url: String,
}

impl ServerChild {
    fn start(step: &str) -> ServerChild {
        let mut child = Command::new(std::env::current_exe().expect("this binary's path"))
            .env("VIDEOCHAT_BENCH_STEP", step)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("its stdout");
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the port");
        let port: u16 = line.trim().parse().expect("a port");
        ServerChild {
            child,
            url: format!("http://127.0.0.1:{port}/"),
        }
    }

    fn cpu_time(&self) -> Duration {
        bench_common::cpu_time(self.child.id())
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time of every Chromium process (browser, renderers, GPU, utility).
fn chromium_cpu_time() -> Duration {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.starts_with("chrom"))
        })
        .map(bench_common::cpu_time)
        .sum()
}

/// Starts counting the frames every tile's `<video>` presents.
const START_COUNTING: &str = r#"
window.__bench = { frames: 0, tiles: 0 };
for (const video of document.querySelectorAll('#peers .peer video')) {
  window.__bench.tiles += 1;
  const count = () => { window.__bench.frames += 1; video.requestVideoFrameCallback(count); };
  video.requestVideoFrameCallback(count);
}
return true;
"#;

/// What a page has sent and received so far, and the frames counted.
const READ_COUNTERS: &str = r#"
let sent = 0;
let received = 0;
for (const pc of window.__probe.peerConnections) {
  if (pc.connectionState === 'closed') continue;
  (await pc.getStats()).forEach((report) => {
    if (report.type === 'outbound-rtp') sent += report.bytesSent || 0;
    if (report.type === 'inbound-rtp') received += report.packetsReceived || 0;
  });
}
return { sent, received, frames: window.__bench?.frames ?? 0, tiles: window.__bench?.tiles ?? 0 };
"#;

/// One configuration's figures.
#[derive(Debug)]
struct Figures {
    upload_kbit_per_page: f64,
    browser_cpu_percent: f64,
    server_cpu_percent: f64,
    fps_per_tile: f64,
    server_us_per_packet: f64,
}

/// Every page of `pages` shows `others` tiles with a picture.
async fn all_receiving(pages: &[Page<'_>], others: usize) {
    for page in pages {
        page.wait_for(
            &format!("{others} tiles showing a picture"),
            &format!(
                "const videos = [...document.querySelectorAll('#peers .peer video')]; \
                 return videos.length === {others} && videos.every((v) => v.videoWidth > 0);"
            ),
            ALL_CONNECTED,
        )
        .await;
    }
}

fn number(value: &Json) -> f64 {
    value.as_f64().unwrap_or(0.0)
}

async fn measure(chromium: &BrowserTurn, step: &str, people: usize) -> Figures {
    let server = ServerChild::start(step);
    let mut pages = Vec::new();
    for name in &NAMES[..people] {
        pages.push(join_room(chromium, &server.url, name, "bench").await);
    }
    all_receiving(&pages, people - 1).await;
    tokio::time::sleep(SETTLE).await;
    for page in &pages {
        page.eval(START_COUNTING, vec![]).await;
    }
    let mut before = Vec::new();
    for page in &pages {
        before.push(page.eval(READ_COUNTERS, vec![]).await);
    }
    let (browser_before, server_before) = (chromium_cpu_time(), server.cpu_time());
    let start = Instant::now();
    tokio::time::sleep(WINDOW).await;
    let (browser_after, server_after) = (chromium_cpu_time(), server.cpu_time());
    let seconds = start.elapsed().as_secs_f64();
    let mut sent = 0.0;
    let mut packets = 0.0;
    let mut frames = 0.0;
    let mut tiles = 0.0;
    for (page, before) in pages.iter().zip(&before) {
        let after = page.eval(READ_COUNTERS, vec![]).await;
        sent += number(&after["sent"]) - number(&before["sent"]);
        packets += number(&after["received"]) - number(&before["received"]);
        frames += number(&after["frames"]);
        tiles += number(&after["tiles"]);
    }
    for page in pages {
        page.close().await;
    }
    let server_cpu = (server_after - server_before).as_secs_f64();
    Figures {
        upload_kbit_per_page: sent * 8.0 / 1000.0 / seconds / people as f64,
        browser_cpu_percent: (browser_after - browser_before).as_secs_f64() / seconds * 100.0,
        server_cpu_percent: server_cpu / seconds * 100.0,
        fps_per_tile: frames / seconds / tiles.max(1.0),
        server_us_per_packet: server_cpu * 1e6 / packets.max(1.0),
    }
}

fn main() {
    if let Ok(step) = std::env::var("VIDEOCHAT_BENCH_STEP") {
        serve_child(&step);
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rows = run_within(BENCH_DEADLINE, async {
        let chromium = browser().await;
        let mut rows = Vec::new();
        for people in SIZES {
            for (label, step) in [("mesh (step 19)", "app19"), ("SFU (step 20)", "app20")] {
                let figures = measure(&chromium, step, people).await;
                eprintln!("{people} people, {label}: {figures:?}");
                rows.push((people, label, figures));
            }
        }
        rows
    });
    println!("\nMesh against SFU, one headless Chromium, {cores} cores, {WINDOW:?} per row:\n");
    println!("| people | topology | upload per page | browser CPU | server CPU | frames/s per tile | server CPU per packet |");
    println!("|---|---|---|---|---|---|---|");
    for (people, label, f) in &rows {
        // Mesh media never reaches the server: no per-packet figure.
        let per_packet = if label.starts_with("SFU") {
            format!("{:.1} µs", f.server_us_per_packet)
        } else {
            "—".to_string()
        };
        println!(
            "| {people} | {label} | {:.0} kbit/s | {:.0} % | {:.1} % | {:.1} | {per_packet} |",
            f.upload_kbit_per_page, f.browser_cpu_percent, f.server_cpu_percent, f.fps_per_tile,
        );
    }
    println!("\n(CPU in % of one core; the machine has {cores}. A mesh's server carries signaling only.)");
}
