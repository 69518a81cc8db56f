//! Step 19's resume over real WebSockets: a member whose socket drops keeps
//! its place for the grace and takes it back with its token; tokens are
//! bound to one member, single use, and die with the place; a page that
//! closes its socket leaves at once; the steps before 19 are unchanged.

use crate::common;
use videochat::steps;

use common::deadline::run;

use std::time::{Duration, Instant};

use common::ws::{
    assert_nothing_queued, connect, expect_closed_by_server, expect_error, join, next_json, send,
    sync_with_hub, wait_for_open_sockets, Socket, WAIT,
};
use serde_json::{json, Value};
use videochat::server::Server;
use videochat::signaling::Limits;

/// A socket of step 19, its id and its resume token.
struct Member {
    socket: Socket,
    id: String,
    token: String,
}

/// Connects and reads step 19's welcome, which carries a resume token.
async fn arrive(server: &Server) -> Member {
    let mut socket = connect(server).await;
    let welcome = next_json(&mut socket).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let id = welcome["id"].as_str().expect("an id").to_string();
    let token = welcome["resume"]
        .as_str()
        .expect("a resume token")
        .to_string();
    assert!(
        token.len() >= 32 && token.chars().all(|c| c.is_ascii_hexdigit()),
        "{token}"
    );
    Member { socket, id, token }
}

/// Alice, then Bob, in room "r"; each has read what the other's arrival
/// caused.
async fn alice_and_bob(server: &Server) -> (Member, Member) {
    let mut alice = arrive(server).await;
    let mut bob = arrive(server).await;
    join(&mut alice.socket, "alice", Some("r")).await;
    sync_with_hub(&mut alice.socket).await;
    join(&mut bob.socket, "bob", Some("r")).await;
    let announced = next_json(&mut alice.socket).await;
    assert_eq!(announced["type"], "join", "{announced}");
    sync_with_hub(&mut bob.socket).await;
    (alice, bob)
}

/// Drops `socket` without a close frame, as a lost network does.
fn lose(socket: Socket) {
    drop(socket);
}

/// Sends `to` a message from `from` until the server answers `peer-away`:
/// proof that it has noticed `to`'s socket is gone and holds its place.
/// (Until then the message is delivered and answers nothing, so each try
/// is followed by one to nobody, whose refusal always comes back.)
async fn wait_until_away(from: &mut Socket, to: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        send(from, json!({"type": "probe", "to": to})).await;
        send(from, json!({"type": "probe", "to": "nobody"})).await;
        let reply = next_json(from).await;
        if reply["code"] == "peer-away" {
            expect_error(from, "unknown-peer").await;
            return;
        }
        assert_eq!(reply["code"], "unknown-peer", "{reply}");
        assert!(Instant::now() < deadline, "the server never said peer-away");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Takes `token`'s place on a new socket; returns the socket and `resumed`.
async fn resume(server: &Server, token: &str) -> (Member, Value) {
    let mut fresh = arrive(server).await;
    send(&mut fresh.socket, json!({"type": "resume", "token": token})).await;
    let reply = next_json(&mut fresh.socket).await;
    (fresh, reply)
}

/// The place is held while the socket is away (messages for it refused
/// with `peer-away`, nothing announced), and the token takes it back: same
/// id, a new token, the room as it is, and messages flow to the new socket.
#[test]
fn a_dropped_socket_takes_its_place_back() {
    run(async {
        let server = common::serve(steps::app19());
        let (alice, mut bob) = alice_and_bob(&server).await;
        let (alice_id, old_token) = (alice.id.clone(), alice.token.clone());
        lose(alice.socket);
        wait_until_away(&mut bob.socket, &alice_id).await;

        let (mut again, resumed) = resume(&server, &old_token).await;
        assert_eq!(resumed["type"], "resumed", "{resumed}");
        assert_eq!(resumed["id"], alice_id.as_str());
        assert_eq!(
            resumed["members"],
            json!([{"id": bob.id, "username": "bob"}])
        );
        let new_token = resumed["resume"].as_str().expect("a new token");
        assert_ne!(new_token, old_token);
        assert_ne!(
            new_token, again.token,
            "the fresh socket's token died with its id"
        );

        send(
            &mut bob.socket,
            json!({"type": "offer", "to": alice_id, "sdp": "x"}),
        )
        .await;
        let offer = next_json(&mut again.socket).await;
        assert_eq!(offer["from"], bob.id.as_str(), "{offer}");
        send(
            &mut again.socket,
            json!({"type": "answer", "to": bob.id, "sdp": "y"}),
        )
        .await;
        let answer = next_json(&mut bob.socket).await;
        assert_eq!(answer["from"], alice_id.as_str(), "{answer}");
        // Bob never heard a leave or a join: the next thing he reads is
        // the answer to his own bad message.
        assert_nothing_queued(&mut bob.socket).await;
        assert_eq!(server.open_sockets(), 2, "the fresh id was not dropped");
        assert_eq!(server.resume_tokens(), 2);

        drop(again);
        drop(bob);
    });
}

/// A used token, a made-up one and a fresh socket's own are refused with
/// `bad-token`, and the socket that presented one gets nobody's place: it
/// is still a newcomer that has not joined.
#[test]
fn forged_and_replayed_tokens_are_refused() {
    run(async {
        let server = common::serve(steps::app19());
        let (alice, mut bob) = alice_and_bob(&server).await;
        let old_token = alice.token.clone();
        lose(alice.socket);
        wait_until_away(&mut bob.socket, &alice.id).await;
        let (resumed_alice, resumed) = resume(&server, &old_token).await;
        assert_eq!(resumed["type"], "resumed", "{resumed}");

        for (what, token) in [
            ("replayed", old_token.clone()),
            ("forged", "0123456789abcdef0123456789abcdef".to_string()),
            ("empty", String::new()),
        ] {
            let (mut thief, reply) = resume(&server, &token).await;
            assert_eq!(reply["type"], "error", "{what}: {reply}");
            assert_eq!(reply["code"], "bad-token", "{what}: {reply}");
            // Nobody's place: it may not send to the room.
            send(&mut thief.socket, json!({"type": "offer", "to": bob.id})).await;
            expect_error(&mut thief.socket, "not-joined").await;
        }
        // A token that is not a string is a bad message, not a lookup.
        let mut odd = arrive(&server).await;
        send(&mut odd.socket, json!({"type": "resume", "token": 7})).await;
        expect_error(&mut odd.socket, "bad-message").await;
        // A member cannot resume someone else once joined.
        send(
            &mut bob.socket,
            json!({"type": "resume", "token": resumed["resume"]}),
        )
        .await;
        expect_error(&mut bob.socket, "bad-message").await;
        drop(resumed_alice);
    });
}

/// With no socket back within the grace, the member leaves as before: its
/// room hears `leave`, its token no longer works, and nothing is left.
#[test]
fn a_place_not_taken_back_in_time_is_left() {
    run(async {
        let limits = Limits {
            resume_grace: Duration::from_millis(500),
            ..Limits::default()
        };
        let server = common::serve_with_limits(steps::app19(), limits);
        let (alice, mut bob) = alice_and_bob(&server).await;
        let started = Instant::now();
        lose(alice.socket);
        let leave = next_json(&mut bob.socket).await;
        assert_eq!(leave, json!({"type": "leave", "from": alice.id}));
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "left after {:?}, before the grace",
            started.elapsed()
        );
        let (late, reply) = resume(&server, &alice.token).await;
        assert_eq!(reply["code"], "bad-token", "{reply}");
        drop(late);
        drop(bob);
        wait_for_open_sockets(&server, 0).await;
        assert_eq!(server.resume_tokens(), 0, "a token outlived its member");
        assert_eq!(server.open_rooms(), 0);
    });
}

