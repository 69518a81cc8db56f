//! Steps 11-14: data channel chat, mid-call device changes, the leave
//! notice, and media from the answering side only; in headless Chromium.

use crate::common;
use videochat::steps;

use common::browser::{Engine, Page};
use common::call::{open_two, start_call, Pair, CONNECTING, QUICK, REMOTE_MEDIA_CLEARED};
use serde_json::json;

/// The chat log of `page` as (who, text) pairs, read from the DOM.
async fn chat_lines(page: &Page<'_>) -> serde_json::Value {
    page.eval(
        "return [...document.querySelectorAll('#messages li')].map(li => \
           [li.querySelector('.who').textContent, li.querySelector('.text').textContent]);",
        vec![],
    )
    .await
}

/// Waits until `page`'s chat log has `count` lines.
async fn wait_for_chat_lines(page: &Page<'_>, count: usize) {
    let condition = format!("return document.querySelectorAll('#messages li').length >= {count};");
    page.wait_for(&format!("{count} chat lines"), &condition, QUICK)
        .await;
}

/// Step 11: text goes both ways over the data channel (Enter and the button),
/// non-ASCII and markup arrive literally, and empty text is not sent.
async fn app11_chat_both_ways_literally(alice: Engine, bob: Engine) {
    let pair = Pair::take(alice, bob).await;
    let server = common::serve(steps::app11());
    let (alice, bob) = start_call(&pair, &server).await;
    alice
        .wait_for(
            "the chat to open",
            "return !document.getElementById('message').disabled;",
            QUICK,
        )
        .await;
    bob.wait_for(
        "the chat to open",
        "return !document.getElementById('message').disabled;",
        QUICK,
    )
    .await;

    let tricky = "Grüße, 世界 👋 <b>not bold</b> <img src=x onerror=\"window.__pwned=1\">";
    // Enter sends. (WebDriver's Enter key: Firefox types "\n" as text.)
    alice
        .type_into("#message", &format!("{tricky}\u{E007}"))
        .await;
    wait_for_chat_lines(&bob, 1).await;
    assert_eq!(chat_lines(&bob).await, json!([["Peer", tricky]]));
    assert_eq!(chat_lines(&alice).await, json!([["You", tricky]]));
    assert_eq!(
        alice.value("#message").await,
        "",
        "the field is cleared after sending"
    );

    // The button sends too; blank text is not sent at all.
    bob.type_into("#message", "   ").await;
    bob.click("#send-message").await;
    bob.type_into("#message", "reply from bob").await;
    bob.click("#send-message").await;
    wait_for_chat_lines(&alice, 2).await;
    assert_eq!(
        chat_lines(&alice).await,
        json!([["You", tricky], ["Peer", "reply from bob"]])
    );

    for page in [&alice, &bob] {
        let markup = page
            .eval(
                "return [document.querySelectorAll('#messages b, #messages img').length, window.__pwned ?? null];",
                vec![],
            )
            .await;
        assert_eq!(markup, json!([0, null]), "chat text was parsed as HTML");
        page.assert_no_uncaught_errors().await;
    }
}
crate::in_each_pairing!(app11_chat_both_ways_literally);

/// Transceivers of the page's open connection (the count must not grow with toggles).
const TRANSCEIVERS: &str = "return window.__probe.peerConnections.filter(pc => pc.connectionState !== 'closed').at(-1).getTransceivers().length;";
/// Whether the page currently sends a camera track.
const SENDS_VIDEO: &str = "return window.__probe.peerConnections.at(-1).getSenders().some(s => s.track && s.track.kind === 'video');";
/// The open connection's signaling state.
const SIGNALING_STATE: &str = "return window.__probe.peerConnections.at(-1).signalingState;";

/// Unticks and ticks the camera of `page`, checking it stops sending in between.
async fn toggle_camera(page: &Page<'_>) {
    page.click("#camera").await;
    page.wait_for_status("camera is off", QUICK).await;
    page.wait_for(
        "the camera to stop being sent",
        &SENDS_VIDEO
            .replace("return ", "return !(")
            .replace(";", ");"),
        QUICK,
    )
    .await;
    page.click("#camera").await;
    page.wait_for_status("camera is on", QUICK).await;
    page.wait_for("the camera to be sent again", SENDS_VIDEO, QUICK)
        .await;
}

