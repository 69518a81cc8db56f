//! Calls across real NATs: two homes, each behind its own router, and the
//! signaling server and coturn on the "internet" between them (the networks
//! of `tests/common/netns.rs`). Alice's and Bob's Chromium run inside their
//! homes; the test asserts the candidate types of the pair each side chose,
//! not only that the call connected.
//!
//! Two kinds of router: port-restricted cone NATs, which STUN gets through,
//! and symmetric NATs, which only a TURN relay does.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{json, Value};

use crate::common;
use common::browser::{browser_in, firefox_in, BrowserTurn, Page};
use common::call::{expect_media_from_each, expect_remote_media, open_both, QUICK};
use common::deadline::run;
use common::netns::{networks, Nat, INTERNET_HOST, SERVER_PORT};
use common::process::ServerProcess;
use common::rooms::{expect_tiles_connected, join_room};
use common::stun::Coturn;
use std::time::Instant;

/// One NAT test at a time: they share the networks, the server's address
/// and the homes' browsers.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    // A failed test leaves nothing behind that the next could trip on.
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

/// ICE through two NATs: checks, then the DTLS handshake.
const CONNECTING: Duration = Duration::from_secs(30);
/// Long enough for Chromium to give up on every candidate pair (its ICE
/// checks time out after about 30 seconds without an answer).
const GIVING_UP: Duration = Duration::from_secs(60);

/// The page's origin seen from a home: plain http on a non-local address,
/// which browsers do not treat as a secure context (no camera), so the
/// browsers are told this one test origin is secure.
fn origin() -> String {
    format!("http://{INTERNET_HOST}:{SERVER_PORT}")
}

/// The flags of the homes' Chromium: the test origin counts as secure, and
/// host candidates keep their addresses (not mDNS names), so the test can
/// read which address each candidate is.
fn home_flags() -> Vec<String> {
    vec![
        format!("--unsafely-treat-insecure-origin-as-secure={}", origin()),
        "--disable-features=WebRtcHideLocalIpsWithMdns".to_string(),
    ]
}

/// The same for a home's Firefox, as preferences.
fn firefox_home_prefs() -> Value {
    json!({ "dom.securecontext.allowlist": INTERNET_HOST })
}

/// Step `example`'s server on the internet behind `nat`'s routers, with
/// `flags` (its ICE and TURN settings).
fn server_on_the_internet(nat: Nat, example: &str, flags: &[&str]) -> ServerProcess {
    let port = SERVER_PORT.to_string();
    let mut args = vec!["--host", INTERNET_HOST, "--port", &port];
    args.extend_from_slice(flags);
    ServerProcess::start_in_namespace(&networks(nat).namespace("inet"), example, &args)
}

/// Alice's and Bob's browsers, in their homes behind `nat`'s routers.
async fn browsers_at_home(nat: Nat) -> (BrowserTurn, BrowserTurn) {
    let networks = networks(nat);
    let alice = browser_in(&networks.namespace("a"), &home_flags()).await;
    let bob = browser_in(&networks.namespace("b"), &home_flags()).await;
    (alice, bob)
}

/// Opens the step's page in both homes, turns the devices on and has Alice
/// send the offer.
async fn call<'t>(alice: &'t BrowserTurn, bob: &'t BrowserTurn) -> (Page<'t>, Page<'t>) {
    let (alice, bob) = open_both(alice, bob, &format!("{}/", origin())).await;
    for page in [&alice, &bob] {
        page.turn_devices_on().await;
    }
    alice.click("#send-offer").await;
    (alice, bob)
}

/// Asserts `page` never had a connection up: its console (which the page
/// keeps whatever happens to the connection afterwards) logged no
/// `connection=connected`.
async fn expect_never_connected(page: &Page<'_>) {
    let ever_connected = page
        .eval(
            "return window.__probe.console.some((line) => line.includes('connection=connected'));",
            vec![],
        )
        .await;
    assert_eq!(ever_connected, json!(false), "{} connected", page.name());
}

/// The pair `page` sends on, once it has one.
async fn selected_pair(page: &Page<'_>) -> Value {
    page.wait_for(
        "a selected candidate pair",
        "return await window.__probe.selectedPair();",
        QUICK,
    )
    .await
}

