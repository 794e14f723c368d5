//! Sending, end to end: templates rendered from a real config, queued in the
//! store, delivered through the real Postfix, read back from Dovecot.

mod common;

use chrono::{DateTime, Utc};
use common::{Account, MailStack, imap};
use handoff::outbox::{self, Composer, MailRequest, RetryPolicy, Transport};
use handoff::store::{EventFilter, Store};
use handoff::templates::{Purpose, Templates};
use mail_parser::MessageParser;
use std::path::{Path, PathBuf};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

const NOW: &str = "2026-11-24T15:00:00Z";

fn unique_id(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!("{tag}-{}-{n}", std::process::id())
}

/// An owner's directory with a config that sends through `stack` to a
/// contractor at `contractor_email`, for one engagement `id`.
struct Owner {
    _dir: tempfile::TempDir,
    config: PathBuf,
    id: String,
}

fn owner(stack: &MailStack, contractor_email: &str, tag: &str) -> Owner {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("owner.pw"),
        format!("{}\n", stack.owner.password),
    )
    .unwrap();
    let id = unique_id(tag);
    let config = format!(
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

[imap]
host = "127.0.0.1"
port = {imaps}
tls = "tls"
username = "{owner}"
password_file = "owner.pw"
ca_file = "{ca}"
sent_mailbox = "Sent"

[policy]
quiet_hours = "00:00-00:00"

[[contractor]]
id = "dana"
name = "Dana Díaz"
email = "{contractor}"
timezone = "America/New_York"

[[engagement]]
id = "{id}"
contractor = "dana"
title = "Website für Müller & Söhne"
agreement_signed = 2026-11-02
starts = 2026-11-24
kickoff = 2026-11-25T15:00:00
deliverables = "Five pages, résumé included"
quality_standard = "Valid HTML; <b>no</b> broken links"
performance_standard = "On time"
payment_terms = "Net 14"
status_reports = "0 9 * * MON"

[[engagement.milestone]]
id = "wireframes"
title = "Wireframes"
due = 2026-12-05
"#,
        owner = stack.owner.user,
        smtp = stack.smtp_port,
        imaps = stack.imaps_port,
        ca = stack.ca_cert.display(),
        contractor = contractor_email,
    );
    let path = dir.path().join("handoff.toml");
    std::fs::write(&path, config).unwrap();
    Owner {
        _dir: dir,
        config: path,
        id,
    }
}

struct Loaded {
    model: handoff::model::Model,
    templates: Templates,
    transport: Transport,
    store: Store,
}

fn load(o: &Owner) -> Loaded {
    let model = handoff::config::load(&o.config).expect("config").model;
    let templates = Templates::load(None).unwrap();
    let transport = Transport::from_model(&model).expect("transport");
    let store = Store::open(&model.mail.state).unwrap();
    Loaded {
        model,
        templates,
        transport,
        store,
    }
}

impl Loaded {
    async fn pass(&mut self, now: &str) -> handoff::pass::PassReport {
        handoff::pass::run_once(
            &self.model,
            &self.templates,
            &mut self.store,
            &self.transport,
            t(now),
        )
        .await
        .expect("pass")
    }

    async fn deliver(&mut self, now: &str) -> outbox::DeliveryReport {
        let composer = Composer {
            model: &self.model,
            templates: &self.templates,
        };
        outbox::deliver_due(
            &mut self.store,
            &self.transport,
            self.model.imap.as_ref(),
            &composer,
            RetryPolicy::default(),
            &handoff::clock::FixedClock::new(t(now)),
        )
        .await
        .expect("deliver")
    }

