//! Rooms shared through Redis (`--redis-url`): the rules of the direct and
//! rooms policies hold with the members of one room spread over several
//! servers; a killed server's members leave; Redis going away is refused
//! clearly and recovered from; a bad URL stops the start.
//!
//! Each test starts a real `redis-server` on a loopback port
//! (`common::redis`). "Processes" are in-process servers, each with its own
//! hub, Redis connections and inbox, exactly as separate processes have;
//! the tests that kill one or read its exit run the example's binary.

use crate::common;
use videochat::steps;

use common::deadline::run;

use std::time::{Duration, Instant};

use common::process::{example_binary, ServerProcess};
use common::redis::Redis;
use common::ws::{
    assert_nothing_queued, connect, connect_to, expect_error, join, next_json, send, Socket, WAIT,
};
use serde_json::{json, Value};
use videochat::config::Config;
use videochat::server::{Server, Step};
use videochat::signaling::DEAD_PROCESS_NOTICED_WITHIN;

/// `count` servers of `step` sharing the rooms in `redis`.
fn servers(step: fn() -> Step, redis: &Redis, count: usize) -> Vec<Server> {
    let config = Config {
        redis_url: Some(redis.url()),
        ..Config::default()
    };
    (0..count)
        .map(|_| common::serve_with(step(), config.clone()))
        .collect()
}

/// Reads the welcome; returns the id.
async fn welcome(socket: &mut Socket) -> String {
    let welcome = next_json(socket).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    welcome["id"].as_str().expect("an id").to_string()
}

async fn arrive(server: &Server) -> (Socket, String) {
    let mut socket = connect(server).await;
    let id = welcome(&mut socket).await;
    (socket, id)
}

/// Sends a probe to nobody and reads up to its refusal: the answer to
/// everything sent before it has come back by then. Returns what came
/// before the refusal, and whether the socket is a member ("unknown-peer")
/// or not ("not-joined").
async fn settle(socket: &mut Socket) -> (Vec<Value>, bool) {
    let (before, member) = settle_unless_unavailable(socket).await;
    (
        before,
        member.expect("an answer from the rooms, not `unavailable`"),
    )
}

/// [`settle`], with `None` for "member or not" when an `unavailable`
/// refusal came first (Redis not answering).
async fn settle_unless_unavailable(socket: &mut Socket) -> (Vec<Value>, Option<bool>) {
    send(socket, json!({"type": "probe", "to": "nobody"})).await;
    let mut before = Vec::new();
    loop {
        let message = next_json(socket).await;
        match message["code"].as_str() {
            Some("unknown-peer") => return (before, Some(true)),
            Some("not-joined") => return (before, Some(false)),
            Some("unavailable") => return (before, None),
            _ => before.push(message),
        }
    }
}

/// Members of one room on two servers: joins and leaves announced once to
/// the others wherever they are, `from` stamped by the server, a `to`
/// outside the room refused, names unique across servers.
#[test]
fn a_room_spread_over_two_servers_keeps_every_rule() {
    run(async {
        let redis = Redis::start();
        let servers = servers(steps::app17, &redis, 2);
        let (mut alice, alice_id) = arrive(&servers[0]).await;
        let (mut bob, bob_id) = arrive(&servers[1]).await;
        let (mut carol, carol_id) = arrive(&servers[0]).await;
        assert!(alice_id != bob_id && bob_id != carol_id && alice_id != carol_id);

        join(&mut alice, "alice", Some("r")).await;
        assert!(settle(&mut alice).await.1, "alice joined");
        join(&mut bob, " bob ", Some("r")).await;
        assert_eq!(
            next_json(&mut alice).await,
            json!({"type": "join", "from": bob_id, "username": "bob"})
        );
        assert!(settle(&mut bob).await.1, "bob joined");

        // A message across servers, `from` the server's, not the page's.
        send(
            &mut bob,
            json!({"type": "offer", "to": alice_id, "from": "forged", "sdp": "v=0"}),
        )
        .await;
        assert_eq!(
            next_json(&mut alice).await,
            json!({"from": bob_id, "type": "offer", "to": alice_id, "sdp": "v=0"})
        );

        // The same name on the other server (case aside) is refused.
        join(&mut carol, "ALICE", Some("r")).await;
        expect_error(&mut carol, "bad-name").await;
        // Carol in another room cannot reach them, nor they her.
        join(&mut carol, "carol", Some("elsewhere")).await;
        assert!(settle(&mut carol).await.1, "carol joined her room");
        send(
            &mut carol,
            json!({"type": "chat", "to": bob_id, "text": "hi"}),
        )
        .await;
        expect_error(&mut carol, "unknown-peer").await;
        send(
            &mut bob,
            json!({"type": "chat", "to": carol_id, "text": "hi"}),
        )
        .await;
        expect_error(&mut bob, "unknown-peer").await;

        // Bob goes: Alice hears it once; Carol, in another room, nothing.
        drop(bob);
        assert_eq!(
            next_json(&mut alice).await,
            json!({"type": "leave", "from": bob_id})
        );
        assert_nothing_queued(&mut alice).await;
        assert_nothing_queued(&mut carol).await;
    });
}

