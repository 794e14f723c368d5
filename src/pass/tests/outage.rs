//! Nine days down: the catch-up reads as one catch-up.

use super::*;
use chrono::TimeDelta;

const LONG: &str = r#"
[[engagement.milestone]]
id = "site"
title = "Whole site"
due = 2027-07-30
remind_before = ["3d"]
"#;

/// Hourly passes over `[from, to)`, Dana answering each status request the
/// day after it reached her.
fn hourly(w: &mut World, mails: &mut Vec<(DateTime<Utc>, Sent)>, from: &str, to: &str) {
    let mut now = t(from);
    let mut due_answer: Option<DateTime<Utc>> = None;
    while now < t(to) {
        if due_answer.is_some_and(|a| a <= now) {
            w.reply(&now.to_rfc3339(), "status_request", "All on track.");
            due_answer = None;
        }
        for s in w.pass(&now.to_rfc3339()) {
            if s.purpose == "status_request" {
                due_answer = Some(s.not_before + TimeDelta::days(1));
            }
            mails.push((now, s));
        }
        now += TimeDelta::hours(1);
    }
}

#[test]
fn after_nine_days_down_one_digest_one_status_request_and_no_missing_report_for_a_fresh_request() {
    let src = load(true, "", LONG);
    let mut w = World::new(src);
    w.loaded.model.policy.digest =
        Some(config::schedule("0 8 * * MON", chrono_tz::Europe::Berlin).unwrap());
    w.loaded.model.policy.silence_alert_after = TimeDelta::days(5);
    let mut mails: Vec<(DateTime<Utc>, Sent)> = Vec::new();
    // Two punctual weeks, then Handoff is down from Friday 12 March until
    // Monday 22 March, 01:00 UTC: 02:00 in Berlin, 21:00 on Sunday in New
    // York. Last Monday's digest and status request were missed.
    hourly(
        &mut w,
        &mut mails,
        "2027-03-01T00:00:00Z",
        "2027-03-12T12:00:00Z",
    );
    let before = mails.len();
    hourly(
        &mut w,
        &mut mails,
        "2027-03-22T01:00:00Z",
        "2027-03-29T00:00:00Z",
    );
    let after: Vec<&(DateTime<Utc>, Sent)> = mails[before..].iter().collect();
    let of = |p: &str| -> Vec<&&(DateTime<Utc>, Sent)> {
        after.iter().filter(|(_, s)| s.purpose == p).collect()
    };
    // One digest: Monday's regular one at 08:00 in Berlin, not last
    // Monday's as a catch-up six hours before it.
    let digests = of("digest");
    assert_eq!(digests.len(), 1, "{after:?}");
    assert_eq!(digests[0].1.key, "digest/2027-03-22T07:00:00+00:00");
    // One status request, the one of the new week (it names the newer date).
    let requests = of("status_request");
    assert_eq!(requests.len(), 1, "{after:?}");
    assert_eq!(
        requests[0].1.key,
        "status_request/site/2027-03-22T13:00:00+00:00"
    );
    // No "missing report" for a request that had just reached Dana, and no
    // silence alert: nobody asked her anything while Handoff was down.
    assert_eq!(
        of("notice_status_missing"),
        Vec::<&&(DateTime<Utc>, Sent)>::new()
    );
    assert_eq!(of("notice_silence"), Vec::<&&(DateTime<Utc>, Sent)>::new());
}

#[test]
fn a_missing_report_counts_from_when_the_request_reached_the_contractor() {
    let mut w = World::new(load(true, "", LONG));
    w.pass("2027-03-01T14:00:00Z");
    w.event("acknowledgement", None, "2027-03-02T15:00:00Z");
    // The request of Monday 8 March is decided, but the mail server is down
    // until Friday the 12th: it reaches Dana then.
    w.store
        .reconcile(
            &crate::planned::engagements(&w.loaded.model),
            t("2027-03-08T14:00:00Z"),
        )
        .unwrap();
    {
        let model = &w.loaded.model;
        let composer = Composer {
            model,
            templates: &w.templates,
        };
        decide(model, &composer, &mut w.store, t("2027-03-08T14:00:00Z")).unwrap();
    }
    w.deliver(t("2027-03-12T14:00:00Z"));
    // She writes about something else meanwhile: not a report.
    w.event("question", None, "2027-03-14T12:00:00Z");
    // The next Monday: the request reached her three days ago, not a week,
    // so no "missing report" (issue 17: it was cited hours after it came).
    let q = w.pass("2027-03-15T13:00:00Z");
    assert!(
        q.iter().all(|s| s.purpose != "notice_status_missing"),
        "{q:?}"
    );
    assert!(q.iter().any(|s| s.purpose == "status_request"), "{q:?}");
    // A week after that one reached her, still no report: the owner hears
    // of it, with when it arrived.
    let q = w.pass("2027-03-22T13:00:00Z");
    let missing: Vec<&Sent> = q
        .iter()
        .filter(|s| s.purpose == "notice_status_missing")
        .collect();
    assert_eq!(missing.len(), 1, "{q:?}");
    assert_eq!(
        missing[0].key,
        "status_missing/site/2027-03-15T13:00:00+00:00"
    );
    let text = w.text("notice_status_missing");
    assert!(
        text.contains("on Monday, March 15, 2027 at 2:00\u{a0}PM (Berlin time)"),
        "{text}"
    );
}
