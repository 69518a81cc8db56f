//! The broadcast policy (steps 07-14) over real WebSockets against the
//! server on port 0: relaying, refusals, limits, heartbeat, origin check,
//! and that no socket stays registered after any of them.

use crate::common;
use videochat::steps;

use common::deadline::run;

use std::time::{Duration, Instant};

use common::ws::{
    assert_nothing_queued, close_code, connect, expect_closed_by_server, expect_still_served,
    next_json, next_text, wait_for_open_sockets, WAIT,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use videochat::config::Config;
use videochat::signaling::Limits;

/// A message reaches every other socket unchanged, and never its sender.
#[test]
fn relays_to_every_other_socket_and_not_the_sender() {
    run(async {
        let server = common::serve(steps::app07());
        let mut alice = connect(&server).await;
        let mut bob = connect(&server).await;
        let mut carol = connect(&server).await;
        wait_for_open_sockets(&server, 3).await;

        let offer = r#"{"type":"offer","sdp":"v=0\r\n","extra":{"kept":[1,2,3]}}"#;
        alice.send(Message::text(offer)).await.expect("send");
        assert_eq!(next_text(&mut bob).await, offer);
        assert_eq!(next_text(&mut carol).await, offer);
        assert_nothing_queued(&mut alice).await;

        for socket in [&mut alice, &mut bob, &mut carol] {
            socket.close(None).await.expect("close");
        }
        wait_for_open_sockets(&server, 0).await;
    });
}

/// Bad JSON, a missing or non-string type, and binary frames get `bad-message`,
/// are not relayed, and the socket stays open.
#[test]
fn malformed_messages_are_refused_and_the_socket_stays_open() {
    run(async {
        let server = common::serve(steps::app07());
        let mut alice = connect(&server).await;
        let mut bob = connect(&server).await;
        wait_for_open_sockets(&server, 2).await;

        let bad = [
            Message::text("{not json"),
            Message::text(r#"["type","offer"]"#),
            Message::text(r#"{"sdp":"v=0"}"#),
            Message::text(r#"{"type":42}"#),
            Message::binary(vec![1u8, 2, 3]),
        ];
        for message in bad {
            let shown = format!("{message:?}");
            alice.send(message).await.expect("send");
            let reply = next_json(&mut alice).await;
            assert_eq!(reply["type"], "error", "{shown}: {reply}");
            assert_eq!(reply["code"], "bad-message", "{shown}: {reply}");
            assert!(reply["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        // Still open, and nothing bad reached Bob: the next thing he reads is this.
        let good = r#"{"type":"answer","sdp":"v=0"}"#;
        alice.send(Message::text(good)).await.expect("send");
        assert_eq!(next_text(&mut bob).await, good);

        drop(alice);
        drop(bob);
        wait_for_open_sockets(&server, 0).await;
    });
}

/// A frame over the size limit closes the socket with 1009 and unregisters it.
#[test]
fn oversize_frame_closes_with_1009() {
    run(async {
        let server = common::serve(steps::app07());
        let mut alice = connect(&server).await;
        let mut bob = connect(&server).await;
        wait_for_open_sockets(&server, 2).await;

        let huge = format!(
            r#"{{"type":"offer","sdp":"{}"}}"#,
            "x".repeat(Limits::default().max_message_bytes)
        );
        // The server may close before the whole frame is written: a send error is fine.
        let _ = alice.send(Message::text(huge)).await;
        assert_eq!(close_code(&mut alice).await, Some(CloseCode::Size));
        wait_for_open_sockets(&server, 1).await;
        assert_nothing_queued(&mut bob).await;
    });
}

/// Beyond the rate limit messages are refused with `rate-limited` and not
/// relayed; a sustained flood closes the socket with 1008.
#[test]
fn flood_is_refused_then_closed() {
    run(async {
        let limits = Limits {
            burst: 5,
            messages_per_second: 1,
            flood_close_after: 20,
            ..Limits::default()
        };
        let server = common::serve_with_limits(steps::app07(), limits);
        let mut alice = connect(&server).await;
        let mut bob = connect(&server).await;
        wait_for_open_sockets(&server, 2).await;

        for n in 0..100 {
            if alice
                .send(Message::text(format!(r#"{{"type":"chat","n":{n}}}"#)))
                .await
                .is_err()
            {
                break;
            }
        }
        // The burst got through, in order.
        for n in 0..5 {
            let relayed = next_json(&mut bob).await;
            assert_eq!(relayed["n"], n);
        }
        // Then Alice was told, and finally cut off.
        let mut refusals = 0;
        let code = loop {
            match tokio::time::timeout(WAIT, alice.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    let reply: Value = serde_json::from_str(&text).expect("JSON");
                    assert_eq!(reply["code"], "rate-limited", "{reply}");
                    refusals += 1;
                }
                Ok(Some(Ok(Message::Close(frame)))) => break frame.map(|f| f.code),
                Ok(Some(Ok(Message::Ping(_)))) => continue,
                other => panic!("unexpected {other:?}"),
            }
        };
        assert_eq!(code, Some(CloseCode::Policy));
        assert_eq!(
            refusals, 20,
            "one refusal per dropped message until the flood limit"
        );
        wait_for_open_sockets(&server, 1).await;
        // At most one more token refilled while flooding; the rest never reached Bob.
        assert_nothing_queued(&mut bob).await;
    });
}

/// An upgrade from a foreign Origin is refused with 403; the own origin and a
/// configured extra origin are accepted.
#[test]
fn foreign_origin_is_refused_with_403() {
    run(async {
        let config = Config {
            allowed_origins: vec!["https://chat.example.org".into()],
            ..Config::default()
        };
        let server = common::serve_with(steps::app07(), config);
        let url = format!("ws://{}/ws", server.addr());
        let with_origin = |origin: &str| {
            let mut request = url.clone().into_client_request().expect("request");
            request
                .headers_mut()
                .insert("Origin", origin.parse().expect("header"));
            request
        };

        match tokio_tungstenite::connect_async(with_origin("http://evil.example")).await {
            Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
            other => panic!("a foreign origin was not refused: {other:?}"),
        }
        let own = format!("http://{}", server.addr());
        let (own_socket, _) = tokio_tungstenite::connect_async(with_origin(&own))
            .await
            .expect("own origin");
        let (extra_socket, _) =
            tokio_tungstenite::connect_async(with_origin("https://chat.example.org"))
                .await
                .expect("configured origin");
        wait_for_open_sockets(&server, 2).await;
        drop(own_socket);
        drop(extra_socket);
        wait_for_open_sockets(&server, 0).await;
    });
}

/// A client that stops answering pings is dropped after the timeout.
#[test]
fn silent_client_is_dropped_after_the_heartbeat_timeout() {
    run(async {
        let limits = Limits {
            heartbeat_interval: Duration::from_millis(100),
            client_timeout: Duration::from_millis(500),
            ..Limits::default()
        };
        let server = common::serve_with_limits(steps::app07(), limits);
        // tungstenite answers pings only while it is read, so a socket nobody
        // reads is a page that stopped answering.
        let mut silent = connect(&server).await;
        let mut lively = connect(&server).await;
        wait_for_open_sockets(&server, 2).await;

        // Reading `lively` answers its pings; the silent one is dropped meanwhile.
        let deadline = Instant::now() + WAIT;
        while server.open_sockets() != 1 {
            assert!(
                Instant::now() < deadline,
                "the silent socket was not dropped"
            );
            let _ = tokio::time::timeout(Duration::from_millis(50), lively.next()).await;
        }
        // The lively one survived several timeouts' worth of pings.
        let until = Instant::now() + Duration::from_millis(1200);
        while Instant::now() < until {
            let _ = tokio::time::timeout(Duration::from_millis(50), lively.next()).await;
        }
        assert_eq!(server.open_sockets(), 1);
        // The one dropped is the silent one; the lively one is still served.
        expect_closed_by_server(&mut silent, "the silent socket").await;
        expect_still_served(&mut lively, "the lively socket").await;
        drop(lively);
        wait_for_open_sockets(&server, 0).await;
    });
}

/// Stopping the server closes open sockets with 1001 "going away" at once.
#[test]
fn shutdown_closes_sockets_with_1001() {
    run(async {
        let server = common::serve(steps::app07());
        let mut alice = connect(&server).await;
        wait_for_open_sockets(&server, 1).await;
        let stopping = std::thread::spawn(move || server.stop());
        assert_eq!(close_code(&mut alice).await, Some(CloseCode::Away));
        stopping.join().expect("the server stopped");
    });
}

/// A page that stops reading is disconnected once its bounded queue has
/// stayed full for the write timeout, instead of growing the server's
/// memory; the others keep receiving.
#[test]
fn socket_that_stops_reading_is_disconnected() {
    run(async {
        let limits = Limits {
            outgoing_queue: 4,
            burst: 1000,
            messages_per_second: 1000,
            send_timeout: Duration::from_secs(1),
            ..Limits::default()
        };
        let server = common::serve_with_limits(steps::app07(), limits);
        let mut sender = connect(&server).await;
        let mut stalled = connect(&server).await; // never read
        let mut reader = connect(&server).await;
        wait_for_open_sockets(&server, 3).await;

        let chunk = "x".repeat(60 * 1024);
        let deadline = Instant::now() + WAIT;
        let mut sent = 0;
        while server.open_sockets() == 3 {
            assert!(
                Instant::now() < deadline,
                "the stalled socket was never dropped after {sent} messages"
            );
            let message = format!(r#"{{"type":"chat","n":{sent},"pad":"{chunk}"}}"#);
            sender.send(Message::text(message)).await.expect("send");
            sent += 1;
            // The reader keeps up, as a live page does.
            let relayed = next_json(&mut reader).await;
            assert_eq!(relayed["n"], sent - 1);
        }
        assert_eq!(server.open_sockets(), 2);
        // The one dropped is the stalled one: the reader still gets relays.
        expect_closed_by_server(&mut stalled, "the stalled socket").await;
        sender
            .send(Message::text(r#"{"type":"chat","n":"after"}"#))
            .await
            .expect("send");
        assert_eq!(next_json(&mut reader).await["n"], "after");
        drop(sender);
        drop(reader);
        wait_for_open_sockets(&server, 0).await;
    });
}