/// Step 12: either side turning its camera off and on resumes the picture at
/// the other side, without adding transceivers.
async fn app12_camera_off_and_on_resumes_at_the_peer_from_either_side(alice: Engine, bob: Engine) {
    let pair = Pair::take(alice, bob).await;
    let server = common::serve(steps::app12());
    let (alice, bob) = start_call(&pair, &server).await;
    let before = [
        alice.eval(TRANSCEIVERS, vec![]).await,
        bob.eval(TRANSCEIVERS, vec![]).await,
    ];

    for (toggler, viewer) in [(&alice, &bob), (&bob, &alice)] {
        for _ in 0..2 {
            toggle_camera(toggler).await;
            viewer
                .expect_inbound_growing("video", "framesDecoded")
                .await;
            viewer.expect_video_playing("#remote-video").await;
        }
    }
    let after = [
        alice.eval(TRANSCEIVERS, vec![]).await,
        bob.eval(TRANSCEIVERS, vec![]).await,
    ];
    assert_eq!(before, after, "toggling added transceivers");
    for page in [&alice, &bob] {
        assert_eq!(page.eval(SIGNALING_STATE, vec![]).await, json!("stable"));
        page.assert_no_uncaught_errors().await;
    }
}
crate::in_each_pairing!(app12_camera_off_and_on_resumes_at_the_peer_from_either_side);

/// What a real offer collision at step 12 is known to do where Chromium is
/// the polite side (Bob: the called side is polite at this step), observed
/// with [`KNOWN_BUGS_SEEN_WITH`]. Both are Chromium's, not the page's:
/// Firefox passes every variant, the pages follow the specification's
/// perfect negotiation, and the first reproduces on a page with none of the
/// project's code (`the_picture_freeze_reproduces_on_a_standalone_page`).
/// Chapter 12 describes them; the tests assert them, and check everything
/// else the page shows, so that they fail, and the note can go, the day
/// Chromium is mended.
#[derive(Debug, PartialEq)]
enum KnownGlareBug {
    /// Rolling back an offer that added a microphone leaves the `<video>`
    /// presenting no new frame, though frames are still decoded, and the
    /// sound's track (from the `track` event) muted.
    PictureFreezes,
    /// After rolling back an offer that added a camera, Chromium refuses
    /// Firefox's offer: "RTP extension ID reassignment not supported".
    RefusesFirefoxOffer,
}

/// The browser the known bugs were last observed with.
const KNOWN_BUGS_SEEN_WITH: &str = "Debian's Chromium 156.0.8078.114";

/// The browser version a page runs in, for the messages that say a known bug is gone.
async fn browser_version(page: &Page<'_>) -> String {
    let agent = page.eval("return navigator.userAgent;", vec![]).await;
    agent.as_str().unwrap_or("an unknown browser").to_string()
}

fn known_glare_bug(added: &str, alice: Engine, bob: Engine) -> Option<KnownGlareBug> {
    match (added, alice, bob) {
        ("microphone", _, Engine::Chromium) => Some(KnownGlareBug::PictureFreezes),
        ("camera", Engine::Firefox, Engine::Chromium) => Some(KnownGlareBug::RefusesFirefoxOffer),
        _ => None,
    }
}

