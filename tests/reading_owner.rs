//! The owner's say over what Handoff read, over the real mail servers: the
//! notices reach the owner through Postfix and Dovecot, the owner's replies
//! ("wrong: status report", "accept" to a counter-proposal) come back the
//! same way and are read from the mailbox into the pipeline, the commands
//! (`handoff correct`, `handoff delivered`, `handoff counter decline`) run
//! as the owner types them, and the contractor receives what follows, and
//! nothing where nothing should follow.

mod common;

use chrono::{DateTime, Utc};
use common::{Account, MailStack, contains, imap, smtp};
use handoff::inbox::{Inbox, Outcome, Source};
use handoff::lifecycle::MilestoneState;
use handoff::outbox::{Composer, Transport};
use handoff::store::{EventFilter, Store};
use handoff::templates::Templates;
use mail_parser::MessageParser;
use std::path::Path;
use std::time::Duration;

const NOW: &str = "2026-11-24T15:00:00Z";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn config(stack: &MailStack, dir: &Path, id: &str) -> std::path::PathBuf {
    stack.write_config(
        dir,
        "outgoing = \"smtp\"\nincoming = \"maildir\"",
        "",
        &format!(
            r#"
[[engagement]]
id = "{id}"
contractor = "dana"
title = "Website"
agreement_signed = 2026-11-02
starts = 2026-11-24
deliverables = "Five pages"
quality_standard = "Valid HTML"
performance_standard = "On time"

[[engagement.milestone]]
id = "wireframes"
title = "Wireframes"
due = 2026-12-05

[[engagement.milestone]]
id = "copy"
title = "Copy"
due = 2026-12-12
"#
        ),
    )
}

fn message_id(raw: &[u8]) -> String {
    let m = MessageParser::default().parse(raw).expect("parses");
    format!("<{}>", m.message_id().expect("a Message-ID"))
}

/// The text/calendar part of a mail, decoded.
fn calendar(raw: &[u8]) -> String {
    use mail_parser::MimeHeaders;
    let m = MessageParser::default().parse(raw).expect("parses");
    m.parts
        .iter()
        .find(|p| {
            p.content_type().is_some_and(|ct| {
                ct.subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("calendar"))
            })
        })
        .and_then(|p| p.text_contents())
        .map(str::to_string)
        .expect("a text/calendar part")
}

fn body(raw: &[u8]) -> String {
    MessageParser::default()
        .parse(raw)
        .and_then(|m| m.body_text(0).map(|b| b.into_owned()))
        .unwrap_or_default()
}

/// Waits for Handoff's mail of `purpose` in `account`'s INBOX that contains
/// every needle.
async fn arrives(stack: &MailStack, account: &Account, purpose: &str, needles: &[&str]) -> Vec<u8> {
    let session = imap::login_starttls(stack, account).await.expect("login");
    let marker = format!(".{purpose}@");
    let (mut session, got) = imap::wait_for(session, "INBOX", Duration::from_secs(20), |m| {
        needles.iter().all(|n| contains(m, n)) && message_id(m).contains(&marker)
    })
    .await;
    let _ = session.logout().await;
    got.unwrap_or_else(|| panic!("no {purpose} with {needles:?} for {}", account.user))
}

/// Waits for a mail (not Handoff's) whose Message-ID holds `tag`.
async fn arrives_id(stack: &MailStack, account: &Account, tag: &str) -> Vec<u8> {
    let session = imap::login_starttls(stack, account).await.expect("login");
    let (mut session, got) = imap::wait_for(session, "INBOX", Duration::from_secs(20), |m| {
        message_id(m).contains(tag)
    })
    .await;
    let _ = session.logout().await;
    got.unwrap_or_else(|| panic!("no mail {tag} for {}", account.user))
}

