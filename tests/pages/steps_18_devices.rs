//! Step 18: choosing the camera and sharing the screen, in headless Chromium.
//! (The mute and speaking indicators are tested in each pairing of engines in
//! `steps_18_indicators.rs`.)
//!
//! This binary's Chromium has three fake cameras (`device-count=3`), so
//! switching is between two devices: "fake_device_0" and "fake_device_2".
//! (The second, "fake_device_1", is a fake depth camera: a `<video>` shows
//! it, but its frames never reach the encoder, so the other side would see
//! the picture freeze.) It also has a 16:9 screen (`--screen-info`), so a
//! shared screen is told from the 4:3 camera by its shape at the other end,
//! whatever size the encoder chose; and it picks the entire screen for
//! `getDisplayMedia` without asking.

use crate::common;
use videochat::steps;

use std::time::Duration;

use common::browser::{browser_with, BrowserTurn, Page};
use common::call::QUICK;
use common::deadline::run;
use common::rooms::{
    alice_and_bob_in_room, join_room, join_with_devices, leave_and_expect_every_device_off,
};
use serde_json::{json, Value as Json};

/// How soon Bob's tile must say that Alice shares her screen.
const TOLD: Duration = Duration::from_secs(2);

async fn chromium() -> BrowserTurn {
    browser_with(&[
        "--use-fake-device-for-media-stream=device-count=3".to_string(),
        "--auto-select-desktop-capture-source=Entire screen".to_string(),
        "--screen-info={1280x720}".to_string(),
    ])
    .await
}

/// Alice and Bob in one room with their devices on, each seeing the other.
async fn in_a_call<'t>(browser: &'t BrowserTurn, url: &str, room: &str) -> (Page<'t>, Page<'t>) {
    let (alice, bob) = alice_and_bob_in_room(browser, browser, url, room).await;
    alice.expect_video_playing(".peer video").await;
    bob.expect_video_playing(".peer video").await;
    (alice, bob)
}

/// The page's one open connection: how many transceivers it has, and the
/// label of the video track it sends.
async fn sending(page: &Page<'_>) -> Json {
    page.eval(
        "const open = window.__probe.peerConnections.filter((pc) => pc.connectionState !== 'closed');
         return open.map((pc) => ({
           transceivers: pc.getTransceivers().length,
           video: pc.getSenders().find((s) => s.track && s.track.kind === 'video')?.track.label ?? null,
         }));",
        vec![],
    )
    .await
}

/// Waits until `page` sends the video track labelled `label` on its connection.
async fn wait_until_sending(page: &Page<'_>, label: &str) {
    let condition = format!(
        "const pc = window.__probe.peerConnections.find((pc) => pc.connectionState === 'connected');
         const track = pc && pc.getSenders().find((s) => s.track && s.track.kind === 'video')?.track;
         return track && track.label === {} && track.readyState === 'live';",
        json!(label)
    );
    page.wait_for(&format!("the camera {label} to be sent"), &condition, QUICK)
        .await;
}

/// Switching the camera mid-call, from the picker and with Switch camera,
/// replaces the picture the other side receives: their frames keep coming,
/// no transceiver is added on either side, and only one camera stays open.
#[test]
fn app18_switching_camera_mid_call_keeps_frames_and_transceivers() {
    run(async {
        let browser = chromium().await;
        let server = common::serve(steps::app18());
        let (alice, bob) = in_a_call(&browser, &server.url(), "switch").await;

        let cameras = alice
            .eval(
                "return [...document.querySelectorAll('#camera-select option')].map((o) => [o.value, o.textContent]);",
                vec![],
            )
            .await;
        let cameras = cameras.as_array().cloned().unwrap_or_default();
        assert_eq!(
            cameras.len(),
            3,
            "the picker lists the fake cameras: {cameras:?}"
        );
        let before_alice = sending(&alice).await;
        let before_bob = sending(&bob).await;
        assert_eq!(before_alice[0]["video"], json!("fake_device_0"));
        assert!(
            alice
                .eval(
                    "return !document.getElementById('switch-camera').hidden;",
                    vec![]
                )
                .await
                == json!(true),
            "Switch camera is offered with more than one camera"
        );

        let other = cameras[2][0].as_str().unwrap_or_default().to_string();
        alice.choose_option("#camera-select", &other).await;
        wait_until_sending(&alice, "fake_device_2").await;
        bob.expect_inbound_growing("video", "framesDecoded").await;

        // The next camera after the last is the first again.
        alice.click("#switch-camera").await;
        wait_until_sending(&alice, "fake_device_0").await;
        bob.expect_inbound_growing("video", "framesDecoded").await;

        for (page, before) in [(&alice, before_alice), (&bob, before_bob)] {
            let after = sending(page).await;
            assert_eq!(
                after[0]["transceivers"],
                before[0]["transceivers"],
                "{}: transceivers before {before} and after {after}",
                page.name()
            );
        }
        let live_cameras = alice
            .eval(
                "return window.__probe.tracks.filter((t) => t.kind === 'video' && t.readyState === 'live').length;",
                vec![],
            )
            .await;
        assert_eq!(
            live_cameras,
            json!(1),
            "the cameras switched from are stopped"
        );
        alice.assert_no_uncaught_errors().await;
    });
}

