//! Steps 15-17: usernames, the mesh and rooms, in headless Chromium.

use crate::common;
use videochat::steps;

use common::browser::{browser, Engine, Page};
use common::call::{expect_media_from_each, expect_remote_media, Pair, CONNECTING, QUICK};
use common::deadline::run;
use common::rooms::{
    expect_last_chat_line, expect_tiles_connected, join_room, join_with_devices,
    leave_and_expect_every_device_off,
};
use serde_json::json;
use std::time::{Duration, Instant};
use videochat::signaling::Limits;

/// How soon the others must see a member's tile go when it leaves.
const TILE_GONE: Duration = Duration::from_secs(3);

/// Types `name` on the join screen of `page` and presses Join.
async fn join(page: &Page<'_>, name: &str) {
    page.wait_for_status("type your name", QUICK).await;
    page.type_into("#username", name).await;
    page.click("#join").await;
}

/// Step 15: both names are shown on both sides, a name with markup is shown
/// literally with nothing executed, and joining is what starts the call.
#[test]
fn app15_names_are_shown_literally_and_join_starts_the_call() {
    run(async {
        let browser = browser().await;
        let server = common::serve(steps::app15());
        let alice = browser.open("alice", &server.url()).await;
        let bob = browser.open("bob", &server.url()).await;
        let bob_name = "<img src=x onerror=\"window.__pwned=1\">Bob";

        join(&alice, "Alice").await;
        alice.turn_devices_on().await;
        join(&bob, bob_name).await;
        bob.turn_devices_on().await;

        // The call starts at Join; the device messages may have replaced
        // "connected" in #status since, so read the state line.
        for page in [&alice, &bob] {
            page.wait_for(
                "the connection to be up",
                "return document.getElementById('pc-states').textContent.includes('connection: connected');",
                CONNECTING,
            )
            .await;
        }
        assert_eq!(alice.text("#remote-username").await, bob_name);
        assert_eq!(bob.text("#remote-username").await, "Alice");
        assert!(alice.text("#local-username").await.contains("Alice"));
        assert!(bob.text("#local-username").await.contains(bob_name));
        expect_remote_media(&alice).await;
        expect_remote_media(&bob).await;
        for page in [&alice, &bob] {
            let injected = page
                .eval("return [document.querySelectorAll('#chat img').length, window.__pwned ?? null];", vec![])
                .await;
            assert_eq!(injected, json!([0, null]), "a name was parsed as HTML");
            page.assert_no_uncaught_errors().await;
        }

        // Step 15's page calls one other person, so its chat holds two:
        // Carol is told it is full and stays on the join screen, and the
        // call of the two goes on.
        let carol = browser.open("carol", &server.url()).await;
        join(&carol, "Carol").await;
        carol
            .wait_for_status("could not join: the chat is full (2 people at most)", QUICK)
            .await;
        assert_eq!(
            carol
                .eval("return [document.getElementById('join-form').hidden, document.getElementById('chat').hidden];", vec![])
                .await,
            json!([false, true]),
            "Carol is not back on the join screen"
        );
        expect_remote_media(&alice).await;
        carol.close().await;

        // Bob closes his tab: the server tells Alice, whose tile empties.
        bob.close().await;
        alice
            .wait_for(
                "Alice's remote media to clear",
                "return document.getElementById('remote-video').srcObject === null;",
                TILE_GONE,
            )
            .await;
        alice.wait_for("the remote name to reset", "return document.getElementById('remote-username').textContent.startsWith('Waiting');", QUICK).await;
    });
}

/// Waits until `page` has no tile named `name`, failing once `deadline` has passed.
async fn expect_tile_gone_by(page: &Page<'_>, name: &str, deadline: Instant) {
    let condition = format!(
        "return ![...document.querySelectorAll('#peers .peer-name')].some((n) => n.textContent === {});",
        json!(name)
    );
    let left = deadline.saturating_duration_since(Instant::now());
    page.wait_for(&format!("{name}'s tile to go"), &condition, left)
        .await;
}