/// How many of Handoff's mails of this engagement `account` has received.
async fn count_for(stack: &MailStack, account: &Account, tag: &str) -> usize {
    let mut session = imap::login_starttls(stack, account).await.expect("login");
    let n = imap::fetch_all(&mut session, "INBOX")
        .await
        .iter()
        .filter(|m| contains(m, tag))
        .count();
    let _ = session.logout().await;
    n
}

struct Owner {
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
    model: handoff::model::Model,
    templates: Templates,
    transport: Transport,
    id: String,
    tag: String,
    uid: u32,
}

impl Owner {
    fn new(stack: &MailStack, tag: &str) -> Owner {
        let id = common::unique(tag).replace(' ', "-");
        let dir = tempfile::tempdir().unwrap();
        let config = config(stack, dir.path(), &id);
        let model = handoff::config::load(&config).expect("config").model;
        Owner {
            transport: Transport::from_model(&model).expect("transport"),
            templates: Templates::load(None).unwrap(),
            tag: format!("[{id}]"),
            model,
            config,
            id,
            _dir: dir,
            uid: 0,
        }
    }

    fn store(&self) -> Store {
        Store::open(&self.model.mail.state).unwrap()
    }

    async fn pass(&self) -> handoff::pass::PassReport {
        let mut store = self.store();
        handoff::pass::run_once(
            &self.model,
            &self.templates,
            &mut store,
            &self.transport,
            t(NOW),
        )
        .await
        .expect("pass")
    }

    /// Reads a mail fetched from the owner's mailbox into the pipeline.
    fn ingest(&mut self, raw: &[u8]) -> Outcome {
        self.uid += 1;
        let composer = Composer {
            model: &self.model,
            templates: &self.templates,
        };
        let inbox = Inbox {
            model: &self.model,
            composer: &composer,
        };
        let source = Source {
            account: format!("imap-{}", self.id),
            uid_validity: 1,
            uid: self.uid,
            truncated: false,
        };
        inbox
            .ingest(&mut self.store(), raw, &source, t(NOW), false)
            .expect("ingest")
    }

    fn state(&self, milestone: &str) -> MilestoneState {
        self.store()
            .engagement(&self.id)
            .unwrap()
            .unwrap()
            .milestones
            .into_iter()
            .find(|m| m.id == milestone)
            .unwrap()
            .state
    }

    fn run(&self, args: &[&str]) -> String {
        let out = common::handoff(&self.config, args, NOW);
        assert!(
            out.status.success(),
            "handoff {args:?}: {}{}",
            common::text(&out.stdout),
            common::text(&out.stderr)
        );
        common::text(&out.stdout)
    }

    fn kinds(&self) -> Vec<String> {
        self.store()
            .events(&EventFilter {
                engagement: Some(self.id.clone()),
                limit: None,
            })
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }
}

