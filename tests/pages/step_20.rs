//! Step 20: media through the server's SFU. Five people in one room (one of
//! them in Firefox) each see and hear the four others over one connection;
//! a leaver's tile goes, a latecomer's picture reaches everyone, a camera
//! turned off and on again is seen so by everyone; a page uploads one copy
//! of its video whatever the room's size; chat, the speaking ring, screen
//! sharing, the camera picker and a cut signaling socket still work.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use videochat::steps;

use crate::common;
use common::browser::{browser, browser_with, firefox, BrowserTurn, Page};
use common::call::{CONNECTING, QUICK};
use common::cut::{client_ports_to, cut};
use common::deadline::run;
use common::rooms::{expect_last_chat_line, join_with_devices};

/// How long a leaver's tile may stay: the server's `leave` is immediate.
const TILE_GONE_WITHIN: Duration = Duration::from_secs(5);
/// How long a newcomer's picture may take to reach the others, from the
/// moment its camera is on (it joined a moment before): its offer, the
/// SFU's offers to everyone, ICE and DTLS, and the keyframe the SFU asks
/// its browser for as each subscription opens.
const LATECOMER_SEEN_WITHIN: Duration = Duration::from_secs(15);
/// A page's reconnect: its first attempt comes after 1 s, then 2, 4, 8.
const RECONNECTING: Duration = Duration::from_secs(20);

/// Waits until `page` shows a tile for each of `names`, each receiving
/// video frames and sound through the server, and returns the counters.
async fn expect_media_from(page: &Page<'_>, names: &[&str], timeout: Duration) -> Value {
    let mut wanted: Vec<&str> = names.to_vec();
    wanted.sort();
    let first = page
        .wait_for(
            &format!("tiles for {wanted:?}, each with video frames and sound"),
            &format!(
                "const video = await window.__probe.inboundByTile('video'); \
                 const audio = await window.__probe.inboundByTile('audio'); \
                 const flowing = {}.every((n) => video[n] && video[n].framesDecoded > 0 \
                   && audio[n].totalSamplesReceived > 0); \
                 return flowing && {{ video, audio }};",
                json!(wanted)
            ),
            timeout,
        )
        .await;
    // And still growing: every tile's picture and sound keep arriving.
    page.wait_for(
        "every tile's frames and samples to grow",
        &format!(
            "const before = {first}; \
             const video = await window.__probe.inboundByTile('video'); \
             const audio = await window.__probe.inboundByTile('audio'); \
             return {}.every((n) => video[n] && \
               video[n].framesDecoded > before.video[n].framesDecoded && \
               audio[n].totalSamplesReceived > before.audio[n].totalSamplesReceived);",
            json!(wanted)
        ),
        QUICK,
    )
    .await;
    first
}

/// Asserts `page` shows the tiles of `names` and no other.
async fn expect_tiles(page: &Page<'_>, names: &[&str]) {
    let mut wanted: Vec<&str> = names.to_vec();
    wanted.sort();
    let shown = page
        .eval(
            "return [...document.querySelectorAll('#peers .peer .peer-name')].map((n) => n.textContent).sort();",
            vec![],
        )
        .await;
    assert_eq!(shown, json!(wanted), "{}: tiles", page.name());
}

/// Asserts `page` has one open RTCPeerConnection, to the server.
async fn expect_one_connection(page: &Page<'_>) {
    let open = page
        .eval(
            "return window.__probe.peerConnections.filter((pc) => pc.connectionState !== 'closed').length;",
            vec![],
        )
        .await;
    assert_eq!(open, json!(1), "{}: open RTCPeerConnections", page.name());
}

/// Waits until the `<video>` of `name`'s tile on `page` presents 10 frames
/// within 3 s (a picture a person sees moving), and returns what it saw.
async fn expect_tile_video_playing(page: &Page<'_>, name: &str) -> Value {
    page.wait_for(
        &format!("the video of {name}'s tile to present 10 frames within 3 s"),
        &format!(
            "{} \
             if (!tile) return false; \
             tile.querySelector('video').id = 'tile-under-test'; \
             const seen = await window.__probe.videoFrames('#tile-under-test', 10, 3000); \
             tile.querySelector('video').removeAttribute('id'); \
             return seen.frames >= 10 && seen.width > 0 && seen;",
            find_tile(name)
        ),
        QUICK + QUICK,
    )
    .await
}