/// Step 16: three people in a full mesh each see and hear the two others in
/// tiles with the right names; a chat line reaches both others; a member who
/// leaves, and one whose tab closes, vanish from the others within 3 s.
async fn app16_three_people_see_hear_and_chat_with_each_other(alice: Engine, bob: Engine) {
    let pair = Pair::take(alice, bob).await;
    // A chat of 3 (ROOM_SIZE), so a fourth person shows the refusal.
    let limits = Limits::default().with_room_size(3);
    let server = common::serve_with_limits(steps::app16(), limits);
    let names = ["Alice", "Bob", "Carol"];
    let mut pages = Vec::new();
    for (index, name) in names.into_iter().enumerate() {
        let page = pair
            .person(index)
            .open(&name.to_lowercase(), &server.url())
            .await;
        join(&page, name).await;
        page.turn_devices_on().await;
        pages.push(page);
    }
    for (page, name) in pages.iter().zip(names) {
        let others: Vec<&str> = names.iter().copied().filter(|n| *n != name).collect();
        expect_tiles_connected(page, &others).await;
        for tile in 1..=2 {
            page.expect_video_playing(&format!("#peers .peer:nth-child({tile}) video"))
                .await;
        }
        expect_media_from_each(page, 2).await;
    }

    // A line from Alice reaches Bob and Carol, labelled with her name.
    let [alice, bob, carol] = &pages[..] else {
        unreachable!("three pages were opened")
    };
    alice.type_into("#message", "Hello, both of you!").await;
    alice.click("#send-message").await;
    for page in [bob, carol] {
        expect_last_chat_line(page, "Alice", "Hello, both of you!").await;
    }

    // Alice's camera goes off and on again: every connection stops
    // sending her video and then sends the new track, and both others
    // decode it again.
    // replaceTrack is asynchronous: a sender's track changes when it
    // settles, so the test waits for what each connection sends.
    let video_senders = |wanted: &str| {
        format!(
            "const sending = window.__probe.peerConnections \
               .filter((pc) => pc.connectionState !== 'closed') \
               .map((pc) => pc.getSenders().filter((s) => s.track && s.track.kind === 'video' \
                 && s.track.readyState === 'live').length); \
             return JSON.stringify(sending) === {} && sending;",
            json!(wanted)
        )
    };
    alice.set_device("camera", false).await;
    alice
        .wait_for(
            "neither connection to send video",
            &video_senders("[0,0]"),
            QUICK,
        )
        .await;
    alice.set_device("camera", true).await;
    alice
        .wait_for(
            "both connections to send the new camera",
            &video_senders("[1,1]"),
            QUICK,
        )
        .await;
    expect_media_from_each(bob, 2).await;
    expect_media_from_each(carol, 2).await;

    // Dave would be the fourth: he is told the chat is full, stays on the
    // join screen, and nobody calls him.
    let dave = pair.person(3).open("dave", &server.url()).await;
    join(&dave, "Dave").await;
    let refusal = dave.wait_for_status("could not join", QUICK).await;
    assert!(refusal.contains("full (3 people at most)"), "{refusal}");
    assert!(!dave
        .eval(
            "return document.getElementById('join-form').hidden;",
            vec![]
        )
        .await
        .as_bool()
        .unwrap_or(true));
    assert_eq!(connections_made(&dave).await, json!(0));
    assert_eq!(
        alice
            .eval(
                "return document.querySelectorAll('#peers .peer').length;",
                vec![]
            )
            .await,
        json!(2)
    );
    dave.close().await;

    // Carol presses Leave: her tile goes from Alice's and Bob's pages, and
    // she is back on the join screen with no tiles.
    let deadline = Instant::now() + TILE_GONE;
    carol.click("#leave").await;
    expect_tile_gone_by(alice, "Carol", deadline).await;
    expect_tile_gone_by(bob, "Carol", deadline).await;
    carol
        .wait_for(
            "Carol back on the join screen",
            "return !document.getElementById('join-form').hidden \
               && document.querySelectorAll('#peers .peer').length === 0;",
            QUICK,
        )
        .await;

    // Join brings her back, and the others call her again.
    carol.click("#join").await;
    expect_tiles_connected(alice, &["Bob", "Carol"]).await;
    expect_tiles_connected(carol, &["Alice", "Bob"]).await;
    expect_media_from_each(carol, 2).await;

    // Bob closes his tab: his tile goes from both others.
    let [alice, bob, carol] = <[Page; 3]>::try_from(pages).unwrap_or_else(|_| unreachable!());
    let deadline = Instant::now() + TILE_GONE;
    bob.close().await;
    expect_tile_gone_by(&alice, "Bob", deadline).await;
    expect_tile_gone_by(&carol, "Bob", deadline).await;
    for page in [&alice, &carol] {
        page.assert_no_uncaught_errors().await;
    }
}
/// One mixed mesh makes every pairing at once: Alice (Chromium) calls Bob
/// (Firefox) and Carol (Chromium), and Bob calls Carol, so the three
/// connections are Chromium calling Firefox, Chromium calling Chromium and
/// Firefox calling Chromium.
#[test]
fn app16_three_people_see_hear_and_chat_with_each_other_in_both_browsers() {
    run(app16_three_people_see_hear_and_chat_with_each_other(
        Engine::Chromium,
        Engine::Firefox,
    ));
}

