//! Mail that a machine wrote: delivery status notifications (RFC 3464),
//! read receipts (message disposition notifications, RFC 8098) and
//! auto-replies (RFC 3834 and the headers real systems add).
//!
//! # What it decides
//! Nothing about engagements: it reads what the report says, per recipient,
//! and leaves the meaning to the rule table. There, only a recipient whose
//! `Action` is `failed` with a `5.x.x` status is a hard bounce (mail to the
//! contractor is held); `delayed` and `4.x.x` are `delivery_delayed`, and
//! `delivered`/`relayed`/`expanded` are receipts. The status and the
//! diagnostic travel to the journal's detail ("552 5.2.2 mailbox full"), so
//! the owner sees why mail is held.
//!
//! A report that is not RFC 3464 (a legacy bounce in plain text from
//! `MAILER-DAEMON`) is read for its enhanced status code (`5.1.1`) or basic
//! reply code (`550`); one with neither holds nothing.

use mail_parser::{Message, MimeHeaders};

/// What one recipient's delivery came to (RFC 3464 §2.3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Failed,
    Delayed,
    Delivered,
    Relayed,
    Expanded,
    /// Anything else, as written.
    Other(String),
}

impl Action {
    fn parse(s: &str) -> Action {
        match s.trim().to_ascii_lowercase().as_str() {
            "failed" => Action::Failed,
            "delayed" => Action::Delayed,
            "delivered" => Action::Delivered,
            "relayed" => Action::Relayed,
            "expanded" => Action::Expanded,
            other => Action::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Action::Failed => "failed",
            Action::Delayed => "delayed",
            Action::Delivered => "delivered",
            Action::Relayed => "relayed",
            Action::Expanded => "expanded",
            Action::Other(s) => s,
        }
    }
}

/// One per-recipient block of a delivery report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Final-Recipient (else Original-Recipient), the address lower-cased.
    pub address: Option<String>,
    pub action: Action,
    /// The enhanced status code (RFC 3463), "5.2.2".
    pub status: Option<String>,
    /// Diagnostic-Code, the type ("smtp;") dropped.
    pub diagnostic: Option<String>,
}

impl Recipient {
    /// A permanent failure: `failed` with a 5.x.x status. Only this holds mail.
    pub fn is_hard_failure(&self) -> bool {
        self.action == Action::Failed && self.status.as_deref().is_some_and(|s| s.starts_with('5'))
    }

    /// "dana@example.test: failed 5.2.2 (552 5.2.2 mailbox full)".
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{}: {}",
            self.address.as_deref().unwrap_or("(recipient not named)"),
            self.action.as_str()
        );
        if let Some(st) = &self.status {
            s.push(' ');
            s.push_str(st);
        }
        if let Some(d) = &self.diagnostic {
            s.push_str(&format!(" ({d})"));
        }
        s
    }
}

/// A machine's report about a mail we sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// A delivery status notification: per recipient, what happened.
    Delivery {
        recipients: Vec<Recipient>,
        /// Machine-readable (RFC 3464), or read from a legacy text bounce.
        rfc3464: bool,
    },
    /// A read receipt (RFC 8098): the Disposition field ("manual-action/
    /// MDN-sent-manually; displayed").
    Receipt { disposition: String },
}

impl Report {
    /// The first recipient that failed for good.
    pub fn hard_failure(&self) -> Option<&Recipient> {
        match self {
            Report::Delivery { recipients, .. } => recipients.iter().find(|r| r.is_hard_failure()),
            Report::Receipt { .. } => None,
        }
    }

    /// What the report says, one line per recipient, for the journal.
    pub fn describe(&self) -> String {
        match self {
            Report::Delivery { recipients, .. } if recipients.is_empty() => {
                "a delivery report naming no recipient".into()
            }
            Report::Delivery { recipients, .. } => recipients
                .iter()
                .map(Recipient::describe)
                .collect::<Vec<_>>()
                .join("; "),
            Report::Receipt { disposition } => format!("read receipt: {disposition}"),
        }
    }
}

/// The fields of a delivery-status or disposition-notification part: blocks
/// of `Name: value` lines (continued on indented lines), separated by blank
/// lines. Names lower-cased.
fn field_blocks(text: &str) -> Vec<Vec<(String, String)>> {
    let mut blocks = Vec::new();
    let mut block: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !block.is_empty() {
                blocks.push(std::mem::take(&mut block));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = block.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            block.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    if !block.is_empty() {
        blocks.push(block);
    }
    blocks
}

fn get<'a>(block: &'a [(String, String)], name: &str) -> Option<&'a str> {
    block
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// "rfc822; Dana@Example.test" → "dana@example.test".
fn address_field(v: &str) -> String {
    let v = v.split_once(';').map_or(v, |(_, a)| a);
    v.trim().trim_matches(['<', '>']).to_ascii_lowercase()
}

