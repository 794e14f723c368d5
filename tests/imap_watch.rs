//! The IMAP watcher against the real Dovecot and Postfix: a contractor's reply
//! is recorded about a second after it is sent; mail that arrives while IMAP
//! is down is processed once when it is back; a recreated mailbox (new
//! UIDVALIDITY) processes nothing twice.

mod common;

use chrono::{DateTime, Utc};
use common::watch::{Owner, Running, spawn as spawn_at};
use common::{MailStack, smtp};
use handoff::inbox::imap_watch::{Folder, WatchEvent};
use handoff::store::{EventFilter, Store};
use std::time::{Duration, Instant};

const NOW: &str = "2026-11-24T15:00:00Z";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// An owner whose instructions went to the contractor; replies are watched
/// in `mailbox` of the owner's account.
async fn owner(stack: &MailStack, mailbox: &str) -> Owner {
    let id = common::unique("watch").replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    common::watch::owner(
        stack,
        "outgoing = \"smtp\"\nincoming = \"imap\"",
        &format!("mailbox = \"{mailbox}\"\npoll_every = \"1s\""),
        &id,
        t(NOW),
    )
    .await
}

fn spawn(o: &Owner) -> Running {
    spawn_at(o, t(NOW))
}

/// A reply from the contractor on the instructions' thread.
fn reply(stack: &MailStack, o: &Owner, message_id: &str, body: &str) -> Vec<u8> {
    common::watch::reply(stack, &o.id, &o.root, message_id, body)
}

async fn send_reply(stack: &MailStack, o: &Owner, message_id: &str, body: &str) {
    smtp::send_raw(
        stack,
        &stack.contractor,
        &[&stack.owner.user],
        &reply(stack, o, message_id, body),
    )
    .await
    .expect("Postfix accepts the reply");
}

/// A Message-ID (bare) made of a unique tag.
fn msgid(tag: &str) -> String {
    format!(
        "{}@example.test",
        tag.replace(|c: char| !c.is_ascii_alphanumeric(), ".")
    )
}

/// How many events the store journaled for a Message-ID (bare, no brackets).
fn events_for(o: &Owner, message_id: &str) -> usize {
    let store = Store::open(&o.state).unwrap();
    let wanted = format!("<{message_id}>");
    store
        .events(&EventFilter::default())
        .unwrap()
        .iter()
        .filter(|e| e.message_id.as_deref() == Some(wanted.as_str()))
        .count()
}

#[tokio::test]
async fn a_reply_through_postfix_is_recorded_within_a_second() {
    let stack = MailStack::start();
    let o = owner(&stack, "INBOX").await;
    let mut w = spawn(&o);
    w.connected().await;
    // The watcher reads what is already there first (nothing of ours yet),
    // then IDLEs.
    let id = msgid(&common::unique("ack"));
    let sent = Instant::now();
    send_reply(&stack, &o, &id, "Got it, thanks. Starting Monday.").await;
    let (outcomes, at) = w.recorded(1, Duration::from_secs(10)).await;
    let latency = at.duration_since(sent);
    println!(
        "reply sent -> event committed: {latency:?} (Dovecot's IDLE notification alone waits 0.5 s)"
    );
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(outcomes[0].kind, "acknowledgement", "{outcomes:?}");
    assert_eq!(outcomes[0].engagement.as_deref(), Some(o.id.as_str()));
    assert!(latency < Duration::from_millis(1500), "took {latency:?}");
    assert_eq!(events_for(&o, &id), 1);
    w.stop().await;
}

