//! The rules for the names people show each other: usernames and room
//! names (from step 15).
//!
//! A name is shown to other people, so it must not be able to pass for
//! someone else's or for nothing at all. (The names a *server* answers to are
//! another matter: `src/host_names.rs`.)

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::signaling::protocol::{ErrorCode, Field};

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

/// The name a `join` gives in `field` (`username` or `room`), checked: a
/// field that is not a string is a `bad-message`, a string that breaks the
/// name rules a `bad-name`.
pub fn checked_name(name: &Field, field: &str) -> Result<String, (ErrorCode, String)> {
    match name {
        Field::Text(name) => valid_name(name, field).map_err(|reason| (ErrorCode::BadName, reason)),
        Field::Absent | Field::NotText => Err((
            ErrorCode::BadMessage,
            format!("\"{field}\" must be a string"),
        )),
    }
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
}
