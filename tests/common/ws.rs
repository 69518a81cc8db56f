//! A WebSocket client for the protocol tests, speaking to `/ws` of a server on port 0.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use videochat::server::Server;

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest any single expected event may take on a loaded machine.
pub const WAIT: Duration = Duration::from_secs(10);

pub async fn connect(server: &Server) -> Socket {
    connect_to(server.addr()).await
}

/// Opens `/ws` of the server at `addr` (also one in another process, as in
/// the benchmark).
pub async fn connect_to(addr: SocketAddr) -> Socket {
    let url = format!("ws://{addr}/ws");
    let (socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect to /ws");
    socket
}

/// Opens `/ws` of the server at `addr` from the loopback address `source` (127.0.0.2, say), as a
/// second machine would; an HTTP refusal comes back as the error.
pub async fn connect_from(addr: SocketAddr, source: IpAddr) -> Result<Socket, WsError> {
    let tcp = TcpSocket::new_v4().expect("a socket");
    tcp.bind(SocketAddr::new(source, 0))
        .expect("bind the source address");
    let stream = tcp.connect(addr).await.expect("connect");
    let url = format!("ws://{addr}/ws");
    tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream))
        .await
        .map(|(socket, _)| socket)
}

/// Connects and reads the welcome (direct and rooms policies); returns the
/// socket and its id.
pub async fn arrive(server: &Server) -> (Socket, String) {
    let mut socket = connect(server).await;
    let welcome = next_json(&mut socket).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let id = welcome["id"].as_str().expect("an id").to_string();
    (socket, id)
}

/// The next message must be an error with `code`.
pub async fn expect_error(socket: &mut Socket, code: &str) {
    let reply = next_json(socket).await;
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["code"], code, "{reply}");
}

/// Waits until the hub has handled everything `socket` sent so far: a
/// message to nobody is refused by the hub itself, after the ones before it.
/// (Direct and rooms policies; it costs one message of the rate limit.)
pub async fn sync_with_hub(socket: &mut Socket) {
    send(socket, serde_json::json!({"type": "probe", "to": "nobody"})).await;
    let reply = next_json(socket).await;
    assert!(
        reply["code"] == "unknown-peer" || reply["code"] == "not-joined",
        "{reply}"
    );
}

/// Asks to join as `username`: the one chat of steps 15-16 (`room: None`),
/// or the named room of step 17.
pub async fn join(socket: &mut Socket, username: &str, room: Option<&str>) {
    let message = match room {
        Some(room) => serde_json::json!({"type": "join", "username": username, "room": room}),
        None => serde_json::json!({"type": "join", "username": username}),
    };
    send(socket, message).await;
}

/// Proves nothing is queued for `socket`: a bad message's error must be the
/// very next thing it reads.
pub async fn assert_nothing_queued(socket: &mut Socket) {
    socket.send(Message::text("not json")).await.expect("send");
    expect_error(socket, "bad-message").await;
}

/// Sends `message` as one text frame.
pub async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .expect("send");
}

/// The next text message, failing the test on anything else or on timeout.
pub async fn next_text(socket: &mut Socket) -> String {
    // One deadline for the whole wait: pings must not keep extending it.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return text.to_string(),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

pub async fn next_json(socket: &mut Socket) -> Value {
    let text = next_text(socket).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Reads until the server closes the socket and returns the close code.
pub async fn close_code(socket: &mut Socket) -> Option<CloseCode> {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        match tokio::time::timeout(WAIT, socket.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| f.code),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) | Err(_) => return None,
        }
    }
    None
}

/// Reads `socket` until the server has closed it (a close frame, or the
/// connection's end); fails the test if it is still open after [`WAIT`].
/// Tells which of several sockets the server dropped.
pub async fn expect_closed_by_server(socket: &mut Socket, which: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline.into(), socket.next()).await {
            Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) => return,
            Ok(Some(Ok(_))) => continue,
            Err(_) => panic!("{which} is still open after {WAIT:?}"),
        }
    }
}

/// Sends a message that is not JSON on `socket` and expects the server's
/// `bad-message` answer: proof that the server still serves this socket.
pub async fn expect_still_served(socket: &mut Socket, which: &str) {
    socket
        .send(Message::text("not json"))
        .await
        .unwrap_or_else(|e| panic!("{which}: send: {e}"));
    expect_error(socket, "bad-message").await;
}

/// Waits until the server holds exactly `expected` sockets.
pub async fn wait_for_open_sockets(server: &Server, expected: usize) {
    let deadline = Instant::now() + WAIT;
    while server.open_sockets() != expected {
        assert!(
            Instant::now() < deadline,
            "the server still holds {} sockets, expected {expected}",
            server.open_sockets()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