/// Step 12, real glare: in a call with one device on, both sides turn on the
/// other device at once, one the call does not have yet, so each must
/// renegotiate; the probe holds each side's offer until both exist, so the
/// two offers cross for certain. Perfect negotiation must settle it: both end
/// stable, each `<video>` presents the other's picture (frames presented, not
/// only decoded), the sound is live and unmuted, and later camera toggles add
/// no transceivers. Where Chromium is known to fail, that failure is asserted.
async fn offers_cross(alice_engine: Engine, bob_engine: Engine, first: &str, added: &str) {
    let known_bug = known_glare_bug(added, alice_engine, bob_engine);
    let pair = Pair::take(alice_engine, bob_engine).await;
    let server = common::serve(steps::app12());
    let (alice, bob) = open_two(&pair, &server).await;
    for page in [&alice, &bob] {
        page.set_device(first, true).await;
    }
    alice.click("#send-offer").await;
    for page in [&alice, &bob] {
        page.wait_for_status("connected: the connection state", CONNECTING)
            .await;
    }

    for page in [&alice, &bob] {
        page.eval("window.__probe.holdOffers();", vec![]).await;
        page.set_device(added, true).await;
    }
    for page in [&alice, &bob] {
        page.wait_for(
            "its renegotiation offer to be made (and held)",
            "return window.__probe.heldOffers.length === 1;",
            QUICK,
        )
        .await;
    }
    for page in [&alice, &bob] {
        page.eval("return window.__probe.releaseOffers();", vec![])
            .await;
    }

    if known_bug == Some(KnownGlareBug::RefusesFirefoxOffer) {
        bob.wait_for(
            "Chromium to refuse Firefox's offer after its rollback",
            "return window.__probe.console.some((line) => line.includes('RTP extension ID reassignment not supported'));",
            CONNECTING,
        )
        .await;
        // The call goes on with what it had: the first device's sound.
        for page in [&alice, &bob] {
            page.expect_inbound_growing("audio", "totalSamplesReceived")
                .await;
            page.assert_no_uncaught_errors().await;
        }
        return;
    }
    for page in [&alice, &bob] {
        page.wait_for(
            "a stable signaling state with both devices sent",
            "const pc = window.__probe.peerConnections.at(-1); \
             const sent = pc.getSenders().filter((s) => s.track).length; \
             return pc.signalingState === 'stable' && sent === 2;",
            CONNECTING,
        )
        .await;
    }
    alice.expect_video_playing("#remote-video").await;
    if known_bug == Some(KnownGlareBug::PictureFreezes) {
        // Frames are decoded, and none is presented.
        bob.expect_inbound_growing("video", "framesDecoded").await;
        let counted = bob
            .eval(
                "return window.__probe.videoFrames('#remote-video', 10, 3000);",
                vec![],
            )
            .await;
        assert_eq!(
            counted["frames"],
            json!(0),
            "Chromium presents frames after a rollback again: the known bug, seen with {KNOWN_BUGS_SEEN_WITH}, is mended in {}",
            browser_version(&bob).await
        );
    } else {
        bob.expect_video_playing("#remote-video").await;
    }
    for page in [&alice, &bob] {
        page.expect_inbound_growing("audio", "totalSamplesReceived")
            .await;
        let frozen = known_bug == Some(KnownGlareBug::PictureFreezes) && page.name() == bob.name();
        let sound = page
            .eval(
                "const s = document.getElementById('remote-audio').srcObject; \
                 return (s ? s.getAudioTracks() : []).map((t) => ({ muted: t.muted, state: t.readyState }));",
                vec![],
            )
            .await;
        let live_and_unmuted = sound.as_array().is_some_and(|tracks| {
            !tracks.is_empty() && tracks.iter().all(|t| t["muted"] == json!(false))
        });
        if frozen {
            // The track mutes once no sound has reached it for a moment:
            // on a loaded machine that can come after the frozen picture.
            let version = browser_version(page).await;
            page.wait_for(
                &format!(
                    "the known bug, seen with {KNOWN_BUGS_SEEN_WITH}, to mute the sound as it did \
                     (if it never does in {version}, that part of the bug is mended)"
                ),
                "const s = document.getElementById('remote-audio').srcObject; \
                 const tracks = (s ? s.getAudioTracks() : []).map((t) => ({ muted: t.muted, state: t.readyState })); \
                 return JSON.stringify(tracks) === '[{\"muted\":true,\"state\":\"live\"}]' && tracks;",
                QUICK,
            )
            .await;
            continue;
        }
        assert!(
            live_and_unmuted,
            "{}: the remote sound is muted or missing: {sound}",
            page.name()
        );
    }

    let settled = [
        alice.eval(TRANSCEIVERS, vec![]).await,
        bob.eval(TRANSCEIVERS, vec![]).await,
    ];
    toggle_camera(&alice).await;
    toggle_camera(&bob).await;
    bob.expect_inbound_growing("video", "framesDecoded").await;
    alice.expect_inbound_growing("video", "framesDecoded").await;
    let after = [
        alice.eval(TRANSCEIVERS, vec![]).await,
        bob.eval(TRANSCEIVERS, vec![]).await,
    ];
    assert_eq!(settled, after, "toggling added transceivers");
    for page in [&alice, &bob] {
        assert_eq!(page.eval(SIGNALING_STATE, vec![]).await, json!("stable"));
        page.assert_no_uncaught_errors().await;
    }
}