/// A mail from `from` to `to` on the thread of `cites`.
fn mail(from: &str, to: &str, subject: &str, id: &str, cites: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: <{to}>\r\nSubject: {subject}\r\nMessage-ID: <{id}@example.test>\r\n\
         In-Reply-To: {cites}\r\nReferences: {cites}\r\nDate: Tue, 24 Nov 2026 16:00:00 +0100\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

#[tokio::test]
async fn a_misreading_is_corrected_by_reply_and_by_command_and_nothing_reaches_the_contractor() {
    let stack = MailStack::shared();
    let mut o = Owner::new(stack, "correct");
    let (dana, ada) = (&stack.contractor, &stack.owner);
    let dana_from = format!("Dana Diaz <{}>", dana.user);
    let ada_from = format!("Ada Lovelace <{}>", ada.user);

    o.pass().await;
    let instructions = message_id(&arrives(stack, dana, "instructions", &[&o.tag]).await);

    // Dana shares notes; Handoff reads a delivery phrase with a link.
    let notes = mail(
        &dana_from,
        &ada.user,
        &format!("Re: Website {}", o.tag),
        &format!("notes-{}", o.id),
        &instructions,
        &format!(
            "Here are my first notes on the layout: https://notes.example.test/{}",
            o.id
        ),
    );
    smtp::send_raw(stack, dana, &[&ada.user], notes.as_bytes())
        .await
        .expect("Dana sends");
    let got = arrives_id(stack, ada, &format!("notes-{}", o.id)).await;
    assert_eq!(o.ingest(&got).kind, "delivery");
    assert_eq!(o.state("wireframes"), MilestoneState::Delivered);

    // The notice says what was read, from which words, and how to undo it.
    o.pass().await;
    let notice = arrives(stack, ada, "notice_delivery", &[&format!("{}:", o.id)]).await;
    let text = body(&notice);
    assert!(
        text.contains("Here are my first notes on the layout"),
        "{text}"
    );
    assert!(text.contains("read it as a delivery from a link"), "{text}");
    assert!(text.contains("wrong: not delivered"), "{text}");
    let to_dana = count_for(stack, dana, &o.tag).await;

    // Ada answers the notice: it was a status report.
    let wrong = mail(
        &ada_from,
        &ada.user,
        &format!("Re: [Handoff] {}", o.id),
        &format!("wrong-{}", o.id),
        &message_id(&notice),
        "wrong: status report\r\n\r\nAda",
    );
    smtp::send_raw(stack, ada, &[&ada.user], wrong.as_bytes())
        .await
        .expect("Ada replies");
    let got = arrives_id(stack, ada, &format!("wrong-{}", o.id)).await;
    let outcome = o.ingest(&got);
    assert_eq!(outcome.kind, "owner_command", "{}", outcome.why);
    assert!(
        outcome
            .why
            .contains("now read as status_report (was delivery)"),
        "{}",
        outcome.why
    );
    assert_eq!(
        o.state("wireframes"),
        MilestoneState::Acknowledged,
        "open for its delivery again"
    );
    let kinds = o.kinds();
    for k in [
        "owner_corrected",
        "reading_corrected",
        "milestone_delivery_retracted",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} journaled: {kinds:?}");
    }
    let notes_id = format!("<notes-{}@example.test>", o.id);
    let readings: Vec<String> = o
        .store()
        .readings_of(&notes_id)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        readings,
        ["status_report"],
        "the mail now stands as what Ada said"
    );

    // A question, corrected by command before its notice went out.
    let ask = mail(
        &dana_from,
        &ada.user,
        &format!("Re: Website {}", o.tag),
        &format!("ask-{}", o.id),
        &instructions,
        "Thanks! Should I also send the old logo files?",
    );
    smtp::send_raw(stack, dana, &[&ada.user], ask.as_bytes())
        .await
        .expect("Dana asks");
    let got = arrives_id(stack, ada, &format!("ask-{}", o.id)).await;
    assert_eq!(o.ingest(&got).kind, "question");
    let said = o.run(&[
        "correct",
        &format!("<ask-{}@example.test>", o.id),
        "message",
    ]);
    assert!(
        said.contains("now read as message (was question)"),
        "{said}"
    );
    assert_eq!(
        o.store().latest_unanswered_question(&o.id).unwrap(),
        None,
        "no question waits for an answer"
    );
    let report = o.pass().await;
    assert_eq!(
        report.delivery.sent, 0,
        "the question's notice was withdrawn before it went: {:?}",
        report.queued
    );

    // A delivery Handoff never saw (a link in a chat): recorded by command,
    // then accepted; only the acceptance reaches Dana.
    let said = o.run(&["delivered", &o.id, "wireframes"]);
    assert!(said.contains("recorded as delivered"), "{said}");
    assert_eq!(o.state("wireframes"), MilestoneState::Delivered);
    assert_eq!(
        count_for(stack, dana, &o.tag).await,
        to_dana,
        "corrections and a recorded delivery send Dana nothing"
    );
    o.run(&[
        "accept",
        &o.id,
        "wireframes",
        "--notes",
        "Thanks, the notes helped",
    ]);
    o.pass().await;
    arrives(
        stack,
        dana,
        "delivery_accepted",
        &[&o.tag, "the notes helped"],
    )
    .await;
    assert_eq!(o.state("wireframes"), MilestoneState::Accepted);
}

