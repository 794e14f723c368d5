//! The outbox's queries against an in-memory store.

use super::super::{Direction, EventFilter, Store, test_support::t};
use super::*;

fn mail(key: &str) -> NewOutboxMail {
    NewOutboxMail {
        idempotency_key: key.into(),
        engagement: Some("website".into()),
        milestone: None,
        purpose: "instructions".into(),
        recipient: "dana@example.test".into(),
        subject: "Instructions".into(),
        message_id: format!("<{key}@example.test>"),
        message: b"Subject: Instructions\r\n\r\nHi".to_vec(),
        not_before: t("2026-11-24T09:00:00Z"),
    }
}

#[test]
fn mail_to_a_paused_address_waits_until_it_is_resumed() {
    let mut s = Store::open_in_memory().unwrap();
    let now = t("2026-11-24T10:00:00Z");
    s.enqueue(&mail("k"), now).unwrap();
    s.transaction(|tx| tx.pause_recipient("Dana@Example.test", "550 no such user", now))
        .unwrap();
    assert!(s.due_outbox(now, 10).unwrap().is_empty(), "held");
    assert_eq!(
        s.paused_recipients().unwrap(),
        vec![(
            "dana@example.test".to_string(),
            "550 no such user".to_string()
        )]
    );
    s.resume_recipient("dana@example.test", now).unwrap();
    assert_eq!(s.due_outbox(now, 10).unwrap().len(), 1, "goes again");
    let kinds: Vec<String> = s
        .events(&EventFilter::default())
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["recipient_paused", "recipient_resumed"]);
}

#[test]
fn the_same_key_is_queued_once() {
    let s = Store::open_in_memory().unwrap();
    let now = t("2026-11-24T08:00:00Z");
    assert!(matches!(
        s.enqueue(&mail("k"), now).unwrap(),
        Enqueued::Queued(_)
    ));
    assert_eq!(s.enqueue(&mail("k"), now).unwrap(), Enqueued::AlreadyQueued);
    assert_eq!(s.outbox_depth().unwrap(), 1);
}

#[test]
fn mails_wait_for_their_time_and_sent_ones_are_recorded() {
    let mut s = Store::open_in_memory().unwrap();
    let Enqueued::Queued(id) = s.enqueue(&mail("k"), t("2026-11-24T08:00:00Z")).unwrap() else {
        panic!("not queued")
    };
    assert!(
        s.due_outbox(t("2026-11-24T08:59:59Z"), 10)
            .unwrap()
            .is_empty()
    );
    let due = s.due_outbox(t("2026-11-24T09:00:00Z"), 10).unwrap();
    assert_eq!(due.len(), 1);
    s.mark_sent(id, t("2026-11-24T09:00:01Z")).unwrap();
    assert_eq!(s.outbox_depth().unwrap(), 0);
    assert!(
        s.due_outbox(t("2026-11-25T00:00:00Z"), 10)
            .unwrap()
            .is_empty()
    );
    let e = s.events(&EventFilter::default()).unwrap().pop().unwrap();
    assert_eq!(e.kind, "sent_instructions");
    assert_eq!(e.direction, Direction::Out);
    assert_eq!(e.message_id.as_deref(), Some("<k@example.test>"));
    let sent: (String, String, String) = s
        .conn
        .query_row(
            "SELECT purpose, recipient, sent_at FROM sent_message WHERE message_id = ?1",
            ["<k@example.test>"],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        sent,
        (
            "instructions".to_string(),
            "dana@example.test".to_string(),
            "2026-11-24T09:00:01.000Z".to_string()
        )
    );
    // Marking it again is a bug upstream, and changes nothing.
    let again = s.mark_sent(id, t("2026-11-24T09:00:02Z"));
    assert!(
        matches!(again, Err(StoreError::NotFound { .. })),
        "{again:?}"
    );
    // Sent once means the key is spent: deciding again queues nothing.
    assert_eq!(
        s.enqueue(&mail("k"), t("2026-11-24T10:00:00Z")).unwrap(),
        Enqueued::AlreadyQueued
    );
}

