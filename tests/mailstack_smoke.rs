//! The mail-server harness works: a real Postfix and Dovecot on loopback, as
//! every integration test of Handoff uses them.

mod common;

use async_imap::extensions::idle::IdleResponse;
use common::{MailStack, contains, imap, smtp, unique, untrusting_tls_config};
use lettre::AsyncTransport;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn mail_sent_with_starttls_and_auth_arrives_in_the_contractors_inbox() {
    let stack = MailStack::shared();
    let subject = unique("Kickoff");
    smtp::send(
        stack,
        &stack.owner,
        &stack.contractor.user,
        &subject,
        "See you at 15:00.",
    )
    .await
    .expect("submission accepted");
    let got = imap::wait_for_text(stack, &stack.contractor, "INBOX", &subject, WAIT).await;
    assert!(contains(&got, "See you at 15:00."));
    assert!(contains(&got, "From: owner@example.test"));
    // The same mail is on disk in dana's Maildir.
    assert!(
        stack
            .maildir_messages(&stack.contractor, "INBOX")
            .iter()
            .any(|m| contains(m, &subject))
    );
}

/// Reads one SMTP reply (all its lines) from the server.
async fn smtp_reply<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> String {
    let mut reply = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).await.expect("read reply");
        assert!(!line.is_empty(), "server closed: {reply}");
        reply.push_str(&line);
        if line.as_bytes().get(3) != Some(&b'-') {
            return reply;
        }
    }
}

#[tokio::test]
async fn submission_offers_starttls_and_no_auth_before_it() {
    let stack = MailStack::shared();
    let tcp = tokio::net::TcpStream::connect((stack.host.as_str(), stack.smtp_port))
        .await
        .expect("connect");
    let (r, mut w) = tcp.into_split();
    let mut r = BufReader::new(r);
    assert!(smtp_reply(&mut r).await.starts_with("220"));
    w.write_all(b"EHLO test\r\n").await.unwrap();
    let ehlo = smtp_reply(&mut r).await;
    assert!(ehlo.contains("STARTTLS"), "{ehlo}");
    assert!(!ehlo.contains("AUTH"), "AUTH only after STARTTLS: {ehlo}");
    w.write_all(b"QUIT\r\n").await.unwrap();
}

#[tokio::test]
async fn a_wrong_password_is_refused() {
    let stack = MailStack::shared();
    let err = smtp::transport_with(stack, &stack.owner.user, "not-the-password")
        .send(smtp::message(
            &stack.owner.user,
            &stack.contractor.user,
            "x",
            "x",
        ))
        .await
        .expect_err("AUTH must fail");
    assert!(err.is_permanent(), "{err}");
    assert!(err.to_string().contains("535"), "{err}");
    let mut wrong = stack.owner.clone();
    wrong.password = "not-the-password".into();
    let err = imap::login_starttls(stack, &wrong)
        .await
        .expect_err("IMAP LOGIN must fail");
    assert!(err.starts_with("LOGIN"), "{err}");
}

#[tokio::test]
async fn a_recipient_outside_example_test_is_refused() {
    let stack = MailStack::shared();
    let err = smtp::send(stack, &stack.owner, "someone@elsewhere.test", "x", "x")
        .await
        .expect_err("relay refused");
    assert!(err.is_permanent(), "{err}");
    // And an address of example.test that has no mailbox.
    let err = smtp::send(stack, &stack.owner, "nobody@example.test", "x", "x")
        .await
        .expect_err("unknown user refused");
    assert!(err.is_permanent(), "{err}");
}

#[tokio::test]
async fn gone_is_refused_for_good() {
    let stack = MailStack::shared();
    let err = smtp::send(stack, &stack.owner, &stack.gone, "x", "x")
        .await
        .expect_err("5xx");
    assert!(err.is_permanent(), "{err}");
    assert!(err.to_string().contains("550"), "{err}");
}

#[tokio::test]
async fn tempfail_is_temporary_and_a_retry_goes_through_once_switched_off() {
    // Its own stack: switching tempfail off must not leak into other tests.
    let stack = MailStack::start();
    let subject = unique("Retry");
    let err = smtp::send(&stack, &stack.owner, &stack.tempfail.user, &subject, "x")
        .await
        .expect_err("4xx");
    assert!(err.is_transient(), "{err}");
    assert!(err.to_string().contains("451"), "{err}");
    // The switch takes effect for the very next connection.
    stack.tempfail_off();
    smtp::send(&stack, &stack.owner, &stack.tempfail.user, &subject, "x")
        .await
        .expect("accepted after tempfail-off");
    imap::wait_for_text(&stack, &stack.tempfail, "INBOX", &subject, WAIT).await;
    // And back on, as immediately.
    stack.tempfail_on();
    let err = smtp::send(&stack, &stack.owner, &stack.tempfail.user, "again", "x")
        .await
        .expect_err("4xx again");
    assert!(err.is_transient(), "{err}");
}

