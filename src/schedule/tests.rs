//! The schedule with the clock moved by hand: a whole engagement, downtime,
//! quiet hours, the reminder cap. Local mode: nothing leaves the machine.

use super::*;
use crate::config::{self, Loaded};
use crate::lifecycle::MilestoneEvent;
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

    /// One pass at `now` (reconcile, decide): the mails it queued.
    fn pass(&mut self, now: &str) -> Vec<Sent> {
        let now = t(now);
        let model = &self.loaded.model;
        self.store
            .reconcile(&crate::reconcile::plan(model), now)
            .unwrap();
        let composer = Composer {
            model,
            templates: &self.templates,
        };
        let keys = pass::decide(model, &composer, &mut self.store, now).unwrap();
        let all = self.outbox();
        // (A notice folded into a digest queued in the same pass is queued
        // and taken back in it: not in the outbox.)
        keys.iter()
            .filter_map(|k| all.iter().find(|s| &s.key == k).cloned())
            .collect()
    }

    fn outbox(&self) -> Vec<Sent> {
        self.store
            .due_outbox(t("2100-01-01T00:00:00Z"), 100_000)
            .unwrap()
            .into_iter()
            .map(|m| Sent {
                key: m.idempotency_key,
                purpose: m.purpose,
                to: m.recipient,
                not_before: m.next_attempt_at,
            })
            .collect()
    }

    fn event(&self, kind: &str, milestone: Option<&str>, at: &str) {
        let mut e = NewEvent::internal(kind).engagement("site");
        e.direction = Some(Direction::In);
        e.milestone = milestone.map(str::to_string);
        e.detail = Some("Is the blue OK?".into());
        self.store.record_event(&e, t(at)).unwrap();
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

#[test]
fn a_whole_engagement_from_unsigned_to_evaluated() {
    let mut w = World::new(load(false, "", DRAFT));
    // Unsigned: the agreement request goes out, nothing else (at 08:00 in
    // New York: 05:00 there is inside Dana's quiet hours).
    assert_eq!(
        w.pass("2027-02-01T10:00:00Z"),
        [sent(
            "agreement_request/site",
            "agreement_request",
            DANA,
            "2027-02-01T13:00:00Z"
        )]
    );
    assert_eq!(w.pass("2027-02-05T10:00:00Z"), []);
    // A week on, still unsigned: the owner is reminded, weekly.
    assert_eq!(
        w.pass("2027-02-08T10:00:00Z"),
        [sent(
            "agreement_reminder/site/2027-02-08T10:00:00+00:00",
            "agreement_reminder",
            ADA,
            "2027-02-08T10:00:00Z"
        )]
    );
    assert_eq!(w.pass("2027-02-09T10:00:00Z"), []);

    // Signed; work starts 1 March (midnight Berlin = 23:00 UTC the day before).
    w.loaded = load(true, "", DRAFT);
    assert_eq!(w.pass("2027-02-10T10:00:00Z"), []);
    let keys: Vec<String> = w
        .pass("2027-03-01T08:00:00Z")
        .into_iter()
        .map(|s| {
            // 03:00 in New York: held to the end of Dana's quiet hours.
            assert_eq!(s.not_before, t("2027-03-01T13:00:00Z"), "{s:?}");
            s.key
        })
        .collect();
    assert_eq!(keys, ["instructions/site", "invite/site/draft/0"]);
    // Monday 09:00 in New York (EST): the first status request.
    assert_eq!(
        w.pass("2027-03-01T14:00:00Z"),
        [sent(
            "status_request/site/2027-03-01T14:00:00+00:00",
            "status_request",
            DANA,
            "2027-03-01T14:00:00Z"
        )]
    );
    w.store
        .apply_milestone(
            "site",
            "draft",
            MilestoneEvent::Acknowledged,
            t("2027-03-02T15:00:00Z"),
        )
        .unwrap();
    w.event("acknowledgement", None, "2027-03-02T15:00:00Z");
    // No report by the next request: the owner hears of it.
    assert_eq!(
        w.pass("2027-03-08T14:00:00Z"),
        [
            sent(
                "status_missing/site/2027-03-01T14:00:00+00:00",
                "notice_status_missing",
                ADA,
                "2027-03-08T14:00:00Z"
            ),
            sent(
                "status_request/site/2027-03-08T14:00:00+00:00",
                "status_request",
                DANA,
                "2027-03-08T14:00:00Z"
            ),
        ]
    );
    w.event("status_report", None, "2027-03-09T12:00:00Z");
    // 15 March 09:00 Berlin: the payment reminder to the owner.
    assert_eq!(
        w.pass("2027-03-15T08:00:00Z"),
        [sent(
            "payment/site/2027-03-15T08:00:00+00:00",
            "notice_payment_due",
            ADA,
            "2027-03-15T08:00:00Z"
        )]
    );
    w.store
        .record_event(
            &NewEvent::internal("owner_paid").engagement("site"),
            t("2027-03-16T09:00:00Z"),
        )
        .unwrap();
    // New York is on daylight time since 14 March: 09:00 is now 13:00 UTC.
    assert_eq!(
        w.pass("2027-03-15T13:00:00Z"),
        [sent(
            "status_request/site/2027-03-15T13:00:00+00:00",
            "status_request",
            DANA,
            "2027-03-15T13:00:00Z"
        )]
    );
    w.event("status_report", None, "2027-03-16T12:00:00Z");
    // Due 20 March, end of day Berlin = 22:59:59 UTC; reminders 3d and 1d before.
    assert_eq!(
        w.pass("2027-03-17T23:00:00Z"),
        [sent(
            "remind/site/draft/3d",
            "deadline_reminder",
            DANA,
            "2027-03-17T23:00:00Z"
        )]
    );
    assert_eq!(w.pass("2027-03-18T23:00:00Z"), []);
    assert_eq!(
        w.pass("2027-03-19T23:00:00Z"),
        [sent(
            "remind/site/draft/1d",
            "deadline_reminder",
            DANA,
            "2027-03-19T23:00:00Z"
        )]
    );
    // Due and not delivered: the contractor's notice and the owner's.
    assert_eq!(
        w.pass("2027-03-20T23:00:00Z"),
        [
            sent(
                "overdue/site/draft",
                "overdue_notice",
                DANA,
                "2027-03-20T23:00:00Z"
            ),
            sent(
                "overdue_owner/site/draft",
                "notice_overdue",
                ADA,
                "2027-03-20T23:00:00Z"
            ),
        ]
    );
    assert_eq!(w.pass("2027-03-21T23:00:00Z"), []);
    // Delivered late, before the escalation: no escalation, and nothing
    // open means no more status requests or silence alerts.
    w.event("delivery", Some("draft"), "2027-03-23T10:00:00Z");
    w.store
        .apply_milestone(
            "site",
            "draft",
            MilestoneEvent::Delivered,
            t("2027-03-23T10:00:00Z"),
        )
        .unwrap();
    assert_eq!(w.pass("2027-03-24T00:00:00Z"), []);
    assert_eq!(w.pass("2027-03-29T13:00:00Z"), []);
    // A week after delivery: the owner re-checks.
    assert_eq!(
        w.pass("2027-03-30T10:00:00Z"),
        [sent(
            "recheck/site/draft/2027-03-30T10:00:00+00:00",
            "notice_recheck",
            ADA,
            "2027-03-30T10:00:00Z"
        )]
    );
    w.store
        .apply_milestone(
            "site",
            "draft",
            MilestoneEvent::Accepted,
            t("2027-03-30T11:00:00Z"),
        )
        .unwrap();
    // 1 April 10:00 Berlin (summer time): the evaluation, with the record.
    let eval = w.pass("2027-04-01T08:00:00Z");
    assert_eq!(
        eval,
        [sent(
            "evaluation/site/2027-04-01T08:00:00+00:00",
            "notice_evaluation_due",
            ADA,
            "2027-04-01T08:00:00Z"
        )]
    );
    let body = w
        .store
        .due_outbox(t("2100-01-01T00:00:00Z"), 1000)
        .unwrap()
        .into_iter()
        .find(|m| m.purpose == "notice_evaluation_due")
        .unwrap()
        .message;
    let body = text_of(&body);
    assert!(body.contains("0 delivered on time, 1 late"), "{body}");
    // The owner evaluates; the record is complete and nothing more is due
    // until the next scheduled item.
    w.store
        .record_event(
            &NewEvent::internal("owner_evaluated").engagement("site"),
            t("2027-04-01T09:00:00Z"),
        )
        .unwrap();
    assert_eq!(w.pass("2027-04-01T12:00:00Z"), []);
    let next = next_due(&w.loaded.model, &w.store, t("2027-04-01T12:00:00Z")).unwrap();
    // The second re-check, 90 days after the first.
    assert_eq!(next, Some(t("2027-06-28T10:00:00Z")));
}

#[test]
fn ten_days_down_sends_one_overdue_notice_not_ten() {
    let mut w = World::new(load(true, "", DRAFT));
    w.pass("2027-03-01T14:00:00Z");
    // Down from 1 March until 10 days after the due date.
    let queued = w.pass("2027-03-30T22:00:00Z");
    let purposes: Vec<&str> = queued.iter().map(|s| s.purpose.as_str()).collect();
    assert_eq!(
        purposes.iter().filter(|p| **p == "overdue_notice").count(),
        1,
        "{queued:?}"
    );
    // Missed reminders are not sent late (the due date passed), the weekly
    // status requests missed coalesce into one, and the escalation (3 days
    // after due, within the horizon) goes once.
    assert!(!purposes.contains(&"deadline_reminder"), "{queued:?}");
    assert_eq!(
        purposes.iter().filter(|p| **p == "status_request").count(),
        1
    );
    assert_eq!(purposes.iter().filter(|p| **p == "escalation").count(), 1);
    // Every later pass adds nothing of the kind: no storm.
    for day in 1..=10 {
        let now = t("2027-03-30T22:00:00Z") + TimeDelta::days(day);
        let again = w.pass(&now.to_rfc3339());
        assert!(
            again.iter().all(|s| !matches!(
                s.purpose.as_str(),
                "overdue_notice" | "notice_overdue" | "escalation"
            )),
            "{again:?}"
        );
    }
    let overdue = w
        .outbox()
        .into_iter()
        .filter(|s| s.purpose == "overdue_notice")
        .count();
    assert_eq!(overdue, 1);
}

#[test]
fn past_the_horizon_a_schedule_is_skipped_not_caught_up() {
    let mut w = World::new(load(true, "catch_up_horizon = \"2d\"", DRAFT));
    w.pass("2027-03-01T14:00:00Z");
    // Down until Thursday: Monday's request is 3 days old, past the 2-day horizon.
    let queued = w.pass("2027-03-11T14:00:00Z");
    assert!(
        queued.iter().all(|s| s.purpose != "status_request"),
        "{queued:?}"
    );
}

#[test]
fn a_reminder_inside_quiet_hours_waits_until_morning_across_midnight() {
    // Due 11 May 05:30 Berlin = 03:30 UTC; the 1-day reminder falls at 23:30
    // in New York on 9 May, inside Dana's 20:00-08:00.
    let ms = r#"
[[engagement.milestone]]
id = "late"
title = "Late one"
due = 2027-05-11T05:30:00
remind_before = ["1d"]
"#;
    let mut w = World::new(load(true, "", ms));
    w.pass("2027-05-09T12:00:00Z");
    let q = w.pass("2027-05-10T03:30:00Z");
    let r = q.iter().find(|s| s.purpose == "deadline_reminder").unwrap();
    // 08:00 EDT on 10 May.
    assert_eq!(r.not_before, t("2027-05-10T12:00:00Z"));
}

#[test]
fn over_the_daily_cap_reminders_are_held_to_the_next_day() {
    let ms = r#"
[[engagement.milestone]]
id = "a"
title = "A"
due = 2027-04-10T18:00:00
remind_before = ["1d"]

[[engagement.milestone]]
id = "b"
title = "B"
due = 2027-04-10T18:00:00
remind_before = ["1d"]
"#;
    let mut w = World::new(load(true, "", ms));
    w.pass("2027-04-08T12:00:00Z");
    // 18:00 Berlin = 16:00 UTC = 12:00 in New York.
    let q = w.pass("2027-04-09T16:00:00Z");
    let reminders: Vec<&Sent> = q
        .iter()
        .filter(|s| s.purpose == "deadline_reminder")
        .collect();
    assert_eq!(reminders.len(), 2, "{q:?}");
    assert_eq!(reminders[0].not_before, t("2027-04-09T16:00:00Z"));
    // The second waits for Dana's next day, and her quiet hours: 08:00 EDT.
    assert_eq!(reminders[1].not_before, t("2027-04-10T12:00:00Z"));
    // With a cap of 2, both go now.
    let mut w = World::new(load(true, "max_reminders_per_day = 2", ms));
    w.pass("2027-04-08T12:00:00Z");
    let q = w.pass("2027-04-09T16:00:00Z");
    assert!(
        q.iter()
            .filter(|s| s.purpose == "deadline_reminder")
            .all(|s| s.not_before == t("2027-04-09T16:00:00Z")),
        "{q:?}"
    );
}

#[test]
fn an_unanswered_question_reminds_the_owner_once_quoting_it() {
    let mut w = World::new(load(true, "", DRAFT));
    w.pass("2027-03-01T14:00:00Z");
    w.event("question", None, "2027-03-03T10:00:00Z");
    assert!(
        w.pass("2027-03-04T09:00:00Z")
            .iter()
            .all(|s| s.purpose != "notice_unanswered")
    );
    let q = w.pass("2027-03-04T10:00:00Z");
    assert_eq!(
        q,
        [sent(
            "unanswered/site/2027-03-03T10:00:00+00:00",
            "notice_unanswered",
            ADA,
            "2027-03-04T10:00:00Z"
        )]
    );
    let m = w
        .store
        .due_outbox(t("2100-01-01T00:00:00Z"), 100)
        .unwrap()
        .into_iter()
        .find(|m| m.purpose == "notice_unanswered")
        .unwrap();
    assert!(text_of(&m.message).contains("Is the blue OK?"));
    assert_eq!(w.pass("2027-03-05T10:00:00Z"), []);
    // Answered: a later question starts a new clock; the old one is done.
    w.store
        .record_event(
            &NewEvent::internal("owner_answered").engagement("site"),
            t("2027-03-05T11:00:00Z"),
        )
        .unwrap();
    assert_eq!(w.pass("2027-03-07T10:00:00Z"), []);
}

#[test]
fn the_digest_goes_to_the_owner_on_monday_morning() {
    let src = load(true, "", DRAFT);
    let mut model = src.model.clone();
    model.policy.digest = Some(config::schedule("0 8 * * MON", chrono_tz::Europe::Berlin).unwrap());
    model.engagements[0].budget = Some(crate::money::Money {
        cents: 200_000,
        currency: "EUR".into(),
    });
    let mut w = World::new(src);
    w.loaded.model = model;
    w.pass("2027-03-01T06:00:00Z");
    w.store
        .transaction(|tx| {
            tx.record_event(
                &crate::store::NewEvent::internal("owner_paid")
                    .engagement("site")
                    .detail("500.00 EUR"),
                t("2027-03-01T06:30:00Z"),
            )
        })
        .unwrap();
    // 08:00 Berlin (CET) = 07:00 UTC.
    let q = w.pass("2027-03-01T07:00:00Z");
    let d = q.iter().find(|s| s.purpose == "digest").unwrap();
    assert_eq!(d.to, ADA);
    assert_eq!(d.key, "digest/2027-03-01T07:00:00+00:00");
    let m = w
        .store
        .due_outbox(t("2100-01-01T00:00:00Z"), 100)
        .unwrap()
        .into_iter()
        .find(|m| m.purpose == "digest")
        .unwrap();
    let text = text_of(&m.message);
    assert!(text.contains("Website (site, Dana"), "{text}");
    assert!(
        text.contains("budget: 500.00 EUR of 2000.00 EUR spent (25 %)"),
        "{text}"
    );
}

#[test]
fn next_due_is_the_earliest_future_item() {
    let mut w = World::new(load(true, "", DRAFT));
    w.pass("2027-03-01T14:00:00Z");
    let next = next_due(&w.loaded.model, &w.store, t("2027-03-01T14:00:00Z")).unwrap();
    // The next Monday's status request.
    assert_eq!(next, Some(t("2027-03-08T14:00:00Z")));
    // Before work starts, the start itself is the next thing.
    let mut w2 = World::new(load(true, "", DRAFT));
    w2.store
        .reconcile(
            &crate::reconcile::plan(&w2.loaded.model),
            t("2027-02-20T00:00:00Z"),
        )
        .ok();
    let next = next_due(&w2.loaded.model, &w2.store, t("2027-02-20T00:00:00Z")).unwrap();
    assert_eq!(next, Some(t("2027-02-28T23:00:00Z")));
}

#[test]
fn human_periods() {
    assert_eq!(rules::human(TimeDelta::days(3)), "3 days");
    assert_eq!(rules::human(TimeDelta::days(1)), "1 day");
    assert_eq!(rules::human(TimeDelta::hours(36)), "1 day 12 hours");
    assert_eq!(rules::human(TimeDelta::minutes(30)), "30 minutes");
}

#[test]
fn a_milestone_due_before_the_start_is_overdue_from_the_start_not_before() {
    let ms = r#"
[[engagement.milestone]]
id = "early"
title = "Early"
due = 2027-02-20
"#;
    let mut w = World::new(load(true, "", ms));
    // Signed, not started: nothing goes out although the due date has passed.
    assert_eq!(w.pass("2027-02-25T12:00:00Z"), []);
    let q = w.pass("2027-03-01T14:00:00Z");
    let overdue: Vec<&Sent> = q.iter().filter(|s| s.purpose == "overdue_notice").collect();
    assert_eq!(overdue.len(), 1, "{q:?}");
}

#[test]
fn with_owner_notices_digest_a_notice_that_can_wait_is_folded_into_the_digest() {
    let src = load(true, "", DRAFT);
    let mut model = src.model.clone();
    model.policy.digest = Some(config::schedule("0 8 * * MON", chrono_tz::Europe::Berlin).unwrap());
    model.policy.owner_notices = crate::model::OwnerNotices::Digest;
    let mut w = World::new(src);
    w.loaded.model = model;
    w.pass("2027-03-01T06:00:00Z");
    // Monday 15 March, 09:00 Berlin: the payment falls due. The notice is
    // queued, but held for the next digest (Monday 22nd, 08:00 CET).
    let q = w.pass("2027-03-15T08:00:00Z");
    let pay = q
        .iter()
        .find(|s| s.purpose == "notice_payment_due")
        .expect("payment notice queued");
    assert_eq!(pay.not_before, t("2027-03-22T07:00:00Z"));
    let held = pay.key.clone();
    // The digest comes, lists it, and it is not sent on its own.
    let q = w.pass("2027-03-22T07:00:00Z");
    assert!(q.iter().any(|s| s.purpose == "digest"), "{q:?}");
    let outbox = w.store.due_outbox(t("2100-01-01T00:00:00Z"), 100).unwrap();
    assert!(
        outbox.iter().all(|m| m.idempotency_key != held),
        "the payment notice was taken back"
    );
    let digest = outbox
        .iter()
        .find(|m| m.purpose == "digest" && m.idempotency_key.contains("2027-03-22"))
        .unwrap();
    let text = text_of(&digest.message);
    assert!(text.contains("Notices since the last digest"), "{text}");
    assert!(text.contains("payment"), "{text}");
    // A question still goes at once.
    assert!(!crate::pass::folds_into_digest(
        &w.loaded.model,
        Purpose::NoticeQuestion
    ));
    assert!(crate::pass::folds_into_digest(
        &w.loaded.model,
        Purpose::NoticeDelivery
    ));
}
