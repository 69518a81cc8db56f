//! Step 19: calls that survive. A page whose signaling socket is cut
//! takes its place back (same id, same tiles, media never stops); a server
//! restart mid-call gets every page back in its room while the calls go
//! on. (The network change, an ICE restart through real NATs, is in
//! `nat.rs`, with the networks it needs.)
//!
//! Three people each time, Bob in Firefox, the others in Chromium.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use videochat::signaling::Limits;
use videochat::steps;

use crate::common;
use common::browser::{free_port, Engine, Page};
use common::call::{expect_media_from_each, Pair, QUICK};
use common::cut::{client_ports_to, cut};
use common::deadline::run;
use common::process::ServerProcess;
use common::rooms::{expect_last_chat_line, expect_tiles_connected, join_with_devices};

const NAMES: [&str; 3] = ["Alice", "Bob", "Carol"];
/// A page's reconnect: its first attempt comes after 1 s, then 2, 4, 8.
const RECONNECTING: Duration = Duration::from_secs(20);

/// Opens the people of `NAMES` (and more) one at a time at `url`, each
/// page's signaling socket open before the next opens, and returns each
/// page with the loopback ports of the connections it opened to `port`.
async fn open_one_by_one<'t>(
    pair: &'t Pair,
    url: &str,
    port: u16,
    names: &[&str],
) -> Vec<(Page<'t>, BTreeSet<u16>)> {
    let mut pages = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let before = client_ports_to(port);
        let page = pair.person(index).open(&name.to_lowercase(), url).await;
        page.wait_for_status("connected to the signaling server", QUICK)
            .await;
        let ports = client_ports_to(port).difference(&before).copied().collect();
        pages.push((page, ports));
    }
    pages
}