/// "smtp; 552 5.2.2 mailbox full" → "552 5.2.2 mailbox full".
fn diagnostic_field(v: &str) -> String {
    let v = v.split_once(';').map_or(v, |(_, d)| d);
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first enhanced status code ("5.1.1") in a text, if any.
pub fn enhanced_status(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|w| {
            let parts: Vec<&str> = w.split('.').collect();
            parts.len() == 3
                && matches!(parts[0], "2" | "4" | "5")
                && parts[1..]
                    .iter()
                    .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_string)
}

/// The first basic SMTP reply code (`550`, `452`) standing alone at the
/// start of a line or after "said:", as legacy bounces quote it.
fn basic_code(text: &str) -> Option<char> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| {
            w.len() == 3
                && matches!(w.as_bytes()[0], b'4' | b'5')
                && w.bytes().all(|b| b.is_ascii_digit())
        })
        .and_then(|w| w.chars().next())
}

fn content_type_is<'a>(part: &impl MimeHeaders<'a>, ctype: &str, subtypes: &[&str]) -> bool {
    part.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case(ctype)
            && ct
                .subtype()
                .is_some_and(|s| subtypes.iter().any(|x| s.eq_ignore_ascii_case(x)))
    })
}

/// The report in a mail, if it is one: a `multipart/report`, a part of
/// `message/delivery-status` or `message/disposition-notification`, or a
/// legacy bounce from a mailer daemon.
pub fn report(m: &Message<'_>, from: Option<&str>) -> Option<Report> {
    let mut delivery: Option<Vec<Recipient>> = None;
    for part in &m.parts {
        if content_type_is(
            part,
            "message",
            &["delivery-status", "global-delivery-status"],
        ) {
            let text = String::from_utf8_lossy(part.contents());
            let mut recipients = Vec::new();
            // The first block is about the message; the rest, one per recipient.
            for block in field_blocks(&text)
                .iter()
                .filter(|b| get(b, "action").is_some())
            {
                let address = get(block, "final-recipient")
                    .or_else(|| get(block, "original-recipient"))
                    .map(address_field);
                let diagnostic = get(block, "diagnostic-code").map(diagnostic_field);
                let status = get(block, "status")
                    .and_then(enhanced_status)
                    .or_else(|| diagnostic.as_deref().and_then(enhanced_status));
                recipients.push(Recipient {
                    address,
                    action: Action::parse(get(block, "action").unwrap_or_default()),
                    status,
                    diagnostic,
                });
            }
            delivery.get_or_insert_with(Vec::new).extend(recipients);
        } else if content_type_is(part, "message", &["disposition-notification"]) {
            let text = String::from_utf8_lossy(part.contents());
            let disposition = field_blocks(&text)
                .iter()
                .find_map(|b| get(b, "disposition").map(str::to_string))
                .unwrap_or_else(|| "(no Disposition field)".into());
            return Some(Report::Receipt { disposition });
        }
    }
    if let Some(mut recipients) = delivery {
        // A report whose recipient block names no Status (RFC 3464 requires
        // one; some mailers leave it out) is read as a person reads it: by
        // the code its human-readable part quotes ("552 5.2.2 mailbox full").
        if recipients.iter().any(|r| r.status.is_none()) {
            let human = m.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
            if let Some(status) = enhanced_status(&human) {
                let line = human
                    .lines()
                    .map(str::trim)
                    .find(|l| l.contains(status.as_str()))
                    .map(str::to_string);
                for r in recipients.iter_mut().filter(|r| r.status.is_none()) {
                    r.status = Some(status.clone());
                    if r.diagnostic.is_none() {
                        r.diagnostic = line.clone();
                    }
                }
            }
        }
        return Some(Report::Delivery {
            recipients,
            rfc3464: true,
        });
    }
    let report_type = m
        .content_type()
        .filter(|ct| {
            ct.ctype().eq_ignore_ascii_case("multipart")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        })
        .map(|ct| {
            ct.attribute("report-type")
                .unwrap_or_default()
                .to_ascii_lowercase()
        });
    if report_type.as_deref() == Some("disposition-notification") {
        return Some(Report::Receipt {
            disposition: "(the receipt's fields could not be read)".into(),
        });
    }
    let daemon = from.is_some_and(|f| {
        let local = f.split('@').next().unwrap_or_default();
        matches!(local, "mailer-daemon" | "postmaster" | "mail-daemon")
    });
    if report_type.is_none() && !daemon {
        return None;
    }
    // A legacy bounce: read what its text says.
    let text = m.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
    let status = enhanced_status(&text).or_else(|| basic_code(&text).map(|c| format!("{c}.0.0")));
    let action = match status.as_deref().and_then(|s| s.chars().next()) {
        Some('5') => Action::Failed,
        Some('4') => Action::Delayed,
        _ => Action::Other("unknown".into()),
    };
    let diagnostic = text
        .lines()
        .map(str::trim)
        .find(|l| {
            status
                .as_deref()
                .is_some_and(|s| l.contains(s.trim_end_matches(".0.0")))
        })
        .map(|l| l.chars().take(200).collect());
    Some(Report::Delivery {
        recipients: vec![Recipient {
            address: None,
            action,
            status,
            diagnostic,
        }],
        rfc3464: false,
    })
}