/// A script line that sets `tile` to the tile named `name` (or undefined).
fn find_tile(name: &str) -> String {
    format!(
        "const tile = [...document.querySelectorAll('#peers .peer')] \
           .find((t) => t.querySelector('.peer-name').textContent === {});",
        json!(name)
    )
}

/// A condition: `name`'s tile has `data-{flag}` set to `value`.
fn tile_says(name: &str, flag: &str, value: &str) -> String {
    format!(
        "{} return tile && tile.dataset[{}] === {};",
        find_tile(name),
        json!(flag),
        json!(value)
    )
}

/// A condition: `name`'s tile has (or has not) the class `class`.
fn tile_has_class(name: &str, class: &str, has: bool) -> String {
    format!(
        "{} return Boolean(tile) && tile.classList.contains({}) === {has};",
        find_tile(name),
        json!(class)
    )
}

/// How many video streams `page` sends, and their bytes a second over 3 s.
async fn upload(page: &Page<'_>) -> Value {
    page.eval(
        "const before = await window.__probe.outbound('video'); \
         const start = performance.now(); \
         await new Promise((resolve) => setTimeout(resolve, 3000)); \
         const after = await window.__probe.outbound('video'); \
         const seconds = (performance.now() - start) / 1000; \
         return { streams: after.streams, bytesPerSecond: (after.bytesSent - before.bytesSent) / seconds, \
                  limitedBy: after.limitedBy };",
        vec![],
    )
    .await
}

#[test]
fn five_people_each_see_and_hear_four_through_one_connection() {
    run(async {
        let chromium = browser().await;
        let gecko = firefox().await;
        let server = common::serve(steps::app20());
        let url = server.url();
        let names = ["Alice", "Bob", "Carol", "Dave", "Erin"];
        let mut pages = Vec::new();
        for name in names {
            let browser = if name == "Bob" { &gecko } else { &chromium };
            let page = browser.open(&name.to_lowercase(), &url).await;
            join_with_devices(&page, name, Some("r")).await;
            pages.push(page);
        }
        for (page, name) in pages.iter().zip(names) {
            let others: Vec<&str> = names.iter().copied().filter(|n| *n != name).collect();
            expect_media_from(page, &others, CONNECTING + CONNECTING).await;
            expect_tiles(page, &others).await;
            expect_one_connection(page).await;
        }
        // Frames presented on screen, not only decoded: in Chromium and in
        // Firefox, the tile of the one who joined next.
        expect_tile_video_playing(&pages[0], "Bob").await;
        expect_tile_video_playing(&pages[1], "Carol").await;
        assert_eq!(server.sfu_members(), 5);

        // Dave leaves: the others show three tiles.
        let dave = pages.remove(3);
        dave.click("#leave").await;
        let left = Instant::now();
        for page in &pages {
            page.wait_for(
                "Dave's tile to go",
                "return document.querySelectorAll('#peers .peer').length === 3 && \
                   ![...document.querySelectorAll('.peer-name')].some((n) => n.textContent === 'Dave');",
                TILE_GONE_WITHIN,
            )
            .await;
        }
        eprintln!("Dave's tile gone everywhere after {:?}", left.elapsed());
        dave.close().await;

        // Frank joins late: everyone gets his picture.
        let frank = chromium.open("frank", &url).await;
        join_with_devices(&frank, "Frank", Some("r")).await;
        let camera_on = Instant::now();
        for page in &pages {
            page.wait_for(
                "Frank's picture",
                "const video = await window.__probe.inboundByTile('video'); \
                 return video.Frank && video.Frank.framesDecoded > 0;",
                LATECOMER_SEEN_WITHIN,
            )
            .await;
        }
        eprintln!(
            "Frank's first frame everywhere {:?} after his camera came on",
            camera_on.elapsed()
        );
        expect_media_from(&frank, &["Alice", "Bob", "Carol", "Erin"], CONNECTING).await;
        pages.push(frank);

        // Carol turns her camera off, then on: every other tile of hers
        // says so, and her picture comes back for everyone.
        let carol = &pages[2];
        let others: Vec<&Page<'_>> = pages.iter().filter(|p| p.name() != carol.name()).collect();
        carol.set_device("camera", false).await;
        for page in &others {
            page.wait_for(
                "Carol's tile to say camera off",
                &tile_says("Carol", "camera", "off"),
                QUICK,
            )
            .await;
        }
        carol.set_device("camera", true).await;
        for page in &others {
            page.wait_for(
                "Carol's tile to say camera on",
                &tile_says("Carol", "camera", "on"),
                QUICK,
            )
            .await;
            expect_media_from(page, &["Carol"], QUICK).await;
        }
        for page in &pages {
            page.assert_no_uncaught_errors().await;
        }
    });
}