/// How many peer connections `page` has ever made.
async fn connections_made(page: &Page<'_>) -> serde_json::Value {
    page.eval("return window.__probe.peerConnections.length;", vec![])
        .await
}

/// Step 17: two rooms side by side never see each other, and one person too
/// many is refused in words (rooms of 2 here, to keep the test small).
async fn app17_rooms_are_isolated_and_a_full_room_is_refused_in_words(alice: Engine, bob: Engine) {
    let pair = Pair::take(alice, bob).await;
    let limits = Limits::default().with_room_size(2);
    let server = common::serve_with_limits(steps::app17(), limits);
    let url = server.url();
    // Alice calls Bob in the red room, Carol calls Dave in the blue one.
    let alice = join_room(pair.alice(), &url, "Alice", "red").await;
    let carol = join_room(pair.bob(), &url, "Carol", "blue").await;
    let bob = join_room(pair.bob(), &url, "Bob", "red").await;
    let dave = join_room(pair.alice(), &url, "Dave", "blue").await;

    for (page, room, other) in [
        (&alice, "red", "Bob"),
        (&bob, "red", "Alice"),
        (&carol, "blue", "Dave"),
        (&dave, "blue", "Carol"),
    ] {
        expect_tiles_connected(page, &[other]).await;
        assert_eq!(page.text("#room-name").await, room);
        expect_media_from_each(page, 1).await;
        // Not one connection was ever tried across the rooms.
        assert_eq!(connections_made(page).await, json!(1));
    }

    // Erin follows a link to the red room, which is full.
    let erin = pair.alice().open("erin", &format!("{url}?room=red")).await;
    erin.wait_for_status("type your name", QUICK).await;
    assert_eq!(erin.value("#room").await, "red");
    erin.type_into("#username", "Erin").await;
    erin.click("#join").await;
    let status = erin
        .wait_for_status("could not join room \"red\"", QUICK)
        .await;
    assert!(status.contains("full"), "the refusal says why: {status}");
    erin.wait_for(
        "the join screen again",
        "return !document.getElementById('join-form').hidden \
           && document.getElementById('chat').hidden;",
        QUICK,
    )
    .await;
    assert_eq!(connections_made(&erin).await, json!(0));
    assert_eq!(connections_made(&alice).await, json!(1));

    // When Bob leaves there is room again, and Erin gets in.
    bob.click("#leave").await;
    expect_tile_gone_by(&alice, "Bob", Instant::now() + TILE_GONE).await;
    erin.click("#join").await;
    expect_tiles_connected(&erin, &["Alice"]).await;
    expect_tiles_connected(&alice, &["Erin"]).await;
    for page in [&alice, &bob, &carol, &dave, &erin] {
        page.assert_no_uncaught_errors().await;
    }
}
/// One mixed run makes every pairing at once: Alice (Chromium) calls Bob
/// (Firefox), Carol (Firefox) calls Dave (Chromium), and Alice calls Erin
/// (Chromium).
#[test]
fn app17_rooms_are_isolated_and_a_full_room_is_refused_in_words_in_both_browsers() {
    run(
        app17_rooms_are_isolated_and_a_full_room_is_refused_in_words(
            Engine::Chromium,
            Engine::Firefox,
        ),
    );
}