/// Eve's INBOX is this test's alone: no other delivery wakes the IDLE.
#[tokio::test]
async fn idle_is_offered_and_a_delivery_wakes_it() {
    let stack = MailStack::shared();
    let mut session = imap::login_starttls(stack, &stack.stranger)
        .await
        .expect("login");
    let caps = session.capabilities().await.expect("CAPABILITY");
    assert!(caps.has_str("IDLE"), "IDLE offered");
    session.select("INBOX").await.expect("select");
    let mut idle = session.idle();
    idle.init().await.expect("IDLE started");
    let (wait, _stop) = idle.wait_with_timeout(Duration::from_secs(20));
    let subject = unique("Wake");
    let send = async {
        smtp::send(
            stack,
            &stack.owner,
            &stack.stranger.user,
            &subject,
            "wake up",
        )
        .await
        .expect("sent");
        Instant::now()
    };
    let woke = async {
        let r = wait.await;
        (r, Instant::now())
    };
    let ((woke, woke_at), accepted_at) = tokio::join!(woke, send);
    let woke = woke.expect("IDLE wait");
    assert!(
        matches!(woke, IdleResponse::NewData(_)),
        "IDLE woke with new data, not {woke:?}"
    );
    println!(
        "IDLE woke {:?} after the SMTP server accepted the mail",
        woke_at.saturating_duration_since(accepted_at)
    );
}

#[tokio::test]
async fn implicit_tls_works_and_an_untrusted_server_is_refused() {
    let stack = MailStack::shared();
    let mut session = imap::login_imaps(stack, &stack.owner)
        .await
        .expect("IMAPS login");
    session.noop().await.expect("NOOP");
    // A client that trusts only the public roots must refuse the test CA.
    let err = imap::login_tls(stack, &stack.owner, untrusting_tls_config())
        .await
        .expect_err("certificate verification is on");
    assert!(err.starts_with("TLS"), "{err}");
    assert!(err.contains("certificate"), "{err}");
}

#[tokio::test]
async fn the_owner_has_a_sent_folder_that_takes_appends() {
    let stack = MailStack::shared();
    let mut session = imap::login_starttls(stack, &stack.owner)
        .await
        .expect("login");
    let boxes = imap::list_mailboxes(&mut session).await;
    let sent = boxes
        .iter()
        .find(|b| b.name == "Sent")
        .unwrap_or_else(|| panic!("no Sent folder in {boxes:?}"));
    assert!(sent.attributes.iter().any(|a| a == "\\Sent"), "{sent:?}");
    let subject = unique("Copy");
    let raw = format!(
        "From: owner@example.test\r\nTo: dana@example.test\r\nSubject: {subject}\r\n\r\nA copy.\r\n"
    );
    session
        .append("Sent", Some("(\\Seen)"), None, raw.as_bytes())
        .await
        .expect("APPEND to Sent");
    let sent = imap::fetch_all(&mut session, "Sent").await;
    assert!(sent.iter().any(|m| contains(m, &subject)));
    assert!(
        stack
            .maildir_messages(&stack.owner, "Sent")
            .iter()
            .any(|m| contains(m, &subject))
    );
}

#[tokio::test]
async fn a_raw_mail_to_two_recipients_lands_in_both_maildirs() {
    let stack = MailStack::shared();
    let subject = unique("Raw");
    let raw = format!(
        "From: owner@example.test\r\nTo: dana@example.test, owner@example.test\r\n\
         Subject: {subject}\r\nMessage-ID: <{}@example.test>\r\n\r\nTwo copies.\r\n",
        subject.replace(' ', ".")
    );
    smtp::send_raw(
        stack,
        &stack.owner,
        &[&stack.contractor.user, &stack.owner.user],
        raw.as_bytes(),
    )
    .await
    .expect("accepted");
    stack.settle();
    for who in [&stack.contractor, &stack.owner] {
        let on_disk = stack.maildir_messages(who, "INBOX");
        let m = on_disk
            .iter()
            .find(|m| contains(m, &subject))
            .unwrap_or_else(|| panic!("not in {}'s Maildir", who.user));
        assert!(contains(m, "Two copies."));
    }
}

#[tokio::test]
async fn two_stacks_run_side_by_side() {
    let a = MailStack::shared();
    let b = MailStack::start();
    assert_ne!(a.smtp_port, b.smtp_port);
    assert_ne!(a.imap_port, b.imap_port);
    assert_ne!(a.dir, b.dir);
    let mut subjects = Vec::new();
    for stack in [a, &b] {
        let subject = unique("Side by side");
        smtp::send(stack, &stack.owner, &stack.contractor.user, &subject, "x")
            .await
            .expect("sent");
        imap::wait_for_text(stack, &stack.contractor, "INBOX", &subject, WAIT).await;
        subjects.push(subject);
    }
    // Each stack delivered into its own Maildirs only.
    let in_maildir = |stack: &MailStack, subject: &str| {
        stack
            .maildir_messages(&stack.contractor, "INBOX")
            .iter()
            .any(|m| contains(m, subject))
    };
    assert!(in_maildir(a, &subjects[0]) && !in_maildir(a, &subjects[1]));
    assert!(in_maildir(&b, &subjects[1]) && !in_maildir(&b, &subjects[0]));
}

