//! The step server over real HTTP: pages, content types, caching, 404s,
//! `/ice-servers` with and without TURN, and the one-line errors a person sees
//! when it cannot start.

use crate::common;
use videochat::steps;

use std::process::Command;
use std::time::Duration;

use common::process::{example_binary, ServerProcess};
use serde_json::{json, Value};
use videochat::config::Config;
use videochat::server::{self, StartError};

/// `/` is the step's page, with the heading every step keeps.
#[test]
fn root_serves_the_step_page() {
    let server = common::serve(steps::app01());
    let page = common::http::get(server.addr(), "/");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<h1>My Video Chat</h1>"),
        "{}",
        page.body
    );
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
}

/// Scripts and style sheets carry types the browser accepts, and nothing is
/// cached, so a learner's edit shows on reload.
#[test]
fn assets_have_content_types_and_are_not_cached() {
    let server = common::serve(steps::app01());
    let script = common::http::get(server.addr(), "/main.js");
    assert_eq!(script.status, 200);
    assert!(
        script
            .header("content-type")
            .is_some_and(|t| t.contains("javascript")),
        "{:?}",
        script.header("content-type")
    );
    assert_eq!(script.header("cache-control"), Some("no-store"));
    let style = common::http::get(server.addr(), "/style.css");
    assert!(style
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/css")));
}

/// A path with no file is a 404, and `..` cannot climb out of the step
/// folder, written plainly or percent-encoded: a dot segment is not found
/// (404), an encoded slash is refused as a bad request (400).
#[test]
fn unknown_paths_are_not_found() {
    let server = common::serve(steps::app01());
    assert_eq!(common::http::get(server.addr(), "/nope.html").status, 404);
    for (path, expected) in [
        ("/../app02/index.html", 404),
        ("/%2e%2e/app02/index.html", 404),
        ("/%2E%2E/app02/index.html", 404),
        ("/..%2fapp02/index.html", 400),
        ("/%2e%2e%2fapp02%2findex.html", 400),
    ] {
        let escape = common::http::get(server.addr(), path);
        assert_eq!(escape.status, expected, "{path}");
    }
}

/// A second server on a taken port fails with one line naming the address.
#[test]
fn port_in_use_is_a_one_line_error() {
    let first = common::serve(steps::app01());
    let config = Config {
        port: first.addr().port(),
        ..Config::default()
    };
    let err = match server::start(steps::app01(), &config) {
        Ok(_) => panic!("a second server bound the same port"),
        Err(err) => err,
    };
    assert!(matches!(err, StartError::AddressInUse(_)), "{err:?}");
    let line = err.to_string();
    assert!(
        line.contains("address already in use") && line.contains(&first.addr().port().to_string()),
        "{line}"
    );
    assert!(!line.contains('\n'));
}

/// A static root without the step's folder fails before binding, saying where it looked.
#[test]
fn missing_page_folder_is_a_one_line_error() {
    let config = Config {
        port: 0,
        static_root: std::env::temp_dir().join("videochat-no-such-folder"),
        ..Config::default()
    };
    let err = match server::start(steps::app01(), &config) {
        Ok(_) => panic!("started without pages"),
        Err(err) => err,
    };
    assert!(matches!(err, StartError::StaticFolderMissing(_)), "{err:?}");
    assert!(
        err.to_string().contains("videochat-no-such-folder"),
        "{err}"
    );
}

/// Stopping a server frees its port at once, so the next run can bind it.
#[test]
fn stop_releases_the_port() {
    let server = common::serve(steps::app01());
    let addr = server.addr();
    server.stop();
    let config = Config {
        port: addr.port(),
        ..Config::default()
    };
    let again = server::start(steps::app01(), &config).expect("bind the freed port");
    assert_eq!(common::http::get(again.addr(), "/").status, 200);
}

/// `/ice-servers` (step 09 on) is the configured list, never cached; steps
/// before 09 do not have it.
#[test]
fn ice_servers_are_the_configured_list() {
    let server = common::serve(steps::app09());
    let answer = common::http::get(server.addr(), "/ice-servers");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let body: Value = serde_json::from_str(&answer.body).expect("JSON");
    assert_eq!(body, json!({ "iceServers": Config::default().ice_servers }));
    let before_09 = common::serve(steps::app01());
    assert_eq!(
        common::http::get(before_09.addr(), "/ice-servers").status,
        404
    );
}

/// With a TURN secret each answer adds a TURN entry whose credential is made
/// for that request: a new username (expiry and a random label) every time,
/// and `base64(HMAC-SHA1(secret, username))` as the password.
#[test]
fn each_page_gets_its_own_turn_credential() {
    let flags = [
        "--turn-urls",
        "turn:turn.example:3478, turns:turn.example:5349",
        "--turn-secret",
        "s3cret",
    ];
    let server = common::serve_with(
        steps::app09(),
        Config::from_flags(flags).expect("valid settings"),
    );
    let mut usernames = Vec::new();
    for _ in 0..2 {
        let answer = common::http::get(server.addr(), "/ice-servers");
        assert_eq!(answer.header("cache-control"), Some("no-store"));
        let body: Value = serde_json::from_str(&answer.body).expect("JSON");
        let servers = body["iceServers"].as_array().expect("a list");
        assert_eq!(
            servers[0],
            json!(Config::default().ice_servers[0]),
            "STUN first"
        );
        let turn = &servers[1];
        assert_eq!(
            turn["urls"],
            json!(["turn:turn.example:3478", "turns:turn.example:5349"])
        );
        let username = turn["username"].as_str().expect("a username");
        assert_eq!(
            turn["credential"],
            videochat::turn::credential("s3cret", username)
        );
        assert!(!answer.body.contains("s3cret"), "the secret leaked");
        usernames.push(username.to_string());
    }
    assert_ne!(usernames[0], usernames[1]);
}

/// Every answer (a page, a script, a 404, `/ice-servers`) carries the
/// security headers: a Content-Security-Policy that allows only the page's
/// own files and server and forbids framing, `nosniff`, and no referrer.
#[test]
fn every_answer_carries_the_security_headers() {
    let server = common::serve(steps::app09());
    for path in ["/", "/main.js", "/style.css", "/nope.html", "/ice-servers"] {
        let answer = common::http::get(server.addr(), path);
        let policy = answer.header("content-security-policy").unwrap_or_default();
        assert_eq!(policy, server::CONTENT_SECURITY_POLICY, "{path}");
        for directive in [
            "script-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ] {
            assert!(policy.contains(directive), "{path}: {policy}");
        }
        assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
        assert_eq!(
            answer.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            answer.header("referrer-policy"),
            Some("no-referrer"),
            "{path}"
        );
    }
}

/// `HEAD` works wherever `GET` does: the headers, and no body.
#[test]
fn head_works_where_get_does() {
    let server = common::serve(steps::app09());
    let host = server.addr().to_string();
    for path in ["/", "/main.js", "/ice-servers"] {
        let get = common::http::get(server.addr(), path);
        let head = common::http::request(server.addr(), "HEAD", path, &[("Host", &host)]);
        assert_eq!((head.status, get.status), (200, 200), "{path}");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "{path}"
        );
        assert_eq!(head.body, "", "{path}");
    }
}

