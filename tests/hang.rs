//! Servers that hang instead of failing: the real daemon against the real
//! Postfix and Dovecot, one of them stopped with SIGSTOP (its ports still
//! take connections, nothing answers) for longer than the timeouts, then
//! continued with SIGCONT.
//!
//! The timeouts are set to seconds with `HANDOFF_NET_TIMEOUT` (the
//! production default is 30 s), so each hang outlasts them in a few seconds.
//! Each test prints its figures (`cargo test --test hang -- --nocapture`);
//! `benches/report` puts them in BENCHMARKS.md.

mod common;

use common::MailStack;
use common::daemon::{Daemon, PATIENCE, eventually, handoff, log_json};
use std::collections::HashMap;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The timeout of every network step in these tests, in seconds.
const TIMEOUT: f64 = 1.0;

fn timeout_env() -> (&'static str, String) {
    ("HANDOFF_NET_TIMEOUT", TIMEOUT.to_string())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn time_of(e: &serde_json::Value) -> chrono::DateTime<chrono::Utc> {
    e["time"].as_str().unwrap().parse().unwrap()
}

/// The Message-ID header of a raw mail, with brackets.
fn message_id(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    text.split("\r\n\r\n").next()?.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("message-id")
            .then(|| value.trim().to_string())
    })
}

/// Message-ID → how many of `mails` carry it.
fn counts(mails: &[Vec<u8>]) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for m in mails {
        if let Some(id) = message_id(m) {
            *out.entry(id).or_insert(0) += 1;
        }
    }
    out
}

