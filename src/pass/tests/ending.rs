//! Re-checks, the payment follow-up and the end of an engagement, as the
//! owner and the contractor read them.

use super::*;
use crate::actions::OwnerAction;
use chrono::TimeDelta;

const THREE: &str = r#"
[[engagement.milestone]]
id = "a"
title = "Pages"
due = 2027-03-20

[[engagement.milestone]]
id = "b"
title = "Images"
due = 2027-04-20

[[engagement.milestone]]
id = "c"
title = "Launch"
due = 2027-12-20
"#;

fn hourly(w: &mut World, from: &str, to: &str) -> Vec<(DateTime<Utc>, Sent)> {
    let mut out = Vec::new();
    let mut now = t(from);
    while now < t(to) {
        out.extend(w.pass(&now.to_rfc3339()).into_iter().map(|s| (now, s)));
        now += TimeDelta::hours(1);
    }
    out
}

#[test]
fn re_checks_come_once_per_engagement_per_period_listing_the_delivered_work() {
    let mut w = World::new(load(true, "", THREE));
    hourly(&mut w, "2027-03-01T00:00:00Z", "2027-03-18T15:00:00Z");
    w.reply(
        "2027-03-18T15:00:00Z",
        "instructions",
        "Here are the pages, attached.",
    );
    hourly(&mut w, "2027-03-18T16:00:00Z", "2027-04-15T15:00:00Z");
    w.reply(
        "2027-04-15T15:00:00Z",
        "instructions",
        "Here are the images, attached.",
    );
    let mails = hourly(&mut w, "2027-04-15T16:00:00Z", "2027-09-30T00:00:00Z");
    let all = w.outbox();
    let rechecks: Vec<&Sent> = all
        .iter()
        .filter(|s| s.purpose == "notice_recheck")
        .collect();
    // A week after the first delivery, then every 90 days: 25 March, 23
    // June, 21 September. Never two in one period.
    let at: Vec<DateTime<Utc>> = rechecks.iter().map(|s| s.not_before).collect();
    assert_eq!(
        at,
        [
            t("2027-03-25T15:00:00Z"),
            t("2027-06-23T15:00:00Z"),
            t("2027-09-21T15:00:00Z")
        ],
        "{rechecks:?}"
    );
    // The later one lists both deliveries.
    let text = w.text("notice_recheck");
    assert!(text.contains("- Pages: delivered"), "{text}");
    assert!(text.contains("- Images: delivered"), "{text}");
    assert!(mails.iter().any(|(_, s)| s.purpose == "notice_recheck"));
}

#[test]
fn the_payment_follow_up_reads_as_a_follow_up() {
    let mut w = World::new(load(true, "", THREE));
    // 15 March, 09:00 in Berlin: the payment falls due; a week on, not paid.
    hourly(&mut w, "2027-03-01T00:00:00Z", "2027-03-23T00:00:00Z");
    let due = w
        .store
        .outbox_all()
        .unwrap()
        .into_iter()
        .filter(|(m, _, _)| m.purpose == "notice_payment_due")
        .map(|(m, _, _)| (m.idempotency_key, m.subject, text_of(&m.message)))
        .collect::<Vec<_>>();
    assert_eq!(due.len(), 2, "{due:?}");
    assert!(due[0].1.ends_with("payment to Dana Díaz is due"), "{due:?}");
    assert!(due[1].0.starts_with("payment_followup/"), "{due:?}");
    assert!(
        due[1]
            .1
            .ends_with("payment to Dana Díaz still not recorded"),
        "{due:?}"
    );
    assert!(
        due[1]
            .2
            .contains("fell due on Monday, March 15, 2027 at 9:00\u{a0}AM (Berlin time)")
            && due[1].2.contains("this is the only follow-up"),
        "{}",
        due[1].2
    );
}

#[test]
fn end_with_notes_sends_the_contractor_a_closing_mail_and_withdraws_the_rest() {
    let mut w = World::new(load(true, "", THREE));
    hourly(&mut w, "2027-03-01T00:00:00Z", "2027-03-10T12:00:00Z");
    let done = w.act(
        "2027-03-10T12:00:00Z",
        OwnerAction::End {
            reason: Some("We are pausing the project for budget reasons. Thank you!".into()),
        },
    );
    assert!(
        done.queued.contains(&"closing_note/site".to_string()),
        "{done:?}"
    );
    // Her three invitations are withdrawn, and the closing mail says why.
    assert_eq!(
        done.queued
            .iter()
            .filter(|k| k.starts_with("cancel/"))
            .count(),
        3,
        "{done:?}"
    );
    let text = w.text("closing_note");
    assert!(
        text.contains("We are pausing the project for budget reasons. Thank you!"),
        "{text}"
    );
    // Nothing more is scheduled for it.
    let later = hourly(&mut w, "2027-03-10T13:00:00Z", "2027-04-30T00:00:00Z");
    assert!(
        later
            .iter()
            .all(|(_, s)| matches!(s.purpose.as_str(), "invite_cancel" | "closing_note")),
        "{later:?}"
    );
    // Without notes, no closing mail (the owner tells them, or not).
    let mut w = World::new(load(true, "", THREE));
    hourly(&mut w, "2027-03-01T00:00:00Z", "2027-03-10T12:00:00Z");
    let done = w.act("2027-03-10T12:00:00Z", OwnerAction::End { reason: None });
    assert!(
        !done.queued.iter().any(|k| k.starts_with("closing_note")),
        "{done:?}"
    );
}
