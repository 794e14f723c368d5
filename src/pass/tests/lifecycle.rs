//! A whole engagement, from unsigned to evaluated, pass by pass.

use super::*;
use crate::schedule::next_due;

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
    // Monday 09:00 in New York (EST), an hour after the instructions
    // reached Dana: no "how is it going?" yet, the first request waits a
    // week.
    assert_eq!(w.pass("2027-03-01T14:00:00Z"), []);
    w.store
        .apply_milestone(
            "site",
            "draft",
            MilestoneEvent::Acknowledged,
            t("2027-03-02T15:00:00Z"),
        )
        .unwrap();
    w.event("acknowledgement", None, "2027-03-02T15:00:00Z");
    // The first status request, a week into the work.
    assert_eq!(
        w.pass("2027-03-08T14:00:00Z"),
        [sent(
            "status_request/site/2027-03-08T14:00:00+00:00",
            "status_request",
            DANA,
            "2027-03-08T14:00:00Z"
        )]
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
            // One re-check per engagement listing what to look at (issue
            // 17: one per milestone, keyed by it).
            "recheck/site/2027-03-30T10:00:00+00:00",
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
    let body = w.text("notice_evaluation_due");
    assert!(body.contains("0 delivered on time, 1 late"), "{body}");
    // ... and the contractor's record across all their engagements.
    assert!(
        body.contains("Dana Díaz in their one engagement with you:")
            && body.contains("- milestones: 0 on time, 1 late (median 2 days 11 hours late)"),
        "{body}"
    );
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
