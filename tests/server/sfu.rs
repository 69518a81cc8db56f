//! Step 20's SFU over the real signaling socket, with no browser: the page's
//! offer is answered by the SFU, bad SDP is refused with a clear error and
//! harms nobody else, and the SFU forgets a member who leaves, closes its
//! socket, or never brings its media connection up. (A socket lost without
//! a close frame keeps its member's place for step 19's grace, and the
//! SFU keeps its state for as long.)
//!
//! The offers are made by str0m itself acting as a browser would (one
//! sendonly audio and one sendonly video m-line): real SDP, not a fixture.

use crate::common;

use common::deadline::run;

use std::time::{Duration, Instant};

use common::ws::{
    arrive, assert_nothing_queued, expect_error, join, next_json, send, sync_with_hub,
};
use serde_json::json;
use str0m::media::{Direction, MediaKind};
use videochat::config::Config;
use videochat::server::{Server, Step};
use videochat::signaling::{Limits, Policy};

use common::str0m_peer::Str0mPeer;

/// A step 19 server with the SFU on a free UDP port: what step 20's page
/// will talk to.
fn sfu_server(limits: Limits) -> Server {
    let step = Step::new("app19")
        .with_signaling(Policy::Rooms)
        .with_resume()
        .with_sfu()
        .with_limits(limits);
    let config = Config {
        media_port: 0,
        ..Config::default()
    };
    common::serve_with(step, config)
}

/// An offer as a browser publishing a camera and a microphone makes it.
fn publishing_offer() -> String {
    str0m::crypto::from_feature_flags().install_process_default();
    let mut rtc = str0m::Rtc::new(Instant::now());
    let mut change = rtc.sdp_api();
    change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let (offer, _pending) = change.apply().expect("an offer");
    offer.to_sdp_string()
}

