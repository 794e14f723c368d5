//! Weeks of an engagement in local mode, the clock moved with `HANDOFF_NOW`
//! and `handoff run --once` once a day: replies written the way real clients
//! write them are dropped into the local inbox, and every mail that went out
//! is read back from `outgoing/new`, as its recipient would see it. Each
//! test asserts on the whole set of mails, not on one rule.

mod common;

use common::handoff;
use mail_parser::MessageParser;
use std::collections::BTreeMap;
use std::path::PathBuf;

const CONFIG: &str = r#"
[owner]
name = "Ada Lovelace"
email = "ada@example.test"
timezone = "Europe/Berlin"

[mail]
outgoing = "maildir"
incoming = "maildir"

[policy]
quiet_hours = "00:00-00:00"
digest = "off"

[[contractor]]
id = "dana"
name = "Dana Díaz"
email = "dana@example.test"
timezone = "Europe/Berlin"

[[engagement]]
id = "site"
contractor = "dana"
title = "Website"
agreement_signed = 2027-02-10
starts = 2027-03-01
deliverables = "Five pages: home, about, services, blog, contact"
quality_standard = "Valid HTML; please deliver the pages as a branch of the repository"
performance_standard = "On time; delivered means pushed and announced by mail"

[[engagement.milestone]]
id = "draft"
title = "Draft pages"
due = 2027-03-20
remind_before = ["3d", "1d"]
"#;

/// One mail that went out.
#[derive(Debug, Clone)]
struct Sent {
    purpose: String,
    to: String,
    message_id: String,
    date: String,
    text: String,
}

struct Install {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
}

impl Install {
    fn new() -> Install {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let config = root.join("handoff.toml");
        std::fs::write(&config, CONFIG).unwrap();
        Install {
            _dir: dir,
            root,
            config,
        }
    }

    fn pass(&self, now: &str) {
        let out = handoff(&self.config, &["run", "--once"], now);
        assert!(
            out.status.success(),
            "run --once at {now}: {}{}",
            common::text(&out.stdout),
            common::text(&out.stderr)
        );
    }

    /// A pass every day at 09:00 UTC from `first` to `last` (inclusive).
    fn daily(&self, first: &str, last: &str) {
        let mut day = chrono::NaiveDate::parse_from_str(first, "%Y-%m-%d").unwrap();
        let last = chrono::NaiveDate::parse_from_str(last, "%Y-%m-%d").unwrap();
        while day <= last {
            self.pass(&format!("{day}T09:00:00Z"));
            day = day.succ_opt().unwrap();
        }
    }

    /// Every mail in the local outbox, by Message-ID.
    fn sent(&self) -> Vec<Sent> {
        let dir = self.root.join("var/mail/outgoing/new");
        let mut by_id = BTreeMap::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten() {
            let raw = std::fs::read(entry.unwrap().path()).unwrap();
            let m = MessageParser::default().parse(&raw).unwrap();
            let id = m.message_id().unwrap().to_string();
            let purpose = id
                .split('.')
                .nth(1)
                .and_then(|p| p.split('@').next())
                .unwrap_or_default()
                .to_string();
            let to = m
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_string();
            by_id.insert(
                id.clone(),
                Sent {
                    purpose,
                    to,
                    message_id: id,
                    date: m.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
                    text: m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
                },
            );
        }
        let mut all: Vec<Sent> = by_id.into_values().collect();
        // Mails of one pass share a second: then by purpose.
        all.sort_by(|a, b| (&a.date, &a.purpose).cmp(&(&b.date, &b.purpose)));
        all
    }

    fn of(&self, purpose: &str) -> Vec<Sent> {
        self.sent()
            .into_iter()
            .filter(|s| s.purpose == purpose)
            .collect()
    }

    /// Drops a mail into the local inbox (tmp/, then renamed into new/).
    fn receive(&self, name: &str, raw: &str) {
        let inbox = self.root.join("var/mail/inbox");
        std::fs::create_dir_all(inbox.join("tmp")).unwrap();
        std::fs::create_dir_all(inbox.join("new")).unwrap();
        let tmp = inbox.join("tmp").join(name);
        std::fs::write(&tmp, raw.replace('\n', "\r\n")).unwrap();
        std::fs::rename(&tmp, inbox.join("new").join(name)).unwrap();
    }

    fn log(&self) -> Vec<serde_json::Value> {
        let out = handoff(&self.config, &["log", "--json"], "2027-04-30T00:00:00Z");
        common::text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn kinds_in(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|e| e["direction"] == "in")
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    }

