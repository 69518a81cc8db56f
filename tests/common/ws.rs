//! A WebSocket client for the protocol tests, speaking to `/ws` of a server on port 0.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
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