/// The shape of the picture Bob's tile for Alice shows, once it is `wanted`
/// ("wide": 16:9, the screen; "camera": 4:3), with frames still arriving.
async fn expect_picture_shape(bob: &Page<'_>, wanted: &str) {
    let condition = format!(
        "const v = document.querySelector('.peer video');
         if (!v || v.videoWidth === 0) return false;
         const ratio = v.videoWidth / v.videoHeight;
         const shape = Math.abs(ratio - 16 / 9) < 0.05 ? 'wide' : Math.abs(ratio - 4 / 3) < 0.05 ? 'camera' : 'other';
         return shape === {} && `${{v.videoWidth}}x${{v.videoHeight}}`;",
        json!(wanted)
    );
    bob.wait_for(
        &format!("Alice's picture to be {wanted}"),
        &condition,
        QUICK,
    )
    .await;
    bob.expect_inbound_growing("video", "framesDecoded").await;
}

/// Sharing the screen replaces the camera at the other end (a picture of a
/// different shape, on the same transceiver), is not mirrored locally, and
/// stopping it brings the camera back, mirrored again.
#[test]
fn app18_screen_sharing_replaces_the_camera_and_the_camera_returns() {
    run(async {
        let browser = chromium().await;
        let server = common::serve(steps::app18());
        let (alice, bob) = in_a_call(&browser, &server.url(), "share").await;
        let before = sending(&alice).await;
        expect_picture_shape(&bob, "camera").await;
        let mirrored =
            "return document.getElementById('local-video').classList.contains('mirrored');";
        assert_eq!(
            alice.eval(mirrored, vec![]).await,
            json!(true),
            "own camera mirrored"
        );

        alice.click("#share-screen").await;
        expect_picture_shape(&bob, "wide").await;
        assert_eq!(
            alice.eval(mirrored, vec![]).await,
            json!(false),
            "a shared screen is not mirrored"
        );
        assert_eq!(alice.text("#share-screen").await, "Stop sharing");
        assert_eq!(
            sending(&alice).await[0]["transceivers"],
            before[0]["transceivers"]
        );
        // Bob's tile says what it shows.
        bob.wait_for(
            "Alice's tile to say she shares her screen",
            "return document.querySelector('.peer .peer-flags').textContent.includes('sharing their screen');",
            TOLD,
        )
        .await;

        alice.click("#share-screen").await;
        expect_picture_shape(&bob, "camera").await;
        wait_until_sending(&alice, "fake_device_0").await;
        assert_eq!(
            alice.eval(mirrored, vec![]).await,
            json!(true),
            "the camera is mirrored again"
        );
        assert_eq!(alice.text("#share-screen").await, "Share screen");
        alice.assert_no_uncaught_errors().await;
    });
}

