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

use std::borrow::Cow;
use std::ops::Range;

use bytestring::ByteString;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
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
///
/// The server decodes only the routing fields; everything else stays the
/// page's own bytes, in `text`, and is relayed as it came.
#[derive(Debug)]
pub struct ClientMessage {
    /// `type`: what the message is (`offer`, `join`, ...).
    pub kind: String,
    /// `to`: the peer it is for (direct and rooms policies).
    pub to: Option<String>,
    /// `username` and `room`, read only in a `join`.
    username: Field,
    room: Field,
    /// The text as it arrived: the broadcast policy relays exactly this,
    /// and sharing it between queues copies nothing.
    pub text: ByteString,
    /// Where the members sit in `text` (between the braces), and which of
    /// them the server replaces when relaying (`from`, `username`).
    members: Range<usize>,
    replaced: Vec<Range<usize>>,
}
// ANCHOR_END: client_message

/// A routing field as the page sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    Absent,
    Text(String),
    NotText,
}

impl ClientMessage {
    /// Parses `text`: a JSON object with a string `type`, and a string `to`
    /// if it has one. (A field given twice counts as the last one, as the
    /// receiving page's `JSON.parse` would read it.)
    pub fn parse(text: impl Into<ByteString>) -> Result<ClientMessage, ServerMessage<'static>> {
        let text: ByteString = text.into();
        let bad = |message: String| ServerMessage::error(ErrorCode::BadMessage, message);
        let members = match Members::parse(&text) {
            Ok(members) => members,
            Err(err) if err.is_data() => return Err(bad("a message must be a JSON object".into())),
            Err(err) => return Err(bad(format!("not JSON: {err}"))),
        };
        let kind = match members.field(&text, "type") {
            Field::Text(kind) => kind,
            Field::NotText => return Err(bad("the field \"type\" must be a string".into())),
            Field::Absent => return Err(bad("a message needs a string field \"type\"".into())),
        };
        let to = match members.field(&text, "to") {
            Field::Absent => None,
            Field::Text(to) => Some(to),
            Field::NotText => {
                return Err(bad("the field \"to\" must be a string naming a peer".into()))
            }
        };
        // A parsed object starts with `{` and ends with `}` once trimmed.
        let open = text.find('{').map_or(0, |at| at + 1);
        let close = text.trim_end().len().saturating_sub(1).max(open);
        // Member i runs from the end of member i-1's value (or the brace) to
        // the end of its own value, its comma included.
        let mut replaced = Vec::new();
        let mut previous_end = open;
        for member in &members.0 {
            if member.replaced_when_relayed {
                replaced.push(previous_end..member.value.end);
            }
            previous_end = member.value.end;
        }
        Ok(ClientMessage {
            kind,
            to,
            username: members.field(&text, "username"),
            room: members.field(&text, "room"),
            members: open..close,
            replaced,
            text,
        })
    }

    /// A string field (`username`, `room`): `Ok(None)` when absent, `Err`
    /// when it is there but not a string.
    pub fn string_field(&self, name: &str) -> Result<Option<String>, ServerMessage<'static>> {
        let field = match name {
            "username" => &self.username,
            "room" => &self.room,
            "type" => return Ok(Some(self.kind.clone())),
            "to" => return Ok(self.to.clone()),
            _ => &Field::Absent,
        };
        match field {
            Field::Absent => Ok(None),
            Field::Text(text) => Ok(Some(text.clone())),
            Field::NotText => Err(ServerMessage::error(
                ErrorCode::BadMessage,
                format!("\"{name}\" must be a string"),
            )),
        }
    }

    /// The message for its receiver: the page's own bytes, with `from` set
    /// to who really sent it and any `username` set to the sender's checked
    /// name. Those two are written first and the page's own (if it sent
    /// them) are left out; nothing else is decoded or rebuilt.
    pub fn relayed(&self, from: &str, username: &str) -> ByteString {
        let mut out = String::with_capacity(self.text.len() + from.len() + username.len() + 32);
        out.push_str("{\"from\":");
        push_json_string(&mut out, from);
        // Only a message that carries a username gets the checked one.
        if self.username != Field::Absent {
            out.push_str(",\"username\":");
            push_json_string(&mut out, username);
        }
        // The members between the replaced ones, copied as they came. The
        // first kept piece starts with its comma unless it was the first member.
        let mut kept_from = self.members.start;
        let mut comma_needed = true;
        let the_end = self.members.end..self.members.end;
        for gone in self.replaced.iter().chain(std::iter::once(&the_end)) {
            let piece = &self.text[kept_from..gone.start];
            if !piece.trim().is_empty() {
                if comma_needed && !piece.trim_start().starts_with(',') {
                    out.push(',');
                }
                out.push_str(piece);
                comma_needed = false;
            }
            kept_from = gone.end;
        }
        out.push('}');
        ByteString::from(out)
    }
}
/// Appends `text` as a JSON string.
fn push_json_string(out: &mut String, text: &str) {
    // A string always serializes.
    out.push_str(&serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into()));
}

