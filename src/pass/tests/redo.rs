//! Work sent back for a redo is due again on a new date: nothing calls it
//! overdue before that date passes, and the redo mail says the date.

use super::*;
use crate::actions::{ActionError, OwnerAction};
use chrono::TimeDelta;

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
fn a_redo_after_the_due_date_is_overdue_only_once_its_new_date_has_passed() {
    let mut w = World::new(load(true, "", DRAFT));
    hourly(&mut w, "2027-03-01T00:00:00Z", "2027-03-18T15:00:00Z");
    // Delivered on time, two days early.
    assert_eq!(
        w.reply(
            "2027-03-18T15:00:00Z",
            "instructions",
            "Here is the draft, attached as a link."
        ),
        "delivery"
    );
    hourly(&mut w, "2027-03-18T16:00:00Z", "2027-03-25T09:00:00Z");
    // A week later (the due date of 20 March has passed), the owner sends
    // it back without a date: policy.redo_within (7 days) gives one.
    let done = w.act(
        "2027-03-25T09:00:00Z",
        OwnerAction::Redo {
            milestone: None,
            reason: "The header overlaps the logo.".into(),
            due: None,
        },
    );
    assert!(
        done.summary
            .contains("due again Thu 1 Apr 2027, 23:59 CEST"),
        "{}",
        done.summary
    );
    let mut mails = hourly(&mut w, "2027-03-25T09:00:00Z", "2027-04-01T21:00:00Z");
    // The redo mail says the date, in Dana's zone.
    let redo = w.text("redo_request");
    assert!(
        redo.contains("Please send the revised work by Thursday, April 1, 2027, end of day in Berlin: 5:59\u{a0}PM your time"),
        "{redo}"
    );
    // Until the new date passes: no overdue notice, no escalation (issue
    // 17: both went at once). The reminders count down to the new date.
    assert!(
        mails.iter().all(|(_, s)| !matches!(
            s.purpose.as_str(),
            "overdue_notice" | "notice_overdue" | "escalation"
        )),
        "{mails:?}"
    );
    let reminder = mails
        .iter()
        .find(|(_, s)| s.purpose == "deadline_reminder")
        .expect("a reminder before the new date");
    assert!(reminder.1.key.contains("/redo/"), "{reminder:?}");
    assert!(
        w.text("deadline_reminder").contains(
            "is due Thursday, April 1, 2027, end of day in Berlin: 5:59\u{a0}PM your time"
        ),
        "{}",
        w.text("deadline_reminder")
    );
    // The new date passes with nothing delivered: the overdue notice, and
    // the escalation three days after it reached her.
    mails = hourly(&mut w, "2027-04-01T21:00:00Z", "2027-04-06T00:00:00Z");
    let overdue: Vec<&(DateTime<Utc>, Sent)> = mails
        .iter()
        .filter(|(_, s)| s.purpose == "overdue_notice")
        .collect();
    assert_eq!(overdue.len(), 1, "{mails:?}");
    assert!(overdue[0].1.key.starts_with("overdue/site/draft/redo/"));
    let escalation: Vec<&(DateTime<Utc>, Sent)> = mails
        .iter()
        .filter(|(_, s)| s.purpose == "escalation")
        .collect();
    assert_eq!(escalation.len(), 1, "{mails:?}");
    assert!(escalation[0].0 >= overdue[0].1.not_before + TimeDelta::days(3));
}

#[test]
fn a_redo_takes_the_date_the_owner_names_and_refuses_one_in_the_past() {
    let mut w = World::new(load(true, "", DRAFT));
    hourly(&mut w, "2027-03-01T00:00:00Z", "2027-03-10T15:00:00Z");
    w.reply("2027-03-10T15:00:00Z", "instructions", "Here is the draft.");
    let model = w.loaded.model.clone();
    let due = crate::config::deadline("2027-04-10", model.owner.timezone).unwrap();
    w.act(
        "2027-03-11T09:00:00Z",
        OwnerAction::Redo {
            milestone: None,
            reason: "More contrast.".into(),
            due: Some(due),
        },
    );
    let m = w.store.engagements().unwrap()[0].milestones[0].clone();
    assert_eq!(m.deadline(), t("2027-04-10T21:59:59Z"));
    let status = crate::status::build(&model, &w.store, t("2027-03-11T10:00:00Z")).unwrap();
    assert_eq!(
        status.engagements[0].milestones[0].due, "2027-04-10T21:59:59+00:00",
        "status shows the date it is due again"
    );
    // Delivered again and sent back once more, with a date already past.
    w.pass("2027-03-12T14:00:00Z");
    w.reply(
        "2027-03-20T15:00:00Z",
        "redo_request",
        "Here is the new draft.",
    );
    let composer = Composer {
        model: &model,
        templates: &w.templates,
    };
    let err = crate::actions::apply(
        &model,
        &composer,
        &mut w.store,
        "site",
        OwnerAction::Redo {
            milestone: None,
            reason: "Still too pale.".into(),
            due: Some(t("2027-03-19T00:00:00Z")),
        },
        crate::actions::Origin::Command,
        t("2027-03-21T09:00:00Z"),
    )
    .unwrap_err();
    assert!(matches!(err, ActionError::PastDate { .. }), "{err}");
    assert!(err.is_usage());
}