/// A symbolic link inside the page folder that leads out of it is not
/// followed (404); one that stays inside is served.
#[cfg(unix)]
#[test]
fn symbolic_links_out_of_the_page_folder_are_not_followed() {
    let root = std::env::temp_dir().join(format!("videochat-static-{}", std::process::id()));
    let pages = root.join("app01");
    std::fs::create_dir_all(&pages).expect("make the page folder");
    std::fs::write(pages.join("index.html"), "<h1>My Video Chat</h1>").expect("write a page");
    std::fs::write(root.join("secret.txt"), "the server's secret").expect("write a secret");
    let link_out = pages.join("secret.txt");
    let link_in = pages.join("home.html");
    let _ = std::fs::remove_file(&link_out);
    let _ = std::fs::remove_file(&link_in);
    std::os::unix::fs::symlink(root.join("secret.txt"), &link_out).expect("link out");
    std::os::unix::fs::symlink(pages.join("index.html"), &link_in).expect("link in");
    let config = Config {
        static_root: root.clone(),
        ..Config::default()
    };
    let server = common::serve_with(steps::app01(), config);
    let outside = common::http::get(server.addr(), "/secret.txt");
    assert_eq!(outside.status, 404);
    assert!(!outside.body.contains("secret"), "{}", outside.body);
    assert_eq!(common::http::get(server.addr(), "/home.html").status, 200);
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

/// The deadline every test runs under fails a test that waits forever, and
/// says what it was waiting for.
#[test]
#[should_panic(
    expected = "passed its deadline of 200ms while waiting for an answer that never comes"
)]
fn a_test_that_waits_forever_fails_at_its_deadline_saying_for_what() {
    common::deadline::run_within(std::time::Duration::from_millis(200), async {
        common::deadline::waiting_for("an answer that never comes");
        std::future::pending::<()>().await;
    });
}

/// Every setting is also read from its environment variable, and a flag
/// given as well wins: the example's own parser (clap's `env` lookup), run
/// as a person runs it, with the variables set for its process only.
#[test]
fn settings_come_from_the_environment_and_flags_win() {
    common::deadline::run(async {
        // A port that is taken: had PORT won over the `--port 0` that
        // `ServerProcess` passes, the server could not have started.
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let taken_port = taken.local_addr().expect("its address").port().to_string();
        let stun = r#"[{"urls":"stun:127.0.0.1:3478"}]"#;
        let server = ServerProcess::start_with_env(
            "app09",
            &[],
            &[
                ("PORT", &taken_port),
                ("ICE_SERVERS", stun),
                ("TLS_SELF_SIGNED", "0"),
            ],
            None,
        );
        assert_ne!(server.addr.port().to_string(), taken_port);
        assert!(
            server.start_line.contains("http://"),
            "{}",
            server.start_line
        );
        let answer = common::http::get(server.addr, "/ice-servers");
        let body: Value = serde_json::from_str(&answer.body).expect("JSON");
        assert_eq!(body["iceServers"], json!([{"urls": "stun:127.0.0.1:3478"}]));
        // A bad value in a variable is refused like a bad flag: one line
        // that names the setting, and the usual status for a usage error.
        for (variable, value, says) in [
            ("TLS_SELF_SIGNED", "maybe", "--tls-self-signed"),
            (
                "NEW_SOCKETS_PER_IP_PER_MINUTE",
                "0",
                "new-sockets-per-ip-per-minute",
            ),
            ("HOST", "   ", "HOST/--host is empty"),
            ("ROOM_SIZE", "1", "from 2 to 16"),
        ] {
            let mut command = Command::new(example_binary("app09"));
            command.env(variable, value);
            let output = common::deadline::output_within(
                &mut command,
                &format!("app09 with {variable}={value:?}"),
                Duration::from_secs(30),
            );
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{variable}: {stderr}");
            let error = stderr
                .lines()
                .find(|line| line.starts_with("error: "))
                .unwrap_or_else(|| panic!("{variable}: no error line in {stderr:?}"));
            assert!(error.contains(says), "{variable}={value:?}: {error}");
        }
    });
}
