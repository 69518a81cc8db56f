//! A call between two windows through the signaling server (steps 07 on).

use std::time::Duration;

use videochat::server::Server;

use super::browser::{BrowserTurn, Engine, Page};

/// The pairings every call test runs in: the Chromium pair of old, and each
/// engine calling the other. (Firefox-Firefox works too; it adds time, not
/// coverage of the page.) Alice is the first engine and usually calls.
pub const PAIRINGS: [(Engine, Engine); 3] = [
    (Engine::Chromium, Engine::Chromium),
    (Engine::Chromium, Engine::Firefox),
    (Engine::Firefox, Engine::Chromium),
];

/// Defines one `#[test]` per pairing of [`PAIRINGS`] for the async scenario
/// `fn $scenario(alice: Engine, bob: Engine)`, in a module of the same name:
/// `app07_...::chromium_firefox` is Chromium's Alice calling Firefox's Bob.
#[macro_export]
macro_rules! in_each_pairing {
    ($scenario:ident) => {
        $crate::in_each_pairing!(@tests $scenario,
            chromium_chromium: Chromium Chromium,
            chromium_firefox: Chromium Firefox,
            firefox_chromium: Firefox Chromium);
    };
    // The three, and Firefox calling Firefox.
    ($scenario:ident, and_firefox_pair) => {
        $crate::in_each_pairing!(@tests $scenario,
            chromium_chromium: Chromium Chromium,
            chromium_firefox: Chromium Firefox,
            firefox_chromium: Firefox Chromium,
            firefox_firefox: Firefox Firefox);
    };
    (@tests $scenario:ident, $($test:ident: $alice:ident $bob:ident),+) => {
        mod $scenario {
            use $crate::common::browser::Engine;
            use $crate::common::deadline::run;
            $(
                #[test]
                fn $test() {
                    run(super::$scenario(Engine::$alice, Engine::$bob));
                }
            )+
        }
    };
}

/// The browsers of one pairing: Alice's and Bob's. One turn when both use
/// the same engine; otherwise Chromium's turn is always taken first, so two
/// tests that need both browsers cannot each hold one and wait for the other.
pub struct Pair {
    first: BrowserTurn,
    second: Option<BrowserTurn>,
    alice_is_first: bool,
}

impl Pair {
    pub async fn take(alice: Engine, bob: Engine) -> Pair {
        if alice == bob {
            return Pair {
                first: alice.turn().await,
                second: None,
                alice_is_first: true,
            };
        }
        let first = Engine::Chromium.turn().await;
        let second = Engine::Firefox.turn().await;
        Pair {
            first,
            second: Some(second),
            alice_is_first: alice == Engine::Chromium,
        }
    }

    pub fn alice(&self) -> &BrowserTurn {
        match (&self.second, self.alice_is_first) {
            (Some(second), false) => second,
            _ => &self.first,
        }
    }

    /// The browser of the `index`th person of a group: Alice's engine for
    /// Alice, Carol, Erin, Bob's for Bob, Dave.
    pub fn person(&self, index: usize) -> &BrowserTurn {
        if index.is_multiple_of(2) {
            self.alice()
        } else {
            self.bob()
        }
    }

    pub fn bob(&self) -> &BrowserTurn {
        match (&self.second, self.alice_is_first) {
            (Some(second), true) => second,
            _ => &self.first,
        }
    }
}

/// Long enough for a page to react on a loaded machine.
pub const QUICK: Duration = Duration::from_secs(10);
/// ICE checks and the DTLS handshake on loopback.
pub const CONNECTING: Duration = Duration::from_secs(20);

/// Opens Alice's and Bob's windows of `server` and waits until each page's
/// signaling socket is open; no device is on yet.
pub async fn open_two<'t>(pair: &'t Pair, server: &Server) -> (Page<'t>, Page<'t>) {
    open_both(pair.alice(), pair.bob(), &server.url()).await
}

/// [`open_two`] for any two browsers and the page at `url` (the NAT tests'
/// browsers live in their own network namespaces).
pub async fn open_both<'t>(
    alice: &'t BrowserTurn,
    bob: &'t BrowserTurn,
    url: &str,
) -> (Page<'t>, Page<'t>) {
    let alice = alice.open("alice", url).await;
    let bob = bob.open("bob", url).await;
    for page in [&alice, &bob] {
        page.wait_for_status("connected to the signaling server", QUICK)
            .await;
    }
    (alice, bob)
}

/// Opens two windows of `server`, turns their devices on, and has Alice
/// send the offer; returns once both see and hear each other.
pub async fn start_call<'t>(pair: &'t Pair, server: &Server) -> (Page<'t>, Page<'t>) {
    let (alice, bob) = open_two(pair, server).await;
    for page in [&alice, &bob] {
        page.turn_devices_on().await;
    }
    alice.click("#send-offer").await;
    alice
        .wait_for_status("connected: the connection state", CONNECTING)
        .await;
    bob.wait_for_status("connected: the connection state", CONNECTING)
        .await;
    expect_remote_media(&alice).await;
    expect_remote_media(&bob).await;
    (alice, bob)
}

/// Asserts `page` decodes the other side's video and receives its sound.
pub async fn expect_remote_media(page: &Page<'_>) {
    page.expect_video_playing("#remote-video").await;
    page.expect_inbound_growing("video", "framesDecoded").await;
    page.expect_inbound_growing("audio", "totalSamplesReceived")
        .await;
}

/// Whether the `<video>` and `<audio>` of the other side are empty.
pub const REMOTE_MEDIA_CLEARED: &str =
    "return document.getElementById('remote-video').srcObject === null \
     && document.getElementById('remote-audio').srcObject === null;";

/// Asserts that `page` has exactly `count` open connections and that on each
/// of them decoded video frames and received audio samples keep growing: in a
/// mesh every member must be heard and seen, not just one of them.
pub async fn expect_media_from_each(page: &Page<'_>, count: usize) {
    for (kind, counter) in [
        ("video", "framesDecoded"),
        ("audio", "totalSamplesReceived"),
    ] {
        let before = page
            .eval(
                "return (await window.__probe.inboundEach(arguments[0])).map((one) => one[arguments[1]]);",
                vec![kind.into(), counter.into()],
            )
            .await;
        let connections = before.as_array().map_or(0, Vec::len);
        assert_eq!(connections, count, "open connections with {kind}");
        let condition = format!(
            "const before = {before}; \
             const now = (await window.__probe.inboundEach({kind:?})).map((one) => one[{counter:?}]); \
             return now.length === before.length && now.every((n, i) => n > before[i]) && now;"
        );
        page.wait_for(
            &format!("inbound {kind} {counter} to grow on each of {count} connections"),
            &condition,
            Duration::from_secs(20),
        )
        .await;
    }
}