#[tokio::test]
async fn servers_stop_and_come_back() {
    let stack = MailStack::start();
    let mut open = imap::login_starttls(&stack, &stack.owner)
        .await
        .expect("login");

    // IMAP down: open sessions are cut, logins refused...
    stack.stop_imap();
    assert!(open.noop().await.is_err(), "the open session was cut");
    let err = imap::login_starttls(&stack, &stack.owner)
        .await
        .expect_err("IMAP is down");
    assert!(err.starts_with("connect"), "{err}");
    // ...while submission (AUTH through Dovecot) and delivery go on.
    let subject = unique("While IMAP was down");
    smtp::send(&stack, &stack.owner, &stack.contractor.user, &subject, "x")
        .await
        .expect("SMTP works with IMAP down");
    stack.settle();
    assert!(
        stack
            .maildir_messages(&stack.contractor, "INBOX")
            .iter()
            .any(|m| contains(m, &subject))
    );
    stack.start_imap();
    imap::wait_for_text(&stack, &stack.contractor, "INBOX", &subject, WAIT).await;

    // SMTP down: refused; back: accepted.
    stack.stop_smtp();
    smtp::send(&stack, &stack.owner, &stack.contractor.user, "x", "x")
        .await
        .expect_err("SMTP is down");
    stack.start_smtp();
    smtp::send(&stack, &stack.owner, &stack.contractor.user, "x", "x")
        .await
        .expect("SMTP is back");

    stack.restart_smtp();
    let subject = unique("After restarts");
    smtp::send(&stack, &stack.owner, &stack.contractor.user, &subject, "x")
        .await
        .expect("SMTP after restart");
    stack.restart_imap();
    imap::wait_for_text(&stack, &stack.contractor, "INBOX", &subject, WAIT).await;
}

fn median_and_max(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[v.len() - 1])
}

/// Prints the figures the README quotes: stack start time, "SMTP accepted"
/// -> "visible over IMAP" latency (N=20), and IDLE wake latency (N=5). Run
/// with `cargo test --test mailstack_smoke measure -- --nocapture`.
#[tokio::test]
async fn measure_stack_start_and_delivery_latency() {
    let stack = MailStack::start();
    let mut session = imap::login_starttls(&stack, &stack.contractor)
        .await
        .expect("login");
    let transport = smtp::transport(&stack, &stack.owner);
    let mut visible = Vec::new();
    for i in 0..20 {
        let subject = unique(&format!("Latency {i}"));
        let msg = smtp::message(&stack.owner.user, &stack.contractor.user, &subject, "x");
        transport.send(msg).await.expect("sent");
        let accepted = Instant::now();
        // Poll the mailbox with SELECT (bounded): IDLE would measure
        // Dovecot's 0.5 s notification batching, not delivery.
        let deadline = accepted + WAIT;
        loop {
            let mb = session.select("INBOX").await.expect("select");
            if mb.exists as usize > i {
                break;
            }
            assert!(Instant::now() < deadline, "mail {i} never became visible");
            tokio::task::yield_now().await;
        }
        visible.push(accepted.elapsed());
    }
    assert_eq!(visible.len(), 20, "every mail arrived");

    let mut wakes = Vec::new();
    for i in 0..5 {
        session.select("INBOX").await.expect("select");
        let mut idle = session.idle();
        idle.init().await.expect("IDLE");
        let (wait, stop) = idle.wait_with_timeout(WAIT);
        let msg = smtp::message(
            &stack.owner.user,
            &stack.contractor.user,
            &unique(&format!("Wake {i}")),
            "x",
        );
        let send = async {
            transport.send(msg).await.expect("sent");
            Instant::now()
        };
        let woke = async {
            let r = wait.await;
            (r, Instant::now())
        };
        let ((woke, woke_at), accepted) = tokio::join!(woke, send);
        assert!(
            matches!(woke, Ok(IdleResponse::NewData(_))),
            "IDLE {i} woke with {woke:?}"
        );
        drop(stop);
        wakes.push(woke_at.saturating_duration_since(accepted));
        session = idle.done().await.expect("DONE");
    }

    let (vis_median, vis_max) = median_and_max(visible);
    let (wake_median, wake_max) = median_and_max(wakes);
    println!(
        "mailstack: start {:?}; SMTP accepted -> visible over IMAP (N=20): median {:?}, max {:?}; \
         SMTP accepted -> IDLE woken (N=5): median {:?}, max {:?}",
        stack.start_time, vis_median, vis_max, wake_median, wake_max
    );
}
