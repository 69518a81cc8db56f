//! What travels on the signaling socket, as types.
//!
//! The server reads only the routing fields (`type`, and from step 15 `to`,
//! plus `username` and `room` in a `join`) and passes everything else through
//! untouched: SDP, candidates and chat never need the server to understand
//! them. A page's message is parsed once, by its session, into a
//! [`ClientMessage`]: the routing fields as Rust values, every field as the
//! raw JSON the page wrote, and the text itself. What the server sends is a
//! [`ServerMessage`]. The book's appendix "The signaling protocol" is the
//! reference for every message, error code and close code.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Why the server refused a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// Not a JSON object with a string `type`, a field of the wrong type, or binary.
    BadMessage,
    /// A `join` whose username or room name breaks the name rules ([`valid_name`]),
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
}

// ANCHOR: server_message
/// A message the server itself sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerMessage<'a> {
    /// First, on connect (direct and rooms policies): the page's own id.
    Welcome { id: &'a str },
    /// To the others of a room when a page joins it.
    Join { from: &'a str, username: &'a str },
    /// To the others of a room when a page leaves, closes or stops answering.
    Leave { from: &'a str },
    /// A refused message; the socket stays open.
    Error { code: ErrorCode, message: String },
}
// ANCHOR_END: server_message

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

// ANCHOR: client_message
/// A message from a page, parsed once by its session.
#[derive(Debug)]
pub struct ClientMessage {
    /// `type`: what the message is (`offer`, `join`, ...).
    pub kind: String,
    /// `to`: the peer it is for (direct and rooms policies).
    pub to: Option<String>,
    /// Every field as the page wrote it, raw JSON never rebuilt: relayed
    /// byte for byte.
    pub fields: BTreeMap<String, Box<RawValue>>,
    /// The text as it arrived: the broadcast policy relays exactly this.
    pub text: Arc<str>,
}
// ANCHOR_END: client_message

impl ClientMessage {
    /// Parses `text`: a JSON object with a string `type`, and a string `to`
    /// if it has one.
    pub fn parse(text: &str) -> Result<ClientMessage, ServerMessage<'static>> {
        let bad = |message: String| ServerMessage::error(ErrorCode::BadMessage, message);
        let fields: BTreeMap<String, Box<RawValue>> = match serde_json::from_str(text) {
            Ok(fields) => fields,
            Err(err) if err.is_data() => return Err(bad("a message must be a JSON object".into())),
            Err(err) => return Err(bad(format!("not JSON: {err}"))),
        };
        let kind = match fields.get("type").map(|raw| string_of(raw)) {
            Some(Some(kind)) => kind,
            Some(None) => return Err(bad("the field \"type\" must be a string".into())),
            None => return Err(bad("a message needs a string field \"type\"".into())),
        };
        let to = match fields.get("to").map(|raw| string_of(raw)) {
            None => None,
            Some(Some(to)) => Some(to),
            Some(None) => {
                return Err(bad("the field \"to\" must be a string naming a peer".into()))
            }
        };
        Ok(ClientMessage {
            kind,
            to,
            fields,
            text: Arc::from(text),
        })
    }

    /// A string field (`username`, `room`): `Ok(None)` when absent, `Err`
    /// when it is there but not a string.
    pub fn string_field(&self, name: &str) -> Result<Option<String>, ServerMessage<'static>> {
        match self.fields.get(name) {
            None => Ok(None),
            Some(raw) => string_of(raw).map(Some).ok_or_else(|| {
                ServerMessage::error(
                    ErrorCode::BadMessage,
                    format!("\"{name}\" must be a string"),
                )
            }),
        }
    }

    /// The message for its receiver: every field as the page wrote it, but
    /// `from` set to who really sent it and any `username` set to the
    /// sender's checked name. Only those two values are serialized; the
    /// rest is copied as it came.
    pub fn relayed(&self, from: &str, username: &str) -> String {
        let from = raw_string(from);
        // Only a message that carries a username gets the checked one.
        let username = self
            .fields
            .contains_key("username")
            .then(|| raw_string(username));
        let mut out: BTreeMap<&str, &RawValue> = self
            .fields
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_ref()))
            .collect();
        out.insert("from", &from);
        if let Some(username) = &username {
            out.insert("username", username);
        }
        // A map of strings and raw JSON always serializes.
        serde_json::to_string(&out).unwrap_or_default()
    }
}

