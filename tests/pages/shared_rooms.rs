//! Rooms shared through Redis, in real browsers: two people in one room,
//! each page served by a different step 17 process, see and hear each
//! other and chat; Redis stops and comes back during the call without the
//! call noticing, and a third person joins afterwards. (The same through
//! nginx's two-process recipe is in `https.rs`.)

use crate::common;

use std::time::{Duration, Instant};

use common::browser::Engine;
use common::call::{expect_media_from_each, Pair};
use common::deadline::{run, waiting_for};
use common::process::ServerProcess;
use common::redis::Redis;
use common::rooms::{expect_last_chat_line, expect_tiles_connected, join_room};

/// Waits until `server` has logged `needle` `times` times.
async fn wait_for_log(server: &ServerProcess, needle: &str, times: usize) {
    waiting_for(&format!("{times} lines with {needle:?} in a server's log"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.log().matches(needle).count() < times {
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in the log:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn two_people_on_two_processes_talk_and_the_call_outlives_a_redis_restart() {
    run(async {
        let mut redis = Redis::start();
        let url = redis.url();
        let env = [("REDIS_URL", url.as_str())];
        let first = ServerProcess::start_with_env("app17", &[], &env, None);
        let second = ServerProcess::start_with_env("app17", &[], &env, None);
        let page_of = |server: &ServerProcess| format!("http://{}/", server.addr);
        let pair = Pair::take(Engine::Chromium, Engine::Firefox).await;

        // Alice's page comes from the first process, Bob's from the second.
        let alice = join_room(pair.alice(), &page_of(&first), "Alice", "shared").await;
        let bob = join_room(pair.bob(), &page_of(&second), "Bob", "shared").await;
        expect_tiles_connected(&alice, &["Bob"]).await;
        expect_tiles_connected(&bob, &["Alice"]).await;
        for page in [&alice, &bob] {
            expect_media_from_each(page, 1).await;
        }
        alice
            .type_into("#message", "Hello from the first server")
            .await;
        alice.click("#send-message").await;
        expect_last_chat_line(&bob, "Alice", "Hello from the first server").await;
        bob.type_into("#message", "And back from the second").await;
        bob.click("#send-message").await;
        expect_last_chat_line(&alice, "Bob", "And back from the second").await;
        // Each process has one socket: the room really spans the two.
        wait_for_log(&first, "connected (1 open here)", 1).await;
        wait_for_log(&second, "connected (1 open here)", 1).await;

        // Redis goes away: the call runs between the browsers and does not
        // notice. Each process logs that Redis stopped answering.
        redis.stop();
        wait_for_log(&first, "Redis is not answering", 1).await;
        wait_for_log(&second, "Redis is not answering", 1).await;
        for page in [&alice, &bob] {
            expect_media_from_each(page, 1).await;
        }
        let _redis = Redis::start_on(redis.port);
        // Both processes are back in step (resubscribed, members written back).
        wait_for_log(&first, "in step with Redis", 2).await;
        wait_for_log(&second, "in step with Redis", 2).await;
        for page in [&alice, &bob] {
            expect_media_from_each(page, 1).await;
        }

        // A third person joins through the first process and meets both.
        let carol = join_room(pair.alice(), &page_of(&first), "Carol", "shared").await;
        expect_tiles_connected(&carol, &["Alice", "Bob"]).await;
        expect_tiles_connected(&alice, &["Bob", "Carol"]).await;
        expect_tiles_connected(&bob, &["Alice", "Carol"]).await;
        expect_media_from_each(&carol, 2).await;
        for page in [&alice, &bob, &carol] {
            page.assert_no_uncaught_errors().await;
        }
    });
}
