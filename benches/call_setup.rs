//! Call setup in a real browser: `cargo bench --bench call_setup`.
//!
//! How long from a person pressing Join to the first picture of the other
//! member, against the browser's own limit, in one headless Chromium (fake
//! devices, loopback), run by run side by side:
//!
//! - **the limit**: two `RTCPeerConnection`s in one page, one sending the
//!   camera and microphone with a data channel beside them, candidates handed
//!   straight across: from creating them to the first frame the receiving
//!   `<video>` presents (`requestVideoFrameCallback`). The camera is already
//!   on, as Alice's is below; nothing travels through a server.
//! - **step 17**: Alice is in a room with her devices on; Bob opens the page,
//!   types his name and the room, and presses Join. From that click to the
//!   first frame Alice's tile presents on Bob's screen: the join, Alice's
//!   offer, Bob's answer and the candidates all travel through the server.
//!
//! It prints both medians, their ratio, and the timeline of the median step 17
//! run: both pages' console lines (what each sent and received, the
//! connection states) in milliseconds from the click, which shows where the
//! time goes. The machine is shared: read the ratio, not the times.

#[path = "../tests/common/mod.rs"]
mod common;

use common::browser::{browser, Page};
use common::call::QUICK;
use common::deadline::run;
use common::rooms::join_room;
use serde_json::Value as Json;

/// Runs of each kind; the medians are printed.
const RUNS: usize = 15;
/// The room Alice waits in.
const ROOM: &str = "bench";

/// The limit, measured in one page (see the file's comment). Returns the
/// milliseconds from creating the connections to the first presented frame.
const IN_PAGE_LIMIT: &str = r#"
const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
const video = document.createElement('video');
video.muted = true;
video.autoplay = true;
video.playsInline = true;
document.body.append(video);
const start = performance.now();
const firstFrame = new Promise((resolve) => video.requestVideoFrameCallback(() => resolve(performance.now())));
const sender = new RTCPeerConnection();
const receiver = new RTCPeerConnection();
sender.addEventListener('icecandidate', (event) => event.candidate && receiver.addIceCandidate(event.candidate));
receiver.addEventListener('icecandidate', (event) => event.candidate && sender.addIceCandidate(event.candidate));
const connected = new Promise((resolve) => receiver.addEventListener('connectionstatechange', () => {
  if (receiver.connectionState === 'connected') resolve(performance.now());
}));
receiver.addEventListener('track', (event) => {
  if (event.track.kind === 'video') video.srcObject = event.streams[0];
});
for (const track of stream.getTracks()) sender.addTrack(track, stream);
sender.createDataChannel('chat');
await sender.setLocalDescription();
await receiver.setRemoteDescription(sender.localDescription);
await receiver.setLocalDescription();
await sender.setRemoteDescription(receiver.localDescription);
const end = await firstFrame;
const connectedAt = await connected;
sender.close();
receiver.close();
for (const track of stream.getTracks()) track.stop();
video.remove();
return { ms: end - start, connectedMs: connectedAt - start };
"#;

/// Step 17, in Bob's page with his name and the room typed: presses Join and
/// waits for the first frame Alice's tile presents. Returns the milliseconds
/// and the moment of the click (ms since the epoch, to line up timelines).
const JOIN_TO_FIRST_FRAME: &str = r#"
const peers = document.getElementById('peers');
const tileVideo = new Promise((resolve) => {
  const find = () => {
    const video = peers.querySelector('.peer video');
    if (video) { observer.disconnect(); resolve(video); }
  };
  const observer = new MutationObserver(find);
  observer.observe(peers, { childList: true, subtree: true });
});
const start = performance.now();
document.getElementById('join').click();
const video = await tileVideo;
const end = await new Promise((resolve) => video.requestVideoFrameCallback(() => resolve(performance.now())));
return { ms: end - start, clickedAt: performance.timeOrigin + start };
"#;

/// One run: to the first frame, and to the moment the receiving side's
/// connection was up (ICE and DTLS done), in ms.
struct Run {
    ms: f64,
    connected_ms: f64,
    /// Both pages' lines, for a step 17 run.
    timeline: Vec<(f64, String)>,
}

