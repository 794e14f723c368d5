//! Time's edges: downtime, the catch-up horizon, quiet hours, the reminder
//! cap, the digest.

use super::*;
use crate::schedule::next_due;
use chrono::TimeDelta;

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
    // Missed reminders are not sent late (the due date passed), and the
    // weekly status requests missed coalesce into one.
    assert!(!purposes.contains(&"deadline_reminder"), "{queued:?}");
    assert_eq!(
        purposes.iter().filter(|p| **p == "status_request").count(),
        1
    );
    // The escalation does not go in the same pass as the overdue notice
    // (issue 17: it did, the contractor and the owner told in one second):
    // it follows escalate_after (3 days) after the notice reached Dana.
    assert!(!purposes.contains(&"escalation"), "{queued:?}");
    // Every later pass adds no overdue notice: no storm; the escalation
    // comes once, three days on.
    let mut escalations = Vec::new();
    for day in 1..=10 {
        let now = t("2027-03-30T22:00:00Z") + TimeDelta::days(day);
        let again = w.pass(&now.to_rfc3339());
        assert!(
            again
                .iter()
                .all(|s| !matches!(s.purpose.as_str(), "overdue_notice" | "notice_overdue")),
            "{again:?}"
        );
        escalations.extend(
            again
                .into_iter()
                .filter(|s| s.purpose == "escalation")
                .map(|_| day),
        );
    }
    assert_eq!(escalations, [3]);
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
    assert!(w.text("notice_unanswered").contains("Is the blue OK?"));
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
    let text = w.text("digest");
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
            &crate::planned::engagements(&w2.loaded.model),
            t("2027-02-20T00:00:00Z"),
        )
        .ok();
    let next = next_due(&w2.loaded.model, &w2.store, t("2027-02-20T00:00:00Z")).unwrap();
    assert_eq!(next, Some(t("2027-02-28T23:00:00Z")));
}

#[test]
fn a_milestone_due_before_the_start_is_named_overdue_in_the_instructions_not_before() {
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
    // The instructions say it is overdue, the owner has one notice listing
    // it, and Dana is not also sent an overdue notice (issue 17: she was,
    // in the same second as the instructions) nor an invitation to a day
    // that is over.
    let purposes: Vec<&str> = q.iter().map(|s| s.purpose.as_str()).collect();
    assert!(!purposes.contains(&"overdue_notice"), "{q:?}");
    assert!(!purposes.contains(&"milestone_invite"), "{q:?}");
    assert_eq!(
        purposes
            .iter()
            .filter(|p| **p == "notice_overdue_at_start")
            .count(),
        1,
        "{q:?}"
    );
    let instructions = w.text("instructions");
    assert!(
        instructions.contains("Already past due as this starts: Early (due"),
        "{instructions}"
    );
    let notice = w.text("notice_overdue_at_start");
    assert!(notice.contains("- Early: due"), "{notice}");
    // The escalation follows three days after the instructions reached her.
    assert!(
        w.pass("2027-03-04T13:00:00Z")
            .iter()
            .all(|s| s.purpose != "escalation")
    );
    let q = w.pass("2027-03-04T14:00:00Z");
    assert!(q.iter().any(|s| s.purpose == "escalation"), "{q:?}");
    assert!(
        w.outbox().iter().all(|s| s.purpose != "overdue_notice"),
        "no separate overdue notice, ever"
    );
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
    assert!(
        w.outbox().iter().all(|m| m.key != held),
        "the payment notice was taken back"
    );
    let digest = w
        .store
        .outbox_all()
        .unwrap()
        .into_iter()
        .find(|(m, _, _)| m.purpose == "digest" && m.idempotency_key.contains("2027-03-22"))
        .unwrap()
        .0;
    let text = text_of(&digest.message);
    assert!(text.contains("Notices since the last digest"), "{text}");
    assert!(text.contains("payment"), "{text}");
    // A question still goes at once.
    assert!(!crate::sendtime::folds_into_digest(
        &w.loaded.model,
        Purpose::NoticeQuestion
    ));
    assert!(crate::sendtime::folds_into_digest(
        &w.loaded.model,
        Purpose::NoticeDelivery
    ));
}
