//! Calendar invitations end to end: sent through the real Postfix, read from
//! Dovecot, and checked by Python's `email` and `icalendar` packages (an
//! independent reading of what Gmail, Outlook and Thunderbird receive).

mod common;

use chrono::{DateTime, Utc};
use common::{MailStack, imap};
use handoff::store::Store;
use handoff::templates::Templates;
use mail_parser::MessageParser;
use std::path::Path;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn config(stack: &MailStack, id: &str, wireframes: Option<&str>) -> String {
    let milestone = wireframes
        .map(|due| format!("[[engagement.milestone]]\nid = \"wireframes\"\ntitle = \"Wireframes\"\ndue = {due}\n\n"))
        .unwrap_or_default();
    format!(
        r#"[owner]
name = "Ada Lovelace"
email = "{owner}"
timezone = "Europe/Berlin"

[mail]
outgoing = "smtp"

[smtp]
host = "127.0.0.1"
port = {smtp}
username = "{owner}"
password_file = "owner.pw"
ca_file = "{ca}"

[policy]
quiet_hours = "00:00-00:00"

[[contractor]]
id = "dana"
name = "Dana Díaz"
email = "{dana}"
timezone = "America/New_York"

[[engagement]]
id = "{id}"
contractor = "dana"
title = "Website"
agreement_signed = 2026-11-02
starts = 2026-11-24
kickoff = 2026-11-25T15:00:00
deliverables = "Five pages"
quality_standard = "Valid HTML"
performance_standard = "On time"

{milestone}[[engagement.milestone]]
id = "launch"
title = "Launch"
due = 2027-01-15T12:00:00
"#,
        owner = stack.owner.user,
        smtp = stack.smtp_port,
        ca = stack.ca_cert.display(),
        dana = stack.contractor.user,
    )
}

/// Runs one pass with the config as it is on disk now.
async fn pass(path: &Path, now: &str) -> Vec<String> {
    let model = handoff::config::load(path).expect("config").model;
    let templates = Templates::load(None).unwrap();
    let transport = handoff::outbox::Transport::from_model(&model).unwrap();
    let mut store = Store::open(&model.mail.state).unwrap();
    let report = handoff::pass::run_once(&model, &templates, &mut store, &transport, t(now))
        .await
        .expect("pass");
    report.queued
}

