//! Steps 07-10: signaling through the server, in a real headless Chromium.

use crate::common;
use videochat::steps;

use std::time::{Duration, Instant};

use common::browser::{browser, Engine};
use common::call::{expect_remote_media, open_two, start_call, Pair, QUICK, REMOTE_MEDIA_CLEARED};
use common::deadline::run;
use common::stun::{Coturn, SilentStun};
use videochat::config::Config;
use videochat::server::{Server, Step};

/// Step 07: one press of "Send offer" connects both windows through the server,
/// with video and sound both ways.
async fn app07_offer_and_answer_travel_through_the_server(alice: Engine, bob: Engine) {
    let pair = Pair::take(alice, bob).await;
    let server = common::serve(steps::app07());
    let (alice, bob) = start_call(&pair, &server).await;
    alice.assert_no_uncaught_errors().await;
    bob.assert_no_uncaught_errors().await;
}
crate::in_each_pairing!(app07_offer_and_answer_travel_through_the_server);

/// Step 07: when the server restarts mid-call, both pages reconnect their
/// signaling sockets by themselves, and the call, whose media never passed
/// through the server, goes on: the same connection stays up and keeps
/// presenting frames.
#[test]
fn app07_pages_reconnect_after_a_server_restart_and_the_call_goes_on() {
    run(async {
        let pair = Pair::take(Engine::Chromium, Engine::Chromium).await;
        let server = common::serve(steps::app07());
        let port = server.addr().port();
        let (alice, bob) = start_call(&pair, &server).await;
        server.stop();
        for page in [&alice, &bob] {
            page.wait_for_status("lost the signaling server", QUICK)
                .await;
        }
        let server = common::serve_again_on(steps::app07(), port);
        common::ws::wait_for_open_sockets(&server, 2).await;
        for page in [&alice, &bob] {
            page.wait_for(
                "a second socket to the server, and the first connection still up",
                "const pcs = window.__probe.peerConnections; \
                 return window.__probe.sockets.length >= 2 && pcs.length === 1 \
                   && pcs[0].connectionState === 'connected';",
                QUICK,
            )
            .await;
            page.expect_video_playing("#remote-video").await;
            page.assert_no_uncaught_errors().await;
        }
    });
}