/// Steps 15-17: Leave turns every device off. Alice joins each step's chat,
/// turns the camera and the microphone on, and presses Leave.
async fn leave_turns_every_device_off(engine: Engine) {
    let browser = engine.turn().await;
    for (step, room) in [
        (steps::app15(), None),
        (steps::app16(), None),
        (steps::app17(), Some("lobby")),
    ] {
        let server = common::serve(step);
        let alice = browser.open("alice", &server.url()).await;
        join_with_devices(&alice, "Alice", room).await;
        leave_and_expect_every_device_off(&alice, 2).await;
        alice.assert_no_uncaught_errors().await;
        alice.close().await;
    }
}
crate::in_each_engine!(leave_turns_every_device_off);

/// Step 15: when the server restarts mid-call, both pages reconnect, join
/// again under the same names, and a new call is set up (the server forgot
/// them, so the old call ends): each ends with its second connection up,
/// the other's name shown and media flowing, as chapter 15 says.
#[test]
fn app15_pages_rejoin_after_a_server_restart_and_call_again() {
    run(async {
        let browser = browser().await;
        let server = common::serve(steps::app15());
        let port = server.addr().port();
        let alice = browser.open("alice", &server.url()).await;
        let bob = browser.open("bob", &server.url()).await;
        join(&alice, "Alice").await;
        alice.turn_devices_on().await;
        join(&bob, "Bob").await;
        bob.turn_devices_on().await;
        expect_remote_media(&alice).await;
        expect_remote_media(&bob).await;

        server.stop();
        let server = common::serve_again_on(steps::app15(), port);
        common::ws::wait_for_open_sockets(&server, 2).await;
        for page in [&alice, &bob] {
            page.wait_for(
                "a second connection, up, after joining again",
                "const pcs = window.__probe.peerConnections; \
                 return pcs.length === 2 && pcs[0].connectionState === 'closed' \
                   && pcs[1].connectionState === 'connected';",
                CONNECTING,
            )
            .await;
            expect_remote_media(page).await;
            page.assert_no_uncaught_errors().await;
        }
        assert_eq!(alice.text("#remote-username").await, "Bob");
        assert_eq!(bob.text("#remote-username").await, "Alice");
        assert_eq!(server.open_rooms(), 1, "both are in the chat again");
    });
}

/// Step 15: a name the server refuses (`bad-name`: here, one already taken,
/// compared without case) brings the join screen back with the server's
/// reason in words; another name then joins.
#[test]
fn app15_a_refused_name_is_shown_and_another_joins() {
    run(async {
        let browser = browser().await;
        let server = common::serve(steps::app15());
        let alice = browser.open("alice", &server.url()).await;
        let bob = browser.open("bob", &server.url()).await;
        join(&alice, "Alice").await;
        join(&bob, "ALICE").await;
        let said = bob
            .wait_for_status("could not join: someone here is already called", QUICK)
            .await;
        assert!(said.contains("Try another name"), "{said}");
        assert_eq!(
            bob.eval("return [document.getElementById('join-form').hidden, document.getElementById('chat').hidden];", vec![])
                .await,
            json!([false, true]),
            "Bob is not back on the join screen"
        );
        bob.type_into("#username", "Bob").await;
        bob.click("#join").await;
        bob.wait_for(
            "the chat screen",
            "return !document.getElementById('chat').hidden;",
            QUICK,
        )
        .await;
        assert_eq!(server.open_sockets(), 2);
        bob.assert_no_uncaught_errors().await;
    });
}
