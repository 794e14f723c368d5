//! A bounce holds Dana's mail; when the hold ends, what waited is decided
//! again instead of sent as it was decided.

use super::*;
use chrono::TimeDelta;

const TWO: &str = r#"
[[engagement.milestone]]
id = "a"
title = "Pages"
due = 2027-03-20
remind_before = ["3d", "1d"]

[[engagement.milestone]]
id = "b"
title = "Images"
due = 2027-03-20T18:00:00
remind_before = ["1d"]
"#;

/// The mail that reached Dana (sent, to her address): (sent at, key, purpose).
fn reached_dana(w: &World) -> Vec<(DateTime<Utc>, String, String)> {
    w.store
        .outbox_all()
        .unwrap()
        .into_iter()
        .filter(|(m, status, _)| status == "sent" && m.recipient == DANA)
        .map(|(m, _, at)| (at.unwrap(), m.idempotency_key, m.purpose))
        .collect()
}

#[test]
fn when_a_bounce_hold_ends_held_mail_is_decided_again_and_obeys_the_cap() {
    let mut w = World::new(load(true, "", TWO));
    w.pass("2027-03-01T14:00:00Z");
    w.event("acknowledgement", None, "2027-03-02T10:00:00Z");
    // Her mailbox is full: an invitation bounced (the first status request
    // is a week away: none the day the instructions reached her).
    assert_eq!(
        w.bounce(
            "2027-03-02T11:00:00Z",
            "milestone_invite",
            "552 5.2.2 mailbox full"
        ),
        "bounce"
    );
    let mut now = t("2027-03-02T12:00:00Z");
    while now < t("2027-03-24T15:00:00Z") {
        w.pass(&now.to_rfc3339());
        now += TimeDelta::hours(1);
    }
    // Three weeks of held mail: nothing reached her, the owner was told of
    // no "missing" report for requests that never arrived, and no silence.
    let held_from = t("2027-03-02T11:00:00Z");
    assert!(
        reached_dana(&w).iter().all(|(at, _, _)| *at < held_from),
        "{:?}",
        reached_dana(&w)
    );
    assert!(
        w.outbox()
            .iter()
            .all(|s| s.purpose != "notice_status_missing" && s.purpose != "notice_silence"),
        "{:?}",
        w.outbox()
    );
    // `status` names the hold's reason and no wake-up in the past.
    let report = crate::status::build(&w.loaded.model, &w.store, now).unwrap();
    assert_eq!(report.paused.len(), 1);
    assert_eq!(report.paused[0].reason, "552 5.2.2 mailbox full");
    let next = report.daemon.next_wake.expect("something is scheduled");
    assert!(
        crate::store::parse_ts(&next, "next").unwrap() >= now,
        "next wake {next} before {now}"
    );
    // The plan says her mail waits for the hold, not when it will go.
    let plan = crate::schedule::plan(&w.loaded.model, &w.store, now, 14).unwrap();
    let hers: Vec<_> = plan.iter().filter(|p| p.to == DANA).collect();
    assert!(!hers.is_empty());
    assert!(
        hers.iter()
            .all(|p| p.rule.contains("(held: the address bounced")),
        "{hers:?}"
    );
    // She writes again (15:00 UTC, 11:00 in New York): the hold ends. What
    // she wrote acknowledges nothing (issue 16 reads it as a plain message),
    // but it is her own mail: genuine, so the address works again.
    assert_eq!(
        w.reply(
            "2027-03-24T15:00:00Z",
            "instructions",
            "Sorry, my mailbox was full. Back now."
        ),
        "message"
    );
    let released = now;
    while now < t("2027-04-01T00:00:00Z") {
        w.pass(&now.to_rfc3339());
        now += TimeDelta::hours(1);
    }
    let after: Vec<(DateTime<Utc>, String, String)> = reached_dana(&w)
        .into_iter()
        .filter(|(at, _, _)| *at >= released)
        .collect();
    // No reminder of a deadline already past, no superseded status request.
    assert!(
        after.iter().all(|(_, _, p)| p != "deadline_reminder"),
        "{after:?}"
    );
    let requests: Vec<&str> = after
        .iter()
        .filter(|(_, _, p)| p == "status_request")
        .map(|(_, k, _)| k.as_str())
        .collect();
    // (The request of the 22nd, held by the cap behind the two overdue
    // notices until Friday, was by then closer to the next Monday's than to
    // its own: dropped for it.)
    assert_eq!(requests, ["status_request/site/2027-03-29T13:00:00+00:00"]);
    // At most one reminder a day of her calendar, none in her quiet hours.
    let tz = chrono_tz::America::New_York;
    let mut days = std::collections::HashMap::new();
    for (at, key, purpose) in &after {
        let local = at.with_timezone(&tz);
        assert!(
            local.time() >= chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap()
                && local.time() < chrono::NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
            "{key} at {local}"
        );
        if crate::schedule::is_reminder(Purpose::parse(purpose).unwrap()) {
            *days.entry(local.date_naive()).or_insert(0) += 1;
        }
    }
    assert!(days.values().all(|n| *n <= 1), "{after:?}");
    // Both overdue notices still go, one a day, in due order (Images was
    // due at 18:00, Pages at the end of the day).
    let overdue: Vec<&str> = after
        .iter()
        .filter(|(_, _, p)| p == "overdue_notice")
        .map(|(_, k, _)| k.as_str())
        .collect();
    assert_eq!(overdue, ["overdue/site/b", "overdue/site/a"]);
    // The stale ones were taken back, each journaled with why.
    let withdrawn = w
        .store
        .events(&crate::store::EventFilter::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "mail_withdrawn")
        .map(|e| e.detail.unwrap_or_default())
        .collect::<Vec<_>>();
    assert_eq!(withdrawn.len(), 6, "{withdrawn:?}");
    assert!(
        withdrawn
            .iter()
            .any(|d| d.starts_with("remind/site/a/3d: the deadline of Pages passed")),
        "{withdrawn:?}"
    );
    assert!(
        withdrawn.iter().any(|d| d.starts_with(
            "status_request/site/2027-03-08T14:00:00+00:00: the next regular request is closer"
        )),
        "{withdrawn:?}"
    );
}