/// Steps 15-16's one chat, spread over two servers.
#[test]
fn the_one_chat_of_step_16_spans_two_servers() {
    run(async {
        let redis = Redis::start();
        let servers = servers(steps::app16, &redis, 2);
        let (mut alice, alice_id) = arrive(&servers[0]).await;
        let (mut bob, bob_id) = arrive(&servers[1]).await;
        join(&mut alice, "alice", None).await;
        assert!(settle(&mut alice).await.1);
        join(&mut bob, "bob", None).await;
        assert_eq!(
            next_json(&mut alice).await,
            json!({"type": "join", "from": bob_id, "username": "bob"})
        );
        send(
            &mut alice,
            json!({"type": "chat", "to": bob_id, "text": "hello"}),
        )
        .await;
        assert_eq!(
            next_json(&mut bob).await,
            json!({"from": alice_id, "type": "chat", "to": bob_id, "text": "hello"})
        );
    });
}

/// Ten joins race for a room of four from two servers: exactly four get
/// in, every time, and the six others hear `room-full`.
#[test]
fn ten_joins_over_two_servers_admit_exactly_the_room_size() {
    run(async {
        let redis = Redis::start();
        let servers = servers(steps::app17, &redis, 2);
        let room_size = steps::app17().limits(None).room_size;
        for round in 0..5 {
            let mut sockets = Vec::new();
            for i in 0..10 {
                let (socket, _) = arrive(&servers[i % 2]).await;
                sockets.push(socket);
            }
            let room = format!("race-{round}");
            // Every join on the wire before any answer is read.
            for (i, socket) in sockets.iter_mut().enumerate() {
                join(socket, &format!("p{i}"), Some(&room)).await;
            }
            let mut admitted = 0;
            let mut refused_full = 0;
            for socket in &mut sockets {
                let (before, member) = settle(socket).await;
                admitted += usize::from(member);
                refused_full += before.iter().filter(|m| m["code"] == "room-full").count();
            }
            assert_eq!(admitted, room_size, "round {round}: admitted");
            assert_eq!(
                refused_full,
                10 - room_size,
                "round {round}: refused as full"
            );
        }
    });
}

/// The same name raced from two servers: one gets it, the other is told
/// to choose another.
#[test]
fn a_name_raced_over_two_servers_goes_to_one() {
    run(async {
        let redis = Redis::start();
        let servers = servers(steps::app17, &redis, 2);
        for round in 0..5 {
            let (mut first, _) = arrive(&servers[0]).await;
            let (mut second, _) = arrive(&servers[1]).await;
            let room = format!("names-{round}");
            join(&mut first, "Sam", Some(&room)).await;
            join(&mut second, "sam", Some(&room)).await;
            let (first_saw, first_in) = settle(&mut first).await;
            let (second_saw, second_in) = settle(&mut second).await;
            assert!(first_in != second_in, "round {round}: exactly one is in");
            let loser = if first_in { &second_saw } else { &first_saw };
            assert!(
                loser.iter().any(|m| m["code"] == "bad-name"),
                "round {round}: {loser:?}"
            );
        }
    });
}

/// A server killed with SIGKILL says nothing; the others notice its
/// silence, and its members' `leave` reaches their rooms within the
/// documented time.
#[test]
fn a_killed_servers_members_leave_within_the_documented_time() {
    run(async {
        let redis = Redis::start();
        let env = [("REDIS_URL", redis.url())];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let survivor = ServerProcess::start_with_env("app17", &[], &env, None);
        let mut doomed = ServerProcess::start_with_env("app17", &[], &env, None);
        let mut alice = connect_to(survivor.addr).await;
        welcome(&mut alice).await;
        let mut bob = connect_to(doomed.addr).await;
        let bob_id = welcome(&mut bob).await;
        join(&mut alice, "alice", Some("r")).await;
        assert!(settle(&mut alice).await.1);
        join(&mut bob, "bob", Some("r")).await;
        assert_eq!(next_json(&mut alice).await["type"], "join");

        let killed = Instant::now();
        doomed.kill();
        let leave = next_json(&mut alice).await;
        let noticed = killed.elapsed();
        assert_eq!(leave, json!({"type": "leave", "from": bob_id}));
        eprintln!("the killed server's member left after {noticed:?}");
        // The documented bound, plus a second for a loaded machine.
        assert!(
            noticed <= DEAD_PROCESS_NOTICED_WITHIN + Duration::from_secs(1),
            "noticed after {noticed:?}"
        );
        // The room goes on: a newcomer on the survivor is announced.
        let mut dave = connect_to(survivor.addr).await;
        welcome(&mut dave).await;
        join(&mut dave, "dave", Some("r")).await;
        assert_eq!(next_json(&mut alice).await["type"], "join");
        drop(bob);
    });
}