/// The Message-IDs a report names for the mail it is about: the returned
/// message's headers (message/rfc822 or text/rfc822-headers) and a
/// receipt's Original-Message-ID, without angle brackets.
pub fn reported_ids(m: &Message<'_>) -> Vec<String> {
    let mut ids = Vec::new();
    for part in &m.parts {
        let headers = content_type_is(
            part,
            "message",
            &["rfc822", "global", "disposition-notification"],
        ) || content_type_is(part, "text", &["rfc822-headers"]);
        if !headers {
            continue;
        }
        let text = match part.message() {
            Some(inner) => inner.message_id().map(|id| format!("Message-ID: <{id}>")),
            None => Some(String::from_utf8_lossy(part.contents()).into_owned()),
        };
        for line in text.unwrap_or_default().lines() {
            if let Some((name, value)) = line.split_once(':') {
                let name = name.trim();
                if name.eq_ignore_ascii_case("message-id")
                    || name.eq_ignore_ascii_case("original-message-id")
                {
                    let id = value.trim().trim_matches(['<', '>']).to_string();
                    if !id.is_empty() && !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
        }
    }
    ids
}

/// The header that marks a mail as sent by a machine on its own (an
/// auto-reply, a list, a bulk sender), as "Name: value", if one does. The
/// list is Zammad's and Discourse's, together.
pub fn auto_header(m: &Message<'_>) -> Option<String> {
    let raw = |name: &str| m.header_raw(name).map(|v| v.trim().to_string());
    let lower = |name: &str| raw(name).map(|v| v.to_ascii_lowercase());
    let said = |name: &str, v: String| Some(format!("{name}: {v}"));
    if let Some(v) = lower("Auto-Submitted").filter(|v| v != "no") {
        return said("Auto-Submitted", v);
    }
    if let Some(v) = raw("X-Auto-Response-Suppress") {
        return said("X-Auto-Response-Suppress", v);
    }
    if let Some(v) = raw("X-MS-Exchange-Inbox-Rules-Loop") {
        return said("X-MS-Exchange-Inbox-Rules-Loop", v);
    }
    if let Some(v) = lower("Precedence").filter(|v| {
        matches!(
            v.as_str(),
            "bulk" | "junk" | "list" | "auto_reply" | "auto-reply"
        )
    }) {
        return said("Precedence", v);
    }
    for name in [
        "X-Autoreply",
        "X-Autorespond",
        "X-Autorespond-From",
        "X-Autoresponder",
    ] {
        if let Some(v) = raw(name) {
            return said(name, v);
        }
    }
    if let Some(v) = lower("X-Auto-Reply").filter(|v| v != "no") {
        return said("X-Auto-Reply", v);
    }
    for name in ["List-Id", "List-Unsubscribe"] {
        if let Some(v) = raw(name) {
            return said(name, v);
        }
    }
    // Feedback-ID marks bulk senders' campaigns, but Proton Mail sets it on
    // every mail a person sends: alone it says nothing, beside a bulk
    // sender's Precedence (read above) it is not needed.
    if raw("Return-Path").is_some_and(|v| v.replace(' ', "") == "<>") {
        return said("Return-Path", "<>".into());
    }
    None
}

#[cfg(test)]
mod tests;
