//! The mail-server harness works: a real Postfix and Dovecot on loopback, as
//! every integration test of Handoff will use them.

mod common;

use common::{MailStack, imap, smtp, tls_config};
use std::time::{Duration, Instant};

fn unique(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!("{tag} {} {n}", std::process::id())
}

fn contains(m: &[u8], needle: &str) -> bool {
    m.windows(needle.len()).any(|w| w == needle.as_bytes())
}

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
    let session = imap::login_starttls(stack, &stack.contractor)
        .await
        .expect("IMAP login");
    let (_s, got) = imap::wait_for(session, "INBOX", Duration::from_secs(10), |m| {
        contains(m, &subject)
    })
    .await;
    let got = got.expect("mail arrived in dana's INBOX");
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

#[tokio::test]
async fn a_wrong_password_is_refused() {
    let stack = MailStack::shared();
    let mut wrong = stack.owner.clone();
    wrong.password = "not-the-password".into();
    let err = smtp::send(stack, &wrong, &stack.contractor.user, "x", "x")
        .await
        .expect_err("AUTH must fail");
    assert!(err.is_permanent(), "{err}");
    assert!(imap::login_starttls(stack, &wrong).await.is_err());
}

#[tokio::test]
async fn a_recipient_outside_example_test_is_refused() {
    let stack = MailStack::shared();
    let err = smtp::send(stack, &stack.owner, "someone@elsewhere.test", "x", "x")
        .await
        .expect_err("relay refused");
    assert!(err.is_permanent(), "{err}");
}

#[tokio::test]
async fn gone_is_refused_for_good() {
    let stack = MailStack::shared();
    let err = smtp::send(stack, &stack.owner, "gone@example.test", "x", "x")
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
    stack.tempfail_off();
    smtp::send(&stack, &stack.owner, &stack.tempfail.user, &subject, "x")
        .await
        .expect("accepted after tempfail-off");
    let session = imap::login_starttls(&stack, &stack.tempfail)
        .await
        .expect("login");
    let (_s, got) = imap::wait_for(session, "INBOX", Duration::from_secs(10), |m| {
        contains(m, &subject)
    })
    .await;
    assert!(got.is_some(), "the retried mail arrived");
}

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
    let sent_at = Instant::now();
    let send = smtp::send(
        stack,
        &stack.owner,
        &stack.stranger.user,
        &subject,
        "wake up",
    );
    let (woke, sent) = tokio::join!(wait, send);
    sent.expect("sent");
    let woke = woke.expect("IDLE wait");
    assert!(
        matches!(woke, async_imap::extensions::idle::IdleResponse::NewData(_)),
        "IDLE woke with new data, not {woke:?}"
    );
    println!("IDLE woke {:?} after the send started", sent_at.elapsed());
}

#[tokio::test]
async fn implicit_tls_works_and_an_untrusted_server_is_refused() {
    let stack = MailStack::shared();
    let mut session = imap::login_tls(stack, &stack.owner, tls_config(&stack.ca_cert))
        .await
        .expect("IMAPS login");
    session.noop().await.expect("NOOP");
    // A client that trusts only the public roots must refuse the test CA.
    let public_only = {
        use tokio_rustls::rustls;
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        std::sync::Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    };
    let err = imap::login_tls(stack, &stack.owner, public_only)
        .await
        .expect_err("certificate verification is on");
    assert!(err.contains("TLS"), "{err}");
}

#[tokio::test]
async fn the_owner_has_a_sent_folder_that_takes_appends() {
    let stack = MailStack::shared();
    let mut session = imap::login_starttls(stack, &stack.owner)
        .await
        .expect("login");
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
async fn two_stacks_run_side_by_side() {
    let a = MailStack::shared();
    let b = MailStack::start();
    assert_ne!(a.smtp_port, b.smtp_port);
    assert_ne!(a.imap_port, b.imap_port);
    assert_ne!(a.dir, b.dir);
    for stack in [a, &b] {
        let subject = unique("Side by side");
        smtp::send(stack, &stack.owner, &stack.contractor.user, &subject, "x")
            .await
            .expect("sent");
        let session = imap::login_starttls(stack, &stack.contractor)
            .await
            .expect("login");
        let (_s, got) = imap::wait_for(session, "INBOX", Duration::from_secs(10), |m| {
            contains(m, &subject)
        })
        .await;
        assert!(got.is_some());
    }
}

#[tokio::test]
async fn servers_stop_and_come_back() {
    let stack = MailStack::start();
    stack.stop_imap();
    assert!(
        imap::login_starttls(&stack, &stack.owner).await.is_err(),
        "IMAP is down"
    );
    stack.start_imap();
    imap::login_starttls(&stack, &stack.owner)
        .await
        .expect("IMAP is back");
    stack.restart_smtp();
    smtp::send(
        &stack,
        &stack.owner,
        &stack.contractor.user,
        "after restart",
        "x",
    )
    .await
    .expect("SMTP is back");
    stack.restart_imap();
    imap::login_starttls(&stack, &stack.owner)
        .await
        .expect("IMAP after restart");
}

/// Prints the figures the README quotes: stack start time and the latency from
/// "SMTP accepted" to "visible over IMAP". Run with
/// `cargo test --test mailstack_smoke measure -- --nocapture`.
#[tokio::test]
async fn measure_stack_start_and_delivery_latency() {
    let stack = MailStack::start();
    let mut session = imap::login_starttls(&stack, &stack.contractor)
        .await
        .expect("login");
    let transport = smtp::transport(&stack, &stack.owner);
    let mut latencies = Vec::new();
    for i in 0..20 {
        let subject = unique(&format!("Latency {i}"));
        let msg = smtp::message(&stack.owner.user, &stack.contractor.user, &subject, "x");
        lettre::AsyncTransport::send(&transport, msg)
            .await
            .expect("sent");
        let accepted = Instant::now();
        // Poll the mailbox status directly: IDLE batches notifications for
        // 0.5 s, which would measure Dovecot's batching, not delivery.
        let deadline = accepted + Duration::from_secs(10);
        loop {
            let mb = session.select("INBOX").await.expect("select");
            if mb.exists as usize > i {
                break;
            }
            assert!(Instant::now() < deadline, "mail {i} never became visible");
            tokio::task::yield_now().await;
        }
        latencies.push(accepted.elapsed());
    }
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let max = latencies[latencies.len() - 1];
    println!(
        "mailstack: start {:?}; SMTP accepted -> visible over IMAP (N=20): median {:?}, max {:?}",
        stack.start_time, median, max
    );
    assert_eq!(latencies.len(), 20);
}
