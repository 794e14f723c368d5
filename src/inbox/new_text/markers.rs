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

/// The rule by which the quote starts at `lines[i]`, if it does.
pub(super) fn quote_starts(lines: &[&str], i: usize) -> Option<String> {
    let line = lines[i].trim();
    if line.is_empty() {
        return None;
    }
    if line.len() >= 8 && line.chars().all(|c| c == '_') {
        return Some("Outlook's \"____\" rule".into());
    }
    if let Some(rule) = original_message(line) {
        return Some(rule);
    }
    if let Some(rule) = quote_header(line) {
        return Some(rule);
    }
    // Gmail wraps a long "On … wrote:" over two lines.
    if let Some(next) = lines.get(i + 1).map(|l| l.trim())
        && next.ends_with(':')
        && !line.ends_with(':')
        && let Some(rule) = quote_header(&format!("{line} {next}"))
    {
        return Some(rule);
    }
    outlook_block(lines, i)
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

fn label_is(line: &str, category: &str, langs: &[&str]) -> Option<String> {
    let words = Words::new(label(line)?);
    lexicon().is_whole(category, &words, langs).map(|h| h.lang)
}

/// Outlook's quoted header block: a `From:` line (in any language) and,
/// within the next few lines, the date or the subject in the same language.
fn outlook_block(lines: &[&str], i: usize) -> Option<String> {
    let lang = label_is(lines[i], "header_from", &[])?;
    let below = lines.iter().skip(i + 1).take(HEADER_BLOCK);
    let langs = [lang.as_str()];
    for l in below {
        if label_is(l, "header_sent", &langs).is_some()
            || label_is(l, "header_subject", &langs).is_some()
        {
            return Some(format!("Outlook's header block (From:/Sent:, {lang})"));
        }
    }
    None
}

/// The rule by which a signature starts at this (trimmed) line, if it does.
pub(super) fn signature_starts(line: &str) -> Option<String> {
    if line == "--" || line == "-- " || line == "—" {
        return Some("signature delimiter \"-- \"".into());
    }
    let words = Words::new(line);
    // A phone's line is short; a sentence that happens to start "Sent
    // from" is not one.
    if words.is_empty() || words.len() > 8 {
        return None;
    }
    let hit = lexicon().is_whole("signature", &words, &[])?;
    Some(format!("signature \"{}\" ({})", hit.phrase, hit.lang))
}