/// The string a raw JSON value holds, if it is one.
fn string_of(raw: &RawValue) -> Option<String> {
    serde_json::from_str(raw.get()).ok()
}

/// `text` as a raw JSON string value.
fn raw_string(text: &str) -> Box<RawValue> {
    // A string always serializes to valid JSON.
    let json = serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into());
    RawValue::from_string(json).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// Longest username or room name, in characters: enough for a real name,
/// short enough to lay out in a tile.
pub const MAX_NAME_CHARS: usize = 64;

/// Checks a username or room name and returns it trimmed, or why it is refused.
///
/// A name is shown to other people, so it must not be able to pass for
/// someone else's or for nothing at all:
/// - a string of 1 to 64 characters once trimmed, with no control characters;
/// - at least one visible character: zero-width and other formatting
///   characters, blank fillers (Hangul filler, braille blank) and lone
///   combining marks do not count;
/// - no bidi embedding, override or isolate characters, which reorder the
///   text around them (a name could make a chat line read backwards).
pub fn valid_name(name: &str, field: &str) -> Result<String, String> {
    // Checked before trimming, which would take an override off the ends.
    if name.chars().any(is_bidi_control) {
        return Err(format!(
            "\"{field}\" must not contain bidi override characters"
        ));
    }
    let name = name.trim_matches(|c: char| c.is_whitespace() || is_blank_format(c));
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(format!(
            "\"{field}\" must be 1 to {MAX_NAME_CHARS} characters"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("\"{field}\" must not contain control characters"));
    }
    if !name.chars().any(is_visible) {
        return Err(format!("\"{field}\" must have a visible character"));
    }
    Ok(name.to_string())
}

