//! What travels on the signaling socket, as types: a page's [`Request`],
//! and the [`ServerMessage`]s the server writes itself.
//!
//! The server reads only the routing fields (`type`, and from step 15 `to`,
//! plus `username` and `room` in a `join`) and passes everything else through
//! untouched: SDP, candidates and chat never need the server to understand
//! them. A page's message is parsed once, by its session, into a `Request`
//! that keeps the page's own text ([`RawMessage`], from [`super::splice`]).
//! The book's appendix "The signaling protocol" is the reference for every
//! message, error code and close code.

use bytestring::ByteString;
use serde::Serialize;

use super::splice::{self, RoutingFields};
pub use super::splice::{Field, RawMessage};

/// Why the server refused a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// Not a JSON object with a string `type`, a field of the wrong type, or binary.
    BadMessage,
    /// A `join` whose username or room name breaks the name rules (see `policy/display_names.rs`),
    /// or whose username another member of the room already has.
    BadName,
    /// `to` names nobody, or somebody outside the sender's room.
    UnknownPeer,
    /// The message needs the sender to have joined first.
    NotJoined,
    /// The room already has as many members as it may.
    RoomFull,
    /// The socket sends faster than its rate limit.
    RateLimited,
    /// Step 19: a `resume` whose token is unknown, already used or expired.
    /// The page joins again instead.
    BadToken,
    /// Step 19: `to` names a member whose socket dropped and whose place the
    /// server holds for a while; the message was not delivered.
    PeerAway,
    /// With rooms shared through Redis (`--redis-url`): Redis is not
    /// answering, so the message could not be checked or delivered. The
    /// socket stays open; the page may try again.
    Unavailable,
    /// Step 20: a `media-offer` or `media-answer` the SFU cannot read or
    /// use, or an answer when no offer of the SFU's waits for one.
    BadSdp,
    /// Step 20: the page's media connection to the SFU did not come up in
    /// time, or ended; the SFU has forgotten it.
    MediaFailed,
}

// ANCHOR: server_message
/// A message the server itself sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerMessage<'a> {
    /// First, on connect (direct and rooms policies): the page's own id and,
    /// from step 19, the token that lets its next socket take its place.
    Welcome {
        id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        resume: Option<&'a str>,
    },
    /// Step 19: the answer to a good `resume`. The page has its old id
    /// back, a new token, and the members of its room now, since it missed
    /// what was announced while it was away.
    Resumed {
        id: &'a str,
        resume: &'a str,
        members: Vec<Member<'a>>,
    },
    /// To the others of a room when a page joins it.
    Join { from: &'a str, username: &'a str },
    /// To the others of a room when a page leaves, closes or stops answering.
    Leave { from: &'a str },
    /// A refused message; the socket stays open.
    Error { code: ErrorCode, message: String },
    /// Step 20: the SFU's answer to the page's `media-offer`.
    MediaAnswer { sdp: &'a str },
    /// Step 20: the SFU's offer: tracks of other members added or stopped.
    MediaOffer { sdp: &'a str },
}
// ANCHOR_END: server_message

/// One member of a room, as `resumed` lists them.
#[derive(Debug, Serialize)]
pub struct Member<'a> {
    pub id: &'a str,
    pub username: &'a str,
}

impl ServerMessage<'_> {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> ServerMessage<'static> {
        ServerMessage::Error {
            code,
            message: message.into(),
        }
    }

    /// The JSON text of this message.
    pub fn to_text(&self) -> String {
        // Serializing these plain values cannot fail: every field is a
        // string or a unit enum.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"type\":\"error\"}"))
    }
}

/// Which SDP a step 20 page sends the SFU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaSdp {
    /// The page's offer: what it publishes.
    Offer,
    /// The page's answer to the SFU's offer.
    Answer,
}

// ANCHOR: request
/// A message from a page, parsed once by its session.
///
/// Only `type` decides the variant; the page's text travels inside each one
/// as it came, so the server relays it without rebuilding it.
#[derive(Debug)]
pub enum Request {
    /// `join` (direct and rooms policies): enter a room under a name.
    Join {
        username: Field,
        /// Step 17's room name; steps 15-16 have one room and ignore it.
        room: Field,
        raw: RawMessage,
    },
    /// `leave`: leave the room and stay connected.
    Leave { raw: RawMessage },
    /// Step 19's `resume`: this socket takes back the place its `token`
    /// names (sent right after `welcome`, before any `join`). A server
    /// without resume (steps 07-18) relays it like any other message, so it
    /// keeps the `to` of one.
    Resume {
        token: Field,
        to: Option<String>,
        raw: RawMessage,
    },
    /// Step 20's `media-offer` and `media-answer`: SDP for the SFU, not for
    /// another page. A server without an SFU relays them like any other
    /// message, so they keep the `to` of one.
    Media {
        kind: MediaSdp,
        to: Option<String>,
        raw: RawMessage,
    },
    /// Anything else (`offer`, `answer`, `candidate`, `chat`, ...): for the
    /// peer named in `to` (direct and rooms policies), or for every other
    /// page (broadcast).
    Forward { to: Option<String>, raw: RawMessage },
}
// ANCHOR_END: request