/// Opens `name`'s page at `url` and joins room "r" with every device off:
/// a member who only watches.
async fn join_watching<'t>(browser: &'t BrowserTurn, url: &str, name: &str) -> Page<'t> {
    let page = browser.open(&name.to_lowercase(), url).await;
    page.wait_for_status("type your name", QUICK).await;
    page.type_into("#username", name).await;
    page.type_into("#room", "r").await;
    page.click("#join").await;
    page.wait_for(
        "the chat screen",
        "return !document.getElementById('chat').hidden;",
        QUICK,
    )
    .await;
    page
}

#[test]
fn a_page_uploads_one_copy_of_its_video_for_two_watchers_or_four() {
    run(async {
        let chromium = browser().await;
        let server = common::serve(steps::app20());
        let url = server.url();
        let alice = chromium.open("alice", &url).await;
        join_with_devices(&alice, "Alice", Some("r")).await;
        let mut watchers = Vec::new();
        let mut upload_by_size = Vec::new();
        for name in ["Bob", "Carol", "Dave", "Erin"] {
            watchers.push(join_watching(&chromium, &url, name).await);
            if watchers.len() == 2 || watchers.len() == 4 {
                for watcher in &watchers {
                    expect_media_from(watcher, &["Alice"], CONNECTING).await;
                }
                upload_by_size.push((watchers.len(), upload(&alice).await));
            }
        }
        // One copy to the server whether two or four watch (a mesh page
        // sends one per member: twice as many bytes for four).
        eprintln!("Alice's video upload by number of watchers: {upload_by_size:?}");
        for (watching, sent) in &upload_by_size {
            assert_eq!(
                sent["streams"],
                json!(1),
                "video streams sent to {watching} watchers"
            );
        }
        let rate = |i: usize| {
            upload_by_size[i].1["bytesPerSecond"]
                .as_f64()
                .unwrap_or(0.0)
        };
        let ratio = rate(1) / rate(0);
        assert!(
            (0.67..1.5).contains(&ratio),
            "four watchers / two: {ratio:.2} ({upload_by_size:?})"
        );
    });
}

/// Alice (Chromium) and Bob (Firefox): chat lines both ways through the
/// server, and Alice's speaking ring on Bob's page, dark once her
/// microphone is off. Then step 19's recovery with the SFU: Alice's
/// signaling socket is cut under her (`ss -K`). Her page resumes its place
/// and, since an offer of the server's may have been lost meanwhile,
/// restarts ICE with the server: a new ICE username fragment, the same one
/// connection, and each keeps receiving the other's picture and sound.
#[test]
fn two_people_chat_see_who_speaks_and_survive_a_cut_socket() {
    run(async {
        let chromium = browser().await;
        let gecko = firefox().await;
        let server = common::serve(steps::app20());
        let url = server.url();
        let port = server.addr().port();
        let before = client_ports_to(port);
        let alice = chromium.open("alice", &url).await;
        alice
            .wait_for_status("connected to the signaling server", QUICK)
            .await;
        let alice_ports = client_ports_to(port).difference(&before).copied().collect();
        join_with_devices(&alice, "Alice", Some("r")).await;
        let bob = gecko.open("bob", &url).await;
        join_with_devices(&bob, "Bob", Some("r")).await;
        expect_media_from(&alice, &["Bob"], CONNECTING).await;
        expect_media_from(&bob, &["Alice"], CONNECTING).await;
        // Chat goes through the server now, both ways.
        alice.type_into("#message", "hello Bob").await;
        alice.click("#send-message").await;
        expect_last_chat_line(&bob, "Alice", "hello Bob").await;
        bob.type_into("#message", "hello Alice").await;
        bob.click("#send-message").await;
        expect_last_chat_line(&alice, "Bob", "hello Alice").await;
        // The speaking ring, read from each member's own receiver: Alice's
        // fake microphone lights her tile; with it off, the tile goes dark.
        bob.wait_for(
            "Alice's tile to light: she is speaking",
            &tile_has_class("Alice", "speaking", true),
            QUICK,
        )
        .await;
        alice.set_device("microphone", false).await;
        bob.wait_for(
            "Alice's tile to say microphone off",
            &tile_says("Alice", "microphone", "off"),
            QUICK,
        )
        .await;
        bob.wait_for(
            "Alice's tile to go dark",
            &tile_has_class("Alice", "speaking", false),
            QUICK,
        )
        .await;
        alice.set_device("microphone", true).await;
        expect_media_from(&bob, &["Alice"], QUICK).await;

        let ufrag = "return /a=ice-ufrag:(\\S+)/.exec(window.__probe.peerConnections \
                     .find((pc) => pc.connectionState !== 'closed').localDescription.sdp)[1];";
        let first = alice.eval(ufrag, vec![]).await;

        cut(&alice_ports, port);
        alice
            .wait_for_status("back in room \"r\", media kept", RECONNECTING)
            .await;
        alice
            .wait_for(
                "a new ICE username fragment, through an ICE restart",
                &format!("const now = (() => {{ {ufrag} }})(); return now !== {first} && now;"),
                QUICK,
            )
            .await;
        expect_media_from(&alice, &["Bob"], QUICK).await;
        expect_media_from(&bob, &["Alice"], QUICK).await;
        expect_one_connection(&alice).await;
        expect_one_connection(&bob).await;
        for page in [&alice, &bob] {
            page.assert_no_uncaught_errors().await;
        }
    });
}