/// An Outlook "propose new time" for a milestone's all-day event.
fn counter(stack: &MailStack, o: &Owner, uid: &str, title: &str, day: &str, id: &str) -> String {
    let next = chrono::NaiveDate::parse_from_str(day, "%Y%m%d")
        .unwrap()
        .succ_opt()
        .unwrap()
        .format("%Y%m%d");
    let ics = format!(
        "BEGIN:VCALENDAR\r\nMETHOD:COUNTER\r\nPRODID:Microsoft Exchange Server 2010\r\n\
         VERSION:2.0\r\nBEGIN:VEVENT\r\n\
         ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=Dana Diaz:mailto:{dana}\r\n\
         COMMENT;LANGUAGE=en-US:Could we make it a few days later?\r\nUID:{uid}\r\n\
         SUMMARY;LANGUAGE=en-US:New Time Proposed: Due: {title} {tag}\r\n\
         DTSTART;VALUE=DATE:{day}\r\nDTEND;VALUE=DATE:{next}\r\n\
         DTSTAMP:20261124T120000Z\r\nSEQUENCE:0\r\n\
         ORGANIZER;CN=Ada Lovelace:mailto:{ada}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        dana = stack.contractor.user,
        ada = stack.owner.user,
        tag = o.tag,
    );
    format!(
        "From: Dana Diaz <{dana}>\r\nTo: <{ada}>\r\n\
         Subject: New Time Proposed: Due: {title} {tag}\r\nMessage-ID: <{id}@example.test>\r\n\
         Date: Tue, 24 Nov 2026 16:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"C\"\r\n\r\n\
         --C\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCould we make it a few days later?\r\n\
         --C\r\nContent-Type: text/calendar; charset=utf-8; method=COUNTER\r\n\r\n{ics}\r\n--C--\r\n",
        dana = stack.contractor.user,
        ada = stack.owner.user,
        tag = o.tag,
    )
}