impl Request {
    /// Parses `text`: a JSON object with a string `type`, and a string `to`
    /// if it has one. Anything else is refused with `bad-message`.
    pub fn parse(text: impl Into<ByteString>) -> Result<Request, ServerMessage<'static>> {
        let bad = |message: String| ServerMessage::error(ErrorCode::BadMessage, message);
        let (raw, fields) = match splice::read(text.into()) {
            Ok(read) => read,
            Err(err) if err.is_data() => return Err(bad("a message must be a JSON object".into())),
            Err(err) => return Err(bad(format!("not JSON: {err}"))),
        };
        let RoutingFields {
            kind,
            to,
            username,
            room,
            token,
        } = fields;
        let kind = match kind {
            Field::Text(kind) => kind,
            Field::NotText => return Err(bad("the field \"type\" must be a string".into())),
            Field::Absent => return Err(bad("a message needs a string field \"type\"".into())),
        };
        let to = match to {
            Field::Absent => None,
            Field::Text(to) => Some(to),
            Field::NotText => {
                return Err(bad("the field \"to\" must be a string naming a peer".into()))
            }
        };
        Ok(match kind.as_str() {
            "join" => Request::Join {
                username,
                room,
                raw,
            },
            "leave" => Request::Leave { raw },
            "resume" => Request::Resume { token, to, raw },
            "media-offer" => Request::Media {
                kind: MediaSdp::Offer,
                to,
                raw,
            },
            "media-answer" => Request::Media {
                kind: MediaSdp::Answer,
                to,
                raw,
            },
            _ => Request::Forward { to, raw },
        })
    }

    /// The page's message as it came, whatever its type (the broadcast
    /// policy relays every request this way).
    pub fn raw(&self) -> &RawMessage {
        match self {
            Request::Join { raw, .. }
            | Request::Leave { raw }
            | Request::Resume { raw, .. }
            | Request::Media { raw, .. }
            | Request::Forward { raw, .. } => raw,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_with_a_string_type_pass() {
        let request = Request::parse(r#"{"type":"offer","sdp":"v=0"}"#).unwrap();
        assert!(
            matches!(&request, Request::Forward { to: None, .. }),
            "{request:?}"
        );
        assert_eq!(&**request.raw().text(), r#"{"type":"offer","sdp":"v=0"}"#);
    }

    #[test]
    fn join_and_leave_are_their_own_requests() {
        let join = Request::parse(r#"{"type":"join","username":"al","room":5}"#).unwrap();
        let Request::Join { username, room, .. } = join else {
            panic!("not a join: {join:?}");
        };
        assert_eq!(username, Field::Text("al".into()));
        assert_eq!(room, Field::NotText);
        assert!(matches!(
            Request::parse(r#"{"type":"leave"}"#),
            Ok(Request::Leave { .. })
        ));
        let offer = Request::parse(r#"{"type":"offer","to":"b"}"#).unwrap();
        assert!(matches!(offer, Request::Forward { to: Some(to), .. } if to == "b"));
    }

    #[test]
    fn everything_else_is_a_bad_message() {
        for text in [
            "",
            "nope",
            "[]",
            "42",
            r#"{"sdp":1}"#,
            r#"{"type":7}"#,
            r#"{"type":"offer","to":7}"#,
            r#"{"type":"offer","to":null}"#,
        ] {
            let err = Request::parse(text).unwrap_err();
            assert!(
                err.to_text().contains(r#""code":"bad-message""#),
                "{text}: {}",
                err.to_text()
            );
        }
    }

    #[test]
    fn server_messages_have_the_wire_shape() {
        assert_eq!(
            ServerMessage::Welcome {
                id: "abc",
                resume: None
            }
            .to_text(),
            r#"{"type":"welcome","id":"abc"}"#
        );
        assert_eq!(
            ServerMessage::Welcome {
                id: "abc",
                resume: Some("t0k")
            }
            .to_text(),
            r#"{"type":"welcome","id":"abc","resume":"t0k"}"#
        );
        assert_eq!(
            ServerMessage::Resumed {
                id: "abc",
                resume: "t1k",
                members: vec![Member {
                    id: "def",
                    username: "Bo"
                }],
            }
            .to_text(),
            r#"{"type":"resumed","id":"abc","resume":"t1k","members":[{"id":"def","username":"Bo"}]}"#
        );
        assert_eq!(
            ServerMessage::Join {
                from: "abc",
                username: "Al"
            }
            .to_text(),
            r#"{"type":"join","from":"abc","username":"Al"}"#
        );
        assert_eq!(
            ServerMessage::Leave { from: "abc" }.to_text(),
            r#"{"type":"leave","from":"abc"}"#
        );
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