/// What two names are compared by: their visible characters, lowercased, so
/// "Alice", "alice" and "Al\u{200B}ice" are the same name. (Look-alike letters
/// of other scripts are not folded: pages show a short id beside each name.)
pub fn name_key(name: &str) -> String {
    name.chars()
        .filter(|&c| is_visible(c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Explicit bidi formatting: embeddings, overrides (U+202A-U+202E) and
/// isolates (U+2066-U+2069).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that draw nothing although they are not formatting characters.
const BLANK_FILLERS: &[char] = &[
    '\u{115F}', // Hangul choseong filler
    '\u{1160}', // Hangul jungseong filler
    '\u{3164}', // Hangul filler
    '\u{FFA0}', // halfwidth Hangul filler
    '\u{2800}', // braille pattern blank
];

/// Formatting characters (zero-width space, joiners, bidi marks, ...) and blank fillers.
fn is_blank_format(c: char) -> bool {
    c.general_category() == GeneralCategory::Format || BLANK_FILLERS.contains(&c)
}

/// A character that draws something on its own.
fn is_visible(c: char) -> bool {
    use GeneralCategory::*;
    !c.is_whitespace()
        && !c.is_control()
        && !is_blank_format(c)
        && !matches!(
            c.general_category(),
            NonspacingMark
                | SpacingMark
                | EnclosingMark
                | SpaceSeparator
                | LineSeparator
                | ParagraphSeparator
                | PrivateUse
                | Surrogate
                | Unassigned
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_with_a_string_type_pass() {
        let message = ClientMessage::parse(r#"{"type":"offer","sdp":"v=0"}"#).unwrap();
        assert_eq!(message.kind, "offer");
        assert_eq!(message.to, None);
        assert_eq!(message.fields["sdp"].get(), r#""v=0""#);
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
            let err = ClientMessage::parse(text).unwrap_err();
            assert!(
                err.to_text().contains(r#""code":"bad-message""#),
                "{text}: {}",
                err.to_text()
            );
        }
    }

    #[test]
    fn unknown_fields_are_relayed_byte_for_byte() {
        let text = r#"{"type":"offer","to":"b","sdp":"v=0\r\na=x \u00e9","n":1.50,"deep":{"z":[1, 2 ,3],"a":null},"from":"forged","username":"Admin"}"#;
        let message = ClientMessage::parse(text).unwrap();
        assert_eq!(message.to.as_deref(), Some("b"));
        let relayed = message.relayed("alice-id", "Alice");
        // The values the server does not read are the page's own bytes.
        for original in [
            r#""sdp":"v=0\r\na=x \u00e9""#,
            r#""n":1.50"#,
            r#""deep":{"z":[1, 2 ,3],"a":null}"#,
            r#""to":"b""#,
        ] {
            assert!(relayed.contains(original), "{original} in {relayed}");
        }
        assert!(relayed.contains(r#""from":"alice-id""#), "{relayed}");
        assert!(relayed.contains(r#""username":"Alice""#), "{relayed}");
        assert!(
            !relayed.contains("forged") && !relayed.contains("Admin"),
            "{relayed}"
        );
        // No username in, none out.
        let plain = ClientMessage::parse(r#"{"type":"candidate","to":"b"}"#).unwrap();
        assert!(!plain.relayed("a", "Alice").contains("username"));
    }

    #[test]
    fn string_fields_are_typed() {
        let join = ClientMessage::parse(r#"{"type":"join","username":"al","room":5}"#).unwrap();
        assert_eq!(
            join.string_field("username").unwrap().as_deref(),
            Some("al")
        );
        assert_eq!(join.string_field("missing").unwrap(), None);
        assert!(join.string_field("room").is_err());
    }

    #[test]
    fn server_messages_have_the_wire_shape() {
        assert_eq!(
            ServerMessage::Welcome { id: "abc" }.to_text(),
            r#"{"type":"welcome","id":"abc"}"#
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
    fn names_are_trimmed_and_checked() {
        let name = |text: &str| valid_name(text, "username");
        assert_eq!(name("  alice ").unwrap(), "alice");
        assert_eq!(name("<b>bob</b>").unwrap(), "<b>bob</b>");
        assert_eq!(name(&"é".repeat(64)).unwrap().chars().count(), 64);
        for bad in ["", "   ", &"x".repeat(65), "a\nb"] {
            assert!(name(bad).is_err(), "{bad:?}");
        }
        assert!(valid_name("", "room").unwrap_err().contains("room"));
    }

    #[test]
    fn names_need_a_visible_character_and_no_bidi_overrides() {
        let name = |text: &str| valid_name(text, "username");
        for invisible in [
            "\u{200B}\u{200B}",         // zero-width spaces
            "\u{200D}\u{FEFF}\u{2060}", // joiner, byte order mark, word joiner
            "\u{3164}",                 // Hangul filler
            "\u{2800}\u{2800}",         // braille blank
            "\u{115F}\u{1160}",         // Hangul choseong and jungseong fillers
            "\u{0301}",                 // a combining mark with nothing to mark
            " \u{00A0}\u{3000} ",       // no-break and ideographic spaces
        ] {
            assert!(name(invisible).is_err(), "{invisible:?}");
        }
        for bidi in ["\u{202E}ecila", "bob\u{202D}", "a\u{2067}b\u{2069}"] {
            assert!(name(bidi).unwrap_err().contains("bidi"), "{bidi:?}");
        }
        // Invisible characters at the ends are trimmed like spaces.
        assert_eq!(name("\u{200B}alice\u{200B}").unwrap(), "alice");
        // Real names in any script pass, marks and joiners included.
        for real in ["José", "Jose\u{0301}", "محمد", "李小龍", "👩\u{200D}💻 Ana"] {
            assert_eq!(name(real).unwrap(), real);
        }
    }

    #[test]
    fn name_keys_ignore_case_and_invisible_characters() {
        assert_eq!(name_key("Alice"), name_key("al\u{200B}ice"));
        assert_eq!(name_key("ALICE"), name_key("alice"));
        assert_ne!(name_key("alice"), name_key("alicia"));
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