    fn milestone_state(&self, now: &str) -> String {
        let out = handoff(&self.config, &["status", "--json"], now);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["engagements"][0]["milestones"][0]["state"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn status(&self, now: &str) -> serde_json::Value {
        let out = handoff(&self.config, &["status", "--json"], now);
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn count(sent: &[Sent], purpose: &str, to: &str) -> usize {
    sent.iter()
        .filter(|s| s.purpose == purpose && s.to == to)
        .count()
}

const ADA: &str = "ada@example.test";
const DANA: &str = "dana@example.test";

/// Outlook desktop: the reply on top, the mail it answers below its header
/// block, verbatim, without `>`.
fn outlook_reply(to: &Sent, id: &str, body: &str) -> String {
    format!(
        "From: Dana Díaz <dana@example.test>\nTo: Ada Lovelace <ada@example.test>\n\
         Subject: RE: Website [site]\nMessage-ID: <{id}@example.test>\n\
         In-Reply-To: <{orig}>\nReferences: <{orig}>\nMIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\n\n{body}\n\n\
         From: Ada Lovelace <ada@example.test>\nSent: Monday, March 1, 2027 10:00 AM\n\
         To: Dana Díaz <dana@example.test>\nSubject: Website [site]\n\n{quoted}\n",
        orig = to.message_id,
        quoted = to.text,
    )
}

/// Gmail: the reply on top, "On … wrote:" and the mail quoted with `>`.
fn gmail_reply(to: &Sent, id: &str, body: &str) -> String {
    let quoted: String = to.text.lines().map(|l| format!("> {l}\n")).collect();
    format!(
        "From: Dana Díaz <dana@example.test>\nTo: Ada Lovelace <ada@example.test>\n\
         Subject: Re: Website [site]\nMessage-ID: <{id}@example.test>\n\
         In-Reply-To: <{orig}>\nReferences: <{orig}>\nMIME-Version: 1.0\n\
         Content-Type: text/plain; charset=UTF-8\n\n{body}\n\n\
         On Thu, Mar 18, 2027 at 10:00 AM Ada Lovelace <ada@example.test> wrote:\n{quoted}",
        orig = to.message_id,
    )
}

#[test]
fn an_outlook_thanks_received_that_quotes_the_instructions_does_not_stop_the_reminders() {
    let h = Install::new();
    h.pass("2027-03-01T09:00:00Z");
    let instructions = h.of("instructions").remove(0);
    assert!(
        instructions.text.contains("deliver"),
        "the quote says deliver"
    );
    h.receive(
        "thanks",
        &outlook_reply(
            &instructions,
            "thanks-1",
            "Thanks, received. I will start on Monday.",
        ),
    );
    h.pass("2027-03-01T15:00:00Z");
    assert_eq!(h.kinds_in(), ["acknowledgement"], "not a delivery");
    assert_eq!(h.milestone_state("2027-03-01T15:00:00Z"), "acknowledged");

    h.daily("2027-03-02", "2027-03-26");
    let sent = h.sent();
    let to_dana: Vec<&str> = sent
        .iter()
        .filter(|s| s.to == DANA)
        .map(|s| s.purpose.as_str())
        .collect();
    assert_eq!(
        to_dana,
        [
            "instructions",
            "milestone_invite",
            "deadline_reminder",
            "deadline_reminder",
            "overdue_notice"
        ],
        "Dana is reminded twice and told once it is late"
    );
    let to_ada: Vec<&str> = sent
        .iter()
        .filter(|s| s.to == ADA)
        .map(|s| s.purpose.as_str())
        .collect();
    assert_eq!(
        to_ada,
        ["notice_silence", "notice_overdue", "escalation"],
        "Dana went quiet after her thanks, then the work is late; no 'please check it' \
         for work that does not exist"
    );
}

#[test]
fn a_delivery_by_link_stops_the_overdue_notice_and_the_owner_is_shown_what_was_written() {
    let h = Install::new();
    h.daily("2027-03-01", "2027-03-18");
    let reminder = h.of("deadline_reminder").remove(0);
    h.receive(
        "pushed",
        &gmail_reply(
            &reminder,
            "pushed-1",
            "Pushed, here is the branch: https://git.example.test/dana/site/tree/draft",
        ),
    );
    h.pass("2027-03-18T12:00:00Z");
    assert_eq!(h.kinds_in(), ["delivery"]);
    assert_eq!(h.milestone_state("2027-03-18T12:00:00Z"), "delivered");

    let notice = h.of("notice_delivery");
    assert_eq!(notice.len(), 1);
    let n = &notice[0].text;
    assert!(n.contains("Pushed, here is the branch"), "{n}");
    assert!(n.contains("read it as a delivery from a link"), "{n}");
    assert!(
        n.contains("\u{201c}pushed\u{201d}"),
        "the words it was read by: {n}"
    );
    assert!(
        !n.contains("A reminder:"),
        "the notice quotes what Dana wrote, not our reminder she quoted: {n}"
    );
    assert!(n.contains("wrong: not delivered"), "how to correct it: {n}");

    h.daily("2027-03-19", "2027-03-30");
    let sent = h.sent();
    assert_eq!(
        count(&sent, "deadline_reminder", DANA),
        1,
        "the 1-day one never went"
    );
    assert_eq!(
        count(&sent, "overdue_notice", DANA),
        0,
        "delivered: nothing is late"
    );
    assert_eq!(count(&sent, "notice_overdue", ADA), 0);
    assert_eq!(count(&sent, "escalation", ADA), 0);
    assert_eq!(
        count(&sent, "notice_recheck", ADA),
        1,
        "a week after the delivery the owner is asked to look again"
    );
}

#[test]
fn a_read_receipt_and_a_delay_hold_nothing_and_a_hard_bounce_says_why() {
    let h = Install::new();
    h.pass("2027-03-01T09:00:00Z");
    let instructions = h.of("instructions").remove(0);
    let id = &instructions.message_id;
    h.receive(
        "1-mdn",
        &format!(
            "From: Dana Díaz <dana@example.test>\nTo: ada@example.test\n\
             Subject: Read: Website [site]\nMessage-ID: <mdn-1@example.test>\n\
             MIME-Version: 1.0\n\
             Content-Type: multipart/report; report-type=disposition-notification; boundary=\"M\"\n\n\
             --M\nContent-Type: text/plain; charset=utf-8\n\n\
             Your message\n\n  To: Dana\n  Subject: Website [site]\n\n\
             was read on Monday, March 1, 2027 11:00:00 AM.\n\
             --M\nContent-Type: message/disposition-notification\n\n\
             Reporting-UA: Microsoft Outlook 16.0\nFinal-Recipient: rfc822;dana@example.test\n\
             Original-Message-ID: <{id}>\n\
             Disposition: manual-action/MDN-sent-manually; displayed\n\n--M--\n"
        ),
    );
    h.receive(
        "2-delayed",
        &dsn(
            id,
            "delayed",
            "4.4.1",
            "smtp; 451 4.4.1 temporary failure, still retrying",
        ),
    );
    h.daily("2027-03-01", "2027-03-18");
    assert_eq!(h.kinds_in(), ["read_receipt", "delivery_delayed"]);
    let sent = h.sent();
    assert_eq!(
        count(&sent, "deadline_reminder", DANA),
        1,
        "mail to Dana still goes: nothing bounced"
    );
    let to_ada: Vec<&str> = sent
        .iter()
        .filter(|s| s.to == ADA)
        .map(|s| s.purpose.as_str())
        .collect();
    assert_eq!(
        to_ada,
        ["notice_silence"],
        "a receipt and a delay tell the owner nothing (no bounce, no 'please check'); \
         neither is Dana writing, so after five days the owner hears she is quiet"
    );
    assert_eq!(
        h.milestone_state("2027-03-18T10:00:00Z"),
        "instructed",
        "a receipt is not an acknowledgement"
    );

    // Then the mailbox fills up for good.
    h.receive(
        "full",
        &dsn(id, "failed", "5.2.2", "smtp; 552 5.2.2 mailbox full"),
    );
    h.pass("2027-03-18T12:00:00Z");
    let bounce = h.of("notice_bounce");
    assert_eq!(bounce.len(), 1);
    assert!(
        bounce[0].text.contains("552 5.2.2 mailbox full"),
        "the owner is told why: {}",
        bounce[0].text
    );
    h.daily("2027-03-19", "2027-03-21");
    let sent = h.sent();
    assert_eq!(
        count(&sent, "deadline_reminder", DANA) + count(&sent, "overdue_notice", DANA),
        1,
        "after a hard bounce mail to Dana is held"
    );
    let paused = &h.status("2027-03-21T10:00:00Z")["paused"];
    assert_eq!(paused[0]["address"], DANA, "{paused}");
}

/// A delivery status notification (RFC 3464) about our mail `id`.
fn dsn(id: &str, action: &str, status: &str, diagnostic: &str) -> String {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\nTo: ada@example.test\n\
         Subject: Delivery Status Notification\nMessage-ID: <dsn-{action}@mx.example.test>\n\
         Auto-Submitted: auto-replied\nMIME-Version: 1.0\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"D\"\n\n\
         --D\nContent-Type: text/plain\n\nThis is the mail system at host mx.example.test.\n\
         --D\nContent-Type: message/delivery-status\n\n\
         Reporting-MTA: dns; mx.example.test\n\n\
         Final-Recipient: rfc822; dana@example.test\nAction: {action}\nStatus: {status}\n\
         Diagnostic-Code: {diagnostic}\n\n\
         --D\nContent-Type: text/rfc822-headers\n\n\
         From: Ada Lovelace <ada@example.test>\nMessage-ID: <{id}>\nSubject: Website [site]\n\n\
         --D--\n"
    )
}
