//! How a notice says why Handoff read a reply as it did ("an attachment
//! (designs.pdf)", "the new text names it (“Designs”)"), in each language.
//!
//! The inbox's reading writes its reasons in English, from the English
//! frames here: that is what the journal and `handoff ingest --explain`
//! keep, one language for every log. A notice to the owner carries the
//! same reason in the owner's words: [`translate`] recognises the English
//! frame and fills the owner's. What fills a frame (a file name, a link,
//! the contractor's own words in quotes) stays as written. A reason no
//! frame matches (the quoted words alone, “attached”, “here is”) is the
//! contractor's words, and stays as it is.

use super::{Phrases, fill};

/// The frames a reason is written in. `{words}` is a list of the
/// contractor's words in quotes; `{title}` a milestone's title.
pub struct Seen {
    /// "a question mark in what they wrote".
    pub question_mark: &'static str,
    /// "a sentence that opens like a question ({words})".
    pub question_opening: &'static str,
    /// "it says it asks ({words})".
    pub asks: &'static str,
    /// "an attachment ({name})".
    pub attachment: &'static str,
    /// "a link ({link}) with {words}".
    pub link_with: &'static str,
    /// "a percentage ({p})".
    pub percentage: &'static str,
    /// "the subject says so ({words})".
    pub subject_status: &'static str,
    /// "status words ({words})".
    pub status_words: &'static str,
    /// "it answers a status request".
    pub answers_request: &'static str,
    /// Why this milestone: the reply cites a mail about it, "the reply
    /// cites its {mail} mail" ({mail} is the English purpose, "deadline
    /// reminder"; other languages leave it out).
    pub cited: &'static str,
    /// "the new text names it (“{title}”)".
    pub named: &'static str,
    /// "the earliest milestone still open".
    pub earliest: &'static str,
}

impl Seen {
    fn frames(&self) -> [&'static str; 12] {
        [
            self.question_mark,
            self.question_opening,
            self.asks,
            self.attachment,
            self.link_with,
            self.percentage,
            self.subject_status,
            self.status_words,
            self.answers_request,
            self.cited,
            self.named,
            self.earliest,
        ]
    }
}

/// The English frames, which the inbox writes reasons with.
pub fn english() -> &'static Seen {
    &super::en::PHRASES.seen
}

/// A reason written in an English frame, written in `to`'s frame; any
/// other text as it is.
pub fn translate(reason: &str, to: &Phrases) -> String {
    english()
        .frames()
        .iter()
        .zip(to.seen.frames())
        .find_map(|(en, theirs)| {
            let values = unfill(en, reason)?;
            let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
            Some(fill(theirs, &pairs))
        })
        .unwrap_or_else(|| reason.to_string())
}

/// The values that make `pattern` read `text`, if it does: each
/// `{name}` takes the shortest run up to the literal text after it (the
/// last, up to the end).
fn unfill<'p>(pattern: &'p str, text: &str) -> Option<Vec<(&'p str, String)>> {
    let mut values = Vec::new();
    let mut rest = text;
    let mut pat = pattern;
    loop {
        let Some(open) = pat.find('{') else {
            return (rest == pat).then_some(values);
        };
        let literal = &pat[..open];
        rest = rest.strip_prefix(literal)?;
        let close = open + pat[open..].find('}')?;
        let name = &pat[open + 1..close];
        pat = &pat[close + 1..];
        let next = pat.find('{').map_or(pat, |i| &pat[..i]);
        let value_end = if next.is_empty() {
            rest.len()
        } else {
            rest.find(next)?
        };
        if value_end == 0 {
            return None;
        }
        values.push((name, rest[..value_end].to_string()));
        rest = &rest[value_end..];
    }
}

#[cfg(test)]
mod tests {
    use super::super::Base;
    use super::*;

    #[test]
    fn each_english_frame_reads_back_in_every_language() {
        let values = [
            ("words", "\u{201c}pushed\u{201d}, \u{201c}live\u{201d}"),
            ("name", "designs.pdf"),
            ("link", "https://example.test/a(b)"),
            ("p", "60 %"),
            ("mail", "deadline reminder"),
            ("title", "Designs"),
        ];
        for base in Base::ALL {
            let theirs = base.phrases();
            for (en, frame) in english().frames().iter().zip(theirs.seen.frames()) {
                let reason = fill(en, &values);
                assert_eq!(
                    translate(&reason, theirs),
                    fill(frame, &values),
                    "{base:?}: {en}"
                );
            }
        }
    }

    #[test]
    fn the_contractors_words_alone_stay_as_written() {
        let de = Base::De.phrases();
        let reason = "\u{201c}anbei\u{201d}, \u{201c}hier ist\u{201d}";
        assert_eq!(translate(reason, de), reason);
        assert_eq!(
            translate("an attachment (entwurf.pdf)", de),
            "ein Anhang (entwurf.pdf)"
        );
    }

    #[test]
    fn a_frame_needs_its_literal_text_around_each_value() {
        assert!(unfill("an attachment ({name})", "an attachment ()").is_none());
        assert!(unfill("an attachment ({name})", "an attachment (x").is_none());
        assert_eq!(
            unfill(
                "a link ({link}) with {words}",
                "a link (https://x) with “done”"
            ),
            Some(vec![
                ("link", "https://x".to_string()),
                ("words", "“done”".to_string())
            ])
        );
    }
}
