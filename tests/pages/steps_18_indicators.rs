//! Step 18: each tile says when that member's camera or microphone is off,
//! and lights up while they speak, in each pairing of engines (the state
//! travels over the data channel; the level comes from getStats(), which
//! both engines fill in).

use crate::common;
use videochat::steps;

use std::time::{Duration, Instant};

use common::browser::{firefox, Engine, Page};
use common::call::{Pair, QUICK};
use common::deadline::run;
use common::rooms::{alice_and_bob_in_room, join_room, leave_and_expect_every_device_off};
use serde_json::json;

/// How soon the others must see a device turned off or on.
const TOLD: Duration = Duration::from_secs(2);

/// Waits (at most TOLD) until Bob's tile for Alice says her `device` is `state`.
async fn expect_told(bob: &Page<'_>, device: &str, state: &str) {
    let words = format!("{device} off");
    let condition = format!(
        "const tile = document.querySelector('.peer');
         const said = tile.querySelector('.peer-flags').textContent.includes({});
         return tile.dataset[{}] === {} && said === {};",
        json!(words),
        json!(device),
        json!(state),
        state == "off"
    );
    bob.wait_for(
        &format!("Alice's tile to show her {device} {state}"),
        &condition,
        TOLD,
    )
    .await;
}

/// Turning the microphone or the camera off shows on the others' tiles
/// within two seconds, and turning it on again clears it.
async fn app18_a_device_turned_off_shows_on_the_others_tiles(alice: Engine, bob: Engine) {
    let pair = Pair::take(alice, bob).await;
    let server = common::serve(steps::app18());
    let (alice, bob) = alice_and_bob_in_room(pair.alice(), pair.bob(), &server.url(), "mute").await;
    expect_told(&bob, "microphone", "on").await;
    expect_told(&bob, "camera", "on").await;

    alice.set_device("microphone", false).await;
    expect_told(&bob, "microphone", "off").await;
    alice.set_device("microphone", true).await;
    expect_told(&bob, "microphone", "on").await;

    alice.set_device("camera", false).await;
    expect_told(&bob, "camera", "off").await;
    alice.set_device("camera", true).await;
    expect_told(&bob, "camera", "on").await;
}

/// The speaking ring lights on Bob's tile for Alice, whose fake microphone
/// plays its tone, and, once dark, stays dark on Alice's tile for Bob, whose
/// microphone is off (his camera is on, so the call itself is live), over
/// three seconds of looking.
async fn app18_the_speaking_ring_lights_only_for_a_member_whose_microphone_is_on(
    alice: Engine,
    bob: Engine,
) {
    let pair = Pair::take(alice, bob).await;
    let server = common::serve(steps::app18());
    let (alice, bob) =
        alice_and_bob_in_room(pair.alice(), pair.bob(), &server.url(), "speak").await;
    bob.set_device("microphone", false).await;
    expect_told(&alice, "microphone", "off").await;

    bob.wait_for(
        "Alice's tile to light up as she speaks",
        "return document.querySelector('.peer').classList.contains('speaking');",
        QUICK,
    )
    .await;

    // What he said before turning it off may still light it for a moment.
    alice
        .wait_for(
            "Bob's tile to go dark after his microphone went off",
            "return !document.querySelector('.peer').classList.contains('speaking');",
            QUICK,
        )
        .await;
    let looked_for = Duration::from_secs(3);
    let started = Instant::now();
    let mut looks = 0;
    while started.elapsed() < looked_for {
        let lit = alice
            .eval(
                "return document.querySelector('.peer').classList.contains('speaking');",
                vec![],
            )
            .await;
        assert_eq!(
            lit,
            json!(false),
            "Bob's tile lit up with his microphone off"
        );
        looks += 1;
    }
    assert!(looks > 5, "looked only {looks} times");
    alice.expect_inbound_growing("video", "framesDecoded").await;
}

crate::in_each_pairing!(app18_a_device_turned_off_shows_on_the_others_tiles);
crate::in_each_pairing!(app18_the_speaking_ring_lights_only_for_a_member_whose_microphone_is_on);

/// Step 18 in Firefox: Leave turns the camera and the microphone off (the
/// Chromium case, with a shared screen too, is in `steps_18_devices.rs`).
#[test]
fn app18_leave_turns_every_device_off_in_firefox() {
    run(async {
        let browser = firefox().await;
        let server = common::serve(steps::app18());
        let alice = join_room(&browser, &server.url(), "Alice", "leaving").await;
        leave_and_expect_every_device_off(&alice, 2).await;
        alice.assert_no_uncaught_errors().await;
    });
}
