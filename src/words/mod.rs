//! Word lists as data, one file per language (`src/words/<lang>.toml`,
//! compiled in), and the matcher that finds their words in a text: whole
//! words or stems, never substrings.
//!
//! # What it owns
//! - the lists: for each language, named categories (`delivery`,
//!   `completion`, `acknowledgement`, `out_of_office`, `quote_header`, …),
//!   each a list of phrases;
//! - the folding that makes a phrase match the way a person reads: Unicode
//!   word boundaries (UAX #29), case folding, accents dropped (`é` = `e`,
//!   `ß` = `ss`), typographic apostrophes read as `'`;
//! - [`Lexicon::detect`]: which language a text is most likely in, from its
//!   `common` words.
//!
//! It decides nothing: the inbox asks it "which of these words does the new
//! text hold" and makes of the answer what the rule table says. Pure, and
//! low in the flow, so the owner's reply commands (in [`crate::actions`])
//! can read the same lists.
//!
//! # The phrase syntax
//! A phrase is one or more words, folded as above (`"ci-joint"` is the two
//! words `ci joint`, as the text's tokens are). In a phrase:
//! - a plain word matches that whole word only: `deliver` does not match
//!   `deliverable`;
//! - a word ending in `*` is a stem: `finish*` matches `finish`, `finished`,
//!   `finishing`;
//! - `*` alone matches one to 24 words of any kind (used by line patterns
//!   such as `"on * wrote"`); at the end of a whole-line pattern, the rest
//!   of the line.
//!
//! # Adding a language
//! Copy `en.toml` to `<code>.toml`, translate every category (keep the
//! category names), add the file to [`FILES`] and its code to the README's
//! list. `cargo test --lib words::` checks that every file reads and has
//! every category English has.

use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

/// The language files, compiled in: (code, text).
pub const FILES: &[(&str, &str)] = &[
    ("en", include_str!("en.toml")),
    ("de", include_str!("de.toml")),
    ("fr", include_str!("fr.toml")),
    ("es", include_str!("es.toml")),
    ("pt", include_str!("pt.toml")),
    ("it", include_str!("it.toml")),
    ("nl", include_str!("nl.toml")),
];

/// One language file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// The language's own name ("Deutsch").
    name: String,
    /// Category → phrases.
    words: BTreeMap<String, Vec<String>>,
}

/// Why a language file did not read.
#[derive(Debug, thiserror::Error)]
#[error("src/words/{code}.toml: {source}")]
pub struct WordsError {
    pub code: String,
    #[source]
    pub source: toml::de::Error,
}

/// One word of a phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Word(String),
    Stem(String),
    /// `*`: one or more words.
    Any,
}

impl Part {
    fn matches(&self, token: &str) -> bool {
        match self {
            Part::Word(w) => w == token,
            Part::Stem(s) => token.starts_with(s.as_str()),
            Part::Any => true,
        }
    }
}

/// A phrase, parsed.
#[derive(Debug, Clone)]
struct Phrase {
    /// As written in the file, for explanations.
    text: String,
    parts: Vec<Part>,
}

/// One category's phrases, indexed by their first word so a text is read
/// once per category, not once per phrase.
#[derive(Debug, Default)]
struct Category {
    phrases: Vec<Phrase>,
    /// First word (plain) → the phrases that start with it.
    by_first: HashMap<String, Vec<usize>>,
    /// Phrases that start with a stem or `*`.
    rest: Vec<usize>,
}

impl Category {
    fn new(phrases: Vec<Phrase>) -> Category {
        let mut c = Category {
            phrases,
            ..Default::default()
        };
        for (i, p) in c.phrases.iter().enumerate() {
            match &p.parts[0] {
                Part::Word(w) => c.by_first.entry(w.clone()).or_default().push(i),
                _ => c.rest.push(i),
            }
        }
        c
    }

    /// The phrases that may match at a word.
    fn candidates<'a>(&'a self, token: &str) -> impl Iterator<Item = &'a Phrase> {
        self.by_first
            .get(token)
            .into_iter()
            .flatten()
            .chain(self.rest.iter())
            .map(|i| &self.phrases[*i])
    }
}

/// One language's lists.
#[derive(Debug)]
pub struct Language {
    pub code: String,
    pub name: String,
    categories: HashMap<String, Category>,
}

/// Every language's lists.
#[derive(Debug)]
pub struct Lexicon {
    languages: Vec<Language>,
}