/// Waits until the SFU holds state for `expected` members.
async fn wait_for_sfu_members(server: &Server, expected: usize) {
    common::deadline::waiting_for(&format!("the SFU to hold {expected} members"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.sfu_members() != expected {
        assert!(
            Instant::now() < deadline,
            "the SFU holds {} members, not {expected}",
            server.sfu_members()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A joined member's offer is answered by the SFU (ICE-lite, its own UDP
/// candidate); another member hears nothing of it; leaving the room, and
/// closing the socket, each make the SFU forget the member.
#[test]
fn an_offer_is_answered_and_leaving_forgets_the_member() {
    run(async {
        let server = sfu_server(Limits::default());
        let (mut alice, _) = arrive(&server).await;
        let (mut bob, _) = arrive(&server).await;
        join(&mut alice, "alice", Some("r")).await;
        sync_with_hub(&mut alice).await;
        join(&mut bob, "bob", Some("r")).await;
        assert_eq!(next_json(&mut alice).await["type"], "join");

        send(
            &mut alice,
            json!({"type": "media-offer", "sdp": publishing_offer()}),
        )
        .await;
        let answer = next_json(&mut alice).await;
        assert_eq!(answer["type"], "media-answer", "{answer}");
        let sdp = answer["sdp"].as_str().expect("an SDP");
        assert!(sdp.contains("a=ice-lite"), "{sdp}");
        assert!(sdp.contains("typ host"), "the SFU's candidate: {sdp}");
        wait_for_sfu_members(&server, 1).await;
        assert_nothing_queued(&mut bob).await;

        send(&mut alice, json!({"type": "leave"})).await;
        wait_for_sfu_members(&server, 0).await;

        // Back in, and gone with its socket.
        join(&mut alice, "alice", Some("r")).await;
        send(
            &mut alice,
            json!({"type": "media-offer", "sdp": publishing_offer()}),
        )
        .await;
        let answer = loop {
            let message = next_json(&mut alice).await;
            if message["type"] == "media-answer" {
                break message;
            }
        };
        assert!(answer["sdp"].is_string());
        wait_for_sfu_members(&server, 1).await;
        // A page closing its tab closes the socket with a close frame (a
        // socket merely lost keeps its place for step 19's grace, and its
        // media state with it).
        alice.close(None).await.expect("close");
        wait_for_sfu_members(&server, 0).await;
    });
}

/// What the SFU cannot use is refused, to its sender only, and leaves no
/// state behind.
#[test]
fn bad_sdp_is_refused_clearly_and_harms_nobody() {
    run(async {
        let server = sfu_server(Limits::default());
        let (mut alice, _) = arrive(&server).await;
        let (mut bob, _) = arrive(&server).await;
        // Not in a room yet: nothing to forward to.
        send(
            &mut alice,
            json!({"type": "media-offer", "sdp": publishing_offer()}),
        )
        .await;
        expect_error(&mut alice, "not-joined").await;
        join(&mut alice, "alice", Some("r")).await;
        sync_with_hub(&mut alice).await;
        join(&mut bob, "bob", Some("r")).await;
        assert_eq!(next_json(&mut alice).await["type"], "join");

        for (message, code) in [
            (
                json!({"type": "media-offer", "sdp": "not an sdp"}),
                "bad-sdp",
            ),
            (json!({"type": "media-offer", "sdp": 5}), "bad-message"),
            (json!({"type": "media-offer"}), "bad-message"),
            (json!({"type": "media-answer", "sdp": "v=0"}), "bad-sdp"),
        ] {
            send(&mut alice, message.clone()).await;
            let refusal = next_json(&mut alice).await;
            assert_eq!(refusal["code"], code, "{message}: {refusal}");
            assert!(refusal["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        // An answer when the SFU offered nothing.
        send(
            &mut alice,
            json!({"type": "media-offer", "sdp": publishing_offer()}),
        )
        .await;
        assert_eq!(next_json(&mut alice).await["type"], "media-answer");
        let answer_to_nothing = publishing_offer().replace("a=setup:actpass", "a=setup:active");
        send(
            &mut alice,
            json!({"type": "media-answer", "sdp": answer_to_nothing}),
        )
        .await;
        expect_error(&mut alice, "bad-sdp").await;
        // Bob heard none of it, and the SFU holds only Alice.
        assert_nothing_queued(&mut bob).await;
        wait_for_sfu_members(&server, 1).await;
    });
}

/// A member whose media connection never comes up (here: the offer's
/// maker never sends a packet) is told so, and the SFU forgets it.
#[test]
fn a_member_that_never_connects_is_forgotten_after_the_deadline() {
    run(async {
        let limits = Limits {
            media_connect_deadline: Duration::from_secs(1),
            ..Limits::default()
        };
        let server = sfu_server(limits);
        let (mut alice, _) = arrive(&server).await;
        join(&mut alice, "alice", Some("r")).await;
        sync_with_hub(&mut alice).await;
        send(
            &mut alice,
            json!({"type": "media-offer", "sdp": publishing_offer()}),
        )
        .await;
        assert_eq!(next_json(&mut alice).await["type"], "media-answer");
        wait_for_sfu_members(&server, 1).await;
        let told = next_json(&mut alice).await;
        assert_eq!(told["code"], "media-failed", "{told}");
        assert!(
            told["message"].as_str().is_some_and(|m| m.contains("UDP")),
            "{told}"
        );
        wait_for_sfu_members(&server, 0).await;
    });
}

/// Reads `socket` while `peer` runs, until a message of `kind` arrives.
async fn pump_until_message(
    peer: &mut Str0mPeer,
    socket: &mut common::ws::Socket,
    kind: &str,
) -> serde_json::Value {
    common::deadline::waiting_for(&format!("a {kind} from the server"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no {kind} came");
        tokio::select! {
            message = next_json(socket) => {
                if message["type"] == kind {
                    return message;
                }
                assert_ne!(message["type"], "error", "{message}");
            }
            () = peer.pump(Duration::from_millis(20)) => {}
        }
    }
}

/// Two members, each a str0m peer over real UDP: each connects to the SFU,
/// and Alice's audio packets reach Bob through it; the SFU offered Bob
/// Alice's track (and Alice Bob's) on its own.
#[test]
fn audio_from_one_member_is_forwarded_to_the_other() {
    run(async {
        let server = sfu_server(Limits::default());
        let (mut alice_ws, _) = arrive(&server).await;
        let (mut bob_ws, _) = arrive(&server).await;
        join(&mut alice_ws, "alice", Some("r")).await;
        sync_with_hub(&mut alice_ws).await;
        join(&mut bob_ws, "bob", Some("r")).await;
        assert_eq!(next_json(&mut alice_ws).await["type"], "join");

        let mut alice = Str0mPeer::new().await;
        let mut bob = Str0mPeer::new().await;
        for (peer, socket) in [(&mut alice, &mut alice_ws), (&mut bob, &mut bob_ws)] {
            let offer = peer.offer_audio();
            send(socket, json!({"type": "media-offer", "sdp": offer})).await;
            let answer = pump_until_message(peer, socket, "media-answer").await;
            peer.accept_answer(answer["sdp"].as_str().expect("an SDP"));
        }
        // Once connected, each is offered the other's track by the SFU, and
        // answers; then the audio flows.
        let deadline = Instant::now() + Duration::from_secs(15);
        common::deadline::waiting_for("the SFU's offers, then audio forwarded both ways");
        let mut answered = [false, false];
        while alice.received < 20 || bob.received < 20 {
            assert!(
                Instant::now() < deadline,
                "answered {answered:?}; forwarded: to alice {} (bob sent {}), to bob {} (alice sent {})",
                alice.received,
                bob.sent,
                bob.received,
                alice.sent,
            );
            let message = tokio::select! {
                message = next_json(&mut alice_ws) => Some((0, message)),
                message = next_json(&mut bob_ws) => Some((1, message)),
                _ = async {
                    tokio::join!(
                        alice.pump(Duration::from_millis(20)),
                        bob.pump(Duration::from_millis(20))
                    )
                } => None,
            };
            let Some((who, message)) = message else {
                continue;
            };
            assert_eq!(message["type"], "media-offer", "{message}");
            let (peer, socket) = match who {
                0 => (&mut alice, &mut alice_ws),
                _ => (&mut bob, &mut bob_ws),
            };
            let answer = peer.accept_offer(message["sdp"].as_str().expect("an SDP"));
            send(socket, json!({"type": "media-answer", "sdp": answer})).await;
            answered[who] = true;
        }
        assert_eq!(answered, [true, true]);
        assert_eq!(server.sfu_members(), 2);
    });
}
