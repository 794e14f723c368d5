//! A composed mail as it is queued and as it goes out: [`finalize`] dates
//! it at send time and changes nothing else.

use super::*;
use crate::templates::Templates;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn model() -> Model {
    crate::config::parse(
        Path::new("t.toml"),
        crate::config::EXAMPLE,
        Path::new("/tmp"),
        None,
    )
    .unwrap()
    .model
}

fn header(message: &[u8], name: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(message);
    let head = text
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string();
    head.replace("\r\n ", " ")
        .split("\r\n")
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
        .collect()
}

#[test]
fn a_mail_is_dated_when_it_goes_out_and_keeps_its_message_id_and_text() {
    let model = model();
    let templates = Templates::load(None).unwrap();
    let composer = Composer {
        model: &model,
        templates: &templates,
    };
    let req = MailRequest {
        purpose: Purpose::Instructions,
        engagement: "website".into(),
        milestone: None,
        extra: Default::default(),
        calendar: None,
    };
    // Queued at 03:00 in New York (quiet hours), sent at 08:00.
    let queued = composer
        .compose(&req, None, t("2026-11-24T08:00:00Z"))
        .unwrap();
    assert_eq!(
        header(&queued.bytes, "Date"),
        ["Tue, 24 Nov 2026 08:00:00 +0000"]
    );
    let sent = finalize(&queued.bytes, t("2026-11-24T13:00:05Z"));
    assert_eq!(header(&sent, "Date"), ["Tue, 24 Nov 2026 13:00:05 +0000"]);
    assert_eq!(header(&sent, "Message-ID"), vec![queued.message_id.clone()]);
    // Everything but the Date line is byte for byte what was queued.
    let without_date = |m: &[u8]| {
        String::from_utf8_lossy(m)
            .split("\r\n")
            .filter(|l| !l.starts_with("Date:"))
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    assert_eq!(without_date(&sent), without_date(&queued.bytes));
    // What a reader parses: the new date, the same body.
    let parsed = mail_parser::MessageParser::default().parse(&sent).unwrap();
    assert_eq!(
        parsed.date().map(|d| d.to_rfc3339()),
        Some("2026-11-24T13:00:05Z".to_string())
    );
    let before = mail_parser::MessageParser::default()
        .parse(&queued.bytes)
        .unwrap();
    assert_eq!(parsed.body_text(0), before.body_text(0));
    assert_eq!(parsed.body_html(0), before.body_html(0));
    // Dated again at a retry, still one Date header.
    let again = finalize(&sent, t("2026-11-24T14:00:00Z"));
    assert_eq!(header(&again, "Date"), ["Tue, 24 Nov 2026 14:00:00 +0000"]);
}

#[test]
fn finalize_replaces_a_folded_date_adds_a_missing_one_and_leaves_a_headless_text_alone() {
    let now = t("2026-12-01T07:05:09Z");
    let folded = b"From: a@example.test\r\nDate: Tue,\r\n 24 Nov 2026 08:00:00 +0000\r\nSubject: x\r\n\r\nDate: in the body\r\n";
    assert_eq!(
        String::from_utf8(finalize(folded, now)).unwrap(),
        "From: a@example.test\r\nDate: Tue, 01 Dec 2026 07:05:09 +0000\r\nSubject: x\r\n\r\nDate: in the body\r\n"
    );
    let none = b"From: a@example.test\r\n\r\nbody\r\n";
    assert_eq!(
        String::from_utf8(finalize(none, now)).unwrap(),
        "Date: Tue, 01 Dec 2026 07:05:09 +0000\r\nFrom: a@example.test\r\n\r\nbody\r\n"
    );
    assert_eq!(finalize(b"no header section", now), b"no header section");
}

/// "in 3 days", "for 5 days", "3 days late", "2 hours ago": a time counted
/// from when the text was written.
fn relative_phrases(text: &str) -> Vec<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let unit = |w: &str| {
        ["minute", "hour", "day", "week", "month"]
            .iter()
            .any(|u| w == *u || w.strip_suffix('s') == Some(u))
    };
    let mut found = Vec::new();
    for i in 0..words.len().saturating_sub(2) {
        let (a, b, c) = (&words[i], &words[i + 1], &words[i + 2]);
        let number = |w: &str| w.bytes().all(|d| d.is_ascii_digit());
        if (a == "in" || a == "for") && number(b) && unit(c) {
            found.push(format!("{a} {b} {c}"));
        }
        if number(a) && unit(b) && ["late", "ago", "overdue", "left"].contains(&c.as_str()) {
            found.push(format!("{a} {b} {c}"));
        }
    }
    found
}

#[test]
fn no_mail_says_a_time_counted_from_when_it_was_written() {
    // A mail may wait (quiet hours, the reminder cap, the digest, an outage)
    // and is dated when it goes: its words must stay true until then.
    assert_eq!(
        relative_phrases("due in 3 days, 2 hours ago"),
        ["in 3 days", "2 hours ago"]
    );
    let model = model();
    let templates = Templates::load(None).unwrap();
    let composer = Composer {
        model: &model,
        templates: &templates,
    };
    for purpose in Purpose::ALL {
        let req = MailRequest {
            purpose: *purpose,
            engagement: "website".into(),
            milestone: Some("wireframes".into()),
            extra: crate::outbox::check::sample_extra(*purpose),
            calendar: None,
        };
        let c = composer
            .compose(&req, None, t("2026-11-24T08:00:00Z"))
            .unwrap();
        for (part, text) in [
            ("subject", &c.subject),
            ("text", &c.rendered.text),
            ("html", &c.rendered.html),
        ] {
            assert_eq!(
                relative_phrases(text),
                Vec::<String>::new(),
                "{purpose} {part}: {text}"
            );
        }
    }
}
