//! Steps 11-14: data channel chat, mid-call device changes, the leave
//! notice, and media from the answering side only; in headless Chromium.

mod common;

#[allow(dead_code)]
#[path = "../examples/app11.rs"]
mod app11;

use common::browser::{browser, run, Page};
use common::call::{start_call, QUICK};
use serde_json::json;

/// The chat log of `page` as (who, text) pairs, read from the DOM.
async fn chat_lines(page: &Page<'_>) -> serde_json::Value {
    page.eval(
        "return [...document.querySelectorAll('#messages li')].map(li => \
           [li.querySelector('.who').textContent, li.querySelector('.text').textContent]);",
        vec![],
    )
    .await
}

/// Waits until `page`'s chat log has `count` lines.
async fn wait_for_chat_lines(page: &Page<'_>, count: usize) {
    let condition = format!("return document.querySelectorAll('#messages li').length >= {count};");
    page.wait_for(&format!("{count} chat lines"), &condition, QUICK)
        .await;
}

/// Step 11: text goes both ways over the data channel (Enter and the button),
/// non-ASCII and markup arrive literally, and empty text is not sent.
#[test]
fn app11_chat_both_ways_literally() {
    run(async {
        let browser = browser().await;
        let server = common::serve(app11::step());
        let (alice, bob) = start_call(&browser, &server).await;
        alice
            .wait_for(
                "the chat to open",
                "return !document.getElementById('message').disabled;",
                QUICK,
            )
            .await;
        bob.wait_for(
            "the chat to open",
            "return !document.getElementById('message').disabled;",
            QUICK,
        )
        .await;

        let tricky = "Grüße, 世界 👋 <b>not bold</b> <img src=x onerror=\"window.__pwned=1\">";
        // Enter sends.
        alice.type_into("#message", &format!("{tricky}\n")).await;
        wait_for_chat_lines(&bob, 1).await;
        assert_eq!(chat_lines(&bob).await, json!([["Peer", tricky]]));
        assert_eq!(chat_lines(&alice).await, json!([["You", tricky]]));
        assert_eq!(
            alice.value("#message").await,
            "",
            "the field is cleared after sending"
        );

        // The button sends too; blank text is not sent at all.
        bob.type_into("#message", "   ").await;
        bob.click("#send-message").await;
        bob.type_into("#message", "reply from bob").await;
        bob.click("#send-message").await;
        wait_for_chat_lines(&alice, 2).await;
        assert_eq!(
            chat_lines(&alice).await,
            json!([["You", tricky], ["Peer", "reply from bob"]])
        );

        for page in [&alice, &bob] {
            let markup = page
                .eval(
                    "return [document.querySelectorAll('#messages b, #messages img').length, window.__pwned ?? null];",
                    vec![],
                )
                .await;
            assert_eq!(markup, json!([0, null]), "chat text was parsed as HTML");
            page.assert_no_uncaught_errors().await;
        }
    });
}