/// Step 08: Leave clears the leaver's remote media at once; the other side
/// clears its own when its connection state reports the loss.
#[test]
fn app08_leave_clears_both_sides() {
    run(async {
        let pair = Pair::take(Engine::Chromium, Engine::Chromium).await;
        let server = common::serve(steps::app08());
        let (alice, bob) = start_call(&pair, &server).await;

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

/// Starts `step` with `--ice-servers` (`ICE_SERVERS`) set to one STUN server
/// at `url`, read by the example's own settings parser.
fn serve_with_stun(step: Step, url: &str) -> Server {
    let ice_servers = format!(r#"[{{"urls":"{url}"}}]"#);
    let config = Config::from_flags(["--ice-servers", &ice_servers]).expect("valid ICE_SERVERS");
    common::serve_with(step, config)
}

/// Step 09: the pages use the STUN server the operator configured: the call
/// connects, and coturn's own log shows the browser's binding requests.
#[test]
fn app09_uses_the_configured_stun_server() {
    let coturn = Coturn::start();
    run(async {
        let pair = Pair::take(Engine::Chromium, Engine::Chromium).await;
        let server = serve_with_stun(steps::app09(), &coturn.url());
        let (alice, bob) = start_call(&pair, &server).await;
        for page in [&alice, &bob] {
            let configured = page
                .eval(
                    "return window.__probe.peerConnections.at(-1).getConfiguration().iceServers;",
                    vec![],
                )
                .await;
            assert_eq!(
                configured[0]["urls"][0],
                coturn.url().as_str(),
                "{configured}"
            );
        }
        alice.assert_no_uncaught_errors().await;
        bob.assert_no_uncaught_errors().await;
    });
    // With -V coturn traces each STUN binding request it handles.
    const BINDING: &str = "handle_turn_binding";
    let log = coturn.wait_for_log(BINDING, Duration::from_secs(10));
    let requests = log
        .lines()
        .filter(|line| line.contains(BINDING) && line.ends_with(":start"))
        .count();
    eprintln!("coturn handled {requests} binding requests");
    assert!(requests > 0, "no binding request in coturn's log:\n{log}");
}

/// Two connections in one page, both allowed only relayed paths, that use
/// the ICE servers `GET /ice-servers` gives the page: returns the local
/// candidate types, the text that crossed a data channel (null if none), and
/// the TURN username the page was given.
const RELAY_ONLY_CALL: &str = r#"
  const { iceServers } = await (await fetch('/ice-servers')).json();
  const config = { iceServers, iceTransportPolicy: 'relay' };
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  const types = [];
  a.onicecandidate = (e) => { if (e.candidate) { types.push(e.candidate.type); b.addIceCandidate(e.candidate); } };
  b.onicecandidate = (e) => { if (e.candidate) a.addIceCandidate(e.candidate); };
  const gathered = new Promise((resolve) => {
    a.onicegatheringstatechange = () => { if (a.iceGatheringState === 'complete') resolve(); };
  });
  const received = new Promise((resolve) => {
    b.ondatachannel = (e) => { e.channel.onmessage = (m) => resolve(m.data); };
  });
  const channel = a.createDataChannel('relay-check');
  channel.onopen = () => channel.send('through the relay');
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  const timeout = (ms) => new Promise((resolve) => setTimeout(() => resolve(null), ms));
  await Promise.race([gathered, timeout(15000)]);
  const text = types.includes('relay') ? await Promise.race([received, timeout(15000)]) : null;
  a.close();
  b.close();
  const turn = iceServers.find((s) => String(s.urls).startsWith('turn:'));
  return { types, text, username: turn ? turn.username : null };
"#;

/// Step 09 with a TURN secret: the ICE servers a page gets carry a TURN entry
/// with a short-lived credential that coturn accepts (a relayed data channel
/// carries text), while a credential made from another secret gets nothing.
#[test]
fn app09_turn_credentials_from_the_server_work_with_coturn() {
    const SECRET: &str = "a secret shared with coturn";
    let coturn = Coturn::start_turn(SECRET);
    run(async {
        let browser = browser().await;
        for (secret, works) in [(SECRET, true), ("some other secret", false)] {
            let turn_url = coturn.turn_url();
            let flags = ["--turn-urls", &turn_url, "--turn-secret", secret];
            let config = Config::from_flags(flags).expect("valid TURN settings");
            let server = common::serve_with(steps::app09(), config);
            let page = browser.open("alice", &server.url()).await;
            let result = page.eval(RELAY_ONLY_CALL, vec![]).await;
            let username = result["username"].as_str().unwrap_or_default().to_string();
            let (expiry, _peer) = username.split_once(':').unwrap_or_else(|| {
                panic!("the TURN username is <expiry>:<peer>, not {username:?}")
            });
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let expiry: u64 = expiry.parse().unwrap_or_default();
            assert!(
                expiry > now && expiry <= now + videochat::turn::DEFAULT_TTL.as_secs(),
                "expiry {expiry} is not within a day of now ({now})"
            );
            if works {
                assert_eq!(result["text"], "through the relay", "{result}");
                assert!(
                    result["types"]
                        .as_array()
                        .is_some_and(|t| t.iter().all(|t| t == "relay")),
                    "{result}"
                );
                // coturn's log names the user it allocated for.
                coturn.wait_for_log(&username, Duration::from_secs(5));
            } else {
                assert_eq!(result["types"], serde_json::json!([]), "{result}");
                assert_eq!(result["text"], serde_json::Value::Null);
            }
            page.assert_no_uncaught_errors().await;
            page.close().await;
        }
    });
}

/// Step 10: with a STUN server that never answers, trickle ICE still connects
/// at once (vanilla ICE would wait for the STUN timeout first).
async fn app10_connects_promptly_despite_a_silent_stun_server(alice: Engine, bob: Engine) {
    let silent = SilentStun::start();
    let pair = Pair::take(alice, bob).await;
    let server = serve_with_stun(steps::app10(), &silent.url());
    let (alice, bob) = open_two(&pair, &server).await;
    for page in [&alice, &bob] {
        page.turn_devices_on().await;
    }
    let pressed = Instant::now();
    alice.click("#send-offer").await;
    // Promptly: well inside the time a silent STUN server holds up
    // gathering (see chapter 10 for the measured times).
    alice
        .wait_for_status("connected: the connection state", QUICK)
        .await;
    bob.wait_for_status("connected: the connection state", QUICK)
        .await;
    eprintln!(
        "trickle ICE connected {:?} after Send offer",
        pressed.elapsed()
    );
    expect_remote_media(&alice).await;
    expect_remote_media(&bob).await;
    alice.assert_no_uncaught_errors().await;
    bob.assert_no_uncaught_errors().await;
}
crate::in_each_pairing!(app10_connects_promptly_despite_a_silent_stun_server);