#[tokio::test]
async fn a_counter_proposal_reaches_the_owner_and_is_accepted_by_reply_or_declined_by_command() {
    let stack = MailStack::shared();
    let mut o = Owner::new(stack, "counter");
    let (dana, ada) = (&stack.contractor, &stack.owner);
    o.pass().await;
    arrives(stack, dana, "milestone_invite", &[&o.tag, "Wireframes"]).await;
    let uid_of = |o: &Owner, m: &str| {
        o.store()
            .engagement(&o.id)
            .unwrap()
            .unwrap()
            .milestones
            .into_iter()
            .find(|x| x.id == m)
            .unwrap()
            .calendar_uid
    };
    let wireframes = uid_of(&o, "wireframes");

    // Dana's calendar proposes Thursday 10 December for the wireframes.
    let proposal = counter(
        stack,
        &o,
        &wireframes,
        "Wireframes",
        "20261210",
        &format!("c1-{}", o.id),
    );
    smtp::send_raw(stack, dana, &[&ada.user], proposal.as_bytes())
        .await
        .expect("Dana proposes");
    let got = arrives_id(stack, ada, &format!("c1-{}", o.id)).await;
    let outcome = o.ingest(&got);
    assert_eq!(outcome.kind, "calendar_counter", "{}", outcome.why);
    assert_eq!(outcome.milestone.as_deref(), Some("wireframes"));

    // The owner is told, with the date proposed and the date agreed.
    o.pass().await;
    let notice = arrives(stack, ada, "notice_counter", &[&format!("{}:", o.id)]).await;
    let text = body(&notice);
    assert!(
        text.contains("Thursday, December 10, 2026"),
        "the date proposed: {text}"
    );
    assert!(
        text.contains("Saturday, December 5, 2026"),
        "the date agreed: {text}"
    );
    assert!(
        text.contains("Could we make it a few days later?"),
        "{text}"
    );

    // Ada accepts by reply.
    let accept = mail(
        &format!("Ada Lovelace <{}>", ada.user),
        &ada.user,
        &format!("Re: [Handoff] {}", o.id),
        &format!("ok-{}", o.id),
        &message_id(&notice),
        "accept",
    );
    smtp::send_raw(stack, ada, &[&ada.user], accept.as_bytes())
        .await
        .expect("Ada accepts");
    let got = arrives_id(stack, ada, &format!("ok-{}", o.id)).await;
    let outcome = o.ingest(&got);
    assert_eq!(outcome.kind, "owner_command", "{}", outcome.why);
    assert!(
        outcome.why.starts_with("owner_counter_accepted"),
        "{}",
        outcome.why
    );

    // status and plan follow the new date; the config still says the old one.
    let status: serde_json::Value = serde_json::from_str(&o.run(&["status", "--json"])).unwrap();
    let due = status["engagements"][0]["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "wireframes")
        .unwrap()["due"]
        .clone();
    assert_eq!(due, "2026-12-10T22:59:59+00:00");
    assert!(
        std::fs::read_to_string(&o.config)
            .unwrap()
            .contains("due = 2026-12-05")
    );
    let plan = o.run(&["plan", "--days", "20", "--json"]);
    let reminders: Vec<serde_json::Value> = plan
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["purpose"] == "deadline_reminder" && e["milestone"] == "wireframes")
        .collect();
    assert_eq!(reminders.len(), 1, "{plan}");
    assert_eq!(
        reminders[0]["at"], "2026-12-09T22:59:59Z",
        "a day before the new date"
    );

    // Dana's calendar gets the update: same UID, SEQUENCE 1, the new day.
    o.pass().await;
    let update = arrives(stack, dana, "milestone_invite", &[&o.tag, "SEQUENCE:1"]).await;
    let ics = calendar(&update);
    assert!(ics.contains("DTSTART;VALUE=DATE:20261210"), "{ics}");
    assert!(ics.contains(&format!("UID:{wireframes}")), "{ics}");
    assert!(
        body(&update).contains("now due Thursday, December 10, 2026"),
        "{}",
        body(&update)
    );
    // Reconciling the unchanged config keeps the agreed date.
    o.pass().await;
    assert_eq!(
        o.store().engagement(&o.id).unwrap().unwrap().milestones[0].due,
        t("2026-12-10T22:59:59Z")
    );

    // A proposal for the copy, declined by command: Dana's calendar is told.
    let copy = uid_of(&o, "copy");
    let proposal = counter(
        stack,
        &o,
        &copy,
        "Copy",
        "20261220",
        &format!("c2-{}", o.id),
    );
    smtp::send_raw(stack, dana, &[&ada.user], proposal.as_bytes())
        .await
        .expect("Dana proposes again");
    let got = arrives_id(stack, ada, &format!("c2-{}", o.id)).await;
    assert_eq!(o.ingest(&got).kind, "calendar_counter");
    let said = o.run(&["counter", "decline", &o.id, "copy"]);
    assert!(said.contains("copy stays due"), "{said}");
    o.pass().await;
    let declined = arrives(stack, dana, "counter_declined", &[&o.tag]).await;
    let ics = calendar(&declined);
    assert!(ics.contains("METHOD:DECLINECOUNTER"), "{ics}");
    assert!(ics.contains(&format!("UID:{copy}")), "{ics}");
    assert!(
        body(&declined).contains("as agreed: Saturday, December 12, 2026"),
        "{}",
        body(&declined)
    );
    let kinds = o.kinds();
    assert!(kinds.iter().any(|k| k == "owner_counter_accepted"));
    assert!(kinds.iter().any(|k| k == "owner_counter_declined"));
}
