//! Steps 07-10: signaling through the server, in a real headless Chromium.

mod common;

#[allow(dead_code)]
#[path = "../examples/app07.rs"]
mod app07;
#[allow(dead_code)]
#[path = "../examples/app08.rs"]
mod app08;

use std::time::{Duration, Instant};

use common::browser::{browser, run, BrowserTurn, Page};
use videochat::server::Server;

const QUICK: Duration = Duration::from_secs(10);
const CONNECTING: Duration = Duration::from_secs(20);

/// Opens two windows of `server`, turns their devices on, and has Alice
/// send the offer; returns once both see and hear each other.
async fn start_call<'t>(browser: &'t BrowserTurn, server: &Server) -> (Page<'t>, Page<'t>) {
    let alice = browser.open("alice", &server.url()).await;
    let bob = browser.open("bob", &server.url()).await;
    for page in [&alice, &bob] {
        page.wait_for_status("connected to the signaling server", QUICK)
            .await;
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
async fn expect_remote_media(page: &Page<'_>) {
    page.expect_video_playing("#remote-video").await;
    page.expect_inbound_growing("video", "framesDecoded").await;
    page.expect_inbound_growing("audio", "totalSamplesReceived")
        .await;
}

/// Step 07: one press of "Send offer" connects both windows through the server,
/// with video and sound both ways.
#[test]
fn app07_offer_and_answer_travel_through_the_server() {
    run(async {
        let browser = browser().await;
        let server = common::serve(app07::step());
        let (alice, bob) = start_call(&browser, &server).await;
        alice.assert_no_uncaught_errors().await;
        bob.assert_no_uncaught_errors().await;
    });
}

/// Whether the `<video>` and `<audio>` of the other side are empty.
const REMOTE_MEDIA_CLEARED: &str =
    "return document.getElementById('remote-video').srcObject === null \
     && document.getElementById('remote-audio').srcObject === null;";

/// Step 08: Leave clears the leaver's remote media at once; the other side
/// clears its own when its connection state reports the loss.
#[test]
fn app08_leave_clears_both_sides() {
    run(async {
        let browser = browser().await;
        let server = common::serve(app08::step());
        let (alice, bob) = start_call(&browser, &server).await;

        alice.click("#leave").await;
        // At once: checked in the same breath as the click, with no waiting.
        assert_eq!(
            alice.eval(REMOTE_MEDIA_CLEARED, vec![]).await,
            serde_json::json!(true)
        );
        alice.wait_for_status("you left", QUICK).await;

        // By itself, through its connection state (ICE consent runs out in seconds).
        let left = Instant::now();
        bob.wait_for(
            "the remote media to clear",
            REMOTE_MEDIA_CLEARED,
            Duration::from_secs(45),
        )
        .await;
        bob.wait_for_status("the other side left", QUICK).await;
        eprintln!("bob noticed the leave after {:?}", left.elapsed());
        alice.assert_no_uncaught_errors().await;
        bob.assert_no_uncaught_errors().await;
    });
}