/// Step `example` (09 or 10) between two cone NATs with the configured STUN
/// server: the call connects on a server-reflexive candidate (the address
/// the NAT gave the page, learnt from STUN), never a relay, and each side
/// sees and hears the other.
fn expect_call_through_cone_nats_with_stun(example: &str) {
    let _alone = one_at_a_time();
    let nat = Nat::PortRestrictedCone;
    let coturn = Coturn::start_stun_in(&networks(nat).namespace("inet"), INTERNET_HOST);
    let ice_servers = json!([{ "urls": coturn.url() }]).to_string();
    let _server = server_on_the_internet(nat, example, &["--ice-servers", &ice_servers]);
    run(async {
        let (alice, bob) = browsers_at_home(nat).await;
        let (alice, bob) = call(&alice, &bob).await;
        for page in [&alice, &bob] {
            page.wait_for_status("connected: the connection state", CONNECTING)
                .await;
        }
        for page in [&alice, &bob] {
            expect_remote_media(page).await;
            let pair = selected_pair(page).await;
            eprintln!("{example} {}: selected pair {pair}", page.name());
            let types = [&pair["local"]["type"], &pair["remote"]["type"]];
            assert!(types.contains(&&json!("srflx")), "no srflx side: {pair}");
            assert!(!types.contains(&&json!("relay")), "a relay: {pair}");
        }
        alice.assert_no_uncaught_errors().await;
        bob.assert_no_uncaught_errors().await;
    });
}

#[test]
fn app09_connects_through_two_cone_nats_with_stun() {
    expect_call_through_cone_nats_with_stun("app09");
}

/// Step 10 sends each candidate as it is found (trickle ICE): the
/// server-reflexive ones arrive after the offer, and must still be used.
#[test]
fn app10_connects_through_two_cone_nats_with_stun() {
    expect_call_through_cone_nats_with_stun("app10");
}

/// The same call with no ICE servers at all: each page knows only its home
/// address, which the other cannot reach, so the call never connects. This
/// is what shows the NATs are real.
#[test]
fn app09_without_stun_does_not_connect_through_the_nats() {
    let _alone = one_at_a_time();
    let nat = Nat::PortRestrictedCone;
    let _server = server_on_the_internet(nat, "app09", &["--ice-servers", "[]"]);
    run(async {
        let (alice, bob) = browsers_at_home(nat).await;
        let (alice, bob) = call(&alice, &bob).await;
        for page in [&alice, &bob] {
            // What a person sees: the page reports the failed connection.
            page.wait_for_status("the connection became failed", GIVING_UP)
                .await;
            expect_never_connected(page).await;
        }
    });
}

/// Alice and Bob join step 17's room `room` from their homes. Each test has
/// a room of its own: a page a failed test left open rejoins its room when
/// the next test's server comes up at the same address.
async fn join_from_home<'t>(
    alice: &'t BrowserTurn,
    bob: &'t BrowserTurn,
    room: &str,
) -> (Page<'t>, Page<'t>) {
    let url = format!("{}/", origin());
    let alice = join_room(alice, &url, "Alice", room).await;
    let bob = join_room(bob, &url, "Bob", room).await;
    (alice, bob)
}

/// Step 17 between two symmetric NATs with STUN only: the address STUN
/// reports is the one the NAT chose for the STUN server, and the peer's
/// packets arrive at another, so the call does not connect.
#[test]
fn app17_through_two_symmetric_nats_fails_with_stun_only() {
    let _alone = one_at_a_time();
    let nat = Nat::Symmetric;
    let coturn = Coturn::start_stun_in(&networks(nat).namespace("inet"), INTERNET_HOST);
    let ice_servers = json!([{ "urls": coturn.url() }]).to_string();
    let _server = server_on_the_internet(nat, "app17", &["--ice-servers", &ice_servers]);
    run(async {
        let (alice, bob) = browsers_at_home(nat).await;
        let (alice, bob) = join_from_home(&alice, &bob, "stun only").await;
        for page in [&alice, &bob] {
            // What a person sees: the page gives up on the call and says so.
            page.wait_for_status("Lost the connection", GIVING_UP).await;
            expect_never_connected(page).await;
        }
    });
}

/// The short-lived TURN username the server gave `page` (from the
/// configuration of its connection).
async fn turn_username(page: &Page<'_>) -> String {
    let username = page
        .eval(
            "const pc = window.__probe.peerConnections.at(-1); \
             const turn = pc && pc.getConfiguration().iceServers \
               .find((server) => [server.urls].flat().some((url) => url.startsWith('turn:'))); \
             return turn ? turn.username : null;",
            vec![],
        )
        .await;
    username
        .as_str()
        .unwrap_or_else(|| panic!("{} has no TURN entry: {username}", page.name()))
        .to_string()
}

/// The secret coturn checks the pages' TURN credentials with.
const TURN_SECRET: &str = "the secret coturn and the server share";

