//! The pages of steps 15 to 18: joining a chat or a room, the tiles, the
//! chat, leaving.

use serde_json::json;

use super::browser::{BrowserTurn, Page};
use super::call::{CONNECTING, QUICK};

/// Opens `url` as `name`, joins `room` and turns the devices on.
pub async fn join_room<'t>(
    browser: &'t BrowserTurn,
    url: &str,
    name: &str,
    room: &str,
) -> Page<'t> {
    let page = browser.open(&name.to_lowercase(), url).await;
    join_with_devices(&page, name, Some(room)).await;
    page
}

/// On the join screen of `page` (steps 15-18), types `name` and, from step
/// 17, `room`; presses Join, waits for the chat screen, and turns the
/// devices on.
pub async fn join_with_devices(page: &Page<'_>, name: &str, room: Option<&str>) {
    page.wait_for_status("type your name", QUICK).await;
    page.type_into("#username", name).await;
    if let Some(room) = room {
        page.type_into("#room", room).await;
    }
    page.click("#join").await;
    // Not #status: the calls that start at once soon replace its message.
    page.wait_for(
        "the chat screen (with the room's name, from step 17)",
        &format!(
            "const room = document.getElementById('room-name'); \
             return !document.getElementById('chat').hidden \
               && (room === null || room.textContent === {});",
            json!(room.unwrap_or_default())
        ),
        QUICK,
    )
    .await;
    page.turn_devices_on().await;
}

/// Alice (in `alice_browser`) and then Bob (in `bob_browser`) join `room`
/// with their devices on; returns once each shows the other's tile with
/// its connection up.
pub async fn alice_and_bob_in_room<'t>(
    alice_browser: &'t BrowserTurn,
    bob_browser: &'t BrowserTurn,
    url: &str,
    room: &str,
) -> (Page<'t>, Page<'t>) {
    let alice = join_room(alice_browser, url, "Alice", room).await;
    let bob = join_room(bob_browser, url, "Bob", room).await;
    expect_tiles_connected(&alice, &["Bob"]).await;
    expect_tiles_connected(&bob, &["Alice"]).await;
    (alice, bob)
}

/// Waits until `page` shows one tile per name in `names`, each with its
/// connection up, and returns nothing else: no extra tiles, no missing ones.
pub async fn expect_tiles_connected(page: &Page<'_>, names: &[&str]) {
    let mut wanted: Vec<&str> = names.to_vec();
    wanted.sort();
    let condition = format!(
        "const tiles = [...document.querySelectorAll('#peers .peer')]; \
         const names = tiles.map((t) => t.querySelector('.peer-name').textContent).sort(); \
         const up = tiles.every((t) => t.querySelector('.peer-state').textContent.includes('connection: connected')); \
         return up && JSON.stringify(names) === JSON.stringify({}) && names;",
        json!(wanted)
    );
    page.wait_for(
        &format!("tiles for {wanted:?}, all connected"),
        &condition,
        CONNECTING,
    )
    .await;
}

/// Waits until the last line of `page`'s chat is `text`, labelled `who`.
pub async fn expect_last_chat_line(page: &Page<'_>, who: &str, text: &str) {
    let condition = format!(
        "const last = document.querySelector('#messages li:last-child'); \
         return last && last.querySelector('.who').textContent === {} \
           && last.querySelector('.text').textContent === {};",
        json!(who),
        json!(text)
    );
    page.wait_for(&format!("{who}'s line in the chat"), &condition, QUICK)
        .await;
}

/// Presses Leave on a page of steps 15-18 and waits until the join screen is
/// back with every track the page opened ended (camera, microphone and, at
/// step 18, a shared screen) and every device box unticked: the boxes are on
/// the chat screen that Leave hides, so a device left on could not be turned
/// off. `opened` is how many tracks the test turned on before: the check
/// fails if the page opened fewer, so it cannot pass on a page with none.
pub async fn leave_and_expect_every_device_off(page: &Page<'_>, opened: usize) {
    page.click("#leave").await;
    let state = page
        .wait_for(
            "the join screen, with every track ended and every box unticked",
            "const tracks = [...window.__probe.tracks, ...window.__probe.screenTracks]; \
             const live = tracks.filter((t) => t.readyState !== 'ended').map((t) => t.label); \
             const ticked = ['camera', 'microphone'].filter((id) => document.getElementById(id).checked); \
             const joinShown = !document.getElementById('join-form').hidden; \
             return joinShown && live.length === 0 && ticked.length === 0 \
               && { tracks: tracks.length, preview: document.getElementById('local-video').srcObject };",
            QUICK,
        )
        .await;
    assert!(
        state["tracks"].as_u64().unwrap_or(0) >= opened as u64,
        "{}: the page opened {} tracks, the test turned on {opened}",
        page.name(),
        state["tracks"]
    );
    assert_eq!(
        state["preview"],
        json!(null),
        "{}: the preview still shows a picture",
        page.name()
    );
}
