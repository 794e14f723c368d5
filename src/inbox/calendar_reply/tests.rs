//! Recording calendar answers: replies, counter-proposals, refreshes.

use super::*;
use crate::store::EventFilter;
use crate::templates::Templates;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn reply(uid: &str, attendee: &str, partstat: &str) -> String {
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "METHOD:REPLY",
        "BEGIN:VEVENT",
        &format!("UID:{uid}"),
        "DTSTAMP:20261124T100000Z",
        &format!("ATTENDEE;PARTSTAT={partstat}:mailto:{attendee}"),
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    .join("\r\n")
}

fn setup() -> (Model, Templates, Store, String) {
    let base = std::env::temp_dir();
    let model = crate::config::parse(
        std::path::Path::new("handoff.toml"),
        crate::config::EXAMPLE,
        &base,
        None,
    )
    .unwrap()
    .model;
    let templates = Templates::load(None).unwrap();
    let mut store = Store::open_in_memory().unwrap();
    store
        .reconcile(
            &crate::planned::engagements(&model),
            t("2026-11-24T09:00:00Z"),
        )
        .unwrap();
    let uid = store.engagements().unwrap()[0]
        .milestones
        .iter()
        .find(|m| m.id == "wireframes")
        .unwrap()
        .calendar_uid
        .clone();
    (model, templates, store, uid)
}

#[test]
fn an_acceptance_is_recorded_and_asks_nothing_of_the_owner() {
    let (model, templates, mut store, uid) = setup();
    let composer = Composer {
        model: &model,
        templates: &templates,
    };
    let out = record_reply(
        &model,
        &composer,
        &mut store,
        &reply(&uid, "Dana@Example.test", "ACCEPTED"),
        "dana@example.test",
        t("2026-11-24T10:00:00Z"),
    )
    .unwrap();
    assert_eq!(
        out,
        [ReplyOutcome::Recorded {
            engagement: "website".into(),
            item: "wireframes".into(),
            partstat: PartStat::Accepted
        }]
    );
    let e = store
        .events(&EventFilter::default())
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        (e.kind.as_str(), e.detail.as_deref()),
        ("calendar_reply", Some("accepted"))
    );
    assert_eq!(e.direction, Direction::In);
    assert_eq!(store.outbox_depth().unwrap(), 0);
}

#[test]
fn a_decline_tells_the_owner() {
    let (model, templates, mut store, uid) = setup();
    let composer = Composer {
        model: &model,
        templates: &templates,
    };
    record_reply(
        &model,
        &composer,
        &mut store,
        &reply(&uid, "dana@example.test", "DECLINED"),
        "dana@example.test",
        t("2026-11-24T10:00:00Z"),
    )
    .unwrap();
    assert_eq!(store.outbox_depth().unwrap(), 1);
    let mail = store
        .due_outbox(t("2026-11-24T10:00:00Z"), 1)
        .unwrap()
        .remove(0);
    assert_eq!(mail.purpose, "notice_declined");
    assert_eq!(mail.recipient, "ada@example.test");
    assert!(
        mail.subject.contains("declined Wireframes"),
        "{}",
        mail.subject
    );
}

#[test]
fn a_stranger_answering_changes_nothing() {
    let (model, templates, mut store, uid) = setup();
    let composer = Composer {
        model: &model,
        templates: &templates,
    };
    let out = record_reply(
        &model,
        &composer,
        &mut store,
        &reply(&uid, "eve@example.test", "DECLINED"),
        "eve@example.test",
        t("2026-11-24T10:00:00Z"),
    )
    .unwrap();
    assert!(
        matches!(&out[0], ReplyOutcome::IgnoredSender { who, .. } if who == "eve@example.test")
    );
    assert_eq!(store.outbox_depth().unwrap(), 0, "no notice earned");
    let e = store
        .events(&EventFilter::default())
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(e.kind, "ignored_sender");
    // Dana's attendee line forwarded by Eve does not count either.
    let out = record_reply(
        &model,
        &composer,
        &mut store,
        &reply(&uid, "dana@example.test", "DECLINED"),
        "eve@example.test",
        t("2026-11-24T10:00:00Z"),
    )
    .unwrap();
    assert!(matches!(&out[0], ReplyOutcome::IgnoredSender { .. }));
    assert_eq!(store.outbox_depth().unwrap(), 0);
}

#[test]
fn an_unknown_uid_is_reported_not_recorded() {
    let (model, templates, mut store, _) = setup();
    let composer = Composer {
        model: &model,
        templates: &templates,
    };
    let before = store.events(&EventFilter::default()).unwrap().len();
    let out = record_reply(
        &model,
        &composer,
        &mut store,
        &reply("nope@x", "dana@example.test", "ACCEPTED"),
        "dana@example.test",
        t("2026-11-24T10:00:00Z"),
    )
    .unwrap();
    assert_eq!(out, [ReplyOutcome::UnknownUid("nope@x".into())]);
    assert_eq!(store.events(&EventFilter::default()).unwrap().len(), before);
}

fn refresh(uid: &str, attendee: &str) -> String {
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "METHOD:REFRESH",
        "BEGIN:VEVENT",
        &format!("UID:{uid}"),
        "DTSTAMP:20261124T100000Z",
        &format!("ATTENDEE:mailto:{attendee}"),
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    .join("\r\n")
}

#[test]
fn a_refresh_sends_the_invitation_again_to_the_contractor_only() {
    let (model, templates, mut store, uid) = setup();
    let composer = Composer {
        model: &model,
        templates: &templates,
    };
    let now = t("2026-11-24T10:00:00Z");
    let facts = crate::inbox::parse::Facts::default();
    // Eve, or Dana's attendee line sent by Eve: nothing goes anywhere.
    for (attendee, sender) in [
        ("eve@example.test", "eve@example.test"),
        ("dana@example.test", "eve@example.test"),
    ] {
        let ics = refresh(&uid, attendee);
        let out = record(&model, &composer, &mut store, &ics, sender, &facts, now).unwrap();
        assert!(
            matches!(&out[0], ReplyOutcome::IgnoredSender { who, .. } if who == "eve@example.test"),
            "{out:?}"
        );
    }
    assert_eq!(store.outbox_depth().unwrap(), 0);
    let ics = refresh("nope@x", "dana@example.test");
    let out = record(
        &model,
        &composer,
        &mut store,
        &ics,
        "dana@example.test",
        &facts,
        now,
    )
    .unwrap();
    assert_eq!(out, [ReplyOutcome::UnknownUid("nope@x".into())]);
    // Dana's own calendar asks: the invitation goes to her again.
    let ics = refresh(&uid, "Dana@Example.test");
    let out = record(
        &model,
        &composer,
        &mut store,
        &ics,
        "Dana@example.test",
        &facts,
        now,
    )
    .unwrap();
    assert_eq!(
        out,
        [ReplyOutcome::Refreshed {
            engagement: "website".into(),
            item: "wireframes".into()
        }]
    );
    assert_eq!(store.outbox_depth().unwrap(), 1);
    // 05:00 in New York: it waits for the end of Dana's quiet hours.
    let mail = store
        .due_outbox(t("2026-11-24T18:00:00Z"), 1)
        .unwrap()
        .remove(0);
    assert_eq!(
        (mail.purpose.as_str(), mail.recipient.as_str()),
        ("milestone_invite", "dana@example.test")
    );
}
