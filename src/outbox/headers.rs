//! The header fields that carry people's text (Subject, From, To, Reply-To),
//! written the way RFC 5322 §2.1.1 asks: lines folded at 78 characters, and
//! never more than 998.
//!
//! lettre folds only at spaces, so one long word (a title without spaces, a
//! long name) became one long line: a 10 000-character title made a 10 010-
//! character Subject line. Here a word too long for a line is written as
//! RFC 2047 encoded-words instead, which may be split anywhere and which
//! every reader joins back into the same text; short plain words stay as
//! they are. The encoders are lettre's own (the `email-encoding` crate).
//!
//! The Subject is also kept readable: a very long title is shortened in it
//! with an ellipsis (the body keeps it whole, see
//! [`super::Composer::compose`]), the whole Subject has a length limit that
//! keeps the engagement's tag, and no invisible character (bidirectional
//! overrides and the like, [`crate::config::hidden`]) reaches it, whatever
//! text a template put there.

use email_encoding::headers::writer::EmailWriter;
use email_encoding::headers::{quoted_string, rfc2047};
use lettre::message::Mailbox;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use std::fmt::Write;

/// A word of more bytes than this is written as encoded-words, which can be
/// folded: with the field name and the fold's space it would not fit in 78.
const LONG_WORD: usize = 60;

/// The most characters of a title a Subject shows; a longer one ends in "…".
pub const TITLE_IN_SUBJECT: usize = 80;

/// The most characters of a whole Subject.
pub const MAX_SUBJECT: usize = 200;

/// `text` cut to at most `max` characters, ending in "…" if it was cut (at
/// a space when there is one near the end).
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max.saturating_sub(1)).collect();
    let cut = match head.rfind(' ') {
        // A word boundary in the last fifth: cut there.
        Some(i) if i >= head.len() * 4 / 5 => &head[..i],
        _ => head.as_str(),
    };
    format!("{}…", cut.trim_end())
}

/// The Subject as it goes out: invisible characters dropped, at most
/// [`MAX_SUBJECT`] characters, the engagement's `tag` kept at the end if the
/// subject ended with it.
pub fn subject(rendered: &str, tag: &str) -> String {
    let clean: String = rendered
        .chars()
        .filter(|c| !crate::config::hidden(*c))
        .collect();
    if clean.chars().count() <= MAX_SUBJECT {
        return clean;
    }
    match clean.strip_suffix(tag) {
        Some(head) if tag.chars().count() < MAX_SUBJECT / 2 => {
            let room = MAX_SUBJECT - tag.chars().count() - 1;
            format!("{} {tag}", shorten(head.trim_end(), room))
        }
        _ => shorten(&clean, MAX_SUBJECT),
    }
}

/// Whether a word can stand as it is in an unstructured field: printable
/// ASCII, short enough to fold, and not looking like an encoded-word.
fn plain(word: &str) -> bool {
    let w = word.trim_end_matches(' ');
    w.len() <= LONG_WORD && w.bytes().all(|b| (0x21..=0x7e).contains(&b)) && !w.contains("=?")
}

/// An unstructured field's value (RFC 5322 §3.2.5), folded.
fn unstructured(name: &str, value: &str) -> String {
    let mut out = String::new();
    {
        let mut w = EmailWriter::new(&mut out, name.len() + 2, 0, false);
        let mut pending = String::new();
        for word in value.split_inclusive(' ') {
            // Spaces after an encoded word stay with it: white space between
            // two encoded-words is dropped by readers (RFC 2047 §6.2).
            let only_spaces = word.bytes().all(|b| b == b' ');
            if plain(word) && (pending.is_empty() || !only_spaces) {
                encode_pending(&mut pending, &mut w);
                // Writing to a String cannot fail.
                let _ = w.folding().write_str(word);
            } else {
                pending.push_str(word);
            }
        }
        encode_pending(&mut pending, &mut w);
    }
    out
}

/// Writes the words gathered in `pending` as encoded-words (spaces between
/// them inside, the trailing ones outside, so they can fold).
fn encode_pending(pending: &mut String, w: &mut EmailWriter<'_>) {
    if pending.is_empty() {
        return;
    }
    let words = pending.trim_end_matches(' ');
    let _ = rfc2047::encode(words, w);
    for _ in 0..pending.len() - words.len() {
        w.space();
    }
    pending.clear();
}