    /// Composes and queues one mail under `key`.
    fn enqueue(&mut self, engagement: &str, purpose: Purpose, key: &str) {
        let composer = Composer {
            model: &self.model,
            templates: &self.templates,
        };
        let e = self.model.engagement(engagement).unwrap();
        let milestone = purpose
            .needs_milestone()
            .then(|| e.milestones[0].id.clone());
        let req = MailRequest {
            purpose,
            engagement: engagement.to_string(),
            milestone,
            extra: outbox::check::sample_extra(purpose),
            calendar: None,
        };
        let recipient = if purpose.is_owner_notice() {
            self.model.owner.email.to_string()
        } else {
            self.model.contractor_of(e).email.to_string()
        };
        let root = self.store.thread_root(engagement, &recipient).unwrap();
        let mail = composer
            .compose(&req, root.as_deref(), t(NOW))
            .unwrap()
            .into_outbox(key.to_string(), &req, t(NOW));
        self.store.enqueue(&mail, t(NOW)).unwrap();
    }
}

fn contains(m: &[u8], needle: &str) -> bool {
    m.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The mails of one purpose (Handoff's Message-IDs name it: `<token.purpose@...>`).
fn of_purpose(mails: &[Vec<u8>], purpose: Purpose) -> Vec<Vec<u8>> {
    let marker = format!(".{purpose}@");
    mails
        .iter()
        .filter(|m| {
            MessageParser::default()
                .parse(m)
                .and_then(|p| p.message_id().map(|id| id.contains(&marker)))
                .unwrap_or(false)
        })
        .cloned()
        .collect()
}

/// What one engagement of [`owner`] sends once work starts: the instructions,
/// the wireframes invitation and the kickoff invitation.
const STARTING_MAILS: usize = 3;

/// Every message in `account`'s `folder` whose subject carries `[id]`, once
/// Postfix has nothing left in flight.
async fn mails_for(stack: &MailStack, account: &Account, folder: &str, id: &str) -> Vec<Vec<u8>> {
    stack.settle();
    let mut session = imap::login_starttls(stack, account).await.expect("login");
    imap::fetch_all(&mut session, folder)
        .await
        .into_iter()
        .filter(|m| contains(m, id))
        .collect()
}

#[tokio::test]
async fn instructions_arrive_intact_and_later_mail_threads_under_them() {
    let stack = MailStack::shared();
    let o = owner(stack, &stack.contractor.user, "intact");
    let mut h = load(&o);
    let report = h.pass(NOW).await;
    assert_eq!(report.queued[0], format!("instructions/{}", o.id));
    assert_eq!(report.delivery.sent, STARTING_MAILS);

    let all = mails_for(stack, &stack.contractor, "INBOX", &o.id).await;
    assert_eq!(all.len(), STARTING_MAILS);
    let got = of_purpose(&all, Purpose::Instructions);
    assert_eq!(got.len(), 1, "exactly one instructions mail");
    let m = MessageParser::default().parse(&got[0]).expect("parses");
    assert_eq!(
        m.subject(),
        Some(format!("Website für Müller & Söhne [{}]", o.id).as_str())
    );
    let to = m.to().and_then(|a| a.first()).unwrap();
    assert_eq!(
        to.name(),
        Some("Dana Díaz"),
        "non-ASCII display name survives RFC 2047"
    );
    assert_eq!(
        m.from().and_then(|a| a.first()).and_then(|a| a.address()),
        Some("owner@example.test")
    );
    assert!(
        m.header_raw("Reply-To")
            .unwrap()
            .contains("owner@example.test")
    );
    assert!(
        m.header_raw("Auto-Submitted").is_none(),
        "contractor mail is not auto-submitted"
    );
    assert_eq!(m.text_body_count(), 1);
    assert_eq!(m.html_body_count(), 1);
    let text = m.body_text(0).unwrap();
    assert!(text.contains("Five pages, résumé included"), "{text}");
    assert!(
        text.contains("due Sat 5 Dec 2026, 17:59 EST (America/New_York)"),
        "{text}"
    );
    assert!(text.contains("Net 14"));
    let html = m.body_html(0).unwrap();
    assert!(
        html.contains("&lt;b&gt;no&lt;"),
        "config text is escaped in HTML: {html}"
    );
    assert!(
        !html.contains("<b>no</b>"),
        "config text is escaped in HTML: {html}"
    );
    let instructions_id = m.message_id().unwrap().to_string();
    let log = h.store.events(&EventFilter::default()).unwrap();
    let sent = log.iter().find(|e| e.kind == "sent_instructions").unwrap();
    assert_eq!(
        sent.message_id.as_deref(),
        Some(format!("<{instructions_id}>").as_str())
    );

    // Copies went to the owner's Sent folder.
    let sent = mails_for(stack, &stack.owner, "Sent", &o.id).await;
    assert_eq!(sent.len(), STARTING_MAILS);

    // The next mail to Dana cites the instructions: one thread.
    h.enqueue(&o.id, Purpose::DeadlineReminder, "reminder/1");
    assert_eq!(h.deliver(NOW).await.sent, 1);
    let all = mails_for(stack, &stack.contractor, "INBOX", &o.id).await;
    let got = of_purpose(&all, Purpose::DeadlineReminder);
    assert_eq!(got.len(), 1);
    let reminder = MessageParser::default()
        .parse(&got[0])
        .unwrap()
        .into_owned();
    assert_eq!(
        reminder.in_reply_to().as_text(),
        Some(instructions_id.as_str())
    );
    assert_eq!(
        reminder.references().as_text(),
        Some(instructions_id.as_str())
    );
    assert_eq!(
        reminder.subject(),
        m.subject(),
        "a stable subject keeps Gmail's thread"
    );
}

#[tokio::test]
async fn every_purpose_renders_and_arrives_intact() {
    let stack = MailStack::shared();
    let o = owner(stack, &stack.contractor.user, "every");
    let mut h = load(&o);
    h.store
        .reconcile(&handoff::planned::engagements(&h.model), t(NOW))
        .unwrap();
    for p in Purpose::ALL {
        h.enqueue(&o.id, *p, &format!("every/{p}"));
    }
    let report = h.deliver(NOW).await;
    assert_eq!(report.sent, Purpose::ALL.len());
    let to_dana = mails_for(stack, &stack.contractor, "INBOX", &o.id).await;
    let to_owner = mails_for(stack, &stack.owner, "INBOX", &o.id).await;
    let notices = Purpose::ALL.iter().filter(|p| p.is_owner_notice()).count();
    assert_eq!(to_dana.len(), Purpose::ALL.len() - notices);
    // The config-error, inbox-down and sign-in notices are about Handoff itself and
    // the digest about every engagement, so they do not carry the
    // engagement id these mails are found by; the digest is found by its
    // subject instead.
    let about_handoff = [
        Purpose::NoticeConfigError,
        Purpose::NoticeInboxDown,
        Purpose::NoticeSignIn,
    ]
    .len();
    assert_eq!(to_owner.len(), notices - about_handoff - 1);
    let digests: Vec<_> = {
        stack.settle();
        let mut session = imap::login_starttls(stack, &stack.owner)
            .await
            .expect("login");
        imap::fetch_all(&mut session, "INBOX")
            .await
            .into_iter()
            .filter(|m| contains(m, "Your week"))
            .collect()
    };
    assert!(!digests.is_empty(), "the digest arrived");
    for raw in to_owner {
        let m = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(
            m.header_raw("Auto-Submitted").map(str::trim),
            Some("auto-generated")
        );
        assert!(
            m.subject().unwrap().starts_with("[Handoff]"),
            "{:?}",
            m.subject()
        );
        assert_eq!(m.text_body_count(), 1);
        assert_eq!(m.html_body_count(), 1);
        let text = m.body_text(0).unwrap();
        assert!(!text.contains("{{"), "unrendered template text: {text}");
    }
    for raw in to_dana {
        let m = MessageParser::default().parse(&raw).unwrap();
        assert!(m.header_raw("Auto-Submitted").is_none());
        assert!(m.body_text(0).unwrap().starts_with("Hello Dana,"));
        assert!(m.body_html(0).unwrap().contains("<p>Hello Dana,</p>"));
    }
}

#[tokio::test]
async fn the_same_key_queued_twice_is_one_mail() {
    let stack = MailStack::shared();
    let o = owner(stack, &stack.contractor.user, "twice");
    let mut h = load(&o);
    h.store
        .reconcile(&handoff::planned::engagements(&h.model), t(NOW))
        .unwrap();
    h.enqueue(&o.id, Purpose::StatusRequest, "status/2026-11-30");
    h.enqueue(&o.id, Purpose::StatusRequest, "status/2026-11-30");
    assert_eq!(h.deliver(NOW).await.sent, 1);
    assert_eq!(h.deliver(NOW).await.sent, 0);
    assert_eq!(
        mails_for(stack, &stack.contractor, "INBOX", &o.id)
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_4xx_is_retried_later_and_then_delivered() {
    let stack = MailStack::start();
    let o = owner(&stack, &stack.tempfail.user, "tempfail");
    let mut h = load(&o);
    let first = h.pass(NOW).await;
    assert_eq!(
        (first.delivery.sent, first.delivery.retrying),
        (0, STARTING_MAILS)
    );
    stack.tempfail_off();
    // Not yet due: the backoff (about a minute) has not passed.
    let early = h.pass("2026-11-24T15:00:30Z").await;
    assert_eq!((early.delivery.sent, early.delivery.retrying), (0, 0));
    let later = h.pass("2026-11-24T15:05:00Z").await;
    assert_eq!(later.delivery.sent, STARTING_MAILS);
    let got = mails_for(&stack, &stack.tempfail, "INBOX", &o.id).await;
    assert_eq!(got.len(), STARTING_MAILS);
    assert_eq!(h.store.outbox_depth().unwrap(), 0);
    // Dated when they went, not when first tried; the Sent copies are the
    // same mails, dated the same.
    let dated = |mails: &[Vec<u8>]| {
        let mut v: Vec<(String, String)> = mails
            .iter()
            .map(|m| {
                let p = MessageParser::default().parse(m).unwrap();
                (
                    p.message_id().unwrap().to_string(),
                    p.date().unwrap().to_rfc3339(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let delivered = dated(&got);
    assert!(
        delivered.iter().all(|(_, d)| d == "2026-11-24T15:05:00Z"),
        "{delivered:?}"
    );
    let sent = mails_for(&stack, &stack.owner, "Sent", &o.id).await;
    assert_eq!(dated(&sent), delivered);
}

#[tokio::test]
async fn a_5xx_fails_once_and_the_owner_is_told() {
    let stack = MailStack::shared();
    let o = owner(stack, "gone@example.test", "gone");
    let mut h = load(&o);
    let report = h.pass(NOW).await;
    assert_eq!(report.delivery.failed, STARTING_MAILS);
    assert_eq!(
        report.delivery.sent, 1,
        "one owner notice for the address, sent in the same pass"
    );
    let notices = mails_for(stack, &stack.owner, "INBOX", &o.id).await;
    assert_eq!(notices.len(), 1);
    let m = MessageParser::default().parse(&notices[0]).unwrap();
    assert!(
        m.subject().unwrap().contains("could not be sent"),
        "{:?}",
        m.subject()
    );
    assert!(m.body_text(0).unwrap().contains("550"));
    let failed: Vec<_> = h
        .store
        .events(&EventFilter::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "send_failed")
        .collect();
    assert_eq!(
        failed.len(),
        STARTING_MAILS,
        "each failed mail is journaled"
    );
    // Nothing more happens on later passes: no retries of a 5xx, no second notice.
    let again = h.pass("2026-11-25T15:00:00Z").await;
    assert_eq!(again.delivery, outbox::DeliveryReport::default());
}

#[tokio::test]
async fn mail_waits_while_postfix_is_down_and_goes_when_it_is_back() {
    let stack = MailStack::start();
    let o = owner(&stack, &stack.contractor.user, "outage");
    let mut h = load(&o);
    stack.stop_smtp();
    let down = h.pass(NOW).await;
    assert_eq!(
        (down.delivery.sent, down.delivery.retrying),
        (0, STARTING_MAILS)
    );
    assert_eq!(
        h.store.outbox_depth().unwrap() as usize,
        STARTING_MAILS,
        "the mails wait in the outbox"
    );
    stack.start_smtp();
    let back = h.pass("2026-11-24T15:05:00Z").await;
    assert_eq!(back.delivery.sent, STARTING_MAILS);
    let got = mails_for(&stack, &stack.contractor, "INBOX", &o.id).await;
    assert_eq!(got.len(), STARTING_MAILS);
}

#[tokio::test]
async fn a_crash_after_the_server_accepted_does_not_send_twice() {
    let stack = MailStack::shared();
    let o = owner(stack, &stack.contractor.user, "crash");
    let run = |failpoint: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_handoff"));
        cmd.args(["run", "--once", "--config"])
            .arg(&o.config)
            .env("HANDOFF_NOW", NOW)
            .env_remove("HANDOFF_FAILPOINT");
        if let Some(f) = failpoint {
            cmd.env("HANDOFF_FAILPOINT", f);
        }
        cmd.output().expect("run handoff")
    };
    let crashed = run(Some("outbox.after_send"));
    let stderr = String::from_utf8_lossy(&crashed.stderr);
    assert!(!crashed.status.success(), "the failpoint killed the run");
    assert!(stderr.contains("failpoint outbox.after_send"), "{stderr}");
    // The server accepted it, the store never heard: the row is mid-send.
    let state = Path::new(o.config.parent().unwrap()).join("var/handoff.db");
    let depth = Store::open(&state).unwrap().outbox_depth().unwrap() as usize;
    assert_eq!(depth, STARTING_MAILS);

    let again = run(None);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let out = String::from_utf8_lossy(&again.stdout);
    assert!(
        out.contains(&format!("sent {STARTING_MAILS},")),
        "the interrupted one recovered as sent, the rest sent: {out}"
    );
    let all = mails_for(stack, &stack.contractor, "INBOX", &o.id).await;
    assert_eq!(all.len(), STARTING_MAILS, "no mail twice");
    assert_eq!(of_purpose(&all, Purpose::Instructions).len(), 1);
    let store = Store::open(&state).unwrap();
    assert_eq!(store.outbox_depth().unwrap(), 0);
    let sent = store
        .events(&EventFilter::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "sent_instructions")
        .count();
    assert_eq!(sent, 1);
}

#[tokio::test]
async fn local_mode_writes_each_mail_once_as_an_eml_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("handoff.toml");
    std::fs::write(&config, handoff::config::EXAMPLE).unwrap();
    let run = |failpoint: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_handoff"));
        cmd.args(["run", "--once", "--config"])
            .arg(&config)
            .env("HANDOFF_NOW", NOW)
            .env_remove("HANDOFF_FAILPOINT");
        if let Some(f) = failpoint {
            cmd.env("HANDOFF_FAILPOINT", f);
        }
        cmd.output().unwrap()
    };
    assert!(!run(Some("outbox.after_send")).status.success());
    assert!(run(None).status.success());
    assert!(run(None).status.success());
    let new = dir.path().join("var/mail/outgoing/new");
    common::ical::check_dir(&new);
    let files: Vec<_> = std::fs::read_dir(&new).unwrap().collect();
    assert_eq!(
        files.len(),
        4,
        "each .eml once, despite the crash and the rerun"
    );
    assert!(
        std::fs::read_dir(dir.path().join("var/mail/outgoing/tmp"))
            .unwrap()
            .next()
            .is_none()
    );
}