/// Where one member of the page's object sits in its text.
struct MemberSpan {
    /// The member's value, as byte offsets into the text.
    value: Range<usize>,
    /// `from` or `username`: the server writes its own.
    replaced_when_relayed: bool,
    /// The routing fields keep their raw value to decode: `type`, `to`,
    /// `username`, `room`.
    name: Option<&'static str>,
}

/// The members of a page's object, in order, found in one pass by serde_json
/// without building a map or copying a value.
struct Members(Vec<MemberSpan>);

/// A member's name, borrowed from the text unless it has escapes.
#[derive(Deserialize)]
struct Key<'a>(#[serde(borrow)] Cow<'a, str>);

impl Members {
    /// Finds the members of `text`, with their values as offsets into it.
    fn parse(text: &str) -> Result<Members, serde_json::Error> {
        let mut members: Members = serde_json::from_str(text)?;
        let start = text.as_ptr() as usize;
        for member in &mut members.0 {
            // Raw values from `from_str` always lie inside the text; should
            // one not, it is refused rather than sliced wrongly.
            let value =
                member.value.start.wrapping_sub(start)..member.value.end.wrapping_sub(start);
            if text.get(value.clone()).is_none() {
                return Err(serde::de::Error::custom("a value outside the text"));
            }
            member.value = value;
        }
        Ok(members)
    }

    /// The last `name` member, decoded as a string if it is one.
    fn field(&self, text: &str, name: &str) -> Field {
        let Some(member) = self.0.iter().rev().find(|m| m.name == Some(name)) else {
            return Field::Absent;
        };
        let raw = text.get(member.value.clone()).unwrap_or("");
        match serde_json::from_str::<String>(raw) {
            Ok(text) => Field::Text(text),
            Err(_) => Field::NotText,
        }
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Members, D::Error> {
        deserializer.deserialize_map(MembersVisitor)
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
        // serde_json hands out raw values that point into the text itself:
        // their addresses are turned into offsets by `Members::parse`.
        let mut members = Vec::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let value: &'de RawValue = map.next_value()?;
            let address = value.get().as_ptr() as usize;
            members.push(MemberSpan {
                value: address..address + value.get().len(),
                replaced_when_relayed: matches!(&*key, "from" | "username"),
                name: ["type", "to", "username", "room"]
                    .into_iter()
                    .find(|name| *name == key),
            });
        }
        Ok(Members(members))
    }
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
/// of other scripts are not folded: a larger service would show a short id
/// or an avatar beside each name.)
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
        assert_eq!(&*message.text, r#"{"type":"offer","sdp":"v=0"}"#);
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

    /// Wherever the page put its own `from` (first, last, twice, spaced,
    /// spelled with an escape), the relayed text is one JSON object with the
    /// server's `from` only, and every other member unchanged.
    #[test]
    fn a_forged_from_is_left_out_wherever_it_stands() {
        for text in [
            r#"{"from":"x","type":"chat","to":"b","text":"hi"}"#,
            r#"{"type":"chat","to":"b","text":"hi","from":"x"}"#,
            r#"{"type":"chat","from":"x","to":"b","from":"y","text":"hi"}"#,
            " { \"from\" : \"x\" , \"type\" : \"chat\" ,\"to\":\"b\", \"text\" : \"hi\" } ",
            r#"{"fr\u006fm":"x","type":"chat","to":"b","text":"hi"}"#,
        ] {
            let relayed = ClientMessage::parse(text).unwrap().relayed("real", "Al");
            let value: serde_json::Value = serde_json::from_str(&relayed)
                .unwrap_or_else(|err| panic!("{text} gave {relayed}: {err}"));
            let expected = serde_json::json!({"from":"real","type":"chat","to":"b","text":"hi"});
            assert_eq!(value, expected, "{text} gave {relayed}");
            assert_eq!(relayed.matches("from").count(), 1, "{relayed}");
        }
    }

    /// Plain messages (no `from` or `username` of their own) are the page's
    /// text with the server's `from` in front: one copy, nothing decoded.
    #[test]
    fn a_plain_message_is_stamped_in_front() {
        let text = r#"{"type":"candidate","to":"b","candidate":{"sdpMid":"0"}}"#;
        let relayed = ClientMessage::parse(text).unwrap().relayed("a", "Al");
        assert_eq!(
            &*relayed,
            r#"{"from":"a","type":"candidate","to":"b","candidate":{"sdpMid":"0"}}"#
        );
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
