//! The owner's reply commands over the real mail servers: Handoff's delivery
//! notice reaches the owner through Postfix and Dovecot, the owner's `accept`
//! reply comes back the same way and is read from the mailbox into the inbox
//! pipeline, and the contractor receives the confirmation. A forged From sent
//! through the same servers changes nothing.

mod common;

use chrono::{DateTime, Utc};
use common::{Account, MailStack, contains, imap, smtp};
use handoff::inbox::{Inbox, Source};
use handoff::lifecycle::{EngagementState, MilestoneState};
use handoff::outbox::{Composer, Transport};
use handoff::store::{EventFilter, Store};
use handoff::templates::Templates;
use mail_parser::MessageParser;
use std::time::Duration;

const NOW: &str = "2026-11-24T15:00:00Z";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn config(stack: &MailStack, id: &str) -> String {
    format!(
        r#"
[owner]
name = "Ada Lovelace"
email = "{owner}"
timezone = "Europe/Berlin"

[mail]
outgoing = "smtp"
incoming = "maildir"

[smtp]
host = "127.0.0.1"
port = {smtp}
tls = "starttls"
username = "{owner}"
password_file = "owner.pw"
ca_file = "{ca}"

[policy]
quiet_hours = "00:00-00:00"

[[contractor]]
id = "dana"
name = "Dana Diaz"
email = "{contractor}"

[[engagement]]
id = "{id}"
contractor = "dana"
title = "Website"
agreement_signed = 2026-11-02
starts = 2026-11-24
deliverables = "Five pages"
quality_standard = "Valid HTML"
performance_standard = "On time"
budget = "2000 EUR"

[[engagement.milestone]]
id = "wireframes"
title = "Wireframes"
due = 2026-12-05
"#,
        owner = stack.owner.user,
        smtp = stack.smtp_port,
        ca = stack.ca_cert.display(),
        contractor = stack.contractor.user,
    )
}

/// Waits for a mail in `account`'s INBOX that contains every needle and,
/// if `purpose` is given, is Handoff's mail of that purpose (its Message-ID
/// names it).
async fn arrives_of(
    stack: &MailStack,
    account: &Account,
    purpose: Option<&str>,
    needles: &[&str],
) -> Vec<u8> {
    let session = imap::login_starttls(stack, account).await.expect("login");
    let marker = purpose.map(|p| format!(".{p}@"));
    let (mut session, got) = imap::wait_for(session, "INBOX", Duration::from_secs(20), |m| {
        needles.iter().all(|n| contains(m, n))
            && marker
                .as_ref()
                .is_none_or(|mk| message_id(m).contains(mk.as_str()))
    })
    .await;
    let _ = session.logout().await;
    got.unwrap_or_else(|| panic!("no mail with {needles:?} for {}", account.user))
}

async fn arrives(stack: &MailStack, account: &Account, needles: &[&str]) -> Vec<u8> {
    arrives_of(stack, account, None, needles).await
}

fn message_id(raw: &[u8]) -> String {
    let m = MessageParser::default().parse(raw).expect("parses");
    format!("<{}>", m.message_id().expect("a Message-ID"))
}

