//! What travels on the signaling socket.
//!
//! The server reads only the routing fields (`type`, and from step 15 `to`)
//! and passes everything else through untouched: SDP, candidates and chat
//! never need the server to understand them.

use serde::Serialize;
use serde_json::{Map, Value};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Why the server refused a message (protocol.md lists them).
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
