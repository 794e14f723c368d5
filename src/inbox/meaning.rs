//! What the new text says, in words: the evidence the rule table weighs.
//!
//! [`read`] looks once at the new text (never the quote) in the language it
//! is written in (told by [`crate::words::Lexicon::detect`]) and in English,
//! and notes each sign it finds with the words that showed it, so every
//! decision can say "from which words":
//! - a question: `?` or `¿` outside a link, a sentence that opens like one
//!   ("could you", "kannst du"), or a phrase that announces one;
//! - a delivery: an attachment, or a link together with a completion word
//!   ("pushed", "live", "fertig", "listo", "terminé"), or a delivery phrase
//!   with a link (these are *strong*); a delivery phrase alone ("here is",
//!   "anbei") is *weak*. A completion word that is negated or put off ("not
//!   done yet", "will be ready Friday", "noch nicht fertig") does not count;
//! - a status report's shape: a percentage, a status word ("on track",
//!   "blocked", "in progress", "half done"; one in the subject), or two
//!   weaker ones ("this week", "next steps"; one in answer to a status
//!   request);
//! - receipt and agreement ("got it", "alles klar", "bien reçu"), and
//!   thanks alone ("danke"), which acknowledges only in a short answer to a
//!   first mail;
//! - out-of-office wording, in the subject or the body.

use super::classify::Context;
use super::parse::Facts;
use crate::templates::lang::fill;
// The English frames reasons are written in (the journal's language).
use crate::templates::lang::seen::english as seen;
use crate::words::{Hit, Lexicon, Words, lexicon};

/// How far (in words, within a sentence) a negation or a "tomorrow" reaches
/// a completion word.
const REACH: usize = 3;

/// The signs found in a mail, each with the words that showed it.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    /// The language the new text is in (its `common` words).
    pub lang: String,
    pub question: Option<String>,
    /// An attachment, a link with a completion word, or a delivery phrase
    /// with a link.
    pub strong_delivery: Option<String>,
    /// A delivery phrase, without a link or an attachment.
    pub weak_delivery: Option<String>,
    pub status: Option<String>,
    /// Receipt or agreement ("got it", "bien reçu", "alles klar").
    pub acknowledgement: Option<String>,
    /// Thanks alone ("thanks", "danke").
    pub thanks: Option<String>,
    /// How many words the new text has.
    pub words: usize,
    /// The report is announced, not given ("the status report comes
    /// tomorrow").
    pub report_announced: Option<String>,
    /// Out-of-office wording in the subject or the body.
    pub auto_reply: Option<String>,
    /// A receipt's subject ("Read: …") together with a receipt's wording.
    pub receipt: Option<String>,
}

fn quoted(hits: &[Hit]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for h in hits {
        if !seen.contains(&h.phrase.as_str()) {
            seen.push(&h.phrase);
        }
    }
    seen.iter()
        .take(3)
        .map(|p| format!("\u{201c}{p}\u{201d}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The links in a text (http, https, www), without trailing punctuation.
pub fn links(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '(' | ')' | '"' | '[' | ']'))
        .filter(|w| {
            let l = w.to_ascii_lowercase();
            l.starts_with("http://") || l.starts_with("https://") || l.starts_with("www.")
        })
        .map(|w| {
            w.trim_end_matches(['.', ',', ';', ':', '!', '?'])
                .to_string()
        })
        .filter(|w| w.len() > 7)
        .collect()
}

/// The text with its links taken out (a `?` in a link asks nothing).
fn without_links(text: &str) -> String {
    let mut out = text.to_string();
    for l in links(text) {
        out = out.replace(&l, " ");
    }
    out
}

/// Whether some hit of `guards` stands within [`REACH`] words before (or
/// after) the hit `at`, in the same sentence.
fn guarded(at: &Hit, before: &[Hit], after: &[Hit], words: &Words) -> bool {
    let sentence = words.sentence.get(at.start).copied();
    let same = |i: usize| words.sentence.get(i).copied() == sentence;
    before
        .iter()
        .any(|g| g.end <= at.start && at.start - g.end < REACH && same(g.start))
        || after
            .iter()
            .any(|g| g.start >= at.end && g.start - at.end < REACH && same(g.start))
}

fn question(lex: &Lexicon, text: &str, words: &Words, langs: &[&str]) -> Option<String> {
    let plain = without_links(text);
    if plain.contains('?') || plain.contains('¿') {
        return Some(seen().question_mark.into());
    }
    // An opening only counts at the start of a sentence.
    let opening: Vec<Hit> = lex
        .find_all("question_opening", words, langs)
        .into_iter()
        .filter(|h| h.start == 0 || words.sentence[h.start] != words.sentence[h.start - 1])
        .collect();
    if !opening.is_empty() {
        return Some(fill(
            seen().question_opening,
            &[("words", &quoted(&opening))],
        ));
    }
    let phrase = lex.find_all("question_phrase", words, langs);
    (!phrase.is_empty()).then(|| fill(seen().asks, &[("words", &quoted(&phrase))]))
}

/// A percentage written as `60%`, `60 %` or `60 percent`.
fn percentage(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c != '%' {
            continue;
        }
        let mut j = i;
        while j > 0 && chars[j - 1] == ' ' {
            j -= 1;
        }
        let end = j;
        while j > 0 && chars[j - 1].is_ascii_digit() {
            j -= 1;
        }
        if j < end {
            let n: String = chars[j..end].iter().collect();
            return Some(format!("{n} %"));
        }
    }
    None
}

