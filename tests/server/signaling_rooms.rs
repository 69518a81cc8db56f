//! The direct (steps 15-16) and rooms (step 17) policies over real
//! WebSockets: ids, join and leave announcements, delivery to one peer with
//! the server's `from`, and every refusal. The servers are the examples' own
//! (`steps::app16()`, `steps::app17()`).

use crate::common;
use videochat::steps;

use common::deadline::run;

use std::time::Duration;

use common::ws::{
    arrive, assert_nothing_queued, expect_error, join, next_json, send, sync_with_hub,
    wait_for_open_sockets,
};
use serde_json::json;
use videochat::server::{Server, Step};
use videochat::signaling::Limits;

fn direct() -> Step {
    steps::app16()
}

fn rooms() -> Step {
    steps::app17()
}

/// Waits until the server holds no peers and no rooms.
async fn wait_for_empty(server: &Server) {
    wait_for_open_sockets(server, 0).await;
    assert_eq!(server.open_rooms(), 0, "a room outlived its members");
}

/// Ids are distinct and unguessable; a join is announced to those already
/// there (with the trimmed name), not to the newcomer.
#[test]
fn ids_are_distinct_and_joins_are_announced() {
    run(async {
        let server = common::serve(direct());
        let (mut alice, alice_id) = arrive(&server).await;
        let (mut bob, bob_id) = arrive(&server).await;
        assert_ne!(alice_id, bob_id);
        for id in [&alice_id, &bob_id] {
            assert!(
                id.len() >= 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
                "{id}"
            );
        }

        join(&mut alice, "alice", None).await;
        sync_with_hub(&mut alice).await;
        join(&mut bob, "  bob  ", None).await;
        let announced = next_json(&mut alice).await;
        assert_eq!(
            announced,
            json!({"type": "join", "from": bob_id, "username": "bob"})
        );
        assert_nothing_queued(&mut bob).await;

        drop(alice);
        drop(bob);
        wait_for_empty(&server).await;
    });
}

/// A message goes only to its `to`, with `from` set by the server whatever
/// the page wrote; everything else in it passes through.
#[test]
fn delivery_to_one_peer_with_a_forged_from_overwritten() {
    run(async {
        let server = common::serve(direct());
        let (mut alice, alice_id) = arrive(&server).await;
        let (mut bob, bob_id) = arrive(&server).await;
        let (mut carol, _) = arrive(&server).await;
        // One at a time, so each announcement is read before the next join.
        join(&mut alice, "alice", None).await;
        sync_with_hub(&mut alice).await;
        join(&mut bob, "bob", None).await;
        next_json(&mut alice).await;
        join(&mut carol, "carol", None).await;
        next_json(&mut alice).await;
        next_json(&mut bob).await;

        send(
        &mut alice,
        json!({"type": "offer", "to": bob_id, "from": "someone-else", "sdp": "v=0", "username": "alice"}),
    )
    .await;
        let offer = next_json(&mut bob).await;
        assert_eq!(
            offer,
            json!({"type": "offer", "to": bob_id, "from": alice_id, "sdp": "v=0", "username": "alice"})
        );
        assert_nothing_queued(&mut carol).await;
        assert_nothing_queued(&mut alice).await;
    });
}

/// Before `join`, messages and `leave` are refused with `not-joined`; a `to`
/// naming nobody (or yourself) is `unknown-peer`; a message without `to` is
/// `bad-message`. The socket stays open through all of it.
#[test]
fn refusals_before_join_and_for_unknown_peers() {
    run(async {
        let server = common::serve(direct());
        let (mut alice, alice_id) = arrive(&server).await;
        let (mut bob, bob_id) = arrive(&server).await;

        send(&mut alice, json!({"type": "offer", "to": bob_id})).await;
        expect_error(&mut alice, "not-joined").await;
        send(&mut alice, json!({"type": "leave"})).await;
        expect_error(&mut alice, "not-joined").await;

        join(&mut alice, "alice", None).await;
        send(
            &mut alice,
            json!({"type": "offer", "to": "0123456789abcdef0123456789abcdef"}),
        )
        .await;
        expect_error(&mut alice, "unknown-peer").await;
        send(&mut alice, json!({"type": "offer", "to": alice_id})).await;
        expect_error(&mut alice, "unknown-peer").await;
        // Bob is connected but has not joined: not someone Alice can reach.
        send(&mut alice, json!({"type": "offer", "to": bob_id})).await;
        expect_error(&mut alice, "unknown-peer").await;
        send(&mut alice, json!({"type": "offer"})).await;
        expect_error(&mut alice, "bad-message").await;
        join(&mut alice, "again", None).await;
        expect_error(&mut alice, "bad-message").await;
        assert_nothing_queued(&mut bob).await;
    });
}

/// Usernames and room names must be strings (`bad-message` otherwise) of
/// 1-64 characters after trimming, without control characters, with a
/// visible character and no bidi overrides (`bad-name` otherwise).
#[test]
fn invalid_names_are_refused() {
    run(async {
        let server = common::serve(rooms());
        let (mut alice, _) = arrive(&server).await;
        let long = "x".repeat(65);
        let wrong_types = [
            json!({"type": "join", "room": "daily"}),
            json!({"type": "join", "username": 42, "room": "daily"}),
            json!({"type": "join", "username": "alice"}),
        ];
        for join in wrong_types {
            send(&mut alice, join.clone()).await;
            expect_error(&mut alice, "bad-message").await;
        }
        let bad_names = [
            json!({"type": "join", "username": "", "room": "daily"}),
            json!({"type": "join", "username": "   ", "room": "daily"}),
            json!({"type": "join", "username": long, "room": "daily"}),
            json!({"type": "join", "username": "a\u{7}b", "room": "daily"}),
            json!({"type": "join", "username": "alice", "room": ""}),
            json!({"type": "join", "username": "alice", "room": "line\nbreak"}),
        ];
        for join in bad_names {
            send(&mut alice, join.clone()).await;
            expect_error(&mut alice, "bad-name").await;
        }
        assert_eq!(server.open_rooms(), 0);
        join(&mut alice, "alice", Some("daily")).await;
        assert_nothing_queued(&mut alice).await;
        assert_eq!(server.open_rooms(), 1);
    });
}