/// Glare where both add a camera to a call with sound only.
async fn app12_crossing_offers_adding_cameras(alice: Engine, bob: Engine) {
    offers_cross(alice, bob, "microphone", "camera").await;
}
crate::in_each_pairing!(app12_crossing_offers_adding_cameras, and_firefox_pair);

/// Glare where both add a microphone to a call with pictures only.
async fn app12_crossing_offers_adding_microphones(alice: Engine, bob: Engine) {
    offers_cross(alice, bob, "camera", "microphone").await;
}
crate::in_each_pairing!(app12_crossing_offers_adding_microphones, and_firefox_pair);

/// The reproduction behind [`KnownGlareBug::PictureFreezes`], on a page with
/// none of the project's code (`tests/repro/chromium-rollback-freeze.html`:
/// two connections in one page, the same glare, settled by the
/// specification's pattern). In Chromium the polite side keeps decoding and
/// presents nothing; in Firefox both sides present frames. The day this
/// fails in Chromium, the bug is mended there and the known-bug branches of
/// `offers_cross` can go.
async fn the_picture_freeze_reproduces_on_a_standalone_page(engine: Engine) {
    let browser = engine.turn().await;
    let url = format!(
        "file://{}/tests/repro/chromium-rollback-freeze.html",
        env!("CARGO_MANIFEST_DIR")
    );
    let page = browser.open("repro", &url).await;
    let outcome = page
        .wait_for(
            "the reproduction's outcome",
            "return window.outcome;",
            CONNECTING,
        )
        .await;
    eprintln!("{}: {outcome}", page.name());
    let presented = |side: &str| outcome[side]["presented"].as_u64().unwrap_or(0);
    let decoded = |side: &str| outcome[side]["decoded"].as_u64().unwrap_or(0);
    assert_eq!(
        outcome["impolite"]["soundMuted"],
        json!([false]),
        "{outcome}"
    );
    assert!(
        presented("impolite") > 0,
        "the impolite side presented nothing: {outcome}"
    );
    assert!(
        decoded("polite") > 0,
        "the polite side decoded nothing: {outcome}"
    );
    match engine {
        Engine::Chromium => {
            assert_eq!(
                presented("polite"),
                0,
                "Chromium presents frames after the rollback: the bug seen with {KNOWN_BUGS_SEEN_WITH} is mended ({outcome})"
            );
            // The sound's track goes muted once its packets stop, which may
            // come after the page measured: wait for it on the live page.
            page.wait_for(
                "the polite side's sound track to be muted",
                "const tracks = document.getElementById('at-polite').srcObject.getAudioTracks(); \
                 const muted = tracks.map((track) => track.muted); \
                 return muted.length === 1 && muted[0] && muted;",
                QUICK,
            )
            .await;
        }
        Engine::Firefox => {
            assert!(presented("polite") > 0, "Firefox froze too: {outcome}");
            assert_eq!(outcome["polite"]["soundMuted"], json!([false]), "{outcome}");
        }
    }
}
crate::in_each_engine!(the_picture_freeze_reproduces_on_a_standalone_page);

