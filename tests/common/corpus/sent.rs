//! The mails the scenario sent, as the placeholders need them: read from
//! the local outbox's `.eml` files with mail-parser, and named by the
//! journal (`handoff log --json`: engagement, purpose, milestone).

use super::header_value;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// A mail Handoff sent in the scenario.
#[derive(Debug, Clone)]
pub struct Sent {
    pub engagement: String,
    pub purpose: String,
    pub milestone: Option<String>,
    /// With angle brackets.
    pub message_id: String,
    /// Its References, with angle brackets, oldest first.
    pub references: Vec<String>,
    pub subject: String,
    pub date_header: String,
    pub date: DateTime<Utc>,
    /// The text/plain body, decoded.
    pub text: String,
    /// The inside of the text/html `<body>`, decoded.
    pub html: String,
    /// The calendar's content lines, unfolded (empty if it has none).
    pub calendar: Vec<String>,
    /// The header block as sent (LF line ends).
    pub headers: String,
    /// The whole mail as sent (LF line ends).
    pub raw: String,
}

pub(super) fn read_sent(
    bytes: &[u8],
    what: &HashMap<String, (String, String, Option<String>)>,
) -> Result<Sent, String> {
    use mail_parser::{MessageParser, MimeHeaders};
    let m = MessageParser::default()
        .parse(bytes)
        .ok_or("does not parse")?;
    let message_id = format!("<{}>", m.message_id().ok_or("no Message-ID")?);
    let (engagement, purpose, milestone) = what
        .get(&message_id)
        .cloned()
        .unwrap_or_else(|| (String::new(), "unknown".into(), None));
    let raw = String::from_utf8_lossy(bytes).replace("\r\n", "\n");
    let headers = raw.split("\n\n").next().unwrap_or_default().to_string();
    let date_header = header_value(&headers, "Date").ok_or("no Date")?;
    let date = DateTime::parse_from_rfc2822(&date_header)
        .map_err(|e| format!("Date {date_header:?}: {e}"))?
        .to_utc();
    let references = header_value(&headers, "References")
        .map(|r| r.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let html = m
        .body_html(0)
        .map(|h| inner_body(&h).to_string())
        .unwrap_or_default();
    let calendar = m
        .parts
        .iter()
        .find(|p| {
            p.content_type().is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case("text")
                    && ct
                        .subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("calendar"))
            })
        })
        .and_then(|p| p.text_contents())
        .map(unfold_ical)
        .unwrap_or_default();
    Ok(Sent {
        engagement,
        purpose,
        milestone,
        message_id,
        references,
        subject: m.subject().unwrap_or_default().to_string(),
        date_header,
        date,
        text: m
            .body_text(0)
            .map(|t| t.replace("\r\n", "\n"))
            .unwrap_or_default(),
        html,
        calendar,
        headers,
        raw,
    })
}

fn inner_body(html: &str) -> &str {
    let lower = html.to_ascii_lowercase();
    let start = lower
        .find("<body")
        .and_then(|i| lower[i..].find('>').map(|j| i + j + 1))
        .unwrap_or(0);
    let end = lower.rfind("</body>").unwrap_or(html.len()).max(start);
    html[start..end].trim()
}

fn unfold_ical(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in text.replace("\r\n", "\n").split('\n') {
        if let Some(more) = line.strip_prefix([' ', '\t'])
            && let Some(last) = lines.last_mut()
        {
            last.push_str(more);
        } else if !line.is_empty() {
            lines.push(line.to_string());
        }
    }
    lines
}

pub(super) fn ical_line(s: &Sent, prop: &str) -> Result<String, String> {
    // The event's own line, not the alarm's (both have a DESCRIPTION).
    let mut depth_alarm = false;
    for line in &s.calendar {
        match line.as_str() {
            "BEGIN:VALARM" => depth_alarm = true,
            "END:VALARM" => depth_alarm = false,
            _ if depth_alarm => {}
            l => {
                let name = l.split([':', ';']).next().unwrap_or_default();
                if name.eq_ignore_ascii_case(prop) {
                    return Ok(l.to_string());
                }
            }
        }
    }
    Err(format!(
        "{} {} has no calendar line {prop}",
        s.engagement, s.purpose
    ))
}

pub(super) fn ical_value(s: &Sent, prop: &str) -> Result<String, String> {
    let line = ical_line(s, prop)?;
    Ok(line
        .split_once(':')
        .map(|(_, v)| v.to_string())
        .unwrap_or_default())
}