/// A mailbox's value: the display name plain or quoted (folding at its
/// spaces) when its words are short, as encoded-words when one is not, then
/// the address, on a line of its own if it does not fit.
fn mailbox(name: &str, mailbox: &Mailbox) -> String {
    let mut out = String::new();
    {
        let mut w = EmailWriter::new(&mut out, name.len() + 2, 0, false);
        match &mailbox.name {
            Some(display) => {
                let long =
                    display.split(' ').any(|word| word.len() > LONG_WORD) || display.contains("=?");
                let _ = if long {
                    rfc2047::encode(display, &mut w)
                } else {
                    quoted_string::encode(display, &mut w)
                };
                w.space();
                let _ = w.folding().write_str(&format!("<{}>", mailbox.email));
            }
            None => {
                let _ = w.write_str(mailbox.email.as_ref());
            }
        }
    }
    out
}

/// A folded value as one line: each fold's CRLF removed, its space kept
/// (RFC 5322 §2.2.3).
fn unfold(folded: &str) -> String {
    folded.replace("\r\n", "")
}

/// `Subject:`, folded (see the module doc).
#[derive(Debug, Clone)]
pub struct Subject(pub String);

impl Header for Subject {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Subject")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Subject(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        // The encoded words and plain words, unfolded: lettre's own encoder
        // leaves such ASCII words as they are and folds at the same spaces
        // (and would encode anything else, so nothing can slip through).
        HeaderValue::new(Self::name(), unfold(&unstructured("Subject", &self.0)))
    }
}

/// The header fields holding one mailbox, folded like [`Subject`].
macro_rules! mailbox_header {
    ($type:ident, $name:literal) => {
        #[doc = concat!("`", $name, ":` with one mailbox, folded.")]
        #[derive(Debug, Clone)]
        pub struct $type(pub Mailbox);

        impl Header for $type {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }

            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok($type(s.parse()?))
            }

            fn display(&self) -> HeaderValue {
                // As for the Subject: lettre folds the ASCII words again.
                HeaderValue::new(Self::name(), unfold(&mailbox($name, &self.0)))
            }
        }
    };
}

mailbox_header!(From, "From");
mailbox_header!(To, "To");
mailbox_header!(ReplyTo, "Reply-To");

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(name: &str, value: &str) -> Vec<String> {
        format!("{name}: {value}")
            .split("\r\n")
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn a_long_word_is_folded_as_encoded_words_and_short_ones_stay_plain() {
        let short = unstructured("Subject", "Website redesign [website]");
        assert_eq!(short, "Website redesign [website]");
        let spaced = unstructured("Subject", "Díaz  Díaz [x]");
        let raw = format!("Subject: {spaced}\r\n\r\n");
        let back = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap();
        assert_eq!(back.subject(), Some("Díaz  Díaz [x]"), "{spaced}");
        let long = format!("{} [website]", "x".repeat(10_000));
        let folded = unstructured("Subject", &long);
        for line in lines("Subject", &folded) {
            assert!(line.len() <= 78, "{} octets", line.len());
        }
        let raw = format!("Subject: {folded}\r\n\r\n");
        let back = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap();
        assert_eq!(back.subject(), Some(long.as_str()));
    }

    #[test]
    fn a_long_name_folds_and_reads_back_whole() {
        let name = format!("Dana {} Díaz", "Q".repeat(90));
        let m = Mailbox::new(Some(name.clone()), "dana@example.test".parse().unwrap());
        let v = mailbox("To", &m);
        for line in lines("To", &v) {
            assert!(line.len() <= 78, "{line}");
        }
        let raw = format!("To: {v}\r\n\r\n");
        let back = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap();
        let to = back.to().and_then(|a| a.first()).unwrap();
        assert_eq!(to.name(), Some(name.as_str()));
        assert_eq!(to.address(), Some("dana@example.test"));
    }

    #[test]
    fn subjects_are_shortened_keeping_the_tag_and_lose_invisible_characters() {
        assert_eq!(shorten("Wireframes", 80), "Wireframes");
        let s = shorten(&"word ".repeat(40), 80);
        assert!(s.ends_with('…') && s.chars().count() <= 80, "{s}");
        let long = format!("{} [website]", "y".repeat(500));
        let out = subject(&long, "[website]");
        assert!(out.ends_with("… [website]"), "{out}");
        assert!(out.chars().count() <= MAX_SUBJECT);
        assert_eq!(subject("Dana \u{202E}gnp.exe", "[x]"), "Dana gnp.exe");
    }
}