/// Rooms are isolated: joins are announced only inside a room, and `to`
/// into another room is `unknown-peer` with nothing delivered.
#[test]
fn rooms_are_isolated() {
    run(async {
        let server = common::serve(rooms());
        let (mut alice, _) = arrive(&server).await;
        let (mut bob, bob_id) = arrive(&server).await;
        let (mut carol, carol_id) = arrive(&server).await;
        join(&mut alice, "alice", Some("red")).await;
        sync_with_hub(&mut alice).await;
        join(&mut bob, "bob", Some("blue")).await;
        join(&mut carol, "carol", Some("red")).await;
        assert_eq!(next_json(&mut alice).await["from"], carol_id.as_str());
        assert_nothing_queued(&mut bob).await;

        send(
            &mut alice,
            json!({"type": "offer", "to": bob_id, "sdp": "v=0"}),
        )
        .await;
        expect_error(&mut alice, "unknown-peer").await;
        assert_nothing_queued(&mut bob).await;
        assert_eq!(server.open_rooms(), 2);
    });
}

/// A full room refuses the next member with `room-full`; other rooms are unaffected.
#[test]
fn full_room_is_refused() {
    run(async {
        let limits = Limits {
            room_size: 2,
            ..Limits::default()
        };
        let server = common::serve_with_limits(rooms(), limits);
        let mut sockets = Vec::new();
        for name in ["a", "b"] {
            let (mut socket, _) = arrive(&server).await;
            join(&mut socket, name, Some("small")).await;
            sync_with_hub(&mut socket).await;
            sockets.push(socket);
        }
        let (mut late, _) = arrive(&server).await;
        join(&mut late, "late", Some("small")).await;
        let refusal = next_json(&mut late).await;
        assert_eq!(refusal["code"], "room-full", "{refusal}");
        assert!(
            refusal["message"].as_str().is_some_and(|m| m.contains('2')),
            "{refusal}"
        );
        // Still connected, and welcome elsewhere.
        join(&mut late, "late", Some("other")).await;
        assert_nothing_queued(&mut late).await;
    });
}

/// `leave` is announced to the room when a page sends it (and it stays
/// connected), closes its socket, or drops without a close; afterwards the
/// server holds no peers and no rooms.
#[test]
fn leave_is_announced_however_a_page_goes() {
    run(async {
        let server = common::serve(rooms());
        let (mut watcher, _) = arrive(&server).await;
        join(&mut watcher, "watcher", Some("r")).await;
        sync_with_hub(&mut watcher).await;
        let mut goers = Vec::new();
        for name in ["sends-leave", "closes", "drops"] {
            let (mut socket, id) = arrive(&server).await;
            join(&mut socket, name, Some("r")).await;
            assert_eq!(next_json(&mut watcher).await["from"], id.as_str());
            goers.push((socket, id));
        }
        let mut goers = goers.into_iter();

        let (mut sends_leave, id) = goers.next().expect("a socket");
        send(&mut sends_leave, json!({"type": "leave"})).await;
        assert_eq!(
            next_json(&mut watcher).await,
            json!({"type": "leave", "from": id})
        );
        // It heard the two joins after its own, then nothing more: still connected.
        for _ in 0..2 {
            assert_eq!(next_json(&mut sends_leave).await["type"], "join");
        }
        assert_nothing_queued(&mut sends_leave).await;

        let (mut closes, id) = goers.next().expect("a socket");
        closes.close(None).await.expect("close");
        assert_eq!(
            next_json(&mut watcher).await,
            json!({"type": "leave", "from": id})
        );

        let (drops, id) = goers.next().expect("a socket");
        drop(drops); // TCP closed with no WebSocket close frame
        assert_eq!(
            next_json(&mut watcher).await,
            json!({"type": "leave", "from": id})
        );

        drop(sends_leave);
        drop(watcher);
        wait_for_empty(&server).await;
    });
}

/// A member that stops answering heartbeats is announced as leaving.
#[test]
fn missed_heartbeats_are_announced_as_leave() {
    run(async {
        let limits = Limits {
            heartbeat_interval: Duration::from_millis(100),
            client_timeout: Duration::from_millis(500),
            ..Limits::default()
        };
        let server = common::serve_with_limits(rooms(), limits);
        let (mut watcher, _) = arrive(&server).await;
        join(&mut watcher, "watcher", Some("r")).await;
        sync_with_hub(&mut watcher).await;
        let (mut silent, id) = arrive(&server).await;
        join(&mut silent, "silent", Some("r")).await;
        assert_eq!(next_json(&mut watcher).await["from"], id.as_str());
        // From here `silent` is never read, so it never answers a ping; reading
        // the watcher (which answers its own pings) waits for the announcement.
        assert_eq!(
            next_json(&mut watcher).await,
            json!({"type": "leave", "from": id})
        );
        wait_for_open_sockets(&server, 1).await;
        drop(watcher);
        wait_for_empty(&server).await;
        drop(silent);
    });
}