/// The Python check's verdict on one mail.
fn python_check(mail: &[u8], method: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mail.eml");
    std::fs::write(&path, mail).unwrap();
    let out = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/calendar_check.py"))
        .arg(&path)
        .arg(method)
        .output()
        .expect("python3 runs (tests/run installs the icalendar package)");
    assert!(
        out.status.success(),
        "the independent check refused the mail: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Dana's mails for this engagement with a calendar of `method` whose text
/// mentions `title`, oldest first.
async fn invitations(stack: &MailStack, id: &str, method: &str, title: &str) -> Vec<Vec<u8>> {
    stack.settle();
    let mut s = imap::login_starttls(stack, &stack.contractor)
        .await
        .unwrap();
    let needle = format!("method={method}");
    imap::fetch_all(&mut s, "INBOX")
        .await
        .into_iter()
        .filter(|m| {
            let text = String::from_utf8_lossy(m);
            text.contains(&format!("[{id}]"))
                && text.contains(&needle)
                && MessageParser::default()
                    .parse(m)
                    .and_then(|p| p.body_text(0).map(|b| b.contains(title)))
                    .unwrap_or(false)
        })
        .collect()
}

#[tokio::test]
async fn a_milestone_is_invited_updated_and_cancelled_under_one_uid() {
    let stack = MailStack::shared();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("owner.pw"), &stack.owner.password).unwrap();
    let path = dir.path().join("handoff.toml");
    let id = format!("cal-{}", std::process::id());

    std::fs::write(&path, config(stack, &id, Some("2026-12-05"))).unwrap();
    let queued = pass(&path, "2026-11-24T15:00:00Z").await;
    assert!(
        queued.contains(&format!("invite/{id}/wireframes/0")),
        "{queued:?}"
    );
    let first = invitations(stack, &id, "REQUEST", "Wireframes").await;
    assert_eq!(first.len(), 1);
    let v = python_check(&first[0], "REQUEST");
    let uid = v["uid"].as_str().unwrap().to_string();
    assert_eq!(v["sequence"], 0);
    // All day on the owner's 5 December, ending (exclusively) on the 6th.
    assert_eq!(
        (&v["dtstart"], &v["dtend"]),
        (&"20261205".into(), &"20261206".into())
    );
    assert_eq!(v["organizer"], format!("mailto:{}", stack.owner.user));
    assert_eq!(
        v["attendees"][0],
        format!("mailto:{}", stack.contractor.user)
    );

    // The owner moves the due date: one update, same UID, higher SEQUENCE.
    std::fs::write(&path, config(stack, &id, Some("2026-12-07"))).unwrap();
    let queued = pass(&path, "2026-11-24T16:00:00Z").await;
    assert_eq!(queued, [format!("invite/{id}/wireframes/1")]);
    let all = invitations(stack, &id, "REQUEST", "Wireframes").await;
    assert_eq!(all.len(), 2);
    let v = python_check(&all[1], "REQUEST");
    assert_eq!(
        (v["uid"].as_str().unwrap(), v["sequence"].as_i64()),
        (uid.as_str(), Some(1))
    );
    let text = MessageParser::default()
        .parse(&all[1])
        .unwrap()
        .body_text(0)
        .unwrap()
        .into_owned();
    assert!(text.contains("now due Mon 7 Dec 2026"), "{text}");

    // Nothing changed: nothing sent.
    assert!(pass(&path, "2026-11-24T17:00:00Z").await.is_empty());

    // The owner removes it: a CANCEL, same UID, higher SEQUENCE.
    std::fs::write(&path, config(stack, &id, None)).unwrap();
    let queued = pass(&path, "2026-11-24T18:00:00Z").await;
    assert_eq!(queued, [format!("cancel/{id}/wireframes/2")]);
    let cancels = invitations(stack, &id, "CANCEL", "Wireframes").await;
    assert_eq!(cancels.len(), 1);
    let v = python_check(&cancels[0], "CANCEL");
    assert_eq!(
        (v["uid"].as_str().unwrap(), v["sequence"].as_i64()),
        (uid.as_str(), Some(2))
    );
    assert_eq!(v["status"], "CANCELLED");
}

#[tokio::test]
async fn the_kickoff_invitation_is_a_30_minute_meeting_at_the_owners_time() {
    let stack = MailStack::shared();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("owner.pw"), &stack.owner.password).unwrap();
    let path = dir.path().join("handoff.toml");
    let id = format!("kick-{}", std::process::id());
    std::fs::write(&path, config(stack, &id, Some("2026-12-05"))).unwrap();
    pass(&path, "2026-11-24T15:00:00Z").await;
    let kickoff = invitations(stack, &id, "REQUEST", "kickoff call").await;
    assert_eq!(kickoff.len(), 1);
    python_check(&kickoff[0], "REQUEST");
    let raw = String::from_utf8_lossy(&kickoff[0]);
    // 15:00 in Berlin (CET) is 14:00 UTC; the contractor reads 09:00 EST.
    assert!(raw.contains("DTSTART:20261125T140000Z"), "{raw}");
    assert!(raw.contains("DTEND:20261125T143000Z"), "{raw}");
    let text = MessageParser::default()
        .parse(&kickoff[0])
        .unwrap()
        .body_text(0)
        .unwrap()
        .into_owned();
    assert!(
        text.contains("Wed 25 Nov 2026, 09:00 EST (America/New_York)"),
        "{text}"
    );
}

#[test]
fn the_owners_feed_reads_strictly() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("handoff.toml");
    std::fs::write(&config, handoff::config::EXAMPLE).unwrap();
    let feed = dir.path().join("feed.ics");
    let out = common::handoff(
        &config,
        &["ics", "-o", feed.to_str().unwrap()],
        "2026-11-24T09:00:00Z",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&feed).unwrap();
    common::ical::assert_strict(&text);
    assert!(text.contains("METHOD:PUBLISH\r\n"));
    // Two milestones, the kickoff, the next evaluation and payment.
    assert_eq!(text.matches("BEGIN:VEVENT\r\n").count(), 5, "{text}");
}
