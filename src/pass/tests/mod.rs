//! The pass with the clock moved by hand: what the schedule decides and the
//! pass queues, over a whole engagement, downtime, quiet hours, the reminder
//! cap. Local mode: nothing leaves the machine.

mod lifecycle;
mod timing;

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
}

impl World {
    fn new(loaded: Loaded) -> World {
        World {
            loaded,
            templates: Templates::load(None).unwrap(),
            store: Store::open_in_memory().unwrap(),
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
