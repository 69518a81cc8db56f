//! Steps 03-06: manual signaling, driven as a person does it: press a button
//! in one window, copy a textarea's text into the other window, press a button
//! there, and copy back.

use crate::common;
use videochat::steps;

use std::time::Duration;

use common::browser::{browser, Engine, Page};
use common::call::Pair;
use common::deadline::run;
use serde_json::json;

const QUICK: Duration = Duration::from_secs(10);
/// Vanilla ICE waits for gathering; with no ICE servers that is about a second.
const GATHERING: Duration = Duration::from_secs(20);
/// ICE checks and the DTLS handshake on loopback.
const CONNECTING: Duration = Duration::from_secs(20);

/// Waits until the textarea `css` holds an SDP and returns it.
async fn wait_for_sdp(page: &Page<'_>, css: &str) -> String {
    let condition = format!(
        "const v = document.querySelector({}).value; return v.startsWith('v=0') && v;",
        json!(css)
    );
    let sdp = page
        .wait_for(&format!("an SDP in {css}"), &condition, GATHERING)
        .await;
    sdp.as_str().unwrap_or_default().to_string()
}

/// Asserts `sdp` is a complete vanilla-ICE description.
fn assert_complete_sdp(sdp: &str) {
    assert!(sdp.starts_with("v=0"), "not an SDP: {sdp}");
    assert!(
        sdp.lines().any(|line| line.starts_with("a=candidate:")),
        "no a=candidate line, so ICE gathering had not completed:\n{sdp}"
    );
}

/// Copies the text of `from`'s `from_css` and pastes it into `to`'s `to_css`.
async fn copy_text(from: &Page<'_>, from_css: &str, to: &Page<'_>, to_css: &str) {
    let text = from.value(from_css).await;
    assert!(!text.is_empty(), "{from_css} is empty: nothing to copy");
    to.paste_into(to_css, &text).await;
}

/// The whole manual handshake between `alice` (offers) and `bob` (answers).
async fn manual_call(alice: &Page<'_>, bob: &Page<'_>) {
    alice.click("#create-offer").await;
    assert_complete_sdp(&wait_for_sdp(alice, "#offer-sdp-out").await);
    copy_text(alice, "#offer-sdp-out", bob, "#offer-sdp-in").await;
    bob.click("#create-answer").await;
    assert_complete_sdp(&wait_for_sdp(bob, "#answer-sdp-out").await);
    copy_text(bob, "#answer-sdp-out", alice, "#answer-sdp-in").await;
    alice.click("#set-answer").await;
    alice
        .wait_for_status("connected: the connection state", CONNECTING)
        .await;
    bob.wait_for_status("connected: the connection state", CONNECTING)
        .await;
}

/// Step 03: the offer appears only after gathering, with its candidates; a
/// second press makes a fresh offer; with no device on, a message instead.
#[test]
fn app03_offer_carries_candidates_and_bad_order_is_explained() {
    run(async {
        let browser = browser().await;
        let server = common::serve(steps::app03());
        let page = browser.open("alice", &server.url()).await;
        page.wait_for_status("ready", QUICK).await;

        page.click("#create-offer").await;
        page.wait_for_status("turn on the camera or the microphone first", QUICK)
            .await;
        assert_eq!(page.value("#offer-sdp-out").await, "");

        page.turn_devices_on().await;
        page.click("#create-offer").await;
        let first = wait_for_sdp(&page, "#offer-sdp-out").await;
        assert_complete_sdp(&first);
        assert!(first.contains("m=video") && first.contains("m=audio"));
        page.wait_for_status("copy it into the other window", QUICK)
            .await;
        let states = page.text("#pc-states").await;
        assert!(
            states.contains("signaling: have-local-offer")
                && states.contains("ICE gathering: complete"),
            "{states}"
        );

        // Twice in a row: the first connection is replaced, the page stays usable.
        page.click("#create-offer").await;
        page.click("#create-offer").await;
        let second = wait_for_sdp(&page, "#offer-sdp-out").await;
        assert_complete_sdp(&second);
        assert_ne!(first, second, "a new press must make a new offer");
        let open = page
            .eval("return window.__probe.peerConnections.filter(pc => pc.signalingState !== 'closed').length;", vec![])
            .await;
        assert_eq!(
            open,
            json!(1),
            "earlier connections must be closed, not leaked"
        );
        page.assert_no_uncaught_errors().await;
    });
}