#[test]
fn the_next_attempt_is_the_earliest_queued_row_and_failures_are_counted() {
    let mut s = Store::open_in_memory().unwrap();
    let now = t("2026-11-24T08:00:00Z");
    assert_eq!(s.next_outbox_attempt().unwrap(), None);
    let mut later = mail("later");
    later.not_before = t("2026-11-24T12:00:00Z");
    s.enqueue(&later, now).unwrap();
    let Enqueued::Queued(id) = s.enqueue(&mail("k"), now).unwrap() else {
        panic!("not queued")
    };
    assert_eq!(
        s.next_outbox_attempt().unwrap(),
        Some(t("2026-11-24T09:00:00Z"))
    );
    s.mark_failed(id, "550 no such user", None, now).unwrap();
    assert_eq!(
        s.next_outbox_attempt().unwrap(),
        Some(t("2026-11-24T12:00:00Z")),
        "a failed row is never due again"
    );
    assert_eq!(s.outbox_failed().unwrap(), 1);
}

#[test]
fn failures_retry_later_or_give_up_loudly() {
    let mut s = Store::open_in_memory().unwrap();
    let Enqueued::Queued(id) = s.enqueue(&mail("k"), t("2026-11-24T08:00:00Z")).unwrap() else {
        panic!("not queued")
    };
    s.mark_failed(
        id,
        "451 try later",
        Some(t("2026-11-24T09:10:00Z")),
        t("2026-11-24T09:00:00Z"),
    )
    .unwrap();
    assert!(
        s.due_outbox(t("2026-11-24T09:05:00Z"), 10)
            .unwrap()
            .is_empty()
    );
    let again = s.due_outbox(t("2026-11-24T09:10:00Z"), 10).unwrap();
    assert_eq!(again[0].attempts, 1);
    s.mark_failed(id, "550 no such user", None, t("2026-11-24T09:10:00Z"))
        .unwrap();
    assert_eq!(s.outbox_depth().unwrap(), 0);
    let events = s.events(&EventFilter::default()).unwrap();
    assert_eq!(events.len(), 2, "each failed attempt is journaled");
    assert_eq!(
        (events[0].kind.as_str(), events[0].detail.as_deref()),
        (
            "send_deferred",
            Some("451 try later; next attempt 2026-11-24T09:10:00.000Z")
        )
    );
    assert_eq!(
        (events[1].kind.as_str(), events[1].detail.as_deref()),
        ("send_failed", Some("550 no such user"))
    );
    assert!(matches!(
        s.mark_failed(999, "x", None, t("2026-11-24T09:10:00Z")),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn a_claimed_mail_is_left_alone_until_resolved() {
    let mut s = Store::open_in_memory().unwrap();
    let now = t("2026-11-24T09:00:00Z");
    let Enqueued::Queued(id) = s.enqueue(&mail("k"), now).unwrap() else {
        panic!("not queued")
    };
    assert!(s.transaction(|tx| tx.claim(id, b"final bytes")).unwrap());
    assert!(
        !s.transaction(|tx| tx.claim(id, b"other bytes")).unwrap(),
        "claimed once"
    );
    assert!(s.due_outbox(now, 10).unwrap().is_empty());
    let left = s.transaction(|tx| tx.sending_outbox()).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].message_id, "<k@example.test>");
    assert_eq!(
        left[0].message, b"final bytes",
        "the bytes the claim fixed, for recovery to match"
    );
    s.transaction(|tx| tx.requeue(id)).unwrap();
    assert_eq!(s.due_outbox(now, 10).unwrap().len(), 1);
    assert_eq!(s.outbox_depth().unwrap(), 1);
}

#[test]
fn the_thread_root_is_the_first_mail_to_that_recipient() {
    let s = Store::open_in_memory().unwrap();
    let now = t("2026-11-24T09:00:00Z");
    assert_eq!(s.thread_root("website", "dana@example.test").unwrap(), None);
    s.enqueue(&mail("a"), now).unwrap();
    s.enqueue(&mail("b"), now).unwrap();
    assert_eq!(
        s.thread_root("website", "dana@example.test")
            .unwrap()
            .as_deref(),
        Some("<a@example.test>")
    );
    assert_eq!(s.thread_root("website", "ada@example.test").unwrap(), None);
}
