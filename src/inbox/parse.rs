//! From raw bytes to the facts the rules need. mail-parser does the MIME work
//! (any charset, RFC 2047 words, quoted-printable, base64, nested multiparts);
//! this keeps only what classification and matching look at, so a hostile mail
//! cannot smuggle anything further in.

use mail_parser::{HeaderValue, MessageParser, MimeHeaders};

/// Mails larger than this are not parsed: recorded as too large and skipped.
pub const MAX_MAIL_BYTES: usize = 25 * 1024 * 1024;

/// What a mail says, as far as Handoff cares.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub message_id: Option<String>,
    /// The From address, lower-cased.
    pub from: Option<String>,
    pub subject: String,
    /// In-Reply-To and References, without angle brackets, newest first.
    pub refs: Vec<String>,
    /// Auto-Submitted other than "no", X-Autoreply, Precedence bulk/junk/auto_reply.
    pub auto_headers: bool,
    /// multipart/report; report-type=delivery-status, or from a mailer daemon.
    pub delivery_report: bool,
    /// The text/calendar parts, decoded.
    pub calendars: Vec<String>,
    /// Attachments that are not calendars.
    pub files: usize,
    /// The plain text, quoted lines (`>`) and the quote header removed.
    pub new_text: String,
}

/// Parses a mail; `None` if it is not a mail at all.
pub fn parse(raw: &[u8]) -> Option<Facts> {
    let m = MessageParser::default().parse(raw)?;
    // A mail with no header the parser recognised is garbage, not a mail.
    if m.from().is_none() && m.message_id().is_none() && m.subject().is_none() {
        return None;
    }
    let ids = |v: &HeaderValue<'_>| -> Vec<String> {
        v.as_text_list()
            .map(|l| {
                l.iter()
                    .map(|s| s.trim_matches(['<', '>', ' ']).to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut refs = ids(m.in_reply_to());
    let mut older = ids(m.references());
    older.reverse();
    refs.extend(older);
    let header = |name: &str| m.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    let auto_headers = header("Auto-Submitted").is_some_and(|v| v != "no")
        || header("X-Autoreply").is_some()
        || header("X-Autorespond").is_some()
        || header("Precedence")
            .is_some_and(|v| matches!(v.as_str(), "bulk" | "junk" | "auto_reply" | "list"));
    let from = m
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(|a| a.trim().to_ascii_lowercase());
    let delivery_report = m.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    }) || from
        .as_deref()
        .is_some_and(|f| f.starts_with("mailer-daemon@") || f.starts_with("postmaster@"));
    let mut calendars = Vec::new();
    let mut files = 0;
    if delivery_report {
        // A bounce does not thread; it quotes the returned mail's headers
        // (message/rfc822 or text/rfc822-headers), whose Message-ID is ours.
        for part in m.attachments() {
            let Some(text) = part.text_contents() else {
                continue;
            };
            for line in text.lines() {
                if let Some((name, value)) = line.split_once(':')
                    && name.trim().eq_ignore_ascii_case("message-id")
                {
                    refs.push(value.trim().trim_matches(['<', '>']).to_string());
                }
            }
        }
    }
    for part in m.attachments() {
        let is_calendar = part.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("text")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("calendar"))
        });
        if is_calendar {
            if let Some(t) = part.text_contents() {
                calendars.push(t.to_string());
            }
        } else {
            files += 1;
        }
    }
    let text = m.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
    Some(Facts {
        message_id: m.message_id().map(str::to_string),
        from,
        subject: m.subject().unwrap_or_default().to_string(),
        refs,
        auto_headers,
        delivery_report,
        calendars,
        files,
        new_text: new_text(&text),
    })
}

/// The part of a reply its writer wrote: quoted lines and the "On … wrote:"
/// line before them are dropped.
fn new_text(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with('>') {
            continue;
        }
        if (t.starts_with("On ") && t.trim_end().ends_with("wrote:"))
            || t.starts_with("-----Original Message-----")
        {
            break;
        }
        out.push(line);
    }
    out.join("\n").trim().to_string()
}
