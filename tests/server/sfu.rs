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
use videochat::server::Server;
use videochat::signaling::Limits;
use videochat::steps;

use common::str0m_peer::Str0mPeer;

/// Step 20's server (the test harness gives the SFU a free UDP port), with
/// `limits`.
fn sfu_server(limits: Limits) -> Server {
    common::serve(steps::app20().with_limits(limits))
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

/// A member in `room` on `server`: its socket and its str0m peer, with
/// one audio track published and the SFU's answer accepted.
async fn publisher(server: &Server, name: &str) -> (Str0mPeer, common::ws::Socket) {
    let (mut socket, _) = arrive(server).await;
    join(&mut socket, name, Some("r")).await;
    sync_with_hub(&mut socket).await;
    let mut peer = Str0mPeer::new().await;
    let offer = peer.offer_audio();
    send(&mut socket, json!({"type": "media-offer", "sdp": offer})).await;
    let answer = pump_until_message(&mut peer, &mut socket, "media-answer").await;
    peer.accept_answer(answer["sdp"].as_str().expect("an SDP"));
    (peer, socket)
}

/// Runs every peer while reading every socket: each `media-offer` of the
/// SFU's is answered, unless `ignore` says to leave that one unanswered
/// (a page whose own offer is out ignores the SFU's: it is impolite), and
/// each `media-answer` is taken. Returns every message read, once `done`
/// holds; fails after 15 s naming `what`.
async fn run_members(
    members: &mut [(Str0mPeer, common::ws::Socket)],
    what: &str,
    ignore: impl Fn(usize, &serde_json::Value) -> bool,
    done: impl Fn(&[(Str0mPeer, common::ws::Socket)]) -> bool,
) -> Vec<(usize, serde_json::Value)> {
    common::deadline::waiting_for(what);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    while !done(members) {
        let counts: Vec<usize> = members.iter().map(|(peer, _)| peer.received).collect();
        assert!(
            Instant::now() < deadline,
            "{what}: received {counts:?}, messages {seen:?}"
        );
        let (peers, sockets): (Vec<_>, Vec<_>) = members
            .iter_mut()
            .map(|(peer, socket)| (peer, socket))
            .unzip();
        let pump_all = futures_util::future::join_all(
            peers
                .into_iter()
                .map(|peer| peer.pump(Duration::from_millis(20))),
        );
        let read_any = futures_util::future::select_all(
            sockets
                .into_iter()
                .map(|socket| Box::pin(next_json(socket))),
        );
        let message = tokio::select! {
            (message, who, _) = read_any => Some((who, message)),
            _ = pump_all => None,
        };
        let Some((who, message)) = message else {
            continue;
        };
        seen.push((who, message.clone()));
        let (peer, socket) = &mut members[who];
        let sdp = message["sdp"].as_str().unwrap_or_default();
        match message["type"].as_str() {
            Some("media-answer") => peer.accept_answer(sdp),
            Some("media-offer") if !ignore(who, &message) => {
                let answer = peer.accept_offer(sdp);
                send(socket, json!({"type": "media-answer", "sdp": answer})).await;
            }
            Some("media-offer") => {}
            // The room's own news, as in step 17.
            Some("join" | "leave") => {}
            _ => panic!("{what}: unexpected {message}"),
        }
    }
    seen
}

/// Two members, each a str0m peer over real UDP: each connects to the SFU,
/// is offered the other's track by the SFU, and receives the other's audio
/// packets through it.
#[test]
fn audio_from_one_member_is_forwarded_to_the_other() {
    run(async {
        let server = sfu_server(Limits::default());
        let mut members = vec![
            publisher(&server, "alice").await,
            publisher(&server, "bob").await,
        ];
        let seen = run_members(
            &mut members,
            "the SFU's offers, then audio forwarded both ways",
            |_, _| false,
            |members| members.iter().all(|(peer, _)| peer.received >= 20),
        )
        .await;
        let offered: Vec<usize> = seen.iter().map(|(who, _)| *who).collect();
        assert!(offered.contains(&0) && offered.contains(&1), "{offered:?}");
        assert_eq!(server.sfu_members(), 2);
    });
}

/// Glare: the SFU's offer to Alice (Carol's new track) crosses Alice's own
/// new offer. Alice, impolite, ignores the SFU's; the SFU yields: it answers
/// Alice's offer and offers Carol's track again, and Alice then hears Bob
/// and Carol. Then Carol closes her socket: the SFU offers the others the
/// end of her track and forgets her.
#[test]
fn the_sfu_yields_on_glare_and_a_leaver_is_offered_away() {
    run(async {
        let server = sfu_server(Limits::default());
        let mut members = vec![
            publisher(&server, "alice").await,
            publisher(&server, "bob").await,
        ];
        run_members(
            &mut members,
            "alice and bob hear each other",
            |_, _| false,
            |members| members.iter().all(|(peer, _)| peer.received >= 10),
        )
        .await;

        // Carol arrives; the SFU's offer of her track to Alice is left
        // unanswered (Bob answers his).
        members.push(publisher(&server, "carol").await);
        let alice_offered = std::cell::Cell::new(false);
        run_members(
            &mut members,
            "the SFU's offer of carol's track to alice",
            |who, _| {
                if who == 0 {
                    alice_offered.set(true);
                }
                who == 0
            },
            |_| alice_offered.get(),
        )
        .await;
        // Alice's own offer crosses it: the SFU answers, then offers again.
        let second_track = members[0].0.offer_audio();
        send(
            &mut members[0].1,
            json!({"type": "media-offer", "sdp": second_track}),
        )
        .await;
        let seen = run_members(
            &mut members,
            "alice to hear bob and carol after the glare",
            |_, _| false,
            |members| members[0].0.tracks_with(10) >= 2 && members[1].0.tracks_with(10) >= 2,
        )
        .await;
        let to_alice: Vec<&str> = seen
            .iter()
            .filter(|(who, _)| *who == 0)
            .filter_map(|(_, message)| message["type"].as_str())
            .collect();
        assert!(
            to_alice.starts_with(&["media-answer"]) && to_alice.contains(&"media-offer"),
            "the SFU answered first, then offered again: {to_alice:?}"
        );

        // Carol closes her tab: Alice and Bob are offered the end of her
        // track, and the SFU forgets her.
        let (_, carol_socket) = members.pop().expect("carol");
        let mut carol_socket = carol_socket;
        carol_socket.close(None).await.expect("close");
        let offers = std::cell::Cell::new(0);
        run_members(
            &mut members,
            "the offers that end carol's track",
            |_, message| {
                if message["type"] == "media-offer" {
                    offers.set(offers.get() + 1);
                }
                false
            },
            |_| offers.get() >= 2,
        )
        .await;
        wait_for_sfu_members(&server, 2).await;
    });
}

/// Step 20's rooms hold `sfu::ROOM_SIZE` (12) people, not the mesh's 4:
/// twelve join, the thirteenth is refused `room-full`, and the twelve are
/// told of nobody more.
#[test]
fn step_20_rooms_hold_twelve() {
    run(async {
        assert_eq!(videochat::sfu::ROOM_SIZE, 12);
        let server = common::serve(steps::app20());
        let mut members = Vec::new();
        for index in 0..videochat::sfu::ROOM_SIZE {
            let (mut socket, _) = arrive(&server).await;
            join(&mut socket, &format!("member{index}"), Some("big")).await;
            sync_with_hub(&mut socket).await;
            members.push(socket);
        }
        let (mut thirteenth, _) = arrive(&server).await;
        join(&mut thirteenth, "member12", Some("big")).await;
        expect_error(&mut thirteenth, "room-full").await;
        // The first member heard the eleven others join, and nothing else.
        let first = &mut members[0];
        for _ in 1..videochat::sfu::ROOM_SIZE {
            assert_eq!(next_json(first).await["type"], "join");
        }
        assert_nothing_queued(first).await;
    });
}
