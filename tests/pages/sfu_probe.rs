//! Step 20's SFU in real browsers, before step 20's page exists: a probe
//! page (`tests/sfu_probe/probe/index.html`, none of the steps' code) in
//! three Chromium windows publishes the fake camera once to the server and
//! receives the two others' video through it, each window with one
//! connection.

use crate::common;

use std::time::Duration;

use common::browser::browser;
use common::call::CONNECTING;
use common::deadline::run;
use serde_json::json;
use videochat::config::Config;
use videochat::server::Step;
use videochat::signaling::Policy;

#[test]
fn three_browsers_receive_each_others_video_through_the_sfu() {
    run(async {
        let chromium = browser().await;
        let step = Step::new("probe").with_signaling(Policy::Rooms).with_sfu();
        let config = Config {
            static_root: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sfu_probe").into(),
            media_port: 0,
            ..Config::default()
        };
        let server = common::serve_with(step, config);
        let mut pages = Vec::new();
        for name in ["alice", "bob", "carol"] {
            let url = format!("{}?name={name}", server.url());
            pages.push(chromium.open(name, &url).await);
        }
        for page in &pages {
            let seen = page
                .wait_for(
                    "video frames from both others, through the SFU",
                    "const frames = await window.framesByMember(); \
                     const counts = Object.values(frames); \
                     return counts.length === 2 && counts.every((n) => n > 10) \
                       && { frames, probe: window.probe };",
                    CONNECTING + Duration::from_secs(10),
                )
                .await;
            eprintln!("{}: {seen}", page.name());
            assert_eq!(seen["probe"]["errors"], json!([]), "{seen}");
            assert_eq!(seen["probe"]["connection"], "connected", "{seen}");
            // Two others, sound and picture each, on the one connection.
            assert_eq!(seen["probe"]["tracks"], 4, "{seen}");
        }
        assert_eq!(server.sfu_members(), 3);
    });
}