#[tokio::test]
async fn mail_delivered_while_imap_is_down_is_processed_once_when_it_is_back() {
    let stack = MailStack::start();
    let o = owner(&stack, "INBOX").await;
    let mut w = spawn(&o);
    w.connected().await;
    stack.stop_imap();
    let error = w
        .until(Duration::from_secs(30), |e| match e {
            WatchEvent::Disconnected { error } => Some(error),
            _ => None,
        })
        .await;
    println!("watcher noticed: {error}");
    let report = handoff::status::build(&o.model, &Store::open(&o.state).unwrap(), t(NOW)).unwrap();
    let inbox = report
        .mailboxes
        .iter()
        .find(|m| m.mailbox.ends_with("/INBOX"))
        .expect("the watched mailbox is in the status");
    assert!(inbox.error.is_some(), "status shows the outage: {inbox:?}");
    assert!(
        inbox.last_contact.is_some(),
        "and the last contact before it"
    );
    // Submission and delivery go on while IMAP is down.
    let ids: Vec<String> = (0..3)
        .map(|i| msgid(&common::unique(&format!("down{i}"))))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        send_reply(&stack, &o, id, &format!("Update {i}: all on track.")).await;
    }
    stack.settle();
    let back = Instant::now();
    stack.start_imap();
    w.connected().await;
    let (outcomes, at) = w.recorded(3, Duration::from_secs(30)).await;
    println!(
        "IMAP back -> the three mails recorded: {:?}",
        at.duration_since(back)
    );
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    for id in &ids {
        assert_eq!(events_for(&o, id), 1, "{id} recorded exactly once");
    }
    // A later mail is still seen, and the three are not read again.
    let later = msgid(&common::unique("later"));
    send_reply(&stack, &o, &later, "One more thing, all fine.").await;
    let (outcomes, _) = w.recorded(1, Duration::from_secs(10)).await;
    assert_eq!(outcomes.len(), 1, "only the new mail: {outcomes:?}");
    for id in ids.iter().chain([&later]) {
        assert_eq!(events_for(&o, id), 1, "{id} recorded exactly once");
    }
    let health = Store::open(&o.state)
        .unwrap()
        .watcher_state(&format!("{}@127.0.0.1/INBOX", stack.owner.user))
        .unwrap();
    assert_eq!(health.last_error, None, "healthy again: {health:?}");
    assert!(health.last_uid.unwrap_or(0) >= 4, "{health:?}");
    w.stop().await;
}

#[tokio::test]
async fn a_recreated_mailbox_processes_nothing_twice() {
    let stack = MailStack::start();
    let o = owner(&stack, "Handoff").await;
    let mut session = common::imap::login_starttls(&stack, &stack.owner)
        .await
        .unwrap();
    session.create("Handoff").await.unwrap();
    let ids: Vec<String> = (0..3)
        .map(|i| msgid(&common::unique(&format!("uv{i}"))))
        .collect();
    let raws: Vec<Vec<u8>> = ids
        .iter()
        .map(|id| reply(&stack, &o, id, "Status: wireframes half done."))
        .collect();
    for raw in &raws {
        session.append("Handoff", None, None, raw).await.unwrap();
    }
    let mut w = spawn(&o);
    let (first, _) = w.recorded(3, Duration::from_secs(20)).await;
    assert_eq!(first.len(), 3, "{first:?}");
    w.stop().await;

    // The mailbox is deleted and made again with the same mails and one new
    // one: a new UIDVALIDITY, UIDs from 1 again.
    let before = session.select("Handoff").await.unwrap().uid_validity;
    session.close().await.unwrap();
    session.delete("Handoff").await.unwrap();
    session.create("Handoff").await.unwrap();
    let new_id = msgid(&common::unique("uvnew"));
    for raw in raws
        .iter()
        .cloned()
        .chain([reply(&stack, &o, &new_id, "And here is a question?")])
    {
        session.append("Handoff", None, None, &raw).await.unwrap();
    }
    let after = session.select("Handoff").await.unwrap().uid_validity;
    assert_ne!(
        before, after,
        "the server gave the new mailbox a new UIDVALIDITY"
    );
    let mut w = spawn(&o);
    let (second, _) = w.recorded(4, Duration::from_secs(20)).await;
    let kinds: Vec<&str> = second.iter().map(|o| o.kind.as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "duplicate").count(),
        3,
        "the three known mails are recognised by Message-ID: {kinds:?}"
    );
    assert_eq!(second.len(), 4, "{kinds:?}");
    for id in ids.iter().chain([&new_id]) {
        assert_eq!(events_for(&o, id), 1, "{id} recorded exactly once");
    }
    w.stop().await;
}

