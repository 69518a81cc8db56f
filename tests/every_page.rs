//! Every step's page loads whole: in a real browser, each of the eighteen
//! pages runs its script (its `#status` leaves "Loading…"), loads every file
//! it asks for (a missing module or style sheet is caught by the probe), and
//! throws nothing, breaks no rule of its Content-Security-Policy, and
//! rejects no promise it leaves unhandled.

mod common;

#[allow(dead_code)]
#[path = "../examples/app01.rs"]
mod app01;
#[allow(dead_code)]
#[path = "../examples/app02.rs"]
mod app02;
#[allow(dead_code)]
#[path = "../examples/app03.rs"]
mod app03;
#[allow(dead_code)]
#[path = "../examples/app04.rs"]
mod app04;
#[allow(dead_code)]
#[path = "../examples/app05.rs"]
mod app05;
#[allow(dead_code)]
#[path = "../examples/app06.rs"]
mod app06;
#[allow(dead_code)]
#[path = "../examples/app07.rs"]
mod app07;
#[allow(dead_code)]
#[path = "../examples/app08.rs"]
mod app08;
#[allow(dead_code)]
#[path = "../examples/app09.rs"]
mod app09;
#[allow(dead_code)]
#[path = "../examples/app10.rs"]
mod app10;
#[allow(dead_code)]
#[path = "../examples/app11.rs"]
mod app11;
#[allow(dead_code)]
#[path = "../examples/app12.rs"]
mod app12;
#[allow(dead_code)]
#[path = "../examples/app13.rs"]
mod app13;
#[allow(dead_code)]
#[path = "../examples/app14.rs"]
mod app14;
#[allow(dead_code)]
#[path = "../examples/app15.rs"]
mod app15;
#[allow(dead_code)]
#[path = "../examples/app16.rs"]
mod app16;
#[allow(dead_code)]
#[path = "../examples/app17.rs"]
mod app17;
#[allow(dead_code)]
#[path = "../examples/app18.rs"]
mod app18;

use std::time::Duration;

use common::browser::browser;
use common::deadline::run;

fn all_steps() -> [videochat::server::Step; 18] {
    [
        app01::step(),
        app02::step(),
        app03::step(),
        app04::step(),
        app05::step(),
        app06::step(),
        app07::step(),
        app08::step(),
        app09::step(),
        app10::step(),
        app11::step(),
        app12::step(),
        app13::step(),
        app14::step(),
        app15::step(),
        app16::step(),
        app17::step(),
        app18::step(),
    ]
}

#[test]
fn every_step_page_loads_without_an_error() {
    run(async {
        let browser = browser().await;
        for step in all_steps() {
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
        for step in all_steps().into_iter().skip(2) {
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
