//! The pass with the clock moved by hand: what the schedule decides and the
//! pass queues, over a whole engagement, downtime, quiet hours, the reminder
//! cap. Local mode: nothing leaves the machine.

mod ending;
mod hold;
mod install;
mod lifecycle;
mod outage;
mod redo;
mod silence;
mod timing;
mod views;
mod year;
mod year_checks;

use super::*;
use crate::config::{self, Loaded};
use crate::lifecycle::MilestoneEvent;
use crate::store::Store;
use crate::store::{Direction, NewEvent};
use crate::templates::Templates;
use std::path::Path;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const BASE: &str = r#"
[owner]
name = "Ada Lovelace"
email = "ada@example.test"
timezone = "Europe/Berlin"

[policy]
silence_alert_after = "10d"
digest = "off"
POLICY

[[contractor]]
id = "dana"
name = "Dana Díaz"
email = "dana@example.test"
timezone = "America/New_York"

[[engagement]]
id = "site"
contractor = "dana"
title = "Website"
SIGNED
starts = 2027-03-01
deliverables = "Pages"
quality_standard = "Valid HTML"
performance_standard = "On time"
status_reports = "0 9 * * MON"
evaluation = "0 10 1 4 *"
payment = "0 9 15 3 *"
MILESTONES
"#;

const DRAFT: &str = r#"
[[engagement.milestone]]
id = "draft"
title = "Draft"
due = 2027-03-20
remind_before = ["3d", "1d"]
"#;

fn load(signed: bool, policy: &str, milestones: &str) -> Loaded {
    let src = BASE
        .replace(
            "SIGNED",
            if signed {
                "agreement_signed = 2027-02-10"
            } else {
                ""
            },
        )
        .replace("POLICY", policy)
        .replace("MILESTONES", milestones);
    config::parse(Path::new("test.toml"), &src, Path::new("/tmp"), None)
        .unwrap_or_else(|e| panic!("{e:?}"))
}

/// A queued mail as the tests look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sent {
    key: String,
    purpose: String,
    to: String,
    not_before: DateTime<Utc>,
}

struct World {
    loaded: Loaded,
    templates: Templates,
    store: Store,
    /// The last inbound UID used.
    uid: u32,
}

impl World {
    fn new(loaded: Loaded) -> World {
        World {
            loaded,
            templates: Templates::load(None).unwrap(),
            store: Store::open_in_memory().unwrap(),
            uid: 0,
        }
    }

    /// One pass at `now` (reconcile, decide, deliver): the mails it queued.
    /// Delivery is the outbox's bookkeeping alone (each due mail marked sent
    /// at `now`, as the sender does once the transport took it; a held
    /// address keeps its mail), so the rules see what reached whom.
    fn pass(&mut self, now: &str) -> Vec<Sent> {
        let now = t(now);
        let model = &self.loaded.model;
        self.store
            .reconcile(&crate::planned::engagements(model), now)
            .unwrap();
        let composer = Composer {
            model,
            templates: &self.templates,
        };
        let keys = decide(model, &composer, &mut self.store, now).unwrap();
        let all = self.outbox();
        self.deliver(now);
        // (A notice folded into a digest queued in the same pass is queued
        // and taken back in it: not in the outbox.)
        keys.iter()
            .filter_map(|k| all.iter().find(|s| &s.key == k).cloned())
            .collect()
    }

    /// Marks every mail whose time has come sent at `now`.
    fn deliver(&mut self, now: DateTime<Utc>) {
        for m in self.store.due_outbox(now, 100_000).unwrap() {
            self.store.mark_sent(m.id, now).unwrap();
        }
    }

    /// Every mail queued and not taken back, sent or still waiting.
    fn outbox(&self) -> Vec<Sent> {
        self.store
            .outbox_all()
            .unwrap()
            .into_iter()
            .filter(|(_, status, _)| status != "failed")
            .map(|(m, _, _)| Sent {
                key: m.idempotency_key,
                purpose: m.purpose,
                to: m.recipient,
                not_before: m.next_attempt_at,
            })
            .collect()
    }

    /// The text of the latest mail of `purpose` (sent or waiting).
    fn text(&self, purpose: &str) -> String {
        let m = self
            .store
            .outbox_all()
            .unwrap()
            .into_iter()
            .rev()
            .find(|(m, status, _)| m.purpose == purpose && status != "failed")
            .unwrap_or_else(|| panic!("no {purpose} mail"))
            .0;
        text_of(&m.message)
    }