#[tokio::test]
async fn the_owners_reply_in_sent_answers_the_contractors_question() {
    let stack = MailStack::start();
    let o = owner(&stack, "INBOX").await;
    let mut w = spawn(&o);
    w.connected().await;
    let question = msgid(&common::unique("q"));
    send_reply(&stack, &o, &question, "Which font should the headings use?").await;
    let (outcomes, _) = w.recorded(1, Duration::from_secs(10)).await;
    assert_eq!(outcomes[0].kind, "question", "{outcomes:?}");

    // The owner answers from their own mail client: the copy lands in Sent.
    let answer = format!(
        "From: Ada Lovelace <{owner}>\r\nTo: {dana}\r\nSubject: Re: Instructions [{id}]\r\n\
         Message-ID: <{mid}>\r\nIn-Reply-To: <{question}>\r\nReferences: {root} <{question}>\r\n\
         Date: Tue, 24 Nov 2026 17:00:00 +0100\r\n\r\nThe same as the logo, please.\r\n",
        owner = stack.owner.user,
        dana = stack.contractor.user,
        id = o.id,
        mid = msgid(&common::unique("answer")),
        root = o.root,
    );
    let mut session = common::imap::login_starttls(&stack, &stack.owner)
        .await
        .unwrap();
    session
        .append("Sent", None, None, answer.as_bytes())
        .await
        .unwrap();
    // Sent is read on the watcher's next wake: another mail wakes it.
    send_reply(
        &stack,
        &o,
        &msgid(&common::unique("wake")),
        "Thanks, noted.",
    )
    .await;
    let answered = w
        .until(Duration::from_secs(90), |e| match e {
            WatchEvent::Recorded {
                folder: Folder::Sent,
                outcomes,
                ..
            } => outcomes.into_iter().find(|o| o.kind == "answered"),
            _ => None,
        })
        .await;
    assert_eq!(answered.engagement.as_deref(), Some(o.id.as_str()));
    let store = Store::open(&o.state).unwrap();
    let events = store.events(&EventFilter::default()).unwrap();
    let marked: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "owner_answered")
        .collect();
    assert_eq!(marked.len(), 1, "{marked:?}");
    assert_eq!(
        marked[0].message_id.as_deref(),
        Some(format!("<{question}>").as_str())
    );
    w.stop().await;
}

#[tokio::test]
async fn a_mail_over_the_size_limit_is_recorded_as_too_large_from_its_header() {
    let stack = MailStack::start();
    let o = owner(&stack, "INBOX").await;
    // 26 MB of attachment-like text after the reply's header.
    let mut big = reply(&stack, &o, &msgid(&common::unique("big")), "Here it is.");
    big.extend(std::iter::repeat_n(b'x', 26 * 1024 * 1024));
    big.extend_from_slice(b"\r\n");
    let mut session = common::imap::login_starttls(&stack, &stack.owner)
        .await
        .unwrap();
    session.append("INBOX", None, None, &big).await.unwrap();
    let small = msgid(&common::unique("small"));
    session
        .append(
            "INBOX",
            None,
            None,
            &reply(&stack, &o, &small, "And a question?"),
        )
        .await
        .unwrap();
    let mut w = spawn(&o);
    let (outcomes, _) = w.recorded(2, Duration::from_secs(30)).await;
    let kinds: Vec<&str> = outcomes.iter().map(|o| o.kind.as_str()).collect();
    assert_eq!(kinds, ["too_large", "question"], "{outcomes:?}");
    assert_eq!(events_for(&o, &small), 1, "the mail behind it is recorded");
    w.stop().await;
}