/// Step 18: Leave ends the shared screen as well as the camera and the
/// microphone: the Share screen button is on the chat screen that Leave
/// hides, and the browser's sharing indicator would otherwise stay on.
#[test]
fn app18_leave_ends_the_shared_screen_and_every_device() {
    run(async {
        let browser = chromium().await;
        let server = common::serve(steps::app18());
        let alice = join_room(&browser, &server.url(), "Alice", "leaving").await;
        alice.click("#share-screen").await;
        alice
            .wait_for(
                "the screen to be shared",
                "return window.__probe.screenTracks.some((t) => t.readyState === 'live');",
                QUICK,
            )
            .await;
        leave_and_expect_every_device_off(&alice, 3).await;
        assert_eq!(alice.text("#share-screen").await, "Share screen");
        alice.assert_no_uncaught_errors().await;
    });
}

/// The options a picker lists, as (device id, label) pairs.
async fn options(page: &Page<'_>, select: &str) -> Vec<Json> {
    page.eval(
        "return [...document.querySelectorAll(arguments[0] + ' option')].map((o) => [o.value, o.textContent]);",
        vec![json!(select)],
    )
    .await
    .as_array()
    .cloned()
    .unwrap_or_default()
}

/// The microphone picker switches the microphone mid-call (the other side's
/// sound keeps arriving, no transceiver is added), and a camera plugged in
/// during the call appears in the camera picker, with Switch camera, as soon
/// as the browser says so (`devicechange`). The probe lists one camera only
/// until it "plugs in" the others and fires the event.
#[test]
fn app18_microphone_picker_and_a_camera_plugged_in_mid_call() {
    run(async {
        let browser = chromium().await;
        let server = common::serve(steps::app18());
        let url = server.url();
        let alice = browser.open("alice", &url).await;
        alice
            .eval("window.__probe.unplug('videoinput');", vec![])
            .await;
        let bob = browser.open("bob", &url).await;
        // Both join, Alice with one camera listed.
        join_with_devices(&alice, "Alice", Some("pickers")).await;
        join_with_devices(&bob, "Bob", Some("pickers")).await;
        alice.expect_video_playing(".peer video").await;
        bob.expect_video_playing(".peer video").await;

        // The microphone: every fake one listed, and switching keeps sound flowing.
        let microphones = options(&alice, "#microphone-select").await;
        assert!(
            microphones.len() >= 2,
            "the picker lists the fake microphones: {microphones:?}"
        );
        let before = sending(&alice).await;
        let in_use = alice.value("#microphone-select").await;
        let other = microphones
            .iter()
            .filter_map(|option| option[0].as_str())
            .find(|id| *id != in_use)
            .unwrap_or_default()
            .to_string();
        alice.choose_option("#microphone-select", &other).await;
        alice
            .wait_for(
                "the chosen microphone to be sent",
                &format!(
                    "const pc = window.__probe.peerConnections.find((pc) => pc.connectionState === 'connected');
                     const track = pc && pc.getSenders().find((s) => s.track && s.track.kind === 'audio')?.track;
                     return track && track.readyState === 'live' && track.getSettings().deviceId === {};",
                    json!(other)
                ),
                QUICK,
            )
            .await;
        bob.expect_inbound_growing("audio", "totalSamplesReceived")
            .await;
        let live_microphones = alice
            .eval(
                "return window.__probe.tracks.filter((t) => t.kind === 'audio' && t.readyState === 'live').length;",
                vec![],
            )
            .await;
        assert_eq!(
            live_microphones,
            json!(1),
            "only the chosen microphone is open"
        );
        assert_eq!(
            sending(&alice).await[0]["transceivers"],
            before[0]["transceivers"]
        );

        // One camera listed, no Switch camera; then two more are plugged in.
        assert_eq!(options(&alice, "#camera-select").await.len(), 1);
        assert_eq!(
            alice
                .eval(
                    "return document.getElementById('switch-camera').hidden;",
                    vec![]
                )
                .await,
            json!(true)
        );
        alice.eval("window.__probe.plugIn();", vec![]).await;
        alice
            .wait_for(
                "the plugged-in cameras in the picker, and Switch camera shown",
                "return document.querySelectorAll('#camera-select option').length === 3 \
                   && !document.getElementById('switch-camera').hidden;",
                QUICK,
            )
            .await;
        alice.assert_no_uncaught_errors().await;
        bob.assert_no_uncaught_errors().await;
    });
}
