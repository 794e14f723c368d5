//! Delivery reports, read receipts and auto-replies as real servers write
//! them.

use super::*;
use mail_parser::MessageParser;

fn dsn(action: &str, status: &str, diagnostic: &str) -> Vec<u8> {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\n\
         To: ada@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <dsn1@mx.example.test>\r\nAuto-Submitted: auto-replied\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; mx.example.test\r\nArrival-Date: Tue, 24 Nov 2026 14:00:00 +0100\r\n\r\n\
         Final-Recipient: rfc822; Dana@Example.test\r\nOriginal-Recipient: rfc822;dana@example.test\r\n\
         Action: {action}\r\nStatus: {status}\r\nDiagnostic-Code: smtp; {diagnostic}\r\n\
         \x20   (continued)\r\n\r\n\
         --B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: ada@example.test\r\n\
         Message-ID: <abc.instructions@example.test>\r\nSubject: Website\r\n\r\n--B--\r\n"
    )
    .into_bytes()
}

fn report_of(raw: &[u8]) -> Option<Report> {
    let m = MessageParser::default().parse(raw).unwrap();
    report(&m, Some("mailer-daemon@mx.example.test"))
}

#[test]
fn only_failed_with_a_5xx_status_is_a_hard_failure() {
    let r = report_of(&dsn("failed", "5.2.2", "552 5.2.2 mailbox full")).unwrap();
    let failed = r.hard_failure().expect("a hard failure");
    assert_eq!(failed.address.as_deref(), Some("dana@example.test"));
    assert_eq!(failed.status.as_deref(), Some("5.2.2"));
    assert_eq!(
        failed.diagnostic.as_deref(),
        Some("552 5.2.2 mailbox full (continued)")
    );
    assert_eq!(
        r.describe(),
        "dana@example.test: failed 5.2.2 (552 5.2.2 mailbox full (continued))"
    );
    let delayed = report_of(&dsn("delayed", "4.4.1", "connection timed out")).unwrap();
    assert!(delayed.hard_failure().is_none());
    assert!(delayed.describe().contains("delayed 4.4.1"));
    // Failed, but temporary: not held.
    let soft = report_of(&dsn("failed", "4.4.7", "message expired")).unwrap();
    assert!(soft.hard_failure().is_none());
    let delivered = report_of(&dsn("delivered", "2.0.0", "250 ok")).unwrap();
    assert!(delivered.hard_failure().is_none());
}

#[test]
fn a_bounce_names_the_mail_it_returns() {
    let raw = dsn("failed", "5.1.1", "550 5.1.1 no such user");
    let m = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(reported_ids(&m), ["abc.instructions@example.test"]);
}

#[test]
fn a_read_receipt_is_a_receipt_not_a_bounce() {
    let raw = b"From: Dana <dana@example.test>\r\nTo: ada@example.test\r\nSubject: Read: Website\r\n\
        Message-ID: <mdn1@example.test>\r\n\
        Content-Type: multipart/report; report-type=disposition-notification; boundary=\"M\"\r\n\r\n\
        --M\r\nContent-Type: text/plain\r\n\r\nYour message was read on Tuesday.\r\n\
        --M\r\nContent-Type: message/disposition-notification\r\n\r\n\
        Reporting-UA: Microsoft Outlook\r\nFinal-Recipient: rfc822;dana@example.test\r\n\
        Original-Message-ID: <abc.instructions@example.test>\r\n\
        Disposition: manual-action/MDN-sent-manually; displayed\r\n\r\n--M--\r\n";
    let m = MessageParser::default().parse(&raw[..]).unwrap();
    let r = report(&m, Some("dana@example.test")).unwrap();
    assert_eq!(
        r,
        Report::Receipt {
            disposition: "manual-action/MDN-sent-manually; displayed".into()
        }
    );
    assert!(r.hard_failure().is_none());
    assert_eq!(reported_ids(&m), ["abc.instructions@example.test"]);
}

#[test]
fn a_legacy_text_bounce_is_read_for_its_status_code() {
    let raw = b"From: MAILER-DAEMON@old.example.test\r\nTo: ada@example.test\r\n\
        Subject: failure notice\r\n\r\nSorry, we were unable to deliver your message.\r\n\
        <dana@example.test>:\r\n550 5.1.1 user unknown\r\n";
    let r = report_of(&raw[..]).unwrap();
    assert_eq!(r.hard_failure().unwrap().status.as_deref(), Some("5.1.1"));
    let raw = b"From: MAILER-DAEMON@old.example.test\r\nSubject: Warning: could not send\r\n\r\n\
        This is a warning only. 451 try again later\r\n";
    let r = report_of(&raw[..]).unwrap();
    assert!(r.hard_failure().is_none());
    assert!(r.describe().contains("delayed 4.0.0"), "{}", r.describe());
}

#[test]
fn every_auto_reply_header_the_best_systems_read_is_read() {
    for header in [
        "Auto-Submitted: auto-replied",
        "X-Auto-Response-Suppress: All",
        "X-MS-Exchange-Inbox-Rules-Loop: dana@example.test",
        "Precedence: bulk",
        "Precedence: junk",
        "Precedence: list",
        "Precedence: auto_reply",
        "X-Autoreply: yes",
        "X-Autorespond: yes",
        "List-Id: <team.lists.example.test>",
        "List-Unsubscribe: <mailto:leave@lists.example.test>",
        "Return-Path: <>",
    ] {
        let raw = format!("{header}\r\nFrom: dana@example.test\r\nSubject: x\r\n\r\nbody\r\n");
        let m = MessageParser::default().parse(raw.as_bytes()).unwrap();
        assert!(auto_header(&m).is_some(), "{header}");
    }
    // Proton Mail sets Feedback-ID on every mail a person sends.
    let raw = b"Auto-Submitted: no\r\nPrecedence: first-class\r\nFrom: dana@example.test\r\n\
        Feedback-ID: 71846219:user:proton\r\n\
        Return-Path: <dana@example.test>\r\nSubject: x\r\n\r\nbody\r\n";
    let m = MessageParser::default().parse(&raw[..]).unwrap();
    assert_eq!(auto_header(&m), None);
}

#[test]
fn status_codes_are_found_only_in_their_shape() {
    assert_eq!(enhanced_status("smtp; 550 5.1.1 <x>"), Some("5.1.1".into()));
    assert_eq!(enhanced_status("version 1.2.3 and 10.0.0.1"), None);
    assert_eq!(enhanced_status("4.7.1"), Some("4.7.1".into()));
}

#[test]
fn a_report_without_a_status_field_is_read_by_the_code_its_text_quotes() {
    let raw = "From: MAILER-DAEMON@mail.example.test\r\nTo: ada@example.test\r\nSubject: Undelivered Mail\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n<dana@example.test>: host mx.example.test said: 552 5.2.2 mailbox full\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; dana@example.test\r\nAction: failed\r\n\r\n--b--\r\n";
    let r = report_of(raw.as_bytes()).unwrap();
    let failed = r.hard_failure().expect("read as a hard failure");
    assert_eq!(failed.status.as_deref(), Some("5.2.2"));
    assert!(
        failed
            .diagnostic
            .as_deref()
            .unwrap_or_default()
            .contains("mailbox full")
    );
}