/// A text cut into folded words, once, to be asked many questions.
#[derive(Debug, Clone, Default)]
pub struct Words {
    /// The folded words, in order.
    pub tokens: Vec<String>,
    /// For each word, the byte range in the original text.
    pub spans: Vec<(usize, usize)>,
    /// For each word, the sentence it stands in (counted from 0): a new one
    /// starts after `.`, `!`, `?`, `;`, `:` or a line break.
    pub sentence: Vec<u32>,
}

/// A phrase found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The language whose list held it.
    pub lang: String,
    /// The phrase as the list writes it.
    pub phrase: String,
    /// The words matched: `tokens[start..end]`.
    pub start: usize,
    pub end: usize,
}

/// Folds one word: NFKD, combining marks dropped, lower-cased, `ß` → `ss`,
/// `’` → `'`.
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.nfkd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        match c {
            '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' | '\u{00B4}' => out.push('\''),
            'ß' => out.push_str("ss"),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

impl Words {
    /// Cuts `text` at Unicode word boundaries and keeps the words (runs that
    /// hold a letter or a digit), folded.
    pub fn new(text: &str) -> Words {
        let mut w = Words::default();
        let mut sentence = 0;
        let mut ended = false;
        for (at, piece) in text.split_word_bound_indices() {
            if piece.contains(['.', '!', '?', ';', ':', '\n', '¿', '¡'])
                && !piece.chars().any(char::is_alphanumeric)
            {
                ended = true;
                continue;
            }
            if piece.chars().any(char::is_alphanumeric) {
                if ended && !w.tokens.is_empty() {
                    sentence += 1;
                }
                ended = false;
                // A word that ends in an apostrophe ("wrote'") keeps only
                // the word.
                let folded = fold(piece);
                let folded = folded.trim_matches('\'');
                if !folded.is_empty() {
                    w.tokens.push(folded.to_string());
                    w.spans.push((at, at + piece.len()));
                    w.sentence.push(sentence);
                }
            }
        }
        w
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

fn parse_phrase(text: &str) -> Option<Phrase> {
    let mut parts = Vec::new();
    for raw in text.split_whitespace() {
        if raw == "*" {
            parts.push(Part::Any);
            continue;
        }
        let stem = raw.ends_with('*');
        let words = Words::new(raw.trim_end_matches('*'));
        let n = words.tokens.len();
        for (i, t) in words.tokens.into_iter().enumerate() {
            // Only the last piece of a hyphenated stem ("e-mail*") is a stem.
            parts.push(if stem && i + 1 == n {
                Part::Stem(t)
            } else {
                Part::Word(t)
            });
        }
    }
    (!parts.is_empty()).then(|| Phrase {
        text: text.to_string(),
        parts,
    })
}

/// How many words `*` may stand for.
const ANY_MAX: usize = 24;

/// Whether `parts` match `tokens` from `at`; returns where the match ends.
/// `Any` takes as few words as it can (at least one); with `whole`, the
/// match must end at the last token.
fn match_at(parts: &[Part], tokens: &[String], at: usize, whole: bool) -> Option<usize> {
    let Some((first, rest)) = parts.split_first() else {
        return (!whole || at == tokens.len()).then_some(at);
    };
    match first {
        // At most ANY_MAX words, so no text (however long or hostile) costs
        // more than a few steps per word; with `whole`, the tail of a line.
        Part::Any if whole && rest.is_empty() => (at < tokens.len()).then_some(tokens.len()),
        Part::Any => (at + 1..=tokens.len().min(at + ANY_MAX))
            .find_map(|next| match_at(rest, tokens, next, whole)),
        p => {
            let t = tokens.get(at)?;
            if p.matches(t) {
                match_at(rest, tokens, at + 1, whole)
            } else {
                None
            }
        }
    }
}

impl Language {
    fn from_file(code: &str, text: &str) -> Result<Language, WordsError> {
        let file: File = toml::from_str(text).map_err(|source| WordsError {
            code: code.to_string(),
            source,
        })?;
        let categories = file
            .words
            .into_iter()
            .map(|(name, phrases)| {
                let parsed = phrases.iter().filter_map(|p| parse_phrase(p)).collect();
                (name, Category::new(parsed))
            })
            .collect();
        Ok(Language {
            code: code.to_string(),
            name: file.name,
            categories,
        })
    }

    fn category(&self, name: &str) -> Option<&Category> {
        self.categories.get(name)
    }

    /// The phrases of a category, as written (for explanations and the
    /// owner's reply commands).
    pub fn phrases(&self, category: &str) -> Vec<&str> {
        self.category(category)
            .map(|c| c.phrases.iter().map(|p| p.text.as_str()).collect())
            .unwrap_or_default()
    }

    /// The category names this language has.
    pub fn category_names(&self) -> impl Iterator<Item = &str> {
        self.categories.keys().map(String::as_str)
    }
}

impl Lexicon {
    /// Reads the language files.
    pub fn load(files: &[(&str, &str)]) -> Result<Lexicon, WordsError> {
        let languages = files
            .iter()
            .map(|(code, text)| Language::from_file(code, text))
            .collect::<Result<_, _>>()?;
        Ok(Lexicon { languages })
    }

    pub fn languages(&self) -> &[Language] {
        &self.languages
    }

    pub fn language(&self, code: &str) -> Option<&Language> {
        self.languages.iter().find(|l| l.code == code)
    }

    fn chosen<'a>(&'a self, langs: &'a [&str]) -> impl Iterator<Item = &'a Language> {
        self.languages
            .iter()
            .filter(move |l| langs.is_empty() || langs.contains(&l.code.as_str()))
    }

    /// Every occurrence in `words` of a phrase of `category`, in the
    /// languages `langs` (all of them if empty), in text order.
    pub fn find_all(&self, category: &str, words: &Words, langs: &[&str]) -> Vec<Hit> {
        let mut hits = Vec::new();
        for lang in self.chosen(langs) {
            let Some(c) = lang.category(category) else {
                continue;
            };
            for (at, token) in words.tokens.iter().enumerate() {
                for p in c.candidates(token) {
                    if let Some(end) = match_at(&p.parts, &words.tokens, at, false) {
                        hits.push(Hit {
                            lang: lang.code.clone(),
                            phrase: p.text.clone(),
                            start: at,
                            end,
                        });
                    }
                }
            }
        }
        hits.sort_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
        hits
    }

    /// The first occurrence of a phrase of `category` (see [`Lexicon::find_all`]).
    pub fn find(&self, category: &str, words: &Words, langs: &[&str]) -> Option<Hit> {
        self.find_all(category, words, langs).into_iter().next()
    }

    /// A phrase of `category` that `words` is, whole (a line pattern such as
    /// `"on * wrote"`, or a header label).
    pub fn is_whole(&self, category: &str, words: &Words, langs: &[&str]) -> Option<Hit> {
        let first = words.tokens.first()?;
        for lang in self.chosen(langs) {
            let Some(c) = lang.category(category) else {
                continue;
            };
            for p in c.candidates(first) {
                if match_at(&p.parts, &words.tokens, 0, true).is_some() {
                    return Some(Hit {
                        lang: lang.code.clone(),
                        phrase: p.text.clone(),
                        start: 0,
                        end: words.tokens.len(),
                    });
                }
            }
        }
        None
    }

    /// A phrase of `category` that `words` starts with.
    pub fn starts_with(&self, category: &str, words: &Words, langs: &[&str]) -> Option<Hit> {
        let first = words.tokens.first()?;
        for lang in self.chosen(langs) {
            let Some(c) = lang.category(category) else {
                continue;
            };
            for p in c.candidates(first) {
                if let Some(end) = match_at(&p.parts, &words.tokens, 0, false) {
                    return Some(Hit {
                        lang: lang.code.clone(),
                        phrase: p.text.clone(),
                        start: 0,
                        end,
                    });
                }
            }
        }
        None
    }

    /// The language whose `common` words the text holds most of; English
    /// when nothing tells (a two-word reply, a link).
    pub fn detect(&self, words: &Words) -> &str {
        let mut best = ("en", 0usize);
        for lang in &self.languages {
            let Some(common) = lang.category("common") else {
                continue;
            };
            let n = words
                .tokens
                .iter()
                .filter(|t| common.by_first.contains_key(t.as_str()))
                .count();
            if n > best.1 {
                best = (lang.code.as_str(), n);
            }
        }
        best.0
    }
}

/// The compiled-in lists. A file that does not read is a bug the unit tests
/// catch before release; should one slip through, the lists are empty (every
/// word rule quietly fails to hold) and the error is logged, rather than a
/// panic in the mail path.
pub fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| match Lexicon::load(FILES) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "a word list does not read; word rules are off");
            Lexicon {
                languages: Vec::new(),
            }
        }
    })
}

#[cfg(test)]
mod tests;
