//! Steps 01 and 02 in a real headless Chromium with fake devices.

use crate::common;
use videochat::steps;

use std::time::Duration;

use common::browser::{browser, Engine};
use common::deadline::run;
use serde_json::json;

const QUICK: Duration = Duration::from_secs(10);

/// Whether the Camera and Microphone boxes are ticked, in that order.
const BOXES_TICKED: &str =
    "return [document.getElementById('camera').checked, document.getElementById('microphone').checked];";

/// Number of the page's camera (or microphone) tracks still live.
const LIVE_TRACKS: &str =
    "return window.__probe.tracks.filter(t => t.kind === arguments[0] && t.readyState === 'live').length;";

/// Step 01: the page has its heading, and its script ran.
#[test]
fn app01_page_loads_and_its_script_runs() {
    run(async {
        let browser = browser().await;
        let server = common::serve(steps::app01());
        let page = browser.open("app01", &server.url()).await;
        assert_eq!(page.text("h1").await, "My Video Chat");
        page.wait_for_status("ready", QUICK).await;
        page.assert_no_uncaught_errors().await;
    });
}

/// The page runs under its Content-Security-Policy, and the harness sees a
/// breach of it: an inline script added to the page is blocked, not run, and
/// reported as a violation, which `assert_no_uncaught_errors` (called by
/// every browser test) would fail on.
#[test]
fn the_content_security_policy_blocks_inline_script_and_is_watched() {
    run(async {
        let browser = browser().await;
        let server = common::serve(steps::app01());
        let page = browser.open("app01", &server.url()).await;
        page.wait_for_status("ready", QUICK).await;
        page.assert_no_uncaught_errors().await;
        page.eval(
            "const s = document.createElement('script'); \
             s.textContent = 'window.inlineRan = true;'; document.body.append(s);",
            vec![],
        )
        .await;
        let violations = page
            .wait_for(
                "the CSP violation to be recorded",
                "return window.__probe.uncaught().filter(l => l.startsWith('csp violation')).length > 0 \
                 && window.__probe.uncaught();",
                QUICK,
            )
            .await;
        assert!(
            violations.to_string().contains("script-src"),
            "{violations}"
        );
        assert_eq!(
            page.eval("return window.inlineRan === true;", vec![]).await,
            json!(false)
        );
    });
}

/// Step 02: ticking Camera shows moving local video; unticking stops every camera track.
async fn app02_camera_on_shows_frames_and_off_stops_tracks(engine: Engine) {
    let browser = engine.turn().await;
    let server = common::serve(steps::app02());
    let page = browser.open("app02", &server.url()).await;
    page.wait_for_status("ready", QUICK).await;

    page.click("#camera").await;
    page.expect_video_playing("#local-video").await;
    page.wait_for_status("camera is on", QUICK).await;

    page.click("#camera").await;
    page.wait_for_status("camera is off", QUICK).await;
    let live = page.eval(LIVE_TRACKS, vec![json!("video")]).await;
    assert_eq!(
        live,
        json!(0),
        "a camera track is still live after unticking"
    );
    let acquired = page
        .eval(
            "return window.__probe.tracks.filter(t => t.kind === 'video').length;",
            vec![],
        )
        .await;
    assert_eq!(acquired, json!(1));
    let shown = page
        .eval(
            "return document.getElementById('local-video').srcObject === null;",
            vec![],
        )
        .await;
    assert_eq!(shown, json!(true), "the local video still holds a stream");
    page.assert_no_uncaught_errors().await;
}
crate::in_each_engine!(app02_camera_on_shows_frames_and_off_stops_tracks);

/// Step 02: the microphone box starts and stops its own track, leaving the camera alone.
async fn app02_microphone_toggles_independently(engine: Engine) {
    let browser = engine.turn().await;
    let server = common::serve(steps::app02());
    let page = browser.open("app02", &server.url()).await;
    page.wait_for_status("ready", QUICK).await;

    page.turn_devices_on().await;
    assert_eq!(page.eval(LIVE_TRACKS, vec![json!("audio")]).await, json!(1));

    page.click("#microphone").await;
    page.wait_for_status("microphone is off", QUICK).await;
    assert_eq!(page.eval(LIVE_TRACKS, vec![json!("audio")]).await, json!(0));
    assert_eq!(page.eval(LIVE_TRACKS, vec![json!("video")]).await, json!(1));
    page.expect_video_playing("#local-video").await;
    page.assert_no_uncaught_errors().await;
}
crate::in_each_engine!(app02_microphone_toggles_independently);

/// Step 02: each getUserMedia failure gives its own readable message and unticks only its box.
async fn app02_device_failures_are_explained_and_untick_only_that_box(engine: Engine) {
    let browser = engine.turn().await;
    let server = common::serve(steps::app02());
    let page = browser.open("app02", &server.url()).await;
    page.wait_for_status("ready", QUICK).await;
    page.click("#microphone").await;
    page.wait_for_status("microphone is on", QUICK).await;

    let cases = [
        ("NotAllowedError", "denied"),
        ("NotFoundError", "no camera was found"),
        ("NotReadableError", "another program"),
    ];
    for (error, message) in cases {
        page.eval(
            "window.__probe.failNext('video', arguments[0]);",
            vec![json!(error)],
        )
        .await;
        page.click("#camera").await;
        page.wait_for_status(message, QUICK).await;
        let boxes = page.eval(BOXES_TICKED, vec![]).await;
        assert_eq!(boxes, json!([false, true]), "after {error}");
    }
    // The microphone kept working through all of it.
    assert_eq!(page.eval(LIVE_TRACKS, vec![json!("audio")]).await, json!(1));

    // And a denied microphone leaves the camera alone.
    page.click("#camera").await;
    page.wait_for_status("camera is on", QUICK).await;
    page.click("#microphone").await;
    page.wait_for_status("microphone is off", QUICK).await;
    page.eval(
        "window.__probe.failNext('audio', 'NotAllowedError');",
        vec![],
    )
    .await;
    page.click("#microphone").await;
    page.wait_for_status("permission to use the microphone was denied", QUICK)
        .await;
    let boxes = page.eval(BOXES_TICKED, vec![]).await;
    assert_eq!(boxes, json!([true, false]));
    page.expect_video_playing("#local-video").await;
    page.assert_no_uncaught_errors().await;
}
crate::in_each_engine!(app02_device_failures_are_explained_and_untick_only_that_box);

/// Step 02: without getUserMedia (an insecure page), ticking a box explains why and unticks it.
async fn app02_without_media_devices_explains_secure_contexts(engine: Engine) {
    let browser = engine.turn().await;
    let server = common::serve(steps::app02());
    let page = browser.open("app02", &server.url()).await;
    page.wait_for_status("ready", QUICK).await;
    page.eval(
        "Object.defineProperty(navigator, 'mediaDevices', { value: undefined });",
        vec![],
    )
    .await;
    page.click("#camera").await;
    page.wait_for_status("secure page", QUICK).await;
    assert_eq!(
        page.eval("return document.getElementById('camera').checked;", vec![])
            .await,
        json!(false)
    );
    page.assert_no_uncaught_errors().await;
}
crate::in_each_engine!(app02_without_media_devices_explains_secure_contexts);