    /// The Message-ID of the latest mail of `purpose` that was sent.
    fn sent_id(&self, purpose: &str) -> String {
        self.store
            .outbox_all()
            .unwrap()
            .into_iter()
            .rev()
            .find(|(m, status, _)| m.purpose == purpose && status == "sent")
            .unwrap_or_else(|| panic!("no {purpose} mail was sent"))
            .0
            .message_id
    }

    /// A mail arriving at `at`, through the real inbox pipeline: its kind.
    fn receive(&mut self, at: &str, raw: &str) -> String {
        self.uid += 1;
        let model = &self.loaded.model;
        let composer = Composer {
            model,
            templates: &self.templates,
        };
        let inbox = crate::inbox::Inbox {
            model,
            composer: &composer,
        };
        let source = crate::inbox::Source {
            account: "test".into(),
            uid_validity: 1,
            uid: self.uid,
            truncated: false,
        };
        inbox
            .ingest(&mut self.store, raw.as_bytes(), &source, t(at), false)
            .unwrap()
            .kind
    }

    /// Dana replies at `at` to the latest `purpose` mail she was sent.
    fn reply(&mut self, at: &str, purpose: &str, body: &str) -> String {
        let cited = self.sent_id(purpose);
        let raw = format!(
            "From: Dana <dana@example.test>\r\nTo: ada@example.test\r\nSubject: Re: Website [site]\r\nMessage-ID: <reply{}@example.test>\r\nIn-Reply-To: {cited}\r\nReferences: {cited}\r\n\r\n{body}\r\n",
            self.uid + 1
        );
        self.receive(at, &raw)
    }

    /// Dana's mailbox refuses the latest `purpose` mail: the bounce arrives.
    fn bounce(&mut self, at: &str, purpose: &str, diagnostic: &str) -> String {
        let cited = self.sent_id(purpose);
        let raw = format!(
            "From: MAILER-DAEMON@mail.example.test (Mail Delivery System)\r\nTo: ada@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn{}@mail.example.test>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n<dana@example.test>: host mx.example.test said: {diagnostic}\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; dana@example.test\r\nAction: failed\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {cited}\r\n\r\n--b--\r\n",
            self.uid + 1
        );
        self.receive(at, &raw)
    }

    /// The owner acts at `at`, as `handoff sign/accept/redo/…` does.
    fn act(
        &mut self,
        at: &str,
        action: crate::actions::OwnerAction,
    ) -> crate::actions::ActionOutcome {
        let model = &self.loaded.model;
        let composer = Composer {
            model,
            templates: &self.templates,
        };
        crate::actions::apply(
            model,
            &composer,
            &mut self.store,
            "site",
            action,
            crate::actions::Origin::Command,
            t(at),
        )
        .unwrap()
    }

    /// A journal event from the contractor, as the inbox records it: a
    /// genuine kind also resets the silence clock (the inbox's
    /// `Kind::is_genuine`, mirrored here for the kinds these tests use).
    fn event(&self, kind: &str, milestone: Option<&str>, at: &str) {
        let mut e = NewEvent::internal(kind).engagement("site");
        e.direction = Some(Direction::In);
        e.milestone = milestone.map(str::to_string);
        e.detail = Some("Is the blue OK?".into());
        self.store.record_event(&e, t(at)).unwrap();
        if [
            "acknowledgement",
            "status_report",
            "delivery",
            "question",
            "calendar_reply",
            "message",
        ]
        .contains(&kind)
        {
            self.store.record_contact("site", kind, t(at)).unwrap();
        }
    }
}

fn sent(key: &str, purpose: &str, to: &str, not_before: &str) -> Sent {
    Sent {
        key: key.into(),
        purpose: purpose.into(),
        to: to.into(),
        not_before: t(not_before),
    }
}

/// The plain-text part of a composed mail, decoded.
fn text_of(raw: &[u8]) -> String {
    mail_parser::MessageParser::default()
        .parse(raw)
        .and_then(|m| m.body_text(0).map(|b| b.into_owned()))
        .unwrap_or_default()
}

const ADA: &str = "ada@example.test";
const DANA: &str = "dana@example.test";
