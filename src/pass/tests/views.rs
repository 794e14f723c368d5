//! One truth in every view: `status`, `plan` and the digest say only what
//! the schedule will do.

use super::*;
use crate::actions::OwnerAction;
use chrono::TimeDelta;

const TWO: &str = r#"
[[engagement.milestone]]
id = "a"
title = "Pages"
due = 2027-03-20

[[engagement.milestone]]
id = "b"
title = "Images"
due = 2027-03-25
"#;

fn hourly(w: &mut World, from: &str, to: &str) -> Vec<Sent> {
    let mut out = Vec::new();
    let mut now = t(from);
    while now < t(to) {
        out.extend(w.pass(&now.to_rfc3339()));
        now += TimeDelta::hours(1);
    }
    out
}

fn status(w: &World, now: &str) -> crate::status::StatusReport {
    crate::status::build(&w.loaded.model, &w.store, t(now)).unwrap()
}

#[test]
fn before_it_starts_an_engagement_shows_when_it_starts_and_nothing_else() {
    let mut w = World::new(load(true, "", TWO));
    w.pass("2027-02-20T12:00:00Z");
    let s = status(&w, "2027-02-20T12:00:00Z");
    let next = s.engagements[0].next.as_ref().expect("the start is next");
    assert_eq!(
        (next.kind.as_str(), next.what.as_str(), next.at.as_str()),
        (
            "starts",
            "work starts on 2027-03-01",
            "2027-02-28T23:00:00+00:00"
        )
    );
    let table = crate::status::render(&s, chrono_tz::Europe::Berlin);
    assert!(
        table.contains("next: work starts on 2027-03-01 at 2027-03-01 00:00 CET"),
        "{table}"
    );
    // The plan agrees: the instructions at the start, nothing before it.
    let plan =
        crate::schedule::plan(&w.loaded.model, &w.store, t("2027-02-20T12:00:00Z"), 14).unwrap();
    assert!(
        plan.iter().all(|p| p.at >= t("2027-02-28T23:00:00Z")),
        "{plan:?}"
    );
    assert!(plan.iter().any(|p| p.purpose == "instructions"), "{plan:?}");
}

#[test]
fn an_unsigned_engagement_shows_no_next_item_and_a_finished_one_none_either() {
    let mut w = World::new(load(false, "", TWO));
    w.pass("2027-03-02T12:00:00Z");
    let s = status(&w, "2027-03-02T12:00:00Z");
    assert!(
        s.engagements[0].next.is_none(),
        "{:?}",
        s.engagements[0].next
    );
    let table = crate::status::render(&s, chrono_tz::Europe::Berlin);
    assert!(
        table.contains("next: nothing until the agreement is signed"),
        "{table}"
    );

    let mut w = World::new(load(true, "", TWO));
    hourly(&mut w, "2027-03-01T00:00:00Z", "2027-03-05T15:00:00Z");
    for m in ["a", "b"] {
        w.reply(
            "2027-03-05T15:00:00Z",
            "instructions",
            "Here is the work, attached.",
        );
        w.act(
            "2027-03-05T16:00:00Z",
            OwnerAction::Accept {
                milestone: Some(m.into()),
                notes: None,
            },
        );
    }
    let s = status(&w, "2027-03-06T12:00:00Z");
    assert_eq!(s.engagements[0].state, "finished");
    assert!(s.engagements[0].next.is_none());
    // Finished: nothing more goes, re-checks included.
    let after = hourly(&mut w, "2027-03-05T17:00:00Z", "2027-06-30T00:00:00Z");
    let to_owner_or_dana: Vec<&Sent> = after
        .iter()
        .filter(|s| s.purpose != "delivery_accepted")
        .collect();
    assert_eq!(to_owner_or_dana, Vec::<&Sent>::new());
}

#[test]
fn the_digest_headline_counts_everything_that_needs_the_owner_and_lists_each() {
    let mut w = World::new(load(true, "", TWO));
    w.loaded.model.policy.digest =
        Some(config::schedule("0 8 * * MON", chrono_tz::Europe::Berlin).unwrap());
    hourly(&mut w, "2027-03-01T00:00:00Z", "2027-03-19T15:00:00Z");
    // Pages delivered (not yet checked), Images never: overdue since the 25th.
    w.reply(
        "2027-03-19T15:00:00Z",
        "instructions",
        "Here are the pages, attached.",
    );
    hourly(&mut w, "2027-03-19T16:00:00Z", "2027-04-02T10:00:00Z");
    w.reply(
        "2027-04-02T10:00:00Z",
        "instructions",
        "Which font for the headings?",
    );
    hourly(&mut w, "2027-04-02T11:00:00Z", "2027-04-03T10:00:00Z");
    w.bounce(
        "2027-04-03T10:00:00Z",
        "status_request",
        "552 5.2.2 mailbox full",
    );
    // Monday 5 April, 08:00 in Berlin (summer time): the digest. The payment
    // of 15 March and the evaluation of 1 April were never recorded.
    let q = hourly(&mut w, "2027-04-03T11:00:00Z", "2027-04-05T07:00:00Z");
    assert!(
        q.iter()
            .any(|s| s.key == "digest/2027-04-05T06:00:00+00:00"),
        "{q:?}"
    );
    let digest = w
        .store
        .outbox_all()
        .unwrap()
        .into_iter()
        .find(|(m, _, _)| m.idempotency_key == "digest/2027-04-05T06:00:00+00:00")
        .unwrap()
        .0;
    assert!(
        digest.subject.ends_with("1 engagement, 6 things need you"),
        "{}",
        digest.subject
    );
    let text = text_of(&digest.message);
    for line in [
        "- site: Images is overdue (due Thursday, March 25, 2027",
        "- site: check the delivery of Pages (delivered",
        "- site: a payment to Dana Díaz is due (since Monday, March 15, 2027",
        "- site: the evaluation of Dana Díaz is due (since Thursday, April 1, 2027",
        "- site: Dana Díaz's question of Friday, April 2, 2027",
        "- site: mail to dana@example.test is held after a bounce",
    ] {
        assert!(text.contains(line), "{line:?} missing in:\n{text}");
    }
}
