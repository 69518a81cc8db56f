//! Every step's page loads whole: in a real browser, each of the eighteen
//! pages runs its script (its `#status` leaves "Loading…"), loads every file
//! it asks for (a missing module or style sheet is caught by the probe), and
//! throws nothing, breaks no rule of its Content-Security-Policy, and
//! rejects no promise it leaves unhandled.

use crate::common;
use videochat::steps;

use std::time::Duration;

use common::browser::browser;
use common::deadline::run;

#[test]
fn every_step_page_loads_without_an_error() {
    run(async {
        let browser = browser().await;
        for step in steps::all() {
            let name = step.name();
            let server = common::serve(step);
            let page = browser.open(name, &server.url()).await;
            page.wait_for(
                &format!("{name}'s script to set #status"),
                "const s = document.getElementById('status').textContent; \
                 return document.readyState === 'complete' && s && !s.startsWith('Loading') && s;",
                Duration::from_secs(10),
            )
            .await;
            page.assert_no_uncaught_errors().await;
            page.close().await;
        }
    });
}

/// From step 03 on, a browser without WebRTC (the probe removes
/// `RTCPeerConnection`, as WebKitGTK lacks it) is told in words that it cannot
/// make calls, finds every control off, and throws nothing. From step 07 the
/// page does not even open the signaling socket, so no offer can reach it.
#[test]
fn without_webrtc_every_calling_page_says_so_and_turns_its_controls_off() {
    run(async {
        let browser = browser().await;
        for step in steps::all().into_iter().skip(2) {
            let name = step.name();
            let server = common::serve(step);
            let page = browser
                .open(name, &format!("{}#no-webrtc", server.url()))
                .await;
            page.wait_for_status("this browser cannot make calls", Duration::from_secs(10))
                .await;
            let controls = page
                .eval(
                    "const all = [...document.querySelectorAll('button, input, select, textarea')]; \
                     return { count: all.length, enabled: all.filter((c) => !c.disabled).map((c) => c.id) };",
                    vec![],
                )
                .await;
            assert!(
                controls["count"].as_u64().unwrap_or(0) > 0,
                "{name}: no controls found"
            );
            assert_eq!(
                controls["enabled"],
                serde_json::json!([]),
                "{name}: controls left on"
            );
            let sockets = page
                .eval("return window.__probe.sockets.length;", vec![])
                .await;
            assert_eq!(
                sockets,
                serde_json::json!(0),
                "{name}: opened the signaling socket"
            );
            page.assert_no_uncaught_errors().await;
            page.close().await;
        }
    });
}
