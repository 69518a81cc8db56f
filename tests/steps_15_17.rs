//! Steps 15-17: usernames, the mesh and rooms, in headless Chromium.

mod common;

#[allow(dead_code)]
#[path = "../examples/app15.rs"]
mod app15;

use common::browser::{browser, run, Page};
use common::call::{expect_remote_media, CONNECTING, QUICK};
use serde_json::json;

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
        let server = common::serve(app15::step());
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

        // Bob closes his tab: the server tells Alice, whose tile empties.
        bob.close().await;
        alice
            .wait_for(
                "Alice's remote media to clear",
                "return document.getElementById('remote-video').srcObject === null;",
                std::time::Duration::from_secs(3),
            )
            .await;
        alice.wait_for("the remote name to reset", "return document.getElementById('remote-username').textContent.startsWith('Waiting');", QUICK).await;
    });
}