/// Step 04: a pasted offer gives an answer with candidates; nonsense, a cut
/// offer and an answer in the offer box are each explained, and a good paste
/// still works afterwards.
#[test]
fn app04_answer_from_pasted_offer_and_bad_pastes_are_explained() {
    run(async {
        let browser = browser().await;
        let server = common::serve(steps::app04());
        let alice = browser.open("alice", &server.url()).await;
        let bob = browser.open("bob", &server.url()).await;
        alice.turn_devices_on().await;
        bob.turn_devices_on().await;

        bob.click("#create-answer").await;
        bob.wait_for_status("paste the offer", QUICK).await;
        bob.type_into("#offer-sdp-in", "hello, this is not SDP")
            .await;
        bob.click("#create-answer").await;
        bob.wait_for_status("not an sdp offer", QUICK).await;

        alice.click("#create-offer").await;
        let offer = wait_for_sdp(&alice, "#offer-sdp-out").await;
        // Cut before the candidates, as a hurried copy would.
        let cut = &offer[..offer.find("a=candidate").expect("a candidate") - 1];
        bob.paste_into("#offer-sdp-in", cut).await;
        bob.click("#create-answer").await;
        bob.wait_for_status("incomplete", QUICK).await;
        assert_eq!(bob.value("#answer-sdp-out").await, "");

        copy_text(&alice, "#offer-sdp-out", &bob, "#offer-sdp-in").await;
        bob.click("#create-answer").await;
        let answer = wait_for_sdp(&bob, "#answer-sdp-out").await;
        assert_complete_sdp(&answer);
        assert!(answer.contains("a=setup:active") || answer.contains("a=setup:passive"));
        bob.wait_for_status("copy it back", QUICK).await;

        // The answer pasted where an offer belongs.
        copy_text(&bob, "#answer-sdp-out", &alice, "#offer-sdp-in").await;
        alice.click("#create-answer").await;
        alice
            .wait_for_status("that is an answer, not an offer", QUICK)
            .await;
        alice.assert_no_uncaught_errors().await;
        bob.assert_no_uncaught_errors().await;
    });
}

/// Step 05: the full copy-paste handshake reaches "connected" on both sides;
/// an answer without an offer and an offer in the answer box are explained.
#[test]
fn app05_handshake_connects_and_out_of_order_is_explained() {
    run(async {
        let browser = browser().await;
        let server = common::serve(steps::app05());
        let alice = browser.open("alice", &server.url()).await;
        let bob = browser.open("bob", &server.url()).await;
        alice.turn_devices_on().await;
        bob.turn_devices_on().await;

        // Bob presses "Set answer" before making any offer.
        bob.type_into("#answer-sdp-in", "v=0").await;
        bob.click("#set-answer").await;
        bob.wait_for_status("create an offer first", QUICK).await;

        // Alice pastes her own offer into her answer box.
        alice.click("#create-offer").await;
        wait_for_sdp(&alice, "#offer-sdp-out").await;
        copy_text(&alice, "#offer-sdp-out", &alice, "#answer-sdp-in").await;
        alice.click("#set-answer").await;
        alice
            .wait_for_status("that is an offer, not an answer", QUICK)
            .await;

        // Then does it right: the same pending offer still works.
        copy_text(&alice, "#offer-sdp-out", &bob, "#offer-sdp-in").await;
        bob.click("#create-answer").await;
        wait_for_sdp(&bob, "#answer-sdp-out").await;
        copy_text(&bob, "#answer-sdp-out", &alice, "#answer-sdp-in").await;
        alice.click("#set-answer").await;
        alice
            .wait_for_status("connected: the connection state", CONNECTING)
            .await;
        bob.wait_for_status("connected: the connection state", CONNECTING)
            .await;
        let states = alice.text("#pc-states").await;
        assert!(states.contains("connection: connected"), "{states}");

        // Pressing it again is explained, and the call is unharmed.
        alice.click("#set-answer").await;
        alice.wait_for_status("already has its answer", QUICK).await;
        assert!(alice
            .text("#pc-states")
            .await
            .contains("connection: connected"));
        alice.assert_no_uncaught_errors().await;
        bob.assert_no_uncaught_errors().await;
    });
}

