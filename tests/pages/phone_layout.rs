//! The pages on a phone: headless Chromium emulating a phone held upright
//! (device metrics, touch input), driven by tapping the pages' own controls.
//!
//! On every screen a person reaches, nothing may be wider than the window
//! (no sideways scrolling), and every control the test taps must be on
//! screen and uncovered (`Page::tap` checks). After joining, the join form
//! must be gone: its `display: flex` once overrode the `hidden` attribute.

use crate::common;
use videochat::steps;

use common::browser::{browser, BrowserTurn, Page};
use common::call::QUICK;
use common::deadline::run;
use common::rooms::expect_last_chat_line;
use videochat::server::Step;

/// A small phone (many Android phones) and a larger one (recent iPhones).
const SMALL_PHONE: (u32, u32) = (360, 740);
const LARGE_PHONE: (u32, u32) = (390, 844);

/// The join form is gone and the chat screen is shown, as a person sees them
/// (`checkVisibility`: not merely an attribute, but what the style sheet does).
const JOINED: &str = "return !document.getElementById('join-form').checkVisibility() \
                        && document.getElementById('chat').checkVisibility();";

/// Opens `step`'s page as a phone of `size`.
async fn open_phone<'t>(
    browser: &'t BrowserTurn,
    name: &str,
    url: &str,
    size: (u32, u32),
) -> Page<'t> {
    let page = browser.open(name, url).await;
    page.emulate_phone(size.0, size.1).await;
    page
}

/// Steps 02 and 07: the device checkboxes by tapping, the picture on, and
/// nothing wider than the phone before or after.
fn devices_fit(step: Step, needle: &str) {
    run(async {
        let browser = browser().await;
        let server = common::serve(step);
        let page = open_phone(&browser, "alice", &server.url(), SMALL_PHONE).await;
        page.wait_for_status(needle, QUICK).await;
        page.expect_no_sideways_scrolling("first screen").await;
        page.tap("#camera").await;
        page.tap("#microphone").await;
        page.expect_video_playing("#local-video").await;
        page.expect_no_sideways_scrolling("screen with the camera on")
            .await;
    });
}

#[test]
fn app02_fits_a_phone_and_its_boxes_can_be_tapped() {
    devices_fit(steps::app02(), "ready");
}

#[test]
fn app07_fits_a_phone_and_its_boxes_can_be_tapped() {
    devices_fit(steps::app07(), "connected");
}

/// Joins on a phone by typing and tapping Join; `room` for steps 17 on.
async fn join_by_tapping(page: &Page<'_>, name: &str, room: Option<&str>) {
    page.wait_for_status("type your name", QUICK).await;
    page.expect_no_sideways_scrolling("join screen").await;
    page.tap("#username").await;
    page.type_into("#username", name).await;
    if let Some(room) = room {
        page.tap("#room").await;
        page.type_into("#room", room).await;
    }
    page.tap("#join").await;
    page.wait_for(
        "the join form gone and the chat screen shown",
        JOINED,
        QUICK,
    )
    .await;
    page.expect_no_sideways_scrolling("chat screen").await;
}

/// Steps 15 and 16: join by tapping, and the chat screen (with the camera
/// on) fits.
fn join_fits(step: Step) {
    run(async {
        let browser = browser().await;
        let server = common::serve(step);
        let page = open_phone(&browser, "alice", &server.url(), SMALL_PHONE).await;
        join_by_tapping(&page, "Alice", None).await;
        page.tap("#camera").await;
        page.expect_video_playing("#local-video").await;
        page.expect_no_sideways_scrolling("chat screen with the camera on")
            .await;
    });
}

#[test]
fn app15_joins_by_tapping_on_a_phone_and_fits() {
    join_fits(steps::app15());
}

#[test]
fn app16_joins_by_tapping_on_a_phone_and_fits() {
    join_fits(steps::app16());
}

/// Steps 17 and 18: two phones (a small and a large one) join a room by
/// tapping, turn their devices on, see and hear each other, and chat; the
/// chat screen with a tile and a chat line still fits both.
fn call_between_phones(step: Step) {
    run(async {
        let browser = browser().await;
        let server = common::serve(step);
        let url = server.url();
        let alice = open_phone(&browser, "alice", &url, SMALL_PHONE).await;
        let bob = open_phone(&browser, "bob", &url, LARGE_PHONE).await;
        join_by_tapping(&alice, "Alice", Some("phones")).await;
        join_by_tapping(&bob, "Bob", Some("phones")).await;
        for page in [&alice, &bob] {
            page.tap("#camera").await;
            page.tap("#microphone").await;
        }
        let tile = ".peer video";
        for page in [&alice, &bob] {
            page.expect_video_playing(tile).await;
            page.expect_inbound_growing("audio", "totalSamplesReceived")
                .await;
        }

        bob.wait_for(
            "the chat to open",
            "return !document.getElementById('message').disabled;",
            QUICK,
        )
        .await;
        bob.tap("#message").await;
        bob.type_into("#message", "hello from a phone").await;
        bob.tap("#send-message").await;
        expect_last_chat_line(&alice, "Bob", "hello from a phone").await;
        for page in [&alice, &bob] {
            page.expect_no_sideways_scrolling("chat screen during a call")
                .await;
            page.assert_no_uncaught_errors().await;
        }
    });
}

#[test]
fn app17_call_between_two_phones_by_tapping() {
    call_between_phones(steps::app17());
}

#[test]
fn app18_call_between_two_phones_by_tapping() {
    call_between_phones(steps::app18());
}

/// On a laptop-sized window too, joining hides the join form: with the
/// defect, "Your name / Room / Join" stayed on screen above the call.
#[test]
fn app17_and_app18_hide_the_join_form_after_joining_on_a_laptop() {
    run(async {
        let browser = browser().await;
        for step in [steps::app17(), steps::app18()] {
            let server = common::serve(step);
            let page = browser.open("alice", &server.url()).await;
            page.wait_for_status("type your name", QUICK).await;
            page.type_into("#username", "Alice").await;
            page.type_into("#room", "desk").await;
            page.click("#join").await;
            page.wait_for("the join form gone", JOINED, QUICK).await;
            page.close().await;
        }
    });
}