/// Redis stops: sockets stay open, a message is refused `unavailable`
/// (and delivered to nobody). Redis comes back empty: the servers write
/// their members back, messages flow again, and a newcomer is announced.
#[test]
fn redis_going_away_is_refused_and_recovered_from() {
    run(async {
        let mut redis = Redis::start();
        let servers = servers(steps::app17, &redis, 2);
        let (mut alice, alice_id) = arrive(&servers[0]).await;
        let (mut bob, bob_id) = arrive(&servers[1]).await;
        join(&mut alice, "alice", Some("r")).await;
        assert!(settle(&mut alice).await.1);
        join(&mut bob, "bob", Some("r")).await;
        assert_eq!(next_json(&mut alice).await["type"], "join");

        redis.stop();
        send(
            &mut alice,
            json!({"type": "chat", "to": bob_id, "text": "lost?"}),
        )
        .await;
        let refused = next_json(&mut alice).await;
        assert_eq!(refused["code"], "unavailable", "{refused}");
        assert!(
            refused["message"]
                .as_str()
                .is_some_and(|m| m.contains("Redis")),
            "{refused}"
        );

        let _redis = Redis::start_on(redis.port);
        // Until each server has resubscribed and written its members back,
        // messages are refused `unavailable`; then they flow again. What
        // was refused is not delivered later.
        let deadline = Instant::now() + WAIT;
        let mut tries = 0;
        loop {
            assert!(Instant::now() < deadline, "the rooms never answered again");
            tries += 1;
            let (_, alice_in) = settle_unless_unavailable(&mut alice).await;
            let (_, bob_in) = settle_unless_unavailable(&mut bob).await;
            if alice_in == Some(true) && bob_in == Some(true) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!("both members answered in their room again after {tries} tries");
        send(
            &mut alice,
            json!({"type": "chat", "to": bob_id, "text": "back"}),
        )
        .await;
        assert_eq!(
            next_json(&mut bob).await,
            json!({"from": alice_id, "type": "chat", "to": bob_id, "text": "back"}),
            "the message sent after Redis came back, and not the refused one"
        );

        let (mut carol, carol_id) = arrive(&servers[1]).await;
        join(&mut carol, "carol", Some("r")).await;
        for socket in [&mut alice, &mut bob] {
            let announced = next_json(socket).await;
            assert_eq!(
                announced,
                json!({"type": "join", "from": carol_id, "username": "carol"})
            );
        }
    });
}

/// Step 19: a member whose socket dropped takes its place back through
/// another server: same id, the room as it is, nobody told it left, and
/// messages reach it on its new server.
#[test]
fn a_member_resumes_on_another_server() {
    run(async {
        let redis = Redis::start();
        let servers = servers(steps::app19, &redis, 2);
        let mut alice = connect(&servers[0]).await;
        let welcome_msg = next_json(&mut alice).await;
        let alice_id = welcome_msg["id"].as_str().expect("id").to_string();
        let token = welcome_msg["resume"].as_str().expect("token").to_string();
        let (mut bob, bob_id) = arrive(&servers[1]).await;
        join(&mut alice, "alice", Some("r")).await;
        assert!(settle(&mut alice).await.1);
        join(&mut bob, "bob", Some("r")).await;
        assert_eq!(next_json(&mut alice).await["type"], "join");

        drop(alice);
        let mut again = connect(&servers[1]).await;
        welcome(&mut again).await;
        send(&mut again, json!({"type": "resume", "token": token})).await;
        let resumed = next_json(&mut again).await;
        assert_eq!(resumed["type"], "resumed", "{resumed}");
        assert_eq!(resumed["id"], alice_id.as_str());
        assert_eq!(
            resumed["members"],
            json!([{"id": bob_id, "username": "bob"}])
        );
        // The token worked once.
        let mut thief = connect(&servers[0]).await;
        welcome(&mut thief).await;
        send(&mut thief, json!({"type": "resume", "token": token})).await;
        expect_error(&mut thief, "bad-token").await;

        send(
            &mut bob,
            json!({"type": "chat", "to": alice_id, "text": "still here?"}),
        )
        .await;
        let chat = next_json(&mut again).await;
        assert_eq!(chat["text"], "still here?", "{chat}");
        // Bob heard neither a leave nor a join.
        assert_nothing_queued(&mut bob).await;
    });
}

/// A wrong URL or a Redis nobody answers: one line on stderr, a non-zero
/// exit, and nothing served.
#[test]
fn a_bad_redis_url_or_no_redis_stops_the_start_with_one_line() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let unreachable = format!("redis://127.0.0.1:{closed_port}/");
    for (url, says) in [
        ("http://example.org/", "Redis URL"),
        (unreachable.as_str(), "cannot reach Redis"),
    ] {
        let mut command = std::process::Command::new(example_binary("app17"));
        command
            .args(["--port", "0", "--redis-url", url])
            .env("RUST_LOG", "info")
            .stdin(std::process::Stdio::null());
        let output =
            common::deadline::output_within(&mut command, "app17", Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(!output.status.success(), "{url}: {:?}", output.status);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
        assert_eq!(errors.len(), 1, "{url}: {stderr}");
        assert!(errors[0].contains(says), "{url}: {stderr}");
        assert!(!stdout.contains("open http"), "{url}: it served: {stdout}");
    }
}