/// WATCHDOG=1 datagrams, counted as systemd would receive them.
fn watchdog_counter(dir: &Path) -> (PathBuf, Arc<AtomicUsize>) {
    let path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    let pings = Arc::new(AtomicUsize::new(0));
    let counter = pings.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = sock.recv(&mut buf) {
            if buf[..n].windows(10).any(|w| w == b"WATCHDOG=1") {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    (path, pings)
}

fn mail_from_dana(stack: &MailStack, id: &str, message_id: &str, root: &str, body: &str) -> String {
    format!(
        "From: Dana Diaz <{from}>\r\nTo: {to}\r\nSubject: Re: Website [{id}]\r\n\
         Message-ID: <{message_id}>\r\nIn-Reply-To: {root}\r\nReferences: {root}\r\n\
         Date: Wed, 25 Nov 2026 10:00:00 -0500\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         {body}\r\n",
        from = stack.contractor.user,
        to = stack.owner.user,
    )
}

#[test]
fn a_hung_postfix_defers_the_mail_replies_are_still_recorded_and_after_sigcont_all_arrives_once() {
    let stack = MailStack::start();
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let id = "hung";
    let config = stack.write_config(
        dir.path(),
        "outgoing = \"smtp\"\nincoming = \"imap\"",
        "",
        &common::engagement(id),
    );
    let (socket, pings) = watchdog_counter(dir.path());
    let (k, v) = timeout_env();
    let mut daemon = Daemon::start(
        &config,
        &[
            (k, v.as_str()),
            ("NOTIFY_SOCKET", socket.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    daemon.expect_log("IMAP watcher connected");
    let instructions = rt.block_on(common::imap::wait_for_text(
        &stack,
        &stack.contractor,
        "INBOX",
        ".instructions@",
        PATIENCE,
    ));
    let root = message_id(&instructions).unwrap();

    // Postfix hangs with Handoff's kept connection open.
    stack.freeze_smtp();
    let pings_before = pings.load(Ordering::SeqCst);
    let append = |message_id: &str, body: &str| {
        let raw = mail_from_dana(&stack, id, message_id, &root, body);
        rt.block_on(async {
            let mut s = common::imap::login_starttls(&stack, &stack.owner)
                .await
                .unwrap();
            s.append("INBOX", None, None, raw.as_bytes()).await.unwrap();
            let _ = s.logout().await;
        });
    };
    // A question (filed straight into the owner's INBOX: submission hangs):
    // the owner notice it causes is due at once and cannot go.
    append("q.hung@example.test", "Which font should the headings use?");
    daemon.expect_log("SMTP server unreachable");
    // Replies are still recorded while the SMTP side hangs.
    append("status.hung@example.test", "Status report: all on track.");
    let log = eventually("the status report recorded", PATIENCE, || {
        let log = log_json(&config);
        log.iter()
            .any(|e| e["message_id"] == "<status.hung@example.test>")
            .then_some(log)
    });
    let question = log
        .iter()
        .find(|e| e["message_id"] == "<q.hung@example.test>" && e["direction"] == "in")
        .expect("the question recorded");
    let deferral = log
        .iter()
        .find(|e| e["kind"] == "smtp_unreachable")
        .expect("the deferral journaled");
    assert!(
        deferral["message_id"]
            .as_str()
            .is_some_and(|m| m.contains(".notice_question@")),
        "the journal names the stuck mail: {deferral}"
    );
    // Stamped at the moment of the deferral, after the timeouts it waited
    // out, not at the start of the delivery that began with the question.
    let hang_to_deferral = (time_of(deferral) - time_of(question)).to_std().unwrap();
    assert!(
        hang_to_deferral >= Duration::from_secs_f64(TIMEOUT * 0.9),
        "{hang_to_deferral:?}"
    );
    assert!(
        hang_to_deferral < Duration::from_secs_f64(TIMEOUT * 3.0 + 2.0),
        "bounded: {hang_to_deferral:?}"
    );

    let thawed = Instant::now();
    stack.thaw_smtp();
    let notice = rt.block_on(common::imap::wait_for_text(
        &stack,
        &stack.owner,
        "INBOX",
        ".notice_question@",
        PATIENCE,
    ));
    let delivered = thawed.elapsed();
    daemon.expect_log("SMTP server reachable again");
    // The daemon was never stuck: the watchdog kept being pinged.
    assert!(
        pings.load(Ordering::SeqCst) > pings_before,
        "watchdog pings went on"
    );
    assert!(!daemon.logged("not pinging the watchdog"));
    let (code, after) = daemon.stop();
    assert_eq!(code, Some(0));
    assert!(
        !after.iter().any(|l| l.contains("reconnect")),
        "shutdown logs no reconnects: {after:#?}"
    );

    stack.settle();
    let owner_mail = counts(&stack.maildir_messages(&stack.owner, "INBOX"));
    let dana_mail = counts(&stack.maildir_messages(&stack.contractor, "INBOX"));
    assert_eq!(
        owner_mail.get(&message_id(&notice).unwrap()),
        Some(&1),
        "once"
    );
    assert_eq!(dana_mail.get(&root), Some(&1));
    assert!(
        dana_mail
            .values()
            .chain(owner_mail.values())
            .all(|n| *n == 1),
        "every mail exactly once: {dana_mail:?} {owner_mail:?}"
    );
    println!(
        "Postfix frozen -> mail deferred: {hang_to_deferral:?} (timeouts {TIMEOUT} s; the question's journal row to the deferral's)"
    );
    println!("Postfix SIGCONT -> the waiting notice delivered: {delivered:?}");
}

/// A config with `n` engagements (each: instructions and one milestone
/// invite), local inbox, sending through the stack with Sent copies.
fn many(stack: &MailStack, dir: &Path, n: usize) -> PathBuf {
    let engagements: String = (0..n)
        .map(|i| common::engagement(&format!("slow{i}")))
        .collect();
    stack.write_config(
        dir,
        "outgoing = \"smtp\"\nincoming = \"maildir\"",
        "",
        &engagements,
    )
}

#[test]
fn a_hung_dovecot_slows_no_mail_and_after_sigcont_each_sent_copy_is_filed_once() {
    let stack = MailStack::start();
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    const ENGAGEMENTS: usize = 4;
    let config = many(&stack, dir.path(), ENGAGEMENTS);
    let mails = ENGAGEMENTS * 2;

    stack.freeze_imap();
    let started = Instant::now();
    let (k, v) = timeout_env();
    let mut daemon = Daemon::start(&config, &[(k, v.as_str())]);
    let ours = |m: &Vec<u8>| {
        message_id(m)
            .is_some_and(|id| id.contains(".instructions@") || id.contains(".milestone_invite@"))
    };
    eventually("every mail delivered while IMAP hangs", PATIENCE, || {
        let n = stack
            .maildir_messages(&stack.contractor, "INBOX")
            .iter()
            .filter(|m| ours(m))
            .count();
        (n >= mails).then_some(())
    });
    let sent_in = started.elapsed();
    // One timeout for the first mail's copy, none for the others (it was
    // one per mail, each after a new login).
    assert!(
        sent_in < Duration::from_secs_f64(TIMEOUT * 3.0 + 4.0),
        "{mails} mails took {sent_in:?}"
    );
    let status = common::text(&handoff(&config, &["status"]).stdout);
    assert!(
        status.contains("Sent copies waiting to be filed"),
        "{status}"
    );

    // A reply in the local inbox: its owner notice goes without any wait
    // for the Sent folder, which is known not to answer.
    let log = log_json(&config);
    let root = log
        .iter()
        .find(|e| e["kind"] == "sent_instructions" && e["engagement"] == "slow0")
        .and_then(|e| e["message_id"].as_str())
        .unwrap()
        .to_string();
    let inbox = dir.path().join("var/mail/inbox");
    std::fs::create_dir_all(inbox.join("tmp")).unwrap();
    std::fs::create_dir_all(inbox.join("new")).unwrap();
    let question = mail_from_dana(
        &stack,
        "slow0",
        "q.slow@example.test",
        &root,
        "Which font, please?",
    );
    std::fs::write(inbox.join("tmp/q"), question).unwrap();
    let asked = Instant::now();
    std::fs::rename(inbox.join("tmp/q"), inbox.join("new/q")).unwrap();
    eventually("the owner notice delivered", PATIENCE, || {
        stack
            .maildir_messages(&stack.owner, "INBOX")
            .iter()
            .any(|m| message_id(m).is_some_and(|id| id.contains(".notice_question@")))
            .then_some(())
    });
    let notice_in = asked.elapsed();
    assert!(
        notice_in < Duration::from_secs_f64(TIMEOUT + 3.0),
        "{notice_in:?}"
    );

    let thawed = Instant::now();
    stack.thaw_imap();
    let sent: Vec<String> = eventually("a Sent copy of every mail", PATIENCE, || {
        let sent: Vec<String> = log_json(&config)
            .iter()
            .filter(|e| {
                e["direction"] == "out"
                    && e["kind"].as_str().is_some_and(|k| k.starts_with("sent_"))
            })
            .filter_map(|e| e["message_id"].as_str().map(str::to_string))
            .collect();
        let copies = counts(&stack.maildir_messages(&stack.owner, "Sent"));
        (sent.len() > mails && sent.iter().all(|id| copies.contains_key(id))).then_some(sent)
    });
    let filed_in = thawed.elapsed();
    daemon.expect_log("the IMAP Sent folder answers again");
    let (code, _) = daemon.stop();
    assert_eq!(code, Some(0));

    // Each copy once, none left marked pending; each mail delivered once.
    let copies = counts(&stack.maildir_messages(&stack.owner, "Sent"));
    for id in &sent {
        assert_eq!(copies.get(id), Some(&1), "{id} filed once");
    }
    let pending = rt.block_on(async {
        let mut s = common::imap::login_starttls(&stack, &stack.owner)
            .await
            .unwrap();
        s.select("Sent").await.unwrap();
        s.uid_search("KEYWORD $HandoffPending").await.unwrap()
    });
    assert!(pending.is_empty(), "copies left pending: {pending:?}");
    stack.settle();
    let delivered = counts(&stack.maildir_messages(&stack.contractor, "INBOX"));
    assert!(delivered.values().all(|n| *n == 1), "{delivered:?}");
    let log = log_json(&config);
    let kinds = |k: &str| log.iter().filter(|e| e["kind"] == k).count();
    assert_eq!(kinds("sent_folder_unreachable"), 1, "journaled once");
    assert_eq!(kinds("sent_folder_reachable"), 1);
    println!(
        "Dovecot frozen: {mails} mails delivered {sent_in:?} after the start (timeouts {TIMEOUT} s); a reply's owner notice {notice_in:?} after the reply"
    );
    println!("Dovecot SIGCONT -> every Sent copy filed: {filed_in:?}");
}

#[test]
fn a_crash_while_the_sent_folder_hangs_sends_the_mail_again_and_journals_why() {
    let stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    let config = many(&stack, dir.path(), 1);
    let (k, v) = timeout_env();
    let run = |failpoint: Option<&str>| {
        let mut cmd = std::process::Command::new(common::daemon::bin());
        cmd.args(["run", "--once", "--config"])
            .arg(&config)
            .env(k, &v)
            .env_remove("HANDOFF_NOW")
            .env_remove("HANDOFF_FAILPOINT");
        if let Some(f) = failpoint {
            cmd.env("HANDOFF_FAILPOINT", f);
        }
        cmd.output().unwrap()
    };
    stack.freeze_imap();
    // Killed after the server took the first mail, before the store heard:
    // no copy was filed first, so nothing can tell it went.
    let crashed = run(Some("outbox.after_send"));
    assert!(!crashed.status.success());
    let again = run(None);
    assert!(again.status.success(), "{}", common::text(&again.stderr));
    assert!(
        common::text(&again.stdout).contains("Sent copies wait: the Sent folder does not answer"),
        "{}",
        common::text(&again.stdout)
    );
    stack.thaw_imap();
    stack.settle();
    let log = log_json(&config);
    let resent: Vec<&str> = log
        .iter()
        .filter(|e| e["kind"] == "resent_unconfirmed")
        .filter_map(|e| e["message_id"].as_str())
        .collect();
    assert_eq!(resent.len(), 1, "{log:#?}");
    assert!(log.iter().any(|e| {
        e["kind"] == "resent_unconfirmed"
            && e["detail"]
                .as_str()
                .is_some_and(|d| d.contains("without a Sent copy"))
    }),);
    // At least once: the interrupted mail may be there twice, and only it.
    let delivered = counts(&stack.maildir_messages(&stack.contractor, "INBOX"));
    for (id, n) in &delivered {
        assert!(
            *n == 1 || (*n == 2 && resent.contains(&id.as_str())),
            "{id}: {n}"
        );
    }
    assert_eq!(
        delivered.get(resent[0]),
        Some(&2),
        "the window's second copy"
    );
    // The next run files the copies, once each.
    let filed = run(None);
    assert!(filed.status.success());
    let copies = counts(&stack.maildir_messages(&stack.owner, "Sent"));
    assert_eq!(copies.len(), delivered.len(), "{copies:?}");
    assert!(copies.values().all(|n| *n == 1), "{copies:?}");
}
