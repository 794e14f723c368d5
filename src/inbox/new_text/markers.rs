//! The marks mail clients leave where the quote or the signature starts, in
//! the seven languages of [`crate::words`]: "On … wrote:", Outlook's header
//! block, "-----Original Message-----", the `____` rule, `-- ` and "Sent
//! from my iPhone". The phrases are data (`quote_header`,
//! `original_message`, `header_*`, `signature` in `src/words/*.toml`); the
//! shapes around them are here.

use crate::words::{Words, lexicon};

/// How many lines below a `From:` line Outlook's block may name the date or
/// the subject (From, Sent, To, Cc, Subject: five lines, Cc wrapped: six).
const HEADER_BLOCK: usize = 6;

/// Where a quote starts, and how far it goes.
pub(super) enum QuoteStart {
    /// Everything below is quoted (Outlook's header block, the rule, an
    /// "Original Message" line; an "On … wrote:" with no `>` below it).
    AllBelow(String),
    /// Only this line: the quote below it is marked with `>` and the reply
    /// may go on under it (bottom-posting, inline answers).
    ThisLine(String),
}

/// The rule by which the quote starts at `lines[i]`, if it does.
pub(super) fn quote_starts(lines: &[&str], i: usize) -> Option<QuoteStart> {
    let line = lines[i].trim();
    if line.is_empty() {
        return None;
    }
    if line.len() >= 8 && line.chars().all(|c| c == '_') {
        return Some(QuoteStart::AllBelow("Outlook's \"____\" rule".into()));
    }
    if let Some(rule) = original_message(line) {
        return Some(QuoteStart::AllBelow(rule));
    }
    // Gmail wraps a long "On … wrote:" over two lines.
    let header = quote_header(line).map(|r| (r, i)).or_else(|| {
        let next = lines.get(i + 1).map(|l| l.trim())?;
        (next.ends_with(':') && !line.ends_with(':'))
            .then(|| quote_header(&format!("{line} {next}")))
            .flatten()
            .map(|r| (r, i + 1))
    });
    if let Some((rule, last)) = header {
        let below = lines[last + 1..]
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.is_empty());
        return Some(if below.is_some_and(|l| l.starts_with('>')) {
            QuoteStart::ThisLine(rule)
        } else {
            QuoteStart::AllBelow(rule)
        });
    }
    outlook_block(lines, i).map(QuoteStart::AllBelow)
}

/// "On Tue, 24 Nov 2026, Ada <ada@example.test> wrote:" and its
/// translations. The line must end in `:`; matched by a pattern that opens
/// with a wildcard ("* wrote"), it must also hold a date or an address (a
/// digit, `@` or `<`), so "Here is what Ada wrote:" in a reply is not taken
/// for one.
fn quote_header(line: &str) -> Option<String> {
    if !line.ends_with(':') {
        return None;
    }
    let words = Words::new(line);
    // A header line is short; this also bounds the cost of `*` on a long one.
    if words.len() > 40 {
        return None;
    }
    let hit = lexicon().is_whole("quote_header", &words, &[])?;
    let evidence = line
        .chars()
        .any(|c| c.is_ascii_digit() || c == '@' || c == '<');
    // "* wrote:" alone could be the writer's own sentence; "On … wrote:"
    // (a pattern that opens with a word) could not.
    if hit.phrase.starts_with('*') && !evidence {
        return None;
    }
    Some(format!("quote header \"{}:\" ({})", hit.phrase, hit.lang))
}

/// "-----Original Message-----", "---------- Forwarded message ---------",
/// "Begin forwarded message:" and their translations.
fn original_message(line: &str) -> Option<String> {
    let framed = line.starts_with('-') || line.ends_with(':') || line.starts_with('*');
    if !framed {
        return None;
    }
    let hit = lexicon().is_whole("original_message", &Words::new(line), &[])?;
    Some(format!("\"-----{}-----\" line ({})", hit.phrase, hit.lang))
}

/// The label of a header-like line ("From: Ada" → "From"; Outlook's HTML
/// conversion writes "*From:* Ada"), if it has one.
fn label(line: &str) -> Option<&str> {
    let line = line.trim().trim_start_matches('*');
    let (label, _) = line.split_once(':')?;
    let label = label.trim_end_matches('*').trim();
    (!label.is_empty() && label.len() <= 20).then_some(label)
}

/// The languages whose `category` labels this line.
fn label_langs(line: &str, category: &str) -> Vec<String> {
    let Some(label) = label(line) else {
        return Vec::new();
    };
    let words = Words::new(label);
    lexicon()
        .languages()
        .iter()
        .filter(|l| {
            lexicon()
                .is_whole(category, &words, &[l.code.as_str()])
                .is_some()
        })
        .map(|l| l.code.clone())
        .collect()
}

/// Outlook's quoted header block: a `From:` line (in any language) and,
/// within the next few lines, the date or the subject in the same language
/// ("De:" is French, Spanish and Portuguese: each is tried).
fn outlook_block(lines: &[&str], i: usize) -> Option<String> {
    let langs = label_langs(lines[i], "header_from");
    if langs.is_empty() {
        return None;
    }
    for l in lines.iter().skip(i + 1).take(HEADER_BLOCK) {
        for cat in ["header_sent", "header_subject"] {
            if let Some(lang) = label_langs(l, cat).into_iter().find(|x| langs.contains(x)) {
                return Some(format!("Outlook's header block (From:/Sent:, {lang})"));
            }
        }
    }
    None
}

/// Whether these words are one of the writer's names ("Dana Díaz",
/// "Dana").
fn is_name(tokens: &[String], names: &[Words]) -> bool {
    !tokens.is_empty() && names.iter().any(|n| n.tokens == tokens)
}

/// The rule by which a signature starts at this (trimmed) line, if it does.
/// `names` are the writer's names; `after_text` says whether the writer
/// wrote anything above (a name or a closing opens no signature on the
/// first line).
pub(super) fn signature_starts(line: &str, names: &[Words], after_text: bool) -> Option<String> {
    if line == "--" || line == "-- " || line == "—" {
        return Some("signature delimiter \"-- \"".into());
    }
    let words = Words::new(line.trim_start_matches(['-', '–', '—', ' ']));
    if words.is_empty() {
        return None;
    }
    // A phone's line is short; a sentence that happens to start "Sent
    // from" is not one.
    if words.len() <= 8
        && let Some(hit) = lexicon().is_whole("signature", &words, &[])
    {
        return Some(format!("signature \"{}\" ({})", hit.phrase, hit.lang));
    }
    if !after_text {
        return None;
    }
    if words.len() <= 6
        && let Some(hit) = lexicon().starts_with("closing", &words, &[])
        && (hit.end == words.len() || is_name(&words.tokens[hit.end..], names))
    {
        return Some(format!("closing \"{}\" ({})", hit.phrase, hit.lang));
    }
    if is_name(&words.tokens, names) {
        return Some("the writer's name on a line of its own".into());
    }
    if words.len() >= 6
        && let Some(hit) = lexicon().find("disclaimer", &words, &[])
    {
        return Some(format!("disclaimer \"{}\" ({})", hit.phrase, hit.lang));
    }
    None
}