fn main() {
    run(async {
        let browser = browser().await;
        let server = common::serve(videochat::steps::app17());
        let url = server.url();
        let alice = join_room(&browser, &url, "Alice", ROOM).await;
        let lab = browser.open("lab", &url).await;
        lab.wait_for_status("type your name", QUICK).await;

        let mut limits = Vec::new();
        let mut step17 = Vec::new();
        for run in 0..RUNS {
            let limit = lab.eval(IN_PAGE_LIMIT, vec![]).await;
            limits.push(Run {
                ms: number(&limit["ms"]),
                connected_ms: number(&limit["connectedMs"]),
                timeline: Vec::new(),
            });
            step17.push(join_as_bob(&browser, &url, &alice, run).await);
        }

        let limit = median(limits.iter().map(|run| run.ms).collect());
        let joined = median(step17.iter().map(|run| run.ms).collect());
        println!("call setup, headless Chromium, {RUNS} runs each, ms to the first frame (to connected):");
        println!("  in-page limit: {}", list(&limits));
        println!("  step 17 join:  {}", list(&step17));
        println!(
            "  medians: limit {limit:.0} ({:.0}), step 17 {joined:.0} ({:.0})",
            median(limits.iter().map(|run| run.connected_ms).collect()),
            median(step17.iter().map(|run| run.connected_ms).collect()),
        );
        println!("  step 17 / limit: {:.2}x", joined / limit);

        if let Some(typical) = step17
            .iter()
            .min_by(|a, b| (a.ms - joined).abs().total_cmp(&(b.ms - joined).abs()))
        {
            println!("\nthe median step 17 run, ms from Bob's click:");
            for (at, line) in &typical.timeline {
                println!("  {at:7.1}  {line}");
            }
        }
    });
}

/// Bob joins Alice's room from a fresh page; returns how long until her
/// picture showed, and both pages' lines from the click to that moment. Bob
/// then closes his tab and we wait for his tile to leave Alice's screen.
async fn join_as_bob(
    browser: &common::browser::BrowserTurn,
    url: &str,
    alice: &Page<'_>,
    run: usize,
) -> Run {
    let bob = browser.open("bob", url).await;
    bob.wait_for_status("type your name", QUICK).await;
    bob.type_into("#username", &format!("Bob {run}")).await;
    bob.type_into("#room", ROOM).await;
    let measured = bob.eval(JOIN_TO_FIRST_FRAME, vec![]).await;
    let ms = number(&measured["ms"]);
    let clicked_at = number(&measured["clickedAt"]);

    let mut timeline = Vec::new();
    for (who, page) in [("bob  ", &bob), ("alice", alice)] {
        let lines = page.eval("return window.__probe.timeline;", vec![]).await;
        for entry in lines.as_array().into_iter().flatten() {
            let at = number(&entry[0]) - clicked_at;
            if (0.0..=ms + 1.0).contains(&at) {
                let line = entry[1].as_str().unwrap_or_default();
                timeline.push((at, format!("{who}  {line}")));
            }
        }
    }
    timeline.sort_by(|a, b| a.0.total_cmp(&b.0));
    let connected_ms = timeline
        .iter()
        .find(|(_, line)| line.starts_with("bob") && line.contains("connection=connected"))
        .map_or(f64::NAN, |(at, _)| *at);

    bob.close().await;
    alice
        .wait_for(
            "Bob's tile to leave Alice's screen",
            "return document.querySelectorAll('#peers .peer').length === 0;",
            QUICK,
        )
        .await;
    Run {
        ms,
        connected_ms,
        timeline,
    }
}

fn number(value: &Json) -> f64 {
    match value.as_f64() {
        Some(number) => number,
        None => panic!("the page returned {value} where a number was expected"),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn list(runs: &[Run]) -> String {
    let shown: Vec<String> = runs
        .iter()
        .map(|run| format!("{:.0} ({:.0})", run.ms, run.connected_ms))
        .collect();
    shown.join(" ")
}
