//! The new text of a reply: what its writer wrote, apart from what they
//! quoted and from their signature. Everything the rule table reads about
//! meaning is read from this, never from the quote (a "thanks, received"
//! that quotes the instructions does not say "deliver").
//!
//! # How it cuts
//! In this order, each cut recorded as a [`Cut`] for `handoff ingest
//! --explain`:
//! 1. the body: the text/plain part (unwrapped if `format=flowed`, RFC
//!    3676); with no text part, the HTML cut at the first quote container
//!    (`gmail_quote`, `divRplyFwdMsg`, `<blockquote>`, …, see [`html`]) and
//!    turned into text;
//! 2. client markers, line by line ([`markers`]): a line that starts with
//!    `>` is quoted; "On … wrote:" and its translations, Outlook's
//!    `From:/Sent:/To:/Subject:` block, `-----Original Message-----` and the
//!    `____` rule end the new text (all below is quoted); `-- ` and "Sent
//!    from my iPhone" and its translations start the signature;
//! 3. the cited mail ([`cited`]): Handoff knows the exact bytes of every
//!    mail it sent, so every run of lines that comes from the mail(s) the
//!    reply cites is quoted, wherever it stands, with or without `>`. Lines
//!    are compared as folded words (whitespace, quote marks, soft line
//!    breaks and re-wrapping, HTML markup all fall away).
//!
//! # Where it stands
//! Pure: it takes text and returns text. The pipeline looks the cited mail
//! up in the store and hands its bytes in.

pub mod cited;
pub mod html;
mod markers;

pub use cited::Cited;

use crate::words::Words;

/// The body of a reply as the parser found it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Body<'a> {
    /// The text/plain part, decoded (not a conversion of the HTML).
    pub text: Option<&'a str>,
    /// The text/html part, decoded.
    pub html: Option<&'a str>,
    /// The text part is `format=flowed` (RFC 3676), with `delsp=yes`.
    pub flowed: bool,
    pub delsp: bool,
    /// The writer's names (From's display name, its first word): a line
    /// that is one of them starts the signature.
    pub names: &'a [String],
}

/// Where the reply was cut, and by which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The rule, for people ("Outlook's header block (From:/Sent:)").
    pub rule: String,
    /// The line (1-based, in the body read) where it cut.
    pub line: usize,
    /// What was cut off there: "quote" or "signature".
    pub what: &'static str,
}

/// A reply, split.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewText {
    /// What the writer wrote.
    pub text: String,
    /// What they quoted.
    pub quoted: String,
    /// Their signature.
    pub signature: String,
    /// Every cut, in body order.
    pub cuts: Vec<Cut>,
}

impl NewText {
    /// The cuts as one line each, for `--explain`.
    pub fn explain(&self) -> Vec<String> {
        self.cuts
            .iter()
            .map(|c| format!("{} cut at line {}: {}", c.what, c.line, c.rule))
            .collect()
    }
}

/// What a line of the body turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    New,
    Quoted,
    Signature,
}

/// Splits a reply into its new text, quote and signature; `cited` are the
/// mails it answers (their text as Handoff sent it).
pub fn split(body: &Body<'_>, cited: &[&Cited]) -> NewText {
    let mut cuts = Vec::new();
    let text = match (body.text, body.html) {
        (Some(t), _) if body.flowed => html::unflow(t, body.delsp),
        (Some(t), _) => t.to_string(),
        (None, Some(h)) => {
            let (head, cut) = html::cut_quote(h);
            if let Some(rule) = cut {
                // The cut is in the HTML, before any line: line 1 of what
                // is left is where the quote would have started.
                cuts.push(Cut {
                    rule,
                    line: head.lines().count() + 1,
                    what: "quote",
                });
            }
            head
        }
        (None, None) => String::new(),
    };
    let lines: Vec<&str> = text.lines().collect();
    let names: Vec<Words> = body
        .names
        .iter()
        .map(|n| Words::new(n))
        .filter(|w| !w.is_empty())
        .collect();
    let mut roles = vec![Role::New; lines.len()];
    let mut i = 0;
    let mut in_signature = false;
    let mut after_text = false;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim();
        if t.starts_with('>') {
            roles[i] = Role::Quoted;
            i += 1;
            continue;
        }
        match markers::quote_starts(&lines, i) {
            Some(markers::QuoteStart::AllBelow(rule)) => {
                cuts.push(Cut {
                    rule,
                    line: i + 1,
                    what: "quote",
                });
                for r in &mut roles[i..] {
                    *r = Role::Quoted;
                }
                break;
            }
            Some(markers::QuoteStart::ThisLine(rule)) => {
                cuts.push(Cut {
                    rule,
                    line: i + 1,
                    what: "quote",
                });
                roles[i] = Role::Quoted;
                // What follows the quote is theirs again, signature or not.
                in_signature = false;
                i += 1;
                continue;
            }
            None => {}
        }
        if !in_signature && let Some(rule) = markers::signature_starts(t, &names, after_text) {
            cuts.push(Cut {
                rule,
                line: i + 1,
                what: "signature",
            });
            in_signature = true;
        }
        if in_signature {
            roles[i] = Role::Signature;
        } else if !t.is_empty() {
            after_text = true;
        }
        i += 1;
    }
    subtract_cited(&lines, &mut roles, cited, &mut cuts);
    cuts.sort_by_key(|c| c.line);
    let pick = |role: Role| -> String {
        let kept: Vec<&str> = lines
            .iter()
            .zip(&roles)
            .filter(|(_, r)| **r == role)
            .map(|(l, _)| *l)
            .collect();
        tidy(&kept)
    };
    NewText {
        text: pick(Role::New),
        quoted: pick(Role::Quoted),
        signature: pick(Role::Signature),
        cuts,
    }
}

/// Marks as quoted every run of new-text lines that comes from a cited mail.
fn subtract_cited(lines: &[&str], roles: &mut [Role], cited: &[&Cited], cuts: &mut Vec<Cut>) {
    if cited.iter().all(|c| c.is_empty()) {
        return;
    }
    let mut first_cut: Option<(usize, &str)> = None;
    // Whether the nearest non-blank line before this one was quoted: a
    // short line ("Ada", "Hi Dana,") is taken for a quote only when it
    // continues one, never when it opens the reply.
    let mut after_quote = false;
    for (i, line) in lines.iter().enumerate() {
        let words = Words::new(line);
        if words.is_empty() {
            continue;
        }
        if roles[i] != Role::New {
            after_quote = roles[i] == Role::Quoted;
            continue;
        }
        let from = cited
            .iter()
            .find(|c| c.holds_line(&words, after_quote))
            .map(|c| c.name.as_str());
        match from {
            Some(name) => {
                roles[i] = Role::Quoted;
                after_quote = true;
                first_cut.get_or_insert((i, name));
            }
            None => after_quote = false,
        }
    }
    if let Some((i, name)) = first_cut {
        cuts.push(Cut {
            rule: format!("lines of the {name} Handoff sent, quoted without a marker"),
            line: i + 1,
            what: "quote",
        });
    }
}

/// Lines joined, trailing spaces and surrounding blank lines dropped, runs of
/// blank lines made one.
fn tidy(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut blank = false;
    for l in lines {
        let l = l.trim_end();
        if l.trim().is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push('\n');
            blank = false;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(l);
    }
    out
}

#[cfg(test)]
mod tests;