/// coturn as STUN and TURN server on the internet behind symmetric NATs,
/// and step 17's server giving out TURN credentials made with
/// `server_secret` (right when it is [`TURN_SECRET`]).
fn turn_and_server(server_secret: &str) -> (Coturn, ServerProcess) {
    let nat = Nat::Symmetric;
    let coturn =
        Coturn::start_turn_in(&networks(nat).namespace("inet"), INTERNET_HOST, TURN_SECRET);
    let ice_servers = json!([{ "urls": coturn.url() }]).to_string();
    let turn_url = coturn.turn_url();
    let server = server_on_the_internet(
        nat,
        "app17",
        &[
            "--ice-servers",
            &ice_servers,
            "--turn-urls",
            &turn_url,
            "--turn-secret",
            server_secret,
        ],
    );
    (coturn, server)
}

/// Alice and Bob join from their homes; the call must come up through
/// coturn's relay, with video and sound from each side, and coturn must have
/// allocated a relay under each page's own short-lived username.
async fn expect_relayed_call(alice: &BrowserTurn, bob: &BrowserTurn, coturn: &Coturn, room: &str) {
    let (alice, bob) = join_from_home(alice, bob, room).await;
    expect_tiles_connected(&alice, &["Bob"]).await;
    expect_tiles_connected(&bob, &["Alice"]).await;
    for page in [&alice, &bob] {
        expect_media_from_each(page, 1).await;
        let pair = selected_pair(page).await;
        eprintln!("{}: selected pair {pair}", page.name());
        let types = [&pair["local"]["type"], &pair["remote"]["type"]];
        assert!(types.contains(&&json!("relay")), "no relay: {pair}");
        let username = turn_username(page).await;
        coturn.wait_for_log(
            &format!("user <{username}>: incoming packet ALLOCATE processed, success"),
            QUICK,
        );
    }
    alice.assert_no_uncaught_errors().await;
    bob.assert_no_uncaught_errors().await;
    // Not left for the browser's next test to close: that may be a while
    // for a home's Firefox.
    alice.close().await;
    bob.close().await;
}

/// Step 17 between two symmetric NATs with the server's TURN settings: the
/// call goes through coturn's relay.
#[test]
fn app17_through_two_symmetric_nats_connects_through_turn() {
    let _alone = one_at_a_time();
    let (coturn, _server) = turn_and_server(TURN_SECRET);
    run(async {
        let (alice, bob) = browsers_at_home(Nat::Symmetric).await;
        expect_relayed_call(&alice, &bob, &coturn, "relayed").await;
    });
}

/// The same with Bob on Firefox: its ICE agent, its TURN client and its
/// statistics, against Chromium's.
#[test]
fn app17_chromium_and_firefox_through_two_symmetric_nats_connect_through_turn() {
    let _alone = one_at_a_time();
    let (coturn, _server) = turn_and_server(TURN_SECRET);
    run(async {
        let networks = networks(Nat::Symmetric);
        let alice = browser_in(&networks.namespace("a"), &home_flags()).await;
        let bob = firefox_in(&networks.namespace("b"), firefox_home_prefs()).await;
        expect_relayed_call(&alice, &bob, &coturn, "relayed with firefox").await;
    });
}

/// The same call when the server's TURN secret is not coturn's: coturn
/// refuses each page's credential, the call cannot connect, and the page
/// says that the relay refused it (from `icecandidateerror`) instead of
/// failing for no reason given.
#[test]
fn app17_with_a_wrong_turn_secret_says_the_relay_refused() {
    let _alone = one_at_a_time();
    let (coturn, _server) = turn_and_server("not coturn's secret");
    let turn_url = coturn.turn_url();
    run(async {
        let (alice, bob) = browsers_at_home(Nat::Symmetric).await;
        let (alice, bob) = join_from_home(&alice, &bob, "wrong secret").await;
        for page in [&alice, &bob] {
            let status = page.wait_for_status("Lost the connection", GIVING_UP).await;
            assert!(
                status.contains(&format!(
                    "The TURN relay {turn_url} refused this page's credential (401"
                )),
                "{}: {status}",
                page.name()
            );
            expect_never_connected(page).await;
            let console = page
                .eval(
                    "return window.__probe.console.filter((line) => line.includes('ICE server error'));",
                    vec![],
                )
                .await;
            eprintln!("{}: {status}\n  console: {console}", page.name());
        }
    });
}

