//! Silence measured against the agreement: a contractor who reports as
//! agreed is never called silent; a real silence is told once; any genuine
//! mail resets the clock.

use super::*;
use chrono::TimeDelta;

const LONG: &str = r#"
[[engagement.milestone]]
id = "site"
title = "Whole site"
due = 2027-07-30
remind_before = ["3d"]
"#;

/// A world with the default `silence_alert_after` (5 days), shorter than the
/// weekly reporting cadence: the setting that called punctual contractors
/// silent every week.
fn world() -> World {
    let mut w = World::new(load(true, "", LONG));
    w.loaded.model.policy.silence_alert_after = TimeDelta::days(5);
    w
}

/// Hourly passes over `[from, to)`, Dana answering each status request the
/// day after it reached her when `punctual`: every mail queued, in order.
fn run(w: &mut World, from: &str, to: &str, punctual: bool) -> Vec<(DateTime<Utc>, Sent)> {
    let mut out = Vec::new();
    let mut now = t(from);
    let mut answer_at: Option<DateTime<Utc>> = None;
    while now < t(to) {
        let stamp = now.to_rfc3339();
        if answer_at.is_some_and(|a| a <= now) {
            assert_eq!(
                w.reply(&stamp, "status_request", "Pages 1-3 done, 4 next week."),
                "status_report"
            );
            answer_at = None;
        }
        for s in w.pass(&stamp) {
            if punctual && s.purpose == "status_request" {
                answer_at = Some(s.not_before + TimeDelta::days(1));
            }
            out.push((now, s));
        }
        now += TimeDelta::hours(1);
    }
    out
}

fn of<'a>(mails: &'a [(DateTime<Utc>, Sent)], purpose: &str) -> Vec<&'a (DateTime<Utc>, Sent)> {
    mails.iter().filter(|(_, s)| s.purpose == purpose).collect()
}

#[test]
fn a_contractor_who_reports_the_day_after_every_request_is_never_called_silent() {
    let mut w = world();
    let mails = run(&mut w, "2027-03-01T00:00:00Z", "2027-04-26T00:00:00Z", true);
    // Seven weekly requests went, each answered the next day (none the
    // morning after the instructions reached her: the first a week in).
    assert_eq!(of(&mails, "status_request").len(), 7, "{mails:?}");
    assert_eq!(
        of(&mails, "notice_silence"),
        Vec::<&(DateTime<Utc>, Sent)>::new()
    );
    assert_eq!(
        of(&mails, "notice_status_missing"),
        Vec::<&(DateTime<Utc>, Sent)>::new()
    );
}

#[test]
fn a_real_silence_is_told_once_and_a_plain_message_resets_the_clock() {
    let mut w = world();
    let mut mails = run(&mut w, "2027-03-01T00:00:00Z", "2027-03-22T00:00:00Z", true);
    let before = of(&mails, "notice_silence").len();
    assert_eq!(before, 0);
    // Then three weeks without a word.
    mails.extend(run(
        &mut w,
        "2027-03-22T00:00:00Z",
        "2027-04-12T00:00:00Z",
        false,
    ));
    let silence = of(&mails, "notice_silence");
    assert_eq!(silence.len(), 1, "{silence:?}");
    // The weekly cadence plus three days of grace after her last report
    // (16 March, 09:00 in New York, on daylight time since the 14th).
    assert_eq!(silence[0].0, t("2027-03-26T13:00:00Z"));
    assert_eq!(
        silence[0].1.key, "silence/site/2027-03-16T13:00:00+00:00",
        "the alert names the silence it is about"
    );
    let text = w.text("notice_silence");
    assert!(
        text.contains("since Tuesday, March 16, 2027 at 2:00\u{a0}PM (Berlin time)"),
        "the journal's last contact: {text}"
    );
    // The silence alert says more than a "no status report" notice would.
    assert_eq!(
        of(&mails, "notice_status_missing"),
        Vec::<&(DateTime<Utc>, Sent)>::new()
    );
    // A plain message (the engagement tag, no reply to anything) is genuine
    // contact: the clock starts again from it.
    let raw = "From: dana@example.test\r\nTo: ada@example.test\r\nSubject: Website [site]\r\nMessage-ID: <plain1@example.test>\r\n\r\nBack from a family emergency, sorry. Working again.\r\n";
    assert_eq!(w.receive("2027-04-12T15:00:00Z", raw), "message");
    let after = run(
        &mut w,
        "2027-04-12T16:00:00Z",
        "2027-04-22T14:00:00Z",
        false,
    );
    assert_eq!(
        of(&after, "notice_silence"),
        Vec::<&(DateTime<Utc>, Sent)>::new()
    );
    let after = run(
        &mut w,
        "2027-04-22T14:00:00Z",
        "2027-04-23T00:00:00Z",
        false,
    );
    assert_eq!(of(&after, "notice_silence").len(), 1, "{after:?}");
}

#[test]
fn silence_counts_from_the_first_mail_that_reached_the_contractor() {
    // Installed long after the start: the first pass queues the first mail
    // Dana gets; it does not also tell the owner she has been quiet.
    let mut w = world();
    let q = w.pass("2027-04-05T03:00:00Z");
    assert!(q.iter().all(|s| s.purpose != "notice_silence"), "{q:?}");
    // 23:00 in New York: the instructions wait for her morning.
    let instructions = q.iter().find(|s| s.purpose == "instructions").unwrap();
    assert_eq!(instructions.not_before, t("2027-04-05T12:00:00Z"));
    // Nothing heard from her after that: ten days from when the
    // instructions reached her (not from `starts` or from the install), and
    // three days after the last request she left unanswered (12 April,
    // 09:00 in New York).
    let mails = run(
        &mut w,
        "2027-04-05T04:00:00Z",
        "2027-04-20T00:00:00Z",
        false,
    );
    let silence = of(&mails, "notice_silence");
    assert_eq!(silence.len(), 1, "{mails:?}");
    assert_eq!(silence[0].0, t("2027-04-15T13:00:00Z"));
}