/// Step 06: after the copy-paste handshake each side decodes the other's video
/// and receives its sound; a cut answer is refused first and does not spoil the pending offer.
async fn app06_each_side_sees_and_hears_the_other(alice: Engine, bob: Engine) {
    let pair = Pair::take(alice, bob).await;
    let server = common::serve(steps::app06());
    let alice = pair.alice().open("alice", &server.url()).await;
    let bob = pair.bob().open("bob", &server.url()).await;
    alice.turn_devices_on().await;
    bob.turn_devices_on().await;

    alice.click("#create-offer").await;
    wait_for_sdp(&alice, "#offer-sdp-out").await;
    copy_text(&alice, "#offer-sdp-out", &bob, "#offer-sdp-in").await;
    bob.click("#create-answer").await;
    let answer = wait_for_sdp(&bob, "#answer-sdp-out").await;
    // Only the first media section survives the copy: it looks complete
    // (it has candidates), so it is the browser that refuses it.
    // (A textarea's value ends lines with LF alone.)
    let second_section = answer
        .match_indices("\nm=")
        .nth(1)
        .expect("two media sections")
        .0;
    alice
        .paste_into("#answer-sdp-in", &answer[..second_section])
        .await;
    alice.click("#set-answer").await;
    alice
        .wait_for_status("that answer could not be used", QUICK)
        .await;

    copy_text(&bob, "#answer-sdp-out", &alice, "#answer-sdp-in").await;
    alice.click("#set-answer").await;
    alice
        .wait_for_status("connected: the connection state", CONNECTING)
        .await;
    bob.wait_for_status("connected: the connection state", CONNECTING)
        .await;

    for page in [&alice, &bob] {
        page.expect_video_playing("#remote-video").await;
        page.expect_inbound_growing("video", "framesDecoded").await;
        page.expect_inbound_growing("audio", "totalSamplesReceived")
            .await;
        let audio = page
            .eval("const a = document.getElementById('remote-audio'); return a.srcObject.getAudioTracks().length > 0 && !a.paused;", vec![])
            .await;
        assert_eq!(audio, json!(true), "remote sound is not playing");
        page.assert_no_uncaught_errors().await;
    }
}
crate::in_each_pairing!(app06_each_side_sees_and_hears_the_other);

/// Step 06: a second call replaces the first: its remote media is cleared and
/// its connection closed, and the new call shows the other side again.
#[test]
fn app06_new_offer_replaces_the_call() {
    run(async {
        let browser = browser().await;
        let server = common::serve(steps::app06());
        let alice = browser.open("alice", &server.url()).await;
        let bob = browser.open("bob", &server.url()).await;
        alice.turn_devices_on().await;
        bob.turn_devices_on().await;
        manual_call(&alice, &bob).await;
        alice.expect_video_playing("#remote-video").await;

        manual_call(&alice, &bob).await;
        alice.expect_video_playing("#remote-video").await;
        bob.expect_video_playing("#remote-video").await;
        for page in [&alice, &bob] {
            let open = page
                .eval("return window.__probe.peerConnections.filter(pc => pc.signalingState !== 'closed').length;", vec![])
                .await;
            assert_eq!(open, json!(1), "the first call's connection must be closed");
        }
    });
}
