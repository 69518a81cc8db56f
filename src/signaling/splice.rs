//! A page's message kept as the page wrote it, so that the server can pass
//! it on without decoding or rebuilding what it does not read.
//!
//! The server reads a handful of routing fields and relays everything else
//! (SDP, candidates, chat) byte for byte. To do that without a copy per
//! field, one pass of serde_json finds where each member of the object sits
//! in the text; [`RawMessage::stamped`] then writes the server's own `from`
//! (and checked `username`) and copies the page's other members around the
//! ones it replaces. This is an optimisation, kept out of [`super::protocol`]
//! so that the protocol's types read plainly: `benches/compare.rs` measured
//! decoding the whole message into a `serde_json::Value` and writing it back
//! as a large share of the server's CPU per message.

use std::borrow::Cow;
use std::ops::Range;

use bytestring::ByteString;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// A routing field as the page sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// The message has no such member.
    Absent,
    /// A JSON string, decoded.
    Text(String),
    /// Some other JSON value (a number, an object, `null`...).
    NotText,
}

/// The routing fields of a message, decoded; everything else stays raw.
#[derive(Debug)]
pub struct RoutingFields {
    pub kind: Field,
    pub to: Field,
    pub username: Field,
    pub room: Field,
    /// Step 19's resume token.
    pub token: Field,
}

/// A page's JSON object, as it arrived, with where its members sit.
#[derive(Debug)]
pub struct RawMessage {
    /// The text as it arrived: the broadcast policy relays exactly this,
    /// and sharing it between queues copies nothing.
    text: ByteString,
    /// Where the members sit in `text` (between the braces)...
    members: Range<usize>,
    /// ...and which of them the server writes itself (`from`, `username`).
    replaced: Vec<Range<usize>>,
    /// Whether the page sent a `username` (then the relayed copy has the
    /// sender's checked one).
    carries_username: bool,
}

/// Reads `text` as a JSON object: its routing fields, and the message kept
/// raw. (A field given twice counts as the last one, as the receiving page's
/// `JSON.parse` would read it.)
pub fn read(text: ByteString) -> Result<(RawMessage, RoutingFields), serde_json::Error> {
    let members = Members::parse(&text)?;
    let fields = RoutingFields {
        kind: members.field(&text, "type"),
        to: members.field(&text, "to"),
        username: members.field(&text, "username"),
        room: members.field(&text, "room"),
        token: members.field(&text, "token"),
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
    let raw = RawMessage {
        carries_username: fields.username != Field::Absent,
        members: open..close,
        replaced,
        text,
    };
    Ok((raw, fields))
}

impl RawMessage {
    /// The text exactly as the page sent it.
    pub fn text(&self) -> &ByteString {
        &self.text
    }

    /// A member the routing fields do not cover (step 20's `sdp`), read
    /// from the text again: only the few messages that need one pay for it.
    pub fn field(&self, name: &str) -> Field {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&self.text).unwrap_or_default();
        match object.get(name) {
            None => Field::Absent,
            Some(serde_json::Value::String(text)) => Field::Text(text.clone()),
            Some(_) => Field::NotText,
        }
    }

    /// The message for its receiver: the page's own bytes, with `from` set
    /// to who really sent it and any `username` set to the sender's checked
    /// name. Those two are written first and the page's own (if it sent
    /// them) are left out; nothing else is decoded or rebuilt.
    pub fn stamped(&self, from: &str, username: &str) -> ByteString {
        let mut out = String::with_capacity(self.text.len() + from.len() + username.len() + 32);
        out.push_str("{\"from\":");
        push_json_string(&mut out, from);
        // Only a message that carries a username gets the checked one.
        if self.carries_username {
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
    /// `username`, `room`, and step 19's `token`.
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
                name: ["type", "to", "username", "room", "token"]
                    .into_iter()
                    .find(|name| *name == key),
            });
        }
        Ok(Members(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamped(text: &str, from: &str, username: &str) -> ByteString {
        let (raw, _) = read(ByteString::from(text)).unwrap();
        raw.stamped(from, username)
    }

    #[test]
    fn unknown_fields_are_relayed_byte_for_byte() {
        let text = r#"{"type":"offer","to":"b","sdp":"v=0\r\na=x \u00e9","n":1.50,"deep":{"z":[1, 2 ,3],"a":null},"from":"forged","username":"Admin"}"#;
        let (raw, fields) = read(ByteString::from(text)).unwrap();
        assert_eq!(fields.to, Field::Text("b".into()));
        let relayed = raw.stamped("alice-id", "Alice");
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
        assert!(!stamped(r#"{"type":"candidate","to":"b"}"#, "a", "Alice").contains("username"));
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
            let relayed = stamped(text, "real", "Al");
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
        assert_eq!(
            &*stamped(text, "a", "Al"),
            r#"{"from":"a","type":"candidate","to":"b","candidate":{"sdpMid":"0"}}"#
        );
    }

    #[test]
    fn routing_fields_are_typed() {
        let (_, fields) = read(ByteString::from(
            r#"{"type":"join","username":"al","room":5}"#,
        ))
        .unwrap();
        assert_eq!(fields.username, Field::Text("al".into()));
        assert_eq!(fields.to, Field::Absent);
        assert_eq!(fields.room, Field::NotText);
    }
}
