//! Every calendar Handoff writes, read strictly: the one helper the tests
//! that see calendars go through, so none escapes.
//!
//! The reading itself is `src/calendar/strict.rs` (included here, so unit
//! and integration tests share it): Python's `icalendar`, the strict `ical`
//! and a validating `vobject`, plus the rules clients rely on. The mail
//! readers of `tests/common` (IMAP fetches, the stack's Maildirs, the local
//! outgoing folder) call [`check_mail`] on every mail they return, and the
//! tests that print a feed call [`assert_strict`] on it.
//!
//! Only Handoff's own mails are checked (their Message-ID is Handoff's
//! `<128-bit hex.purpose@domain>`): the tests also deliver replies and
//! deliberately broken calendars of their own.

#[path = "../../src/calendar/strict.rs"]
mod strict;

pub use strict::assert_strict;

use mail_parser::MimeHeaders;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Whether `mail` is one Handoff composed (see the module doc).
pub fn is_handoffs(mail: &[u8]) -> bool {
    let Some(m) = mail_parser::MessageParser::default().parse(mail) else {
        return false;
    };
    let Some(id) = m.message_id() else {
        return false;
    };
    let Some((token, rest)) = id.split_once('.') else {
        return false;
    };
    token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()) && rest.contains('@')
}

/// The calendars in a mail: (MIME type, text) of every `text/calendar` part
/// and every `application/ics` attachment, decoded.
pub fn calendars(mail: &[u8]) -> Vec<(String, String)> {
    let Some(m) = mail_parser::MessageParser::default().parse(mail) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for part in m.parts.iter() {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let mime = format!(
            "{}/{}",
            ct.ctype().to_ascii_lowercase(),
            ct.subtype().unwrap_or("").to_ascii_lowercase()
        );
        if mime == "text/calendar" || mime == "application/ics" {
            let text = String::from_utf8_lossy(part.contents()).into_owned();
            // A text part's line breaks are CRLF in canonical form (RFC 2046
            // §4.1.1), whatever a quoted-printable decoder gives back; the
            // base64 attachment keeps its own bytes.
            let text = if mime == "text/calendar" {
                text.replace("\r\n", "\n").replace('\n', "\r\n")
            } else {
                text
            };
            out.push((mime, text));
        }
    }
    out
}

/// Checks every calendar a mail of Handoff's carries, strictly, and the
/// shape clients rely on: at most one `text/calendar` part (a client shows
/// each as an invitation), and the `invite.ics` attachment, if any, the
/// same calendar. Panics with the reason.
pub fn check_mail(mail: &[u8]) {
    if !is_handoffs(mail) {
        return;
    }
    let cals = calendars(mail);
    let inline: Vec<&String> = cals
        .iter()
        .filter(|(t, _)| t == "text/calendar")
        .map(|(_, c)| c)
        .collect();
    assert!(
        inline.len() <= 1,
        "{} text/calendar parts in one mail: clients show each as an invitation\n{}",
        inline.len(),
        String::from_utf8_lossy(mail)
    );
    for (kind, text) in &cals {
        if let Some(first) = inline.first() {
            assert_eq!(text, *first, "the {kind} part differs from the invitation");
        }
        assert_strict(text);
    }
}

/// [`check_mail`] on each.
pub fn check_mails<M: AsRef<[u8]>>(mails: &[M]) {
    for m in mails {
        check_mail(m.as_ref());
    }
}

/// Files in a Maildir folder already checked: a file in `new/` or `cur/`
/// never changes once there (it is renamed in whole), so once is enough.
static CHECKED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// [`check_mail`] on every file of a local outgoing folder (`…/new`) not
/// checked before.
pub fn check_dir(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        {
            let mut seen = CHECKED.lock().unwrap_or_else(|e| e.into_inner());
            if !seen.get_or_insert_with(HashSet::new).insert(p.clone()) {
                continue;
            }
        }
        if let Ok(bytes) = std::fs::read(&p) {
            check_mail(&bytes);
        }
    }
}

/// Checks what a `handoff` command wrote, as the common runner sees it: its
/// output if that is a calendar (`handoff ics`), and every new mail in the
/// local outgoing folder of `config` (local mode writes there).
pub fn check_run(config: &Path, stdout: &[u8]) {
    if stdout.starts_with(b"BEGIN:VCALENDAR") {
        assert_strict(&String::from_utf8_lossy(stdout));
    }
    if let Some(root) = config.parent() {
        check_dir(&root.join("var/mail/outgoing/new"));
    }
}