/// Every page joins room "r" with its devices on; returns once each shows a
/// tile, connected, for each other person.
async fn all_in_a_call(pages: &[(Page<'_>, BTreeSet<u16>)], names: &[&str]) {
    for ((page, _), name) in pages.iter().zip(names) {
        join_with_devices(page, name, Some("r")).await;
    }
    for ((page, _), name) in pages.iter().zip(names) {
        let others: Vec<&str> = names.iter().copied().filter(|n| n != name).collect();
        expect_tiles_connected(page, &others).await;
        expect_media_from_each(page, others.len()).await;
    }
}

/// Marks every tile of `page` (a property on the element) and returns
/// each tile's name and id: a tile that is later the same element was
/// never removed and drawn again.
async fn mark_tiles(page: &Page<'_>) -> Value {
    page.eval(
        "const tiles = [...document.querySelectorAll('#peers .peer')]; \
         for (const tile of tiles) tile.__markedByTest = true; \
         return Object.fromEntries(tiles.map((t) => \
           [t.querySelector('.peer-name').textContent, t.dataset.peerId]));",
        vec![],
    )
    .await
}

/// The names of the tiles [`mark_tiles`] recorded.
fn names_in(before: &Value) -> Vec<&str> {
    before
        .as_object()
        .map(|tiles| tiles.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// Waits until `page` shows exactly the tiles of `names`, each the element
/// [`mark_tiles`] marked (never removed and drawn again): those of
/// `renamed` under an id other than the one `before` recorded (the member
/// joined again and the page kept the call), the others under the same id.
async fn expect_same_tiles(page: &Page<'_>, before: &Value, names: &[&str], renamed: &[&str]) {
    let mut names = names.to_vec();
    names.sort();
    let condition = format!(
        "const before = {before}; \
         const renamed = {}; \
         const nameOf = (t) => t.querySelector('.peer-name').textContent; \
         const tiles = [...document.querySelectorAll('#peers .peer')]; \
         const names = tiles.map(nameOf).sort(); \
         const kept = tiles.every((t) => t.__markedByTest === true \
           && (t.dataset.peerId === before[nameOf(t)]) !== renamed.includes(nameOf(t))); \
         return JSON.stringify(names) === JSON.stringify({}) && kept;",
        json!(renamed),
        json!(names)
    );
    page.wait_for(
        &format!("the tiles of {names:?}, the same elements, {renamed:?} under new ids"),
        &condition,
        QUICK,
    )
    .await;
}

/// How many connections `page` has made, and how many are closed.
async fn connections(page: &Page<'_>) -> Value {
    page.eval(
        "const pcs = window.__probe.peerConnections; \
         return { made: pcs.length, closed: pcs.filter((pc) => pc.connectionState === 'closed').length };",
        vec![],
    )
    .await
}

/// Cut Alice's signaling socket under her (`ss -K`): her page reconnects
/// and resumes. On every page each tile stays (same element, same id),
/// nobody hears a leave or a join, no connection is made or restarted, the
/// media keeps coming, and a chat line sent right after arrives.
#[test]
fn app19_a_cut_socket_resumes_and_nothing_else_changes() {
    run(async {
        let pair = Pair::take(Engine::Chromium, Engine::Firefox).await;
        let server = common::serve(steps::app19());
        let port = server.addr().port();
        let pages = open_one_by_one(&pair, &server.url(), port, &NAMES).await;
        all_in_a_call(&pages, &NAMES).await;
        let mut before = Vec::new();
        for (page, _) in &pages {
            let clock = page.clock().await;
            before.push((mark_tiles(page).await, connections(page).await, clock));
        }

        let (alice, alice_ports) = &pages[0];
        cut(alice_ports, port);
        let cut_at = Instant::now();
        alice
            .wait_for_status("back in room \"r\", calls kept", RECONNECTING)
            .await;
        eprintln!(
            "app19: Alice resumed her place {:?} after her socket was cut",
            cut_at.elapsed()
        );
        for ((page, _), (tiles, made, cut_at)) in pages.iter().zip(&before) {
            expect_same_tiles(page, tiles, &names_in(tiles), &[]).await;
            assert_eq!(
                connections(page).await,
                *made,
                "{}: a connection was made or closed",
                page.name()
            );
            for word in ["received leave", "received join", "restarting ICE"] {
                let lines = page.logged(word, *cut_at).await;
                assert_eq!(lines, Vec::<String>::new(), "{}", page.name());
            }
        }
        for (page, _) in &pages {
            expect_media_from_each(page, 2).await;
        }
        alice.type_into("#message", "Still here").await;
        alice.click("#send-message").await;
        for (page, _) in &pages[1..] {
            expect_last_chat_line(page, "Alice", "Still here").await;
        }
        // What the server sends reaches her new socket: Bob leaves and
        // joins again, and the server's `join` makes Alice call him.
        let (bob, _) = &pages[1];
        bob.click("#leave").await;
        alice
            .wait_for(
                "Bob's tile to go",
                "return [...document.querySelectorAll('.peer-name')].every((n) => n.textContent !== 'Bob');",
                QUICK,
            )
            .await;
        bob.click("#join").await;
        bob.turn_devices_on().await;
        expect_tiles_connected(alice, &["Bob", "Carol"]).await;
        expect_tiles_connected(bob, &["Alice", "Carol"]).await;
        for (page, _) in &pages {
            page.assert_no_uncaught_errors().await;
        }
    });
}

/// A socket that comes back after the grace (here 0 s: the server lets
/// Alice's place go as soon as her socket is cut) is refused its place
/// (`bad-token`) and joins again under a new id. The others heard her
/// `leave` and kept the call, since it was up; her `join` under the same
/// name, confirmed over the call, moves her tile to the new id: nothing is
/// rebuilt.
#[test]
fn app19_a_socket_back_after_the_grace_joins_again_and_keeps_the_calls() {
    run(async {
        let pair = Pair::take(Engine::Chromium, Engine::Firefox).await;
        let limits = Limits {
            resume_grace: Duration::ZERO,
            ..Limits::default()
        };
        let server = common::serve_with_limits(steps::app19(), limits);
        let port = server.addr().port();
        let pages = open_one_by_one(&pair, &server.url(), port, &NAMES).await;
        all_in_a_call(&pages, &NAMES).await;
        let mut before = Vec::new();
        for (page, _) in &pages {
            before.push((mark_tiles(page).await, connections(page).await));
        }

        let (alice, alice_ports) = &pages[0];
        cut(alice_ports, port);
        alice
            .wait_for_status("joined room \"r\" again", RECONNECTING)
            .await;
        for ((page, _), (tiles, made)) in pages.iter().zip(&before).skip(1) {
            // Alice's tile moved to her new id; the other one kept its own.
            expect_same_tiles(page, tiles, &names_in(tiles), &["Alice"]).await;
            let kept = page
                .logged("the server lost them, but our call is up", 0.0)
                .await;
            assert_eq!(kept.len(), 1, "{}: {kept:?}", page.name());
            assert_eq!(
                connections(page).await,
                *made,
                "{}: a connection was made or closed",
                page.name()
            );
            expect_media_from_each(page, 2).await;
        }
        expect_media_from_each(alice, 2).await;
        for (page, _) in &pages {
            page.assert_no_uncaught_errors().await;
        }
    });
}

/// The step 19 server is stopped (SIGTERM) during a call of three and
/// started again on the same port. Media flows the whole time; Carol, who
/// closes her tab while the server is down, vanishes from the others'
/// pages; Alice and Bob join the room again and keep their tiles (the same
/// elements, under the members' new ids) and their call; Dave then joins,
/// and everyone sees everyone.
#[test]
fn app19_a_server_restart_keeps_every_call() {
    run(async {
        let pair = Pair::take(Engine::Chromium, Engine::Firefox).await;
        let port = free_port();
        let mut server = ServerProcess::start_on_port("app19", port);
        let url = format!("http://127.0.0.1:{port}/");
        let mut pages = open_one_by_one(&pair, &url, port, &NAMES).await;
        all_in_a_call(&pages, &NAMES).await;
        let mut before = Vec::new();
        for (page, _) in &pages {
            before.push((mark_tiles(page).await, connections(page).await));
        }

        assert!(server.stop(), "the server did not stop cleanly on SIGTERM");
        for (page, _) in &pages {
            page.wait_for_status("lost the signaling server", QUICK)
                .await;
        }
        // Nothing serves the room now, and the media goes on.
        for (page, _) in &pages {
            expect_media_from_each(page, 2).await;
        }
        // Carol closes her tab meanwhile: her tile goes from both others.
        let Some((carol, _)) = pages.pop() else {
            unreachable!("three pages were opened")
        };
        carol.close().await;
        for (page, _) in &pages {
            page.wait_for(
                "Carol's tile to go",
                "return [...document.querySelectorAll('.peer-name')].every((n) => n.textContent !== 'Carol');",
                QUICK,
            )
            .await;
        }

        let server = ServerProcess::start_on_port("app19", port);
        let restarted = Instant::now();
        for (page, _) in &pages {
            page.wait_for_status("joined room \"r\" again", RECONNECTING)
                .await;
        }
        let [(alice, _), (bob, _)] = &pages[..] else {
            unreachable!("Alice and Bob are left")
        };
        for (page, other) in [(alice, "Bob"), (bob, "Alice")] {
            let tiles = if page.name() == alice.name() {
                &before[0]
            } else {
                &before[1]
            };
            expect_same_tiles(page, &tiles.0, &[other], &[other]).await;
            let made = tiles.1["made"].clone();
            assert_eq!(
                connections(page).await,
                json!({ "made": made, "closed": 1 }),
                "{}: only the call with Carol ended",
                page.name()
            );
            expect_media_from_each(page, 1).await;
        }
        eprintln!(
            "app19: both pages back in the room, tiles under the new ids, {:?} after the server started again",
            restarted.elapsed()
        );

        // Dave joins the restarted server's room: both call him.
        let dave = pair.person(3).open("dave", &url).await;
        join_with_devices(&dave, "Dave", Some("r")).await;
        expect_tiles_connected(&dave, &["Alice", "Bob"]).await;
        expect_media_from_each(&dave, 2).await;
        expect_tiles_connected(alice, &["Bob", "Dave"]).await;
        expect_tiles_connected(bob, &["Alice", "Dave"]).await;
        for page in [alice, bob, &dave] {
            page.assert_no_uncaught_errors().await;
        }
        drop(server);
    });
}