/// Waits until each of `pages` (a page and its person's name) shows a
/// connected tile for each other person, and receives video and sound from
/// each of them.
async fn everyone_sees_and_hears_everyone(pages: &[(&Page<'_>, &str)]) {
    for (page, name) in pages {
        let others: Vec<&str> = pages
            .iter()
            .map(|(_, other)| *other)
            .filter(|other| other != name)
            .collect();
        expect_tiles_connected(page, &others).await;
        expect_media_from_each(page, others.len()).await;
    }
}

/// How long a call may take to come back after a network change: the
/// path must be seen to fail (a few seconds of unanswered checks), the
/// grace before an ICE restart (3 s), the signaling socket's reconnect, and
/// one more restart if the first offer was lost (5 s later).
const RECOVERING: Duration = Duration::from_secs(40);

/// Step 19 across real NATs: mid-call, Bob's home gets a new public address
/// (its router's internet side moves from 203.0.113.3 to .13), and every
/// path to Bob dies with the old one, his signaling socket too. Nobody
/// presses anything: the connections to Bob restart ICE (a new ufrag on
/// every page), his socket reconnects and resumes his place, and video and
/// sound flow again, now through his new address. Alice and Carol share
/// home A in Chromium; Bob is in home B in Firefox.
#[test]
fn app19_calls_recover_when_a_home_moves_to_a_new_address() {
    let _alone = one_at_a_time();
    let nat = Nat::PortRestrictedCone;
    let networks = networks(nat);
    let coturn = Coturn::start_stun_in(&networks.namespace("inet"), INTERNET_HOST);
    let ice_servers = json!([{ "urls": coturn.url() }]).to_string();
    let _server = server_on_the_internet(nat, "app19", &["--ice-servers", &ice_servers]);
    run(async {
        let home_a = browser_in(&networks.namespace("a"), &home_flags()).await;
        let home_b = firefox_in(&networks.namespace("b"), firefox_home_prefs()).await;
        let url = format!("{}/", origin());
        let room = "moving house";
        let alice = join_room(&home_a, &url, "Alice", room).await;
        let bob = join_room(&home_b, &url, "Bob", room).await;
        let carol = join_room(&home_a, &url, "Carol", room).await;
        let pages = [(&alice, "Alice"), (&bob, "Bob"), (&carol, "Carol")];
        everyone_sees_and_hears_everyone(&pages).await;

        let moved_at = Instant::now();
        let _moved = networks.move_router("rb", "203.0.113.3/24", "203.0.113.13/24");
        // What a person sees meanwhile: Bob's tile says it is reconnecting.
        for page in [&alice, &carol] {
            page.wait_for(
                "Bob's tile to say \"reconnecting\"",
                "const bob = [...document.querySelectorAll('#peers .peer')] \
                   .find((t) => t.querySelector('.peer-name').textContent === 'Bob'); \
                 return bob && bob.querySelector('.peer-state').textContent.startsWith('reconnecting');",
                RECOVERING,
            )
            .await;
        }
        // Each call is restarted by the side that placed it (Alice's with
        // Bob, Bob's with Carol), and the other side answers: the offer and
        // the answer each carry a new ufrag.
        for (page, restarts) in [(&bob, 2), (&alice, 1), (&carol, 1)] {
            let condition = format!(
                "return window.__probe.console.filter((l) => l.includes('ICE restarted: new local ufrag')).length >= {restarts};"
            );
            page.wait_for("ICE restarts with a new ufrag", &condition, RECOVERING)
                .await;
        }
        everyone_sees_and_hears_everyone(&pages).await;
        let recovered_in = moved_at.elapsed();
        eprintln!("app19: media from everyone again {recovered_in:?} after Bob's home moved");
        // Bob's socket resumed his place: nobody saw him leave or join.
        assert!(
            !bob.logged("received resumed", 0.0).await.is_empty(),
            "Bob did not resume"
        );
        for page in [&alice, &carol] {
            assert_eq!(
                page.logged("received leave", 0.0).await,
                Vec::<String>::new()
            );
            let pairs = page
                .eval("return await window.__probe.selectedPairs();", vec![])
                .await;
            eprintln!("{}: selected pairs {pairs}", page.name());
            assert!(
                pairs.to_string().contains("203.0.113.13:"),
                "{}: no pair through Bob's new address: {pairs}",
                page.name()
            );
        }
        for page in [&alice, &bob, &carol] {
            assert_eq!(
                page.logged("Press Call again", 0.0).await,
                Vec::<String>::new()
            );
            page.assert_no_uncaught_errors().await;
        }
        for page in [alice, bob, carol] {
            page.close().await;
        }
    });
}