/// Reads the new text (and the subject) of a mail.
pub fn read(f: &Facts, c: &Context) -> Reading {
    let lex = lexicon();
    let text = f.new_text.as_str();
    let words = Words::new(text);
    let lang = lex.detect(&words).to_string();
    let langs: Vec<&str> = if lang == "en" {
        vec!["en"]
    } else {
        vec![lang.as_str(), "en"]
    };
    let langs = langs.as_slice();
    // Thanks and agreement mean the same in every language and a short
    // reply ("Perfecto, recibido.") tells no language: these are read in
    // all of them. Completion and delay words are not ("pronto" is "ready"
    // in Portuguese and "soon" in Spanish).
    let all: &[&str] = &[];
    let subject = Words::new(&f.subject);
    let mut r = Reading {
        question: question(lex, text, &words, langs),
        ..Default::default()
    };

    let links = links(text);
    let before = lex.find_all("not_yet_before", &words, langs);
    let after = lex.find_all("not_yet_after", &words, langs);
    let done: Vec<Hit> = lex
        .find_all("completion", &words, langs)
        .into_iter()
        .filter(|h| !guarded(h, &before, &after, &words))
        .collect();
    let delivery: Vec<Hit> = lex
        .find_all("delivery", &words, langs)
        .into_iter()
        .filter(|h| !guarded(h, &before, &[], &words))
        .collect();
    let link = links
        .first()
        .map(|l| l.chars().take(80).collect::<String>());
    r.strong_delivery = if let Some(name) = f.files.first() {
        Some(fill(seen().attachment, &[("name", name)]))
    } else if let (Some(l), false) = (&link, done.is_empty()) {
        Some(fill(
            seen().link_with,
            &[("link", l), ("words", &quoted(&done))],
        ))
    } else if let (Some(l), false) = (&link, delivery.is_empty()) {
        Some(fill(
            seen().link_with,
            &[("link", l), ("words", &quoted(&delivery))],
        ))
    } else {
        None
    };
    r.weak_delivery = (!delivery.is_empty()).then(|| quoted(&delivery));

    // "The status report comes tomorrow" announces one; it is not one.
    let announced: Vec<Hit> = lex
        .find_all("report_noun", &words, langs)
        .into_iter()
        .filter(|h| guarded(h, &before, &after, &words))
        .collect();
    let strong: Vec<Hit> = lex
        .find_all("status", &words, langs)
        .into_iter()
        .filter(|h| {
            !announced
                .iter()
                .any(|a| a.start <= h.start && h.end <= a.end)
        })
        .collect();
    let weak: Vec<Hit> = lex
        .find_all("status_weak", &words, langs)
        .into_iter()
        .filter(|h| {
            !announced
                .iter()
                .any(|a| a.start <= h.start && h.end <= a.end)
        })
        .collect();
    r.report_announced = announced.first().map(|h| h.phrase.clone());
    let in_subject = lex.find_all("status", &subject, &[]);
    let distinct = weak
        .iter()
        .map(|h| h.phrase.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    r.status = if let Some(p) = percentage(text) {
        Some(fill(seen().percentage, &[("p", &p)]))
    } else if !in_subject.is_empty() {
        Some(fill(
            seen().subject_status,
            &[("words", &quoted(&in_subject))],
        ))
    } else if !strong.is_empty() {
        Some(fill(seen().status_words, &[("words", &quoted(&strong))]))
    } else if distinct >= 2 || (c.answers.as_deref() == Some("status_request") && distinct >= 1) {
        Some(fill(seen().status_words, &[("words", &quoted(&weak))]))
    } else {
        None
    };

    let ack = lex.find_all("acknowledgement", &words, all);
    r.acknowledgement = (!ack.is_empty()).then(|| quoted(&ack));
    let thanks = lex.find_all("thanks", &words, all);
    r.thanks = (!thanks.is_empty()).then(|| quoted(&thanks));
    r.words = words.len();

    // Out-of-office: the subject in any language (it is short and machine
    // made); the body only in what its own language says, and only in a
    // short mail with nothing delivered.
    r.auto_reply = if let Some(h) = lex.find("auto_reply_subject", &subject, &[]) {
        Some(format!("the subject says \u{201c}{}\u{201d}", h.phrase))
    } else if f.files.is_empty() && words.len() <= 150 {
        lex.find("auto_reply_body", &words, langs)
            .map(|h| format!("the text says \u{201c}{}\u{201d}", h.phrase))
    } else {
        None
    };
    let colon = f.subject.split_once(':').map(|(head, _)| Words::new(head));
    r.receipt = colon
        .and_then(|head| lex.is_whole("read_receipt_subject", &head, &[]))
        .and_then(|s| {
            let all = Words::new(f.body.text.as_deref().unwrap_or(text));
            lex.find("read_receipt_body", &all, &[]).map(|b| {
                format!(
                    "the subject starts \u{201c}{}:\u{201d} and the text says \u{201c}{}\u{201d}",
                    s.phrase, b.phrase
                )
            })
        });
    r.lang = lang;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(text: &str) -> Reading {
        let f = Facts {
            new_text: text.into(),
            ..Default::default()
        };
        read(&f, &Context::default())
    }

    #[test]
    fn a_link_with_a_completion_word_is_a_strong_delivery() {
        let r = reading("Pushed, here is the branch: https://git.example.test/dana/site");
        assert!(
            r.strong_delivery.as_deref().unwrap().contains("pushed"),
            "{r:?}"
        );
        let r = reading("Die Seite ist jetzt fertig: https://site.example.test");
        assert_eq!(r.lang, "de");
        assert!(r.strong_delivery.is_some(), "{r:?}");
        let r = reading("¡Listo! Ya está en línea: https://site.example.test");
        assert!(r.strong_delivery.is_some(), "{r:?}");
    }

    #[test]
    fn a_completion_put_off_or_denied_does_not_count() {
        for text in [
            "It is not done yet, see https://staging.example.test",
            "The site will be live on Friday: https://site.example.test",
            "Will be ready by Friday, preview at https://x.example.test",
            "Noch nicht fertig, Vorschau: https://x.example.test",
            "Ce n'est pas encore terminé : https://x.example.test",
            "Estará listo mañana: https://x.example.test",
        ] {
            assert!(reading(text).strong_delivery.is_none(), "{text}");
        }
        // A negation in another sentence does not reach.
        let r = reading("I'm not sure about the font. Done: https://x.example.test");
        assert!(r.strong_delivery.is_some());
    }

    #[test]
    fn a_question_mark_in_a_link_asks_nothing() {
        assert!(
            reading("Done: https://x.example.test/?page=2")
                .question
                .is_none()
        );
        assert!(reading("Is the blue OK?").question.is_some());
        assert!(
            reading("Could you send the logo as SVG.")
                .question
                .is_some()
        );
        assert!(reading("¿Te parece bien el azul").question.is_some());
        assert!(
            reading("When the copy arrives I will start.")
                .question
                .is_none()
        );
    }

    #[test]
    fn a_status_is_known_by_its_shape() {
        assert!(reading("Wireframes are 60% there.").status.is_some());
        assert!(
            reading("On track; the copy is in progress.")
                .status
                .is_some()
        );
        assert!(reading("Thanks!").status.is_none());
    }

    #[test]
    fn deliverable_is_not_deliver() {
        let r = reading("A question about the deliverable: PDF or Figma?");
        assert!(
            r.strong_delivery.is_none() && r.weak_delivery.is_none(),
            "{r:?}"
        );
        assert!(r.question.is_some());
    }
}
