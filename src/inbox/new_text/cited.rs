//! The mail a reply cites, as Handoff sent it, ready to be recognised in the
//! reply: every run of one to four consecutive words of its text (across
//! line breaks, so a client's re-wrapping does not hide a quoted line),
//! hashed into a set.
//!
//! A reply line of four words or more is quoted when every four-word run in
//! it is one of ours; a shorter one ("Ada", "Hi Dana,") only when it
//! continues a quote, so the writer's own "Thanks!" above the quote stays
//! theirs even though our mail says "thanks" too.

use crate::words::Words;
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

/// The longest run of words compared.
const N: usize = 4;

/// One cited mail.
#[derive(Debug, Clone, Default)]
pub struct Cited {
    /// What it was ("instructions", "deadline_reminder"), for explanations.
    pub name: String,
    grams: HashSet<u64>,
}

fn gram(tokens: &[String]) -> u64 {
    // DefaultHasher::new() has fixed keys: the same words always hash the
    // same, which is all a set needs (nothing here faces an attacker who
    // could gain from collisions but a missed or extra quoted line).
    let mut h = DefaultHasher::new();
    for t in tokens {
        t.hash(&mut h);
    }
    h.finish()
}

impl Cited {
    /// The text of a mail Handoff sent (its text part and its HTML part as
    /// text), named `name`.
    pub fn from_mail(raw: &[u8], name: &str) -> Cited {
        let mut texts = Vec::new();
        if let Some(m) = mail_parser::MessageParser::default().parse(raw) {
            for i in 0..m.text_body_count() {
                if let Some(t) = m.body_text(i) {
                    texts.push(t.into_owned());
                }
            }
            for i in 0..m.html_body_count() {
                if let Some(part) = m.html_part(i as u32)
                    && part.is_text_html()
                    && let Some(h) = part.text_contents()
                {
                    texts.push(mail_parser::decoders::html::html_to_text(h));
                }
            }
        }
        let mut c = Cited::from_text(&texts.join("\n"));
        c.name = name.to_string();
        c
    }

    /// Any text, as a cited mail.
    pub fn from_text(text: &str) -> Cited {
        let words = Words::new(text);
        let mut grams = HashSet::with_capacity(words.len() * N);
        for n in 1..=N {
            for w in words.tokens.windows(n) {
                grams.insert(gram(w));
            }
        }
        Cited {
            name: String::new(),
            grams,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.grams.is_empty()
    }

    /// Whether a reply line (its words) comes from this mail; a short line
    /// only if it continues a quote (`after_quote`).
    pub fn holds_line(&self, words: &Words, after_quote: bool) -> bool {
        let t = &words.tokens;
        if t.len() >= N {
            t.windows(N).all(|w| self.grams.contains(&gram(w)))
        } else {
            after_quote && !t.is_empty() && self.grams.contains(&gram(t))
        }
    }
}
