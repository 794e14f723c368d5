//! The owner's acts, by command and by reply, in local mode: each changes
//! what `handoff status` shows, journals what `handoff log` shows, and queues
//! the mail the contractor (or the owner) then finds in the outgoing folder.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXAMPLE: &str = include_str!("../config/handoff.toml");
/// 08:00 in New York: Dana's quiet hours are over, so her mail goes at once.
const NOW: &str = "2026-11-24T13:00:00Z";

fn handoff(config: &Path, args: &[&str]) -> Output {
    handoff_at(config, args, NOW)
}

fn handoff_at(config: &Path, args: &[&str], now: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("HANDOFF_NOW", now)
        .env_remove("HANDOFF_CONFIG")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .inspect(|out| common::ical::check_run(config, &out.stdout))
        .expect("run handoff")
}

/// Runs a command that must succeed; returns its stdout.
fn ok(config: &Path, args: &[&str]) -> String {
    let out = handoff(config, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}{}",
        common::text(&out.stdout),
        common::text(&out.stderr)
    );
    common::text(&out.stdout)
}

/// Runs a command that must fail with `code`; returns its stderr.
fn fails(config: &Path, args: &[&str], code: i32) -> String {
    let out = handoff(config, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}{}",
        common::text(&out.stdout),
        common::text(&out.stderr)
    );
    common::text(&out.stderr)
}

struct Owner {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
}

impl Owner {
    /// The example config, with `edit` applied, and one pass done.
    fn new(edit: impl FnOnce(&str) -> String) -> Owner {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("handoff.toml");
        std::fs::write(&config, edit(EXAMPLE)).unwrap();
        let owner = Owner {
            root: dir.path().to_path_buf(),
            _dir: dir,
            config,
        };
        owner.run();
        owner
    }

    /// Work has started: instructions and invitations are out.
    fn started() -> Owner {
        Owner::new(str::to_string)
    }

    fn run(&self) -> String {
        ok(&self.config, &["run", "--once"])
    }

