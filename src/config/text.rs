//! Text that reaches a mail header or a calendar property (names, titles,
//! mailbox names): what may be in it and how a refusal names the culprit.
//! The config refuses such text at its FILE:LINE:COL; the outbox drops the
//! same characters from anything else headed for a Subject.

/// Text that ends up in a mail header or a calendar property (names,
/// titles, mailbox names): one line, and nothing invisible that could add a
/// header, or reorder or hide what the reader sees (see [`hidden`]).
pub(crate) fn header_text(text: &str) -> Result<(), String> {
    if let Some(c) = text.chars().find(|c| hidden(*c)) {
        return Err(format!(
            "contains {}; expected one line of plain text (it goes into mail headers and calendar invitations)",
            describe(c)
        ));
    }
    if text.trim().is_empty() {
        return Err("is empty; expected some text".to_string());
    }
    Ok(())
}

/// A name (of the owner, of a contractor): [`header_text`], and short
/// enough to be a name: it stands in every To and From header.
pub(crate) fn name(text: &str) -> Result<(), String> {
    header_text(text)?;
    let n = text.chars().count();
    if n > MAX_NAME_CHARS {
        return Err(format!(
            "is {n} characters long; expected a name of at most {MAX_NAME_CHARS} characters (it goes into the To and From headers)"
        ));
    }
    Ok(())
}

/// The longest name [`name`] accepts.
pub(crate) const MAX_NAME_CHARS: usize = 100;

/// Whether `c` must not reach a header or a calendar property: control
/// characters (C0, DEL, C1: line breaks and tabs included, they would end
/// the header); the bidirectional embeddings, overrides and isolates
/// (U+202A–U+202E, U+2066–U+2069), which make "Dana \u{202E}gnp.exe" read
/// as "Dana exe.png"; every other format character (Unicode category Cf:
/// the marks LRM/RLM, zero-width spaces, the word joiner, the byte order
/// mark, soft hyphens, tags…), invisible and able to reorder or hide text;
/// the line and paragraph separators; and the Hangul fillers, blank letters
/// that hide text. The joiners ZWNJ (U+200C) and ZWJ (U+200D) stay allowed:
/// Persian, Indic scripts and emoji sequences need them in names.
pub(crate) fn hidden(c: char) -> bool {
    if c.is_control() {
        return true;
    }
    if matches!(c, '\u{200C}' | '\u{200D}') {
        return false;
    }
    let u = c as u32;
    FORMAT.iter().any(|&(lo, hi)| (lo..=hi).contains(&u))
        || matches!(u, 0x115F | 0x1160 | 0x3164 | 0xFFA0)
}

/// Unicode's format characters (general category Cf) and the line and
/// paragraph separators (Zl, Zp), as ranges (Unicode 15).
const FORMAT: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// `c` as the error message names it: "U+202E (RIGHT-TO-LEFT OVERRIDE), an
/// invisible character that can reorder or hide text".
pub(super) fn describe(c: char) -> String {
    let name = match c as u32 {
        0x09 => Some("TAB"),
        0x0A => Some("LINE FEED"),
        0x0D => Some("CARRIAGE RETURN"),
        0x00AD => Some("SOFT HYPHEN"),
        0x200B => Some("ZERO WIDTH SPACE"),
        0x200E => Some("LEFT-TO-RIGHT MARK"),
        0x200F => Some("RIGHT-TO-LEFT MARK"),
        0x2028 => Some("LINE SEPARATOR"),
        0x2029 => Some("PARAGRAPH SEPARATOR"),
        0x202A => Some("LEFT-TO-RIGHT EMBEDDING"),
        0x202B => Some("RIGHT-TO-LEFT EMBEDDING"),
        0x202C => Some("POP DIRECTIONAL FORMATTING"),
        0x202D => Some("LEFT-TO-RIGHT OVERRIDE"),
        0x202E => Some("RIGHT-TO-LEFT OVERRIDE"),
        0x2060 => Some("WORD JOINER"),
        0x2066 => Some("LEFT-TO-RIGHT ISOLATE"),
        0x2067 => Some("RIGHT-TO-LEFT ISOLATE"),
        0x2068 => Some("FIRST STRONG ISOLATE"),
        0x2069 => Some("POP DIRECTIONAL ISOLATE"),
        0xFEFF => Some("ZERO WIDTH NO-BREAK SPACE"),
        _ => None,
    };
    let name = name.map(|n| format!(" ({n})")).unwrap_or_default();
    if c.is_control() {
        format!("the control character U+{:04X}{name}", c as u32)
    } else {
        format!(
            "U+{:04X}{name}, an invisible character that can reorder or hide text",
            c as u32
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::values::address;

    #[test]
    fn header_text_refuses_bidi_controls_and_invisible_characters_but_keeps_joiners() {
        let e = header_text("Dana \u{202E}gnp.exe\u{202C}").unwrap_err();
        assert!(e.contains("U+202E (RIGHT-TO-LEFT OVERRIDE)"), "{e}");
        for c in [
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{200B}',
            '\u{200E}',
            '\u{FEFF}',
            '\u{2028}',
            '\u{00AD}',
            '\u{E0041}',
            '\u{3164}',
            '\u{0085}',
            '\u{7F}',
        ] {
            assert!(
                header_text(&format!("a{c}b")).is_err(),
                "U+{:04X}",
                c as u32
            );
        }
        // Persian with ZWNJ, an emoji family with ZWJ, accents, CJK.
        for ok in [
            "می\u{200C}خواهم",
            "👩\u{200D}👩\u{200D}👧",
            "Dana Díaz",
            "山田 太郎",
        ] {
            assert!(header_text(ok).is_ok(), "{ok}");
        }
        assert!(address("dana\u{202E}@example.test").is_err());
        assert!(name(&"a".repeat(MAX_NAME_CHARS)).is_ok());
        assert!(
            name(&"a".repeat(MAX_NAME_CHARS + 1))
                .unwrap_err()
                .contains("at most 100")
        );
    }
}