#[tokio::test]
async fn an_accept_reply_through_the_mail_servers_accepts_the_delivery() {
    let stack = MailStack::shared();
    let id = common::unique("reply").replace(' ', "-");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("owner.pw"), &stack.owner.password).unwrap();
    let path = dir.path().join("handoff.toml");
    std::fs::write(&path, config(stack, &id)).unwrap();
    let model = handoff::config::load(&path).expect("config").model;
    let templates = Templates::load(None).unwrap();
    let transport = Transport::from_model(&model).expect("transport");
    let mut store = Store::open(&model.mail.state).unwrap();
    let composer = Composer {
        model: &model,
        templates: &templates,
    };
    let inbox = Inbox {
        model: &model,
        composer: &composer,
    };
    let mut uid = 0;
    let mut ingest = |store: &mut Store, raw: &[u8]| {
        uid += 1;
        let source = Source {
            account: format!("imap-{id}"),
            uid_validity: 1,
            uid,
            truncated: false,
        };
        inbox
            .ingest(store, raw, &source, t(NOW), false)
            .expect("ingest")
    };
    let tag = format!("[{id}]");

    // The instructions reach Dana; she delivers by replying to them.
    handoff::pass::run_once(&model, &templates, &mut store, &transport, t(NOW))
        .await
        .expect("pass");
    let instructions = arrives_of(stack, &stack.contractor, Some("instructions"), &[&tag]).await;
    let instructions = message_id(&instructions);
    let delivery = format!(
        "From: Dana Diaz <{dana}>\r\nTo: <{owner}>\r\nSubject: Re: Website {tag}\r\n\
         Message-ID: <delivery-{id}@example.test>\r\nIn-Reply-To: {instructions}\r\n\
         References: {instructions}\r\nDate: Tue, 24 Nov 2026 10:00:00 -0500\r\n\r\n\
         Here are the wireframes: https://example.test/{id}\r\n",
        dana = stack.contractor.user,
        owner = stack.owner.user,
    );
    smtp::send_raw(
        stack,
        &stack.contractor,
        &[&stack.owner.user],
        delivery.as_bytes(),
    )
    .await
    .expect("Dana sends");
    let got = arrives(stack, &stack.owner, &[&format!("delivery-{id}@")]).await;
    assert_eq!(ingest(&mut store, &got).kind, "delivery");

    // The pass sends Ada the delivery notice; she answers it with "accept".
    handoff::pass::run_once(&model, &templates, &mut store, &transport, t(NOW))
        .await
        .expect("pass");
    let notice = arrives_of(
        stack,
        &stack.owner,
        Some("notice_delivery"),
        &[&format!("{id}:")],
    )
    .await;
    let notice = message_id(&notice);
    let reply = format!(
        "From: Ada Lovelace <{owner}>\r\nTo: <{owner}>\r\nSubject: Re: [Handoff] {id}\r\n\
         Message-ID: <accept-{id}@example.test>\r\nIn-Reply-To: {notice}\r\nReferences: {notice}\r\n\
         Date: Tue, 24 Nov 2026 16:05:00 +0100\r\n\r\naccept: Looks great, {id}\r\n\r\n\
         On Tue, Handoff wrote:\r\n> Then record the outcome\r\n",
        owner = stack.owner.user,
    );
    smtp::send_raw(stack, &stack.owner, &[&stack.owner.user], reply.as_bytes())
        .await
        .expect("Ada replies");
    let got = arrives(stack, &stack.owner, &[&format!("accept-{id}@")]).await;
    let outcome = ingest(&mut store, &got);
    assert_eq!(outcome.kind, "owner_command", "{}", outcome.why);

    // Eve forges Ada's From through the same server, citing a made-up
    // notice: nothing changes.
    let forged = format!(
        "From: Ada Lovelace <{owner}>\r\nTo: <{owner}>\r\nSubject: Re: [Handoff] {id}\r\n\
         Message-ID: <forged-{id}@example.test>\r\n\
         In-Reply-To: <00000000000000000000000000000000.notice_delivery@example.test>\r\n\
         Date: Tue, 24 Nov 2026 16:06:00 +0100\r\n\r\nend: forged\r\n",
        owner = stack.owner.user,
    );
    smtp::send_raw(
        stack,
        &stack.stranger,
        &[&stack.owner.user],
        forged.as_bytes(),
    )
    .await
    .expect("Eve sends");
    let got = arrives(stack, &stack.owner, &[&format!("forged-{id}@")]).await;
    assert_eq!(ingest(&mut store, &got).kind, "owner_command_rejected");

    let record = store
        .engagements()
        .unwrap()
        .into_iter()
        .find(|e| e.id == id)
        .unwrap();
    assert_eq!(record.milestones[0].state, MilestoneState::Accepted);
    assert_eq!(
        record.state,
        EngagementState::Finished,
        "its only milestone accepted"
    );
    let events = store.events(&EventFilter::default()).unwrap();
    let accept = events.iter().find(|e| e.kind == "owner_accept").unwrap();
    assert_eq!(
        accept.detail.as_deref(),
        Some(format!("Looks great, {id}").as_str())
    );
    assert!(!events.iter().any(|e| e.kind == "owner_end"));

    // Dana receives the confirmation with Ada's notes.
    handoff::pass::run_once(&model, &templates, &mut store, &transport, t(NOW))
        .await
        .expect("pass");
    let confirmation = arrives_of(
        stack,
        &stack.contractor,
        Some("delivery_accepted"),
        &[&tag, &format!("Looks great, {id}")],
    )
    .await;
    let m = MessageParser::default().parse(&confirmation).unwrap();
    assert_eq!(
        m.in_reply_to().as_text(),
        Some(instructions.trim_matches(['<', '>'])),
        "the confirmation stays on Dana's thread"
    );
}
