//! A call between two windows through the signaling server (steps 07 on).

use std::time::Duration;

use videochat::server::Server;

use super::browser::{BrowserTurn, Page};

/// Long enough for a page to react on a loaded machine.
pub const QUICK: Duration = Duration::from_secs(10);
/// ICE checks and the DTLS handshake on loopback.
pub const CONNECTING: Duration = Duration::from_secs(20);

/// Opens Alice's and Bob's windows of `server` and waits until each page's
/// signaling socket is open; no device is on yet.
pub async fn open_two<'t>(browser: &'t BrowserTurn, server: &Server) -> (Page<'t>, Page<'t>) {
    let alice = browser.open("alice", &server.url()).await;
    let bob = browser.open("bob", &server.url()).await;
    for page in [&alice, &bob] {
        page.wait_for_status("connected to the signaling server", QUICK)
            .await;
    }
    (alice, bob)
}

/// Opens two windows of `server`, turns their devices on, and has Alice
/// send the offer; returns once both see and hear each other.
pub async fn start_call<'t>(browser: &'t BrowserTurn, server: &Server) -> (Page<'t>, Page<'t>) {
    let (alice, bob) = open_two(browser, server).await;
    for page in [&alice, &bob] {
        page.turn_devices_on().await;
    }
    alice.click("#send-offer").await;
    alice.wait_for_status("connected", CONNECTING).await;
    bob.wait_for_status("connected: the connection state", CONNECTING)
        .await;
    expect_remote_media(&alice).await;
    expect_remote_media(&bob).await;
    (alice, bob)
}

/// Asserts `page` decodes the other side's video and receives its sound.
pub async fn expect_remote_media(page: &Page<'_>) {
    page.expect_video_playing("#remote-video").await;
    page.expect_inbound_growing("video", "framesDecoded").await;
    page.expect_inbound_growing("audio", "totalSamplesReceived")
        .await;
}

/// Whether the `<video>` and `<audio>` of the other side are empty.
pub const REMOTE_MEDIA_CLEARED: &str =
    "return document.getElementById('remote-video').srcObject === null \
     && document.getElementById('remote-audio').srcObject === null;";

/// Asserts that `page` has exactly `count` open connections and that on each
/// of them decoded video frames and received audio samples keep growing: in a
/// mesh every member must be heard and seen, not just one of them.
pub async fn expect_media_from_each(page: &Page<'_>, count: usize) {
    for (kind, counter) in [
        ("video", "framesDecoded"),
        ("audio", "totalSamplesReceived"),
    ] {
        let before = page
            .eval(
                "return (await window.__probe.inboundEach(arguments[0])).map((one) => one[arguments[1]]);",
                vec![kind.into(), counter.into()],
            )
            .await;
        let connections = before.as_array().map_or(0, Vec::len);
        assert_eq!(connections, count, "open connections with {kind}");
        let condition = format!(
            "const before = {before}; \
             const now = (await window.__probe.inboundEach({kind:?})).map((one) => one[{counter:?}]); \
             return now.length === before.length && now.every((n, i) => n > before[i]) && now;"
        );
        page.wait_for(
            &format!("inbound {kind} {counter} to grow on each of {count} connections"),
            &condition,
            Duration::from_secs(20),
        )
        .await;
    }
}
