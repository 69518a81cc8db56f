//! What travels on the signaling socket.
//!
//! The server reads only the routing fields (`type`, and from step 15 `to`)
//! and passes everything else through untouched: SDP, candidates and chat
//! never need the server to understand them.

use serde::Serialize;
use serde_json::{Map, Value};

/// Why the server refused a message (protocol.md lists them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// Not a JSON object with a string `type`, a field of the wrong type, or binary.
    BadMessage,
    /// `to` names nobody, or somebody outside the sender's room.
    UnknownPeer,
    /// The message needs the sender to have joined first.
    NotJoined,
    /// The room already has as many members as it may.
    RoomFull,
    /// The socket sends faster than its rate limit.
    RateLimited,
}

/// A message the server itself sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerMessage {
    Error { code: ErrorCode, message: String },
}

impl ServerMessage {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> ServerMessage {
        ServerMessage::Error {
            code,
            message: message.into(),
        }
    }

    /// The JSON text of this message.
    pub fn to_text(&self) -> String {
        // Serializing these plain structs cannot fail: every field is a
        // string or a unit enum.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"type\":\"error\"}"))
    }
}

/// Checks that `text` is a JSON object with a string `type`, and returns the object.
pub fn parse_envelope(text: &str) -> Result<Map<String, Value>, ServerMessage> {
    let value: Value = serde_json::from_str(text)
        .map_err(|err| ServerMessage::error(ErrorCode::BadMessage, format!("not JSON: {err}")))?;
    let Value::Object(object) = value else {
        return Err(ServerMessage::error(
            ErrorCode::BadMessage,
            "a message must be a JSON object",
        ));
    };
    match object.get("type") {
        Some(Value::String(_)) => Ok(object),
        Some(_) => Err(ServerMessage::error(
            ErrorCode::BadMessage,
            "the field \"type\" must be a string",
        )),
        None => Err(ServerMessage::error(
            ErrorCode::BadMessage,
            "a message needs a string field \"type\"",
        )),
    }
}

/// Longest username or room name, in characters: enough for a real name,
/// short enough to lay out in a tile.
pub const MAX_NAME_CHARS: usize = 64;

/// Checks a username or room name: a string, trimmed, 1 to 64 characters,
/// no control characters. Returns the trimmed name or why it is refused.
pub fn valid_name(value: Option<&Value>, field: &str) -> Result<String, String> {
    let Some(Value::String(name)) = value else {
        return Err(format!("\"{field}\" must be a string"));
    };
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(format!(
            "\"{field}\" must be 1 to {MAX_NAME_CHARS} characters"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("\"{field}\" must not contain control characters"));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_with_a_string_type_pass() {
        let object = parse_envelope(r#"{"type":"offer","sdp":"v=0"}"#).unwrap();
        assert_eq!(object["sdp"], "v=0");
    }

    #[test]
    fn everything_else_is_a_bad_message() {
        for text in ["", "nope", "[]", "42", r#"{"sdp":1}"#, r#"{"type":7}"#] {
            let err = parse_envelope(text).unwrap_err();
            assert!(
                err.to_text().contains(r#""code":"bad-message""#),
                "{text}: {}",
                err.to_text()
            );
        }
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        let name = |v: Value| valid_name(Some(&v), "username");
        assert_eq!(name(json!("  alice ")).unwrap(), "alice");
        assert_eq!(name(json!("<b>bob</b>")).unwrap(), "<b>bob</b>");
        assert_eq!(name(json!("é".repeat(64))).unwrap().chars().count(), 64);
        for bad in [
            json!(""),
            json!("   "),
            json!("x".repeat(65)),
            json!("a\nb"),
            json!(7),
        ] {
            assert!(name(bad.clone()).is_err(), "{bad}");
        }
        assert!(valid_name(None, "room").unwrap_err().contains("room"));
    }

    #[test]
    fn errors_have_the_wire_shape() {
        let text = ServerMessage::error(ErrorCode::RateLimited, "slow down").to_text();
        assert_eq!(
            text,
            r#"{"type":"error","code":"rate-limited","message":"slow down"}"#
        );
    }
}