/// Step 18's screen sharing and camera picker through the SFU: the shared
/// screen takes the camera's place on the same sender (no renegotiation),
/// so Bob's tile of Alice turns wide (the fake screen is 16:9, the fake
/// camera 4:3), says she shares her screen, and turns back when she stops;
/// another camera from the picker goes out on the same sender too.
#[test]
fn a_shared_screen_and_another_camera_reach_the_others() {
    run(async {
        let chromium = browser_with(&[
            "--use-fake-device-for-media-stream=device-count=3".to_string(),
            "--auto-select-desktop-capture-source=Entire screen".to_string(),
            "--screen-info={1280x720}".to_string(),
        ])
        .await;
        let server = common::serve(steps::app20());
        let url = server.url();
        let alice = chromium.open("alice", &url).await;
        join_with_devices(&alice, "Alice", Some("r")).await;
        let bob = join_watching(&chromium, &url, "Bob").await;
        expect_media_from(&bob, &["Alice"], CONNECTING).await;
        let offers_before = alice.logged("sent media-offer", 0.0).await.len();

        for (click, shape, flags) in [
            ("share", "wide", "sharing their screen"),
            ("stop", "camera", ""),
        ] {
            alice.click("#share-screen").await;
            bob.wait_for(
                &format!("Alice's picture to be {shape} after {click}"),
                &format!(
                    "{} \
                     const v = tile && tile.querySelector('video'); \
                     if (!v || v.videoWidth === 0) return false; \
                     const ratio = v.videoWidth / v.videoHeight; \
                     const shape = Math.abs(ratio - 16 / 9) < 0.05 ? 'wide' : Math.abs(ratio - 4 / 3) < 0.05 ? 'camera' : 'other'; \
                     return shape === {} && tile.querySelector('.peer-flags').textContent === {} && `${{v.videoWidth}}x${{v.videoHeight}}`;",
                    find_tile("Alice"),
                    json!(shape),
                    json!(flags)
                ),
                QUICK,
            )
            .await;
            expect_tile_video_playing(&bob, "Alice").await;
        }
        // Another camera, from the picker: the same sender carries it.
        let third = alice
            .eval(
                "return document.querySelectorAll('#camera-select option')[2]?.value ?? null;",
                vec![],
            )
            .await;
        alice
            .choose_option("#camera-select", third.as_str().unwrap_or_default())
            .await;
        alice
            .wait_for(
                "the camera fake_device_2 to be sent",
                "const pc = window.__probe.peerConnections.find((pc) => pc.connectionState === 'connected'); \
                 const track = pc && pc.getSenders().find((s) => s.track && s.track.kind === 'video')?.track; \
                 return track && track.label === 'fake_device_2' && track.readyState === 'live';",
                QUICK,
            )
            .await;
        expect_media_from(&bob, &["Alice"], QUICK).await;
        // The screen and the other camera went out on the sender the
        // camera had: no new offer.
        assert_eq!(
            alice.logged("sent media-offer", 0.0).await.len(),
            offers_before,
            "Alice renegotiated to share her screen or switch cameras"
        );
        for page in [&alice, &bob] {
            page.assert_no_uncaught_errors().await;
        }
    });
}