    /// Every mail sent so far (.eml text).
    fn sent(&self) -> Vec<String> {
        let dir = self.root.join("var/mail/outgoing/new");
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// The sent mails of one purpose (their Message-ID names it).
    fn sent_of(&self, purpose: &str) -> Vec<String> {
        let marker = format!(".{purpose}@");
        self.sent()
            .into_iter()
            .filter(|m| message_id(m).contains(&marker))
            .collect()
    }

    /// Drops a mail into the local inbox (read by the next pass).
    fn receive(&self, name: &str, raw: &str) {
        let new = self.root.join("var/mail/inbox/new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(new.join(name), raw.replace('\n', "\r\n")).unwrap();
    }

    /// Puts a mail into the owner's local Sent folder.
    fn owner_sent(&self, name: &str, raw: &str) {
        let cur = self.root.join("var/mail/sent/cur");
        std::fs::create_dir_all(&cur).unwrap();
        std::fs::write(cur.join(name), raw.replace('\n', "\r\n")).unwrap();
    }

    fn status(&self) -> serde_json::Value {
        serde_json::from_str(&ok(&self.config, &["status", "--json"])).unwrap()
    }

    fn milestone(&self, id: &str) -> String {
        let v = self.status();
        v["engagements"][0]["milestones"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()["state"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn state(&self) -> String {
        self.status()["engagements"][0]["state"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn events(&self, kind: &str) -> Vec<serde_json::Value> {
        ok(&self.config, &["log", "--json"])
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["kind"] == kind)
            .collect()
    }

    fn instructions_id(&self) -> String {
        message_id(&self.sent_of("instructions")[0])
    }

    /// Dana delivers (a link, replying to the instructions); the pass records
    /// it and sends the owner the delivery notice, whose Message-ID it returns.
    fn delivered(&self, n: u32) -> String {
        let refs = self.instructions_id();
        self.receive(
            &format!("17640000{n}.D{n}.host"),
            &format!(
                "From: Dana Diaz <dana@example.test>\nTo: Ada Lovelace <ada@example.test>\n\
                 Subject: Re: Company website redesign [website]\nMessage-ID: <delivery{n}@dana.example.test>\n\
                 In-Reply-To: {refs}\nReferences: {refs}\nDate: Tue, 24 Nov 2026 08:00:00 -0500\n\n\
                 Here are the files: https://example.test/branch-{n}\n"
            ),
        );
        let out = self.run();
        assert!(out.contains("received 1 (delivery)"), "{out}");
        let notices = self.sent_of("notice_delivery");
        message_id(notices.last().unwrap())
    }

    /// Dana asks a question; returns the question's Message-ID.
    fn asked(&self, n: u32) -> String {
        let refs = self.instructions_id();
        let id = format!("<question{n}@dana.example.test>");
        self.receive(
            &format!("17640001{n}.Q{n}.host"),
            &format!(
                "From: Dana Diaz <dana@example.test>\nTo: Ada Lovelace <ada@example.test>\n\
                 Subject: Re: Company website redesign [website]\nMessage-ID: {id}\n\
                 In-Reply-To: {refs}\nReferences: {refs}\nDate: Tue, 24 Nov 2026 08:00:00 -0500\n\n\
                 Can we move the kickoff to Thursday?\n"
            ),
        );
        let out = self.run();
        assert!(out.contains("received 1 (question)"), "{out}");
        id
    }

    /// A mail from `from` citing `cites`, with `body`, into the inbox.
    fn reply_from(&self, name: &str, from: &str, cites: Option<&str>, body: &str) {
        let threading = cites
            .map(|c| format!("In-Reply-To: {c}\nReferences: {c}\n"))
            .unwrap_or_default();
        self.receive(
            name,
            &format!(
                "From: {from}\nTo: Ada Lovelace <ada@example.test>\nSubject: Re: [Handoff] website\n\
                 Message-ID: <{name}@mail.example.test>\n{threading}Date: Tue, 24 Nov 2026 14:00:00 +0100\n\n\
                 {body}\n\nOn Tue, 24 Nov 2026, Ada Lovelace wrote:\n> accept\n> Then record the outcome\n"
            ),
        );
    }
}

fn message_id(eml: &str) -> String {
    eml.lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .expect("a Message-ID")
        .trim()
        .to_string()
}

/// The decoded text of a mail's plain part (quoted-printable or not).
fn body(eml: &str) -> String {
    let unfolded = eml.replace("=\r\n", "");
    let mut out = String::new();
    let mut chars = unfolded.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '=' {
            let hex: String = chars.clone().take(2).collect();
            if let Ok(b) = u8::from_str_radix(&hex, 16) {
                chars.next();
                chars.next();
                out.push(b as char);
                continue;
            }
        }
        out.push(c);
    }
    out
}

fn to(eml: &str) -> String {
    eml.lines()
        .find_map(|l| l.strip_prefix("To: "))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn accept_by_command_records_it_and_confirms_to_the_contractor_with_the_notes() {
    let o = Owner::started();
    o.delivered(1);
    assert_eq!(o.milestone("wireframes"), "delivered");
    let out = ok(
        &o.config,
        &["accept", "website", "--notes", "Crisp work, thank you"],
    );
    assert!(out.contains("website/wireframes accepted"), "{out}");
    assert_eq!(o.milestone("wireframes"), "accepted");
    let ev = o.events("owner_accept");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["milestone"], "wireframes");
    assert_eq!(ev[0]["detail"], "Crisp work, thank you");
    assert_eq!(ev[0]["direction"], "internal");

    o.run();
    let mails = o.sent_of("delivery_accepted");
    assert_eq!(mails.len(), 1);
    assert!(to(&mails[0]).contains("dana@example.test"), "{}", mails[0]);
    assert!(body(&mails[0]).contains("Crisp work, thank you"));
    assert!(body(&mails[0]).contains("\"Wireframes\" and accept it"));

    // Accepted is final: a second accept is refused and changes nothing.
    let err = fails(&o.config, &["accept", "website", "wireframes"], 1);
    assert!(err.contains("website/wireframes is `accepted`"), "{err}");
    assert_eq!(o.events("owner_accept").len(), 1);
}

#[test]
fn accepting_every_milestone_finishes_the_engagement() {
    let o = Owner::started();
    o.delivered(1);
    ok(&o.config, &["accept", "website"]);
    o.delivered(2);
    let out = ok(&o.config, &["accept", "website", "launch"]);
    assert!(out.contains("the engagement is finished"), "{out}");
    assert_eq!(o.state(), "finished");
}

#[test]
fn the_milestone_must_be_named_unless_one_is_delivered() {
    let o = Owner::started();
    let err = fails(&o.config, &["accept", "website"], 1);
    assert_eq!(
        err,
        "handoff: website has no delivered milestone to accept\n"
    );
    o.delivered(1);
    o.delivered(2);
    let err = fails(&o.config, &["accept", "website"], 2);
    assert_eq!(
        err,
        "handoff: website has two delivered milestones (wireframes, launch): name one\n"
    );
    let err = fails(&o.config, &["accept", "website", "logo"], 2);
    assert!(err.contains("website has no milestone `logo`"), "{err}");
    let err = fails(&o.config, &["accept", "shop"], 2);
    assert!(err.contains("no engagement `shop`"), "{err}");
    assert!(o.events("owner_accept").is_empty());
}

#[test]
fn redo_sends_the_reason_to_the_contractor() {
    let o = Owner::started();
    o.delivered(1);
    fails(&o.config, &["redo", "website", "wireframes"], 2);
    ok(
        &o.config,
        &[
            "redo",
            "website",
            "wireframes",
            "--notes",
            "The header overlaps the logo on phones",
        ],
    );
    assert_eq!(o.milestone("wireframes"), "redo");
    assert_eq!(
        o.events("owner_redo")[0]["detail"],
        "The header overlaps the logo on phones"
    );
    o.run();
    let mails = o.sent_of("redo_request");
    assert_eq!(mails.len(), 1);
    assert!(to(&mails[0]).contains("dana@example.test"));
    assert!(body(&mails[0]).contains("The header overlaps the logo on phones"));
}

#[test]
fn redo_with_a_date_tells_the_contractor_the_date_and_status_shows_it() {
    let o = Owner::started();
    o.delivered(1);
    let err = fails(
        &o.config,
        &[
            "redo",
            "website",
            "wireframes",
            "--notes",
            "Fix",
            "--due",
            "soon",
        ],
        2,
    );
    assert!(err.contains("--due: `soon` is not a date"), "{err}");
    let err = fails(
        &o.config,
        &[
            "redo",
            "website",
            "wireframes",
            "--notes",
            "Fix",
            "--due",
            "2026-11-20",
        ],
        2,
    );
    assert!(err.contains("is not in the future"), "{err}");
    let out = ok(
        &o.config,
        &[
            "redo",
            "website",
            "wireframes",
            "--notes",
            "The header overlaps the logo on phones",
            "--due",
            "2026-12-12",
        ],
    );
    assert!(
        out.contains("due again Sat 12 Dec 2026, 23:59 CET"),
        "{out}"
    );
    let v = o.status();
    let m = &v["engagements"][0]["milestones"][0];
    assert_eq!(
        (&m["state"], &m["due"]),
        (&"redo".into(), &"2026-12-12T22:59:59+00:00".into())
    );
    o.run();
    let mails = o.sent_of("redo_request");
    assert_eq!(mails.len(), 1);
    assert!(
        body(&mails[0]).contains(
            "Please send the revised work by Saturday, December 12, 2026, end of day in Berlin"
        ),
        "{}",
        body(&mails[0])
    );
}

#[test]
fn end_with_notes_sends_the_contractor_a_closing_mail_with_them() {
    let o = Owner::started();
    ok(
        &o.config,
        &[
            "end",
            "website",
            "--notes",
            "Budget cut, sorry. Thank you, Dana.",
        ],
    );
    o.run();
    let closing = o.sent_of("closing_note");
    assert_eq!(closing.len(), 1);
    assert!(to(&closing[0]).contains("dana@example.test"));
    assert!(
        body(&closing[0]).contains("Budget cut, sorry. Thank you, Dana."),
        "{}",
        body(&closing[0])
    );
    // Without notes there is nothing to say: no closing mail.
    let o = Owner::started();
    ok(&o.config, &["end", "website"]);
    o.run();
    assert!(o.sent_of("closing_note").is_empty());
}

#[test]
fn sign_starts_an_engagement_whose_agreement_was_pending() {
    let o = Owner::new(|c| c.replace("agreement_signed = 2026-11-02", ""));
    assert_eq!(o.state(), "awaiting_agreement");
    assert_eq!(o.sent_of("agreement_request").len(), 1);
    assert!(o.sent_of("instructions").is_empty());
    let out = ok(&o.config, &["sign", "website"]);
    assert!(out.contains("website signed"), "{out}");
    assert_eq!(o.state(), "active");
    assert_eq!(o.events("owner_signed").len(), 1);
    o.run();
    assert_eq!(o.sent_of("instructions").len(), 1, "instructions on starts");
    let err = fails(&o.config, &["sign", "website"], 1);
    assert!(err.contains("already signed"), "{err}");
}

#[test]
fn evaluate_records_the_score_and_sends_the_feedback() {
    let o = Owner::started();
    fails(&o.config, &["evaluate", "website", "--score", "7"], 2);
    ok(
        &o.config,
        &[
            "evaluate",
            "website",
            "--score",
            "4",
            "--notes",
            "Reliable; answers slowly",
        ],
    );
    assert_eq!(
        o.events("owner_evaluated")[0]["detail"],
        "4: Reliable; answers slowly"
    );
    o.run();
    let mails = o.sent_of("evaluation_feedback");
    assert_eq!(mails.len(), 1);
    assert!(to(&mails[0]).contains("dana@example.test"));
    let b = body(&mails[0]);
    assert!(
        b.contains("4 out of 5") && b.contains("Reliable; answers slowly"),
        "{b}"
    );
}

#[test]
fn payments_count_against_the_budget_with_one_notice_at_80_and_one_at_100_percent() {
    let o = Owner::started();
    let paid = |args: &[&str]| {
        let mut a = vec!["paid", "website"];
        a.extend_from_slice(args);
        ok(&o.config, &a)
    };
    let out = paid(&["3000", "EUR"]);
    assert!(
        out.contains("3000.00 EUR of 6000.00 EUR spent (50 %)"),
        "{out}"
    );
    assert!(!out.contains("queued"), "no notice at 50 %: {out}");
    let out = paid(&["1800"]); // the budget's currency
    assert!(out.contains("queued notice_budget/website/80"), "{out}");
    paid(&["EUR", "100.50"]);
    let out = paid(&["1099.50 EUR"]);
    assert!(out.contains("(100 %)"), "{out}");
    assert!(out.contains("queued notice_budget/website/100"), "{out}");
    let out = paid(&["10 EUR"]);
    assert!(!out.contains("queued"), "each notice once: {out}");
    paid(&[]); // a payment without an amount is recorded, not counted

    let err = fails(&o.config, &["paid", "website", "5", "USD"], 2);
    assert!(
        err.contains("website's budget is in EUR; a payment of 5.00 USD cannot count against it"),
        "{err}"
    );
    let err = fails(&o.config, &["paid", "website", "lots"], 2);
    assert!(err.contains("not an amount"), "{err}");

    let details: Vec<_> = o
        .events("owner_paid")
        .iter()
        .map(|e| e["detail"].clone())
        .collect();
    assert_eq!(
        details,
        [
            "3000.00 EUR",
            "1800.00 EUR",
            "100.50 EUR",
            "1099.50 EUR",
            "10.00 EUR"
        ]
        .iter()
        .map(|d| serde_json::json!(d))
        .chain([serde_json::Value::Null])
        .collect::<Vec<_>>()
    );
    let b = &o.status()["engagements"][0]["budget"];
    assert_eq!(b["spent"], "6010.00 EUR");
    assert_eq!(b["agreed"], "6000.00 EUR");
    assert_eq!(b["percent"], 100);
    assert!(
        ok(&o.config, &["status"]).contains("budget: 6010.00 EUR of 6000.00 EUR spent (100 %)")
    );

    o.run();
    let notices = o.sent_of("notice_budget");
    assert_eq!(notices.len(), 2);
    assert!(notices.iter().all(|n| to(n).contains("ada@example.test")));
    assert!(
        notices
            .iter()
            .any(|n| n.contains("Subject: [Handoff] website: 80 % of the budget spent"))
    );
    assert!(
        notices
            .iter()
            .any(|n| body(n).contains("6000.00 EUR of 6000.00 EUR"))
    );
}

#[test]
fn end_cancels_open_invitations_and_nothing_more_goes_out() {
    let o = Owner::started();
    o.delivered(1);
    ok(&o.config, &["accept", "website"]);
    let out = ok(&o.config, &["end", "website", "--notes", "Budget cut"]);
    assert!(
        out.contains("1 open milestone(s) cancelled, 2 invitation(s) withdrawn"),
        "{out}"
    );
    assert_eq!(o.state(), "ended");
    assert_eq!(o.milestone("wireframes"), "accepted", "the record is kept");
    assert_eq!(o.milestone("launch"), "cancelled");
    assert_eq!(o.events("owner_end")[0]["detail"], "Budget cut");
    o.run();
    let cancels = o.sent_of("invite_cancel");
    assert_eq!(cancels.len(), 2, "the open milestone and the kickoff ahead");
    for c in &cancels {
        assert!(to(c).contains("dana@example.test"));
        assert!(
            c.contains("METHOD:CANCEL") && c.contains("STATUS:CANCELLED"),
            "{c}"
        );
        assert!(c.contains("SEQUENCE:1"), "{c}");
    }
    assert!(cancels.iter().any(|c| c.contains("UID:website-launch-")));
    assert!(cancels.iter().any(|c| c.contains("UID:website.kickoff.")));
    assert!(
        !cancels
            .iter()
            .any(|c| c.contains("UID:website-wireframes-")),
        "accepted work stays"
    );
    let before = o.sent().len();
    let out = o.run();
    assert!(out.starts_with("queued 0; sent 0"), "{out}");
    assert_eq!(o.sent().len(), before);
    fails(&o.config, &["end", "website"], 1);
}

#[test]
fn end_withdraws_contractor_mail_still_waiting_in_the_outbox() {
    let o = Owner::started();
    // 22:00 in New York: the feedback waits for the end of Dana's quiet hours.
    let night = "2026-11-25T03:00:00Z";
    let out = handoff_at(&o.config, &["evaluate", "website", "--score", "2"], night);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let out = handoff_at(&o.config, &["end", "website"], night);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let out = handoff_at(&o.config, &["run", "--once"], "2026-11-25T14:00:00Z");
    assert!(out.status.success());
    assert!(o.sent_of("evaluation_feedback").is_empty());
    assert_eq!(
        o.sent_of("invite_cancel").len(),
        3,
        "the cancellations still go"
    );
    assert_eq!(
        o.events("outbox_withdrawn")[0]["detail"],
        "1 queued mail(s) to the contractor"
    );
}

#[test]
fn answered_marks_the_latest_unanswered_question() {
    let o = Owner::started();
    fails(&o.config, &["answered", "website"], 1);
    let q = o.asked(1);
    ok(&o.config, &["answered", "website"]);
    let ev = o.events("owner_answered");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["message_id"], q.as_str());
    let err = fails(&o.config, &["answered", "website"], 1);
    assert_eq!(err, "handoff: website has no unanswered question\n");
}

#[test]
fn an_owner_reply_to_a_delivery_notice_accepts_that_delivery() {
    let o = Owner::started();
    let notice = o.delivered(1);
    o.reply_from(
        "r1",
        "Ada Lovelace <ADA@example.test>",
        Some(&notice),
        "accept: Lovely work",
    );
    let out = o.run();
    assert!(out.contains("received 1 (owner_command)"), "{out}");
    assert_eq!(o.milestone("wireframes"), "accepted");
    let ev = o.events("owner_accept");
    assert_eq!(ev[0]["detail"], "Lovely work");
    assert_eq!(ev[0]["direction"], "in");
    assert_eq!(ev[0]["message_id"], "<r1@mail.example.test>");
    // The confirmation was queued with the act and sent in the same pass.
    let mails = o.sent_of("delivery_accepted");
    assert_eq!(mails.len(), 1);
    assert!(body(&mails[0]).contains("Lovely work"));
}

#[test]
fn owner_replies_redo_paid_evaluated_end_answered_act_like_the_commands() {
    let o = Owner::started();
    let notice = o.delivered(1);
    o.reply_from(
        "r1",
        "ada@example.test",
        Some(&notice),
        "redo: the footer links are dead",
    );
    o.reply_from("r2", "ada@example.test", Some(&notice), "paid 300");
    o.reply_from(
        "r3",
        "ada@example.test",
        Some(&notice),
        "Evaluated 5: great to work with",
    );
    let out = o.run();
    assert!(
        out.contains("received 3 (owner_command, owner_command, owner_command)"),
        "{out}"
    );
    assert_eq!(o.milestone("wireframes"), "redo");
    assert_eq!(o.events("owner_paid")[0]["detail"], "300.00 EUR");
    assert_eq!(
        o.events("owner_evaluated")[0]["detail"],
        "5: great to work with"
    );
    assert!(body(&o.sent_of("redo_request")[0]).contains("the footer links are dead"));

    let q = o.asked(1);
    let question_notice = message_id(&o.sent_of("notice_question")[0]);
    o.reply_from("r4", "ada@example.test", Some(&question_notice), "answered");
    o.reply_from(
        "r5",
        "ada@example.test",
        Some(&question_notice),
        "end: we part ways",
    );
    o.reply_from("r6", "ada@example.test", Some(&question_notice), "answered");
    let out = o.run();
    assert!(
        out.contains("received 3 (owner_command, owner_command, owner_command_rejected)"),
        "{out}"
    );
    assert_eq!(o.events("owner_answered").len(), 1);
    assert_eq!(o.events("owner_answered")[0]["message_id"], q.as_str());
    assert!(
        o.events("owner_command_rejected")[0]["detail"]
            .as_str()
            .unwrap()
            .contains("is already answered")
    );
    assert_eq!(o.state(), "ended");
}

#[test]
fn commands_that_fail_the_tests_change_nothing_and_are_journaled() {
    let o = Owner::started();
    let notice = o.delivered(1);
    let instructions = o.instructions_id();
    // A forged From citing no notice, or a made-up one; the owner citing a
    // mail that went to the contractor; a reply that is not a command; a
    // command the state refuses; a stranger citing the real notice.
    o.reply_from("f1", "Ada Lovelace <ada@example.test>", None, "accept");
    o.reply_from(
        "f2",
        "ada@example.test",
        Some("<0123456789abcdef.notice_delivery@example.test>"),
        "accept",
    );
    o.reply_from("f3", "ada@example.test", Some(&instructions), "accept");
    o.reply_from(
        "f4",
        "ada@example.test",
        Some(&notice),
        "Thanks, will look tonight",
    );
    o.reply_from("f5", "ada@example.test", Some(&notice), "paid 20 USD");
    o.reply_from("f6", "eve@example.test", Some(&notice), "accept");
    let out = o.run();
    assert!(
        out.contains(
            "received 6 (owner_command_rejected, owner_command_rejected, owner_command_rejected, \
             owner_command_rejected, owner_command_rejected, ignored_sender)"
        ),
        "{out}"
    );
    assert_eq!(o.milestone("wireframes"), "delivered");
    assert!(o.events("owner_accept").is_empty());
    assert!(o.events("owner_paid").is_empty());
    assert!(o.sent_of("delivery_accepted").is_empty());
    let why: Vec<String> = o
        .events("owner_command_rejected")
        .iter()
        .map(|e| e["detail"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(why.len(), 5);
    assert!(why[0].contains("cites no notice"), "{why:?}");
    assert!(why[1].contains("cites no notice"), "{why:?}");
    assert!(why[2].contains("cites no notice"), "{why:?}");
    assert!(why[3].contains("is not a command"), "{why:?}");
    assert!(why[4].contains("budget is in EUR"), "{why:?}");
}

#[test]
fn an_owner_reply_on_a_question_thread_in_sent_answers_it_once() {
    let o = Owner::started();
    let q = o.asked(1);
    let instructions = o.instructions_id();
    // Unrelated sent mail changes nothing.
    o.owner_sent(
        "s0:2,S",
        &format!(
            "From: Ada Lovelace <ada@example.test>\nTo: dana@example.test\nSubject: Re: x\n\
             Message-ID: <s0@ada.example.test>\nIn-Reply-To: {instructions}\n\nSee you.\n"
        ),
    );
    o.owner_sent(
        "s1:2,S",
        &format!(
            "From: Ada Lovelace <ada@example.test>\nTo: dana@example.test\n\
             Subject: Re: Company website redesign [website]\nMessage-ID: <s1@ada.example.test>\n\
             In-Reply-To: {q}\nReferences: {instructions} {q}\n\nThursday works.\n"
        ),
    );
    let out = o.run();
    assert!(out.contains("received 1 (owner_answered)"), "{out}");
    let ev = o.events("owner_answered");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["message_id"], q.as_str());
    let out = o.run();
    assert!(
        !out.contains("received"),
        "each sent mail looked at once: {out}"
    );
    assert_eq!(o.events("owner_answered").len(), 1);
}

#[test]
fn a_bad_budget_is_a_config_error_with_its_place() {
    let o = Owner::started();
    std::fs::write(
        &o.config,
        EXAMPLE.replace("budget = \"6000 EUR\"", "budget = \"6000 euros\""),
    )
    .unwrap();
    let err = fails(&o.config, &["check"], 2);
    // The line of the budget key in the example, wherever it moves.
    let line = EXAMPLE
        .lines()
        .position(|l| l.starts_with("budget = "))
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!(
            "handoff.toml:{line}:10: `budget` in engagement \"website\": `6000 euros` is not an amount"
        )),
        "{err}"
    );
    assert!(err.contains("expected a number and a currency"), "{err}");
}

#[test]
fn finishing_an_engagement_mails_the_owner_one_closing_review() {
    let o = Owner::started();
    ok(&o.config, &["paid", "website", "1500"]);
    o.delivered(1);
    ok(
        &o.config,
        &["redo", "website", "--notes", "The menu overlaps"],
    );
    o.delivered(2);
    ok(&o.config, &["accept", "website", "wireframes"]);
    ok(
        &o.config,
        &["evaluate", "website", "--score", "4", "--notes", "Solid"],
    );
    o.delivered(3);
    let out = ok(&o.config, &["accept", "website", "launch"]);
    assert!(out.contains("its review goes to you"), "{out}");
    o.run();
    let reviews = o.sent_of("notice_closing_review");
    assert_eq!(reviews.len(), 1, "one review");
    let mail = body(&reviews[0]);
    assert!(to(&reviews[0]).contains("ada@example.test"));
    assert!(
        reviews[0].contains("Subject: [Handoff] website: closing review (finished)"),
        "{}",
        reviews[0]
    );
    for line in [
        "- Spent: 1500.00 EUR of the 6000.00 EUR budget (25 %)",
        "- Redone: Wireframes (once)",
        "- Late milestones: none",
        "- Evaluations: 4/5 on Tuesday, November 24, 2026 (\"Solid\")",
        "- redo requests: 1",
    ] {
        assert!(mail.contains(line), "no {line:?} in:\n{mail}");
    }
    // The same review, on demand.
    let status = ok(&o.config, &["status", "website"]);
    assert!(
        status.contains("Closing review of website (finished"),
        "{status}"
    );
    assert!(status.contains("- Redone: Wireframes (once)"), "{status}");
    // Nothing queued twice: a later pass sends no second review.
    o.run();
    assert_eq!(o.sent_of("notice_closing_review").len(), 1);
}

#[test]
fn ending_an_engagement_mails_a_review_of_what_was_never_delivered() {
    let o = Owner::started();
    let out = ok(&o.config, &["end", "website", "--notes", "Budget cut"]);
    assert!(out.contains("its review goes to you"), "{out}");
    o.run();
    let reviews = o.sent_of("notice_closing_review");
    assert_eq!(reviews.len(), 1);
    let mail = body(&reviews[0]);
    assert!(reviews[0].contains("closing review (ended)"));
    assert!(
        mail.contains("- Never delivered: Wireframes, Site live"),
        "{mail}"
    );
    assert!(
        mail.contains("- Spent: 0.00 EUR of the 6000.00 EUR budget (0 %)"),
        "{mail}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&o.config, &["status", "website", "--json"])).unwrap();
    assert_eq!(json["engagement"]["state"], "ended");
    assert_eq!(json["review"]["closed"], "ended");
    assert_eq!(json["review"]["milestones"][0]["state"], "cancelled");
    fails(&o.config, &["status", "shop"], 2);
}

#[test]
fn contractors_prints_each_record_across_engagements() {
    let o = Owner::started();
    o.delivered(1);
    ok(&o.config, &["paid", "website", "200"]);
    let text = ok(&o.config, &["contractors"]);
    assert!(
        text.starts_with("dana  Dana Díaz  (engagements: website)\n"),
        "{text}"
    );
    assert!(
        text.contains("  milestones: 1 on time, 0 late, 1 open\n"),
        "{text}"
    );
    assert!(text.contains("  paid: 200.00 EUR\n"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&o.config, &["contractors", "--json"])).unwrap();
    assert_eq!(json[0]["id"], "dana");
    assert_eq!(json[0]["milestones"]["on_time"], 1);
    // The delivery answered the instructions (a reply after the request).
    assert_eq!(json[0]["responses"]["answered"], 1);
    assert_eq!(json[0]["paid"][0], "200.00 EUR");
}
