//! The fixed-rate load both relay benches use (`compare.rs`,
//! `shared_rooms.rs`): pairs in rooms of two send timestamped messages to
//! each other at a fixed offered rate; the receivers note how long each
//! took. The server's CPU is read around the measured window by the caller's
//! readers, one per process it wants to account for.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long each load is measured, after a second to settle.
pub const LOAD_TIME: Duration = Duration::from_secs(5);
/// The size of each relayed message's payload, as in a small candidate.
pub const PAYLOAD_BYTES: usize = 160;

/// Two sockets in a room of their own, each knowing how to address the other.
pub struct Pair {
    pub a: Socket,
    pub b: Socket,
    pub a_id: String,
    pub b_id: String,
}

/// Writes one relayed message to `to` carrying `payload`, in the relay's protocol.
pub type MessageFor = Arc<dyn Fn(&str, &str) -> String + Send + Sync>;

/// What one load measured.
pub struct Measured {
    /// CPU µs per delivered message, one per reader given to [`run_load`].
    pub cpu_per_message: Vec<f64>,
    /// Send-to-arrival times, µs.
    pub p50: f64,
    pub p99: f64,
    /// Delivered messages as a share of those sent.
    pub delivered: f64,
}

/// Every socket sends to its partner at `offered / (2 * pairs)` messages a
/// second for [`LOAD_TIME`]; `cpu` reads each process's CPU time so far.
/// Returns the figures and the pairs, for the next load.
pub async fn run_load(
    pairs: Vec<Pair>,
    offered: u32,
    message: MessageFor,
    cpu: &[&dyn Fn() -> Duration],
) -> (Measured, Vec<Pair>) {
    let count = pairs.len();
    let per_socket = f64::from(offered) / (2 * count) as f64;
    let interval = Duration::from_secs_f64(1.0 / per_socket);
    let epoch = Instant::now();
    let measuring = Arc::new(AtomicBool::new(false));
    let delivered = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<u32>::new()));
    let settle = Duration::from_secs(1);
    let end = epoch + settle + LOAD_TIME;
    let ids: Vec<(String, String)> = pairs
        .iter()
        .map(|pair| (pair.a_id.clone(), pair.b_id.clone()))
        .collect();
    let mut tasks = Vec::new();
    for (index, pair) in pairs.into_iter().enumerate() {
        let Pair { a, b, a_id, b_id } = pair;
        for (socket, to, offset) in [(a, b_id.clone(), 0.0), (b, a_id.clone(), 0.5)] {
            let (measuring, delivered, sent, latencies, message) = (
                measuring.clone(),
                delivered.clone(),
                sent.clone(),
                latencies.clone(),
                message.clone(),
            );
            // Spread the sockets' ticks over the interval.
            let phase = interval.mul_f64(((index as f64 + offset) / count as f64).fract());
            tasks.push(tokio::spawn(async move {
                let (mut sink, mut stream) = socket.split();
                let mut tick = tokio::time::interval_at((epoch + phase).into(), interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let padding = "x".repeat(PAYLOAD_BYTES - 24);
                let mut own = Vec::new();
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep_until(end.into()) => break,
                        _ = tick.tick() => {
                            let micros = epoch.elapsed().as_micros();
                            let payload = format!("t{micros:020}{padding}");
                            if sink.send(Message::text(message(&to, &payload))).await.is_err() {
                                break;
                            }
                            if measuring.load(Ordering::Relaxed) {
                                sent.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        frame = stream.next() => match frame {
                            Some(Ok(Message::Text(text))) => {
                                // Socket.IO's ping ("2") wants its pong ("3").
                                if text.as_str() == "2" {
                                    let _ = sink.send(Message::text("3")).await;
                                } else if let Some(at) = text.find("\"p\":\"t") {
                                    let digits = text.get(at + 6..at + 26).unwrap_or("");
                                    if let (Ok(then), true) = (digits.parse::<u128>(), measuring.load(Ordering::Relaxed)) {
                                        delivered.fetch_add(1, Ordering::Relaxed);
                                        let took = epoch.elapsed().as_micros().saturating_sub(then);
                                        own.push(u32::try_from(took).unwrap_or(u32::MAX));
                                    }
                                }
                            }
                            Some(Ok(_)) => {}
                            _ => break,
                        },
                    }
                }
                if let Ok(mut all) = latencies.lock() {
                    all.extend(own);
                }
                sink.reunite(stream).ok()
            }));
        }
    }
    tokio::time::sleep_until((epoch + settle).into()).await;
    let before: Vec<Duration> = cpu.iter().map(|read| read()).collect();
    measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep_until(end.into()).await;
    let used: Vec<Duration> = cpu
        .iter()
        .zip(&before)
        .map(|(read, before)| read().saturating_sub(*before))
        .collect();
    measuring.store(false, Ordering::Relaxed);
    let mut sockets = Vec::new();
    for task in tasks {
        if let Ok(Some(socket)) = task.await {
            sockets.push(socket);
        }
    }
    // The pairs put back together for the next load, in their order.
    let mut back = Vec::new();
    let mut iter = sockets.into_iter();
    for (a_id, b_id) in ids {
        if let (Some(a), Some(b)) = (iter.next(), iter.next()) {
            back.push(Pair { a, b, a_id, b_id });
        }
    }
    let delivered = delivered.load(Ordering::Relaxed).max(1) as f64;
    let sent = sent.load(Ordering::Relaxed).max(1) as f64;
    let mut all = latencies.lock().map(|all| all.clone()).unwrap_or_default();
    all.sort_unstable();
    let at = |q: f64| {
        f64::from(
            all.get(((all.len().max(1) - 1) as f64 * q) as usize)
                .copied()
                .unwrap_or(0),
        )
    };
    let measured = Measured {
        cpu_per_message: used
            .iter()
            .map(|used| used.as_secs_f64() * 1e6 / delivered)
            .collect(),
        p50: at(0.50),
        p99: at(0.99),
        delivered: delivered / sent,
    };
    (measured, back)
}