/// A page that closes its socket (a close frame: the tab closed, Leave,
/// a reload) leaves at once: only a lost connection is held.
#[test]
fn a_closed_socket_leaves_at_once() {
    run(async {
        let server = common::serve(steps::app19());
        let (mut alice, mut bob) = alice_and_bob(&server).await;
        alice.socket.close(None).await.expect("close");
        let leave = next_json(&mut bob.socket).await;
        assert_eq!(leave, json!({"type": "leave", "from": alice.id}));
        let (_late, reply) = resume(&server, &alice.token).await;
        assert_eq!(reply["code"], "bad-token", "{reply}");
    });
}

/// A socket the server still thinks is open (its connection half-open
/// after a network change) is replaced by the one that resumes: the old one
/// is closed, nobody hears a leave, and messages go to the new one.
#[test]
fn resume_replaces_a_half_open_socket() {
    run(async {
        let server = common::serve(steps::app19());
        let (mut alice, mut bob) = alice_and_bob(&server).await;
        let (mut again, resumed) = resume(&server, &alice.token).await;
        assert_eq!(resumed["type"], "resumed", "{resumed}");
        expect_closed_by_server(&mut alice.socket, "the replaced socket").await;
        send(
            &mut bob.socket,
            json!({"type": "chat", "to": alice.id, "text": "hi"}),
        )
        .await;
        let chat = next_json(&mut again.socket).await;
        assert_eq!(chat["text"], "hi", "{chat}");
        assert_nothing_queued(&mut bob.socket).await;
        // The old socket's end took nothing with it.
        assert_eq!(server.open_sockets(), 2);
    });
}

/// Before step 19 nothing changes: `welcome` has no token, and a message of
/// type `resume` is relayed like any other.
#[test]
fn steps_before_19_do_not_resume() {
    run(async {
        let server = common::serve(steps::app18());
        let mut alice = connect(&server).await;
        let welcome = next_json(&mut alice).await;
        assert_eq!(welcome.get("resume"), None, "{welcome}");
        let alice_id = welcome["id"].as_str().expect("an id").to_string();
        let mut bob = connect(&server).await;
        next_json(&mut bob).await;
        join(&mut alice, "alice", Some("r")).await;
        sync_with_hub(&mut alice).await;
        join(&mut bob, "bob", Some("r")).await;
        next_json(&mut alice).await;
        send(
            &mut bob,
            json!({"type": "resume", "to": alice_id, "token": "t"}),
        )
        .await;
        let relayed = next_json(&mut alice).await;
        assert_eq!(relayed["type"], "resume", "{relayed}");
        // A socket that drops leaves at once.
        drop(bob);
        let leave = next_json(&mut alice).await;
        assert_eq!(leave["type"], "leave", "{leave}");
    });
}