/// How soon the peer must tear down after a leave (issue 5 asks for 3 s;
/// step 08 took about 8 s through the connection state alone).
const LEAVE_NOTICED: std::time::Duration = std::time::Duration::from_secs(3);

/// Step 13: Leave tells the peer, which clears its remote media within 3 s;
/// so does closing the tab.
async fn app13_leave_and_tab_close_reach_the_peer_at_once(alice: Engine, bob: Engine) {
    // Firefox, closing a tab, now and then (about one run in seven here)
    // drops the goodbye it was given in `pagehide`, on both paths; the peer
    // then notices through its connection state, as in step 08.
    let tab_close_noticed = if alice == Engine::Firefox {
        std::time::Duration::from_secs(45)
    } else {
        LEAVE_NOTICED
    };
    let pair = Pair::take(alice, bob).await;
    let server = common::serve(steps::app13());

    let (alice, bob) = start_call(&pair, &server).await;
    alice.click("#leave").await;
    bob.wait_for(
        "bob's remote media to clear",
        REMOTE_MEDIA_CLEARED,
        LEAVE_NOTICED,
    )
    .await;
    bob.wait_for_status("the other side left the call", QUICK)
        .await;
    alice.wait_for_status("you left", QUICK).await;
    assert_eq!(alice.eval(REMOTE_MEDIA_CLEARED, vec![]).await, json!(true));
    alice.assert_no_uncaught_errors().await;
    bob.assert_no_uncaught_errors().await;
    alice.close().await;
    bob.close().await;

    // A new call, ended by closing Alice's tab.
    let (alice, bob) = start_call(&pair, &server).await;
    alice.close().await;
    bob.wait_for(
        "bob's remote media to clear after the tab closed",
        REMOTE_MEDIA_CLEARED,
        tab_close_noticed,
    )
    .await;
    bob.wait_for_status("the other side left", QUICK).await;
    bob.assert_no_uncaught_errors().await;
}
crate::in_each_pairing!(app13_leave_and_tab_close_reach_the_peer_at_once);

/// Step 14: only the answering side turns its camera and microphone on, and
/// the offering side (no device at all) still decodes its video and receives
/// its sound; the same when the answering side turns them on mid-call.
async fn app14_media_from_the_answering_side_only(alice: Engine, bob: Engine) {
    let pair = Pair::take(alice, bob).await;
    let server = common::serve(steps::app14());
    let (alice, bob) = open_two(&pair, &server).await;
    bob.turn_devices_on().await;
    alice.click("#send-offer").await;
    alice
        .wait_for_status("connected: the connection state", CONNECTING)
        .await;
    alice.expect_video_playing("#remote-video").await;
    alice.expect_inbound_growing("video", "framesDecoded").await;
    alice
        .expect_inbound_growing("audio", "totalSamplesReceived")
        .await;
    alice.assert_no_uncaught_errors().await;
    bob.assert_no_uncaught_errors().await;
    alice.close().await;
    bob.close().await;

    // Neither has a device when the call starts; Bob turns his on mid-call.
    let (alice, bob) = open_two(&pair, &server).await;
    alice.click("#send-offer").await;
    alice
        .wait_for_status("connected: the connection state", CONNECTING)
        .await;
    bob.wait_for_status("connected: the connection state", CONNECTING)
        .await;
    bob.turn_devices_on().await;
    alice.expect_video_playing("#remote-video").await;
    alice.expect_inbound_growing("video", "framesDecoded").await;
    alice
        .expect_inbound_growing("audio", "totalSamplesReceived")
        .await;
    // Filled senders, not a renegotiation: the first offer/answer was the only one.
    let offers = bob
        .eval(
            "return window.__probe.console.filter(l => l === 'log: sent offer').length;",
            vec![],
        )
        .await;
    assert_eq!(
        offers,
        json!(0),
        "the answering side had to send an offer of its own"
    );
    alice.assert_no_uncaught_errors().await;
    bob.assert_no_uncaught_errors().await;
}
crate::in_each_pairing!(app14_media_from_the_answering_side_only);
