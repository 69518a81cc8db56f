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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn errors_have_the_wire_shape() {
        let text = ServerMessage::error(ErrorCode::RateLimited, "slow down").to_text();
        assert_eq!(
            text,
            r#"{"type":"error","code":"rate-limited","message":"slow down"}"#
        );
    }
}
