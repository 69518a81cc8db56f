//! A WebSocket spoken byte by byte, for the attacks a well-behaved client
//! library refuses to make: frames that declare more than they send,
//! fragments that add up past the limit.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens `/ws` by hand and returns the socket once the server answered 101.
pub async fn handshake(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the upgrade");
    // Read the answer's head one byte at a time, so no frame after it is consumed.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = tokio::time::timeout(Duration::from_secs(10), stream.read_u8())
            .await
            .expect("the upgrade answer in time")
            .expect("the upgrade answer");
        head.push(byte);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "not upgraded: {head}");
    stream
}

/// A masked client frame header: `fin`, `opcode` (1 text, 0 continuation),
/// and the payload length it declares.
pub fn header(fin: bool, opcode: u8, length: u64) -> Vec<u8> {
    let mut bytes = vec![if fin { 0x80 } else { 0 } | opcode];
    if length < 126 {
        bytes.push(0x80 | length as u8);
    } else if length <= u64::from(u16::MAX) {
        bytes.push(0x80 | 126);
        bytes.extend_from_slice(&(length as u16).to_be_bytes());
    } else {
        bytes.push(0x80 | 127);
        bytes.extend_from_slice(&length.to_be_bytes());
    }
    // A zero mask leaves the payload as written.
    bytes.extend_from_slice(&[0, 0, 0, 0]);
    bytes
}

/// A whole text frame (or fragment) of `length` spaces.
pub fn frame(fin: bool, opcode: u8, length: usize) -> Vec<u8> {
    let mut bytes = header(fin, opcode, length as u64);
    bytes.resize(bytes.len() + length, b' ');
    bytes
}

/// Reads server frames until a close frame and returns its code; `None`
/// when the connection ends (or `within` passes) without one.
pub async fn close_code(stream: &mut (impl AsyncRead + Unpin), within: Duration) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let read = async {
            let first = stream.read_u8().await.ok()?;
            let second = stream.read_u8().await.ok()?;
            let length = match second & 0x7f {
                126 => u64::from(stream.read_u16().await.ok()?),
                127 => stream.read_u64().await.ok()?,
                short => u64::from(short),
            };
            let mut payload = vec![0; usize::try_from(length).ok()?];
            stream.read_exact(&mut payload).await.ok()?;
            Some((first & 0x0f, payload))
        };
        match tokio::time::timeout_at(deadline, read).await {
            Ok(Some((0x8, payload))) if payload.len() >= 2 => {
                return Some(u16::from_be_bytes([payload[0], payload[1]]))
            }
            Ok(Some((0x8, _))) | Ok(None) | Err(_) => return None,
            // Text (a welcome), ping or pong: not what we wait for.
            Ok(Some(_)) => continue,
        }
    }
}
