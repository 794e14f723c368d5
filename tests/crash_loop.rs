//! Crash safety under fire: the real daemon against the real Postfix and
//! Dovecot, with many mails to send and contractor replies arriving, killed
//! with SIGKILL at random moments and started again, over and over. At the
//! end every mail the store says it sent is in its recipient's mailbox
//! exactly once, and every reply that was delivered is recorded exactly once.
//!
//! CI runs a short loop; `CRASH_KILLS=200 cargo test --release --test
//! crash_loop -- --nocapture` runs the long one. It prints the counts and the
//! seed (`CRASH_SEED` replays a run).

mod common;

use common::MailStack;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NOW: &str = "2026-11-25T15:00:00Z";
const ENGAGEMENTS: usize = 8;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_handoff"))
}

/// A small xorshift generator: the test needs repeatable randomness, not
/// quality.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

fn config(stack: &MailStack, dir: &Path) -> PathBuf {
    let mut engagements = String::new();
    for e in 0..ENGAGEMENTS {
        engagements += &format!(
            r#"
[[engagement]]
id = "crash{e}"
contractor = "dana"
title = "Engagement {e}"
agreement_signed = 2026-11-02
starts = 2026-11-24
kickoff = 2026-11-26T10:00:00
deliverables = "Pages"
quality_standard = "Valid HTML"
performance_standard = "On time"
[[engagement.milestone]]
id = "one"
title = "First"
due = 2026-12-05
[[engagement.milestone]]
id = "two"
title = "Second"
due = 2026-12-12
"#
        );
    }
    stack.write_config(
        dir,
        "outgoing = \"smtp\"\nincoming = \"imap\"",
        "",
        &engagements,
    )
}

fn start(config: &Path) -> Child {
    start_with(config, None)
}

/// Starts `handoff run`; with `notify`, the daemon reports to that socket
/// the way it does to systemd.
fn start_with(config: &Path, notify: Option<&Path>) -> Child {
    let mut cmd = Command::new(bin());
    cmd.args(["run", "--config"])
        .arg(config)
        .env("HANDOFF_NOW", NOW)
        .env("RUST_LOG", "warn")
        .env_remove("HANDOFF_CONFIG")
        .env_remove("NOTIFY_SOCKET");
    if let Some(path) = notify {
        cmd.env("NOTIFY_SOCKET", path);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start handoff run")
}

fn handoff_json(config: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let out = Command::new(bin())
        .args(args)
        .arg("--config")
        .arg(config)
        .env("HANDOFF_NOW", NOW)
        .env_remove("HANDOFF_CONFIG")
        .output()
        .expect("run handoff");
    String::from_utf8_lossy(&out.stdout)
        .split('\n')
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn events(config: &Path) -> Vec<serde_json::Value> {
    handoff_json(config, &["log", "--json"])
}

fn outbox_depth(config: &Path) -> u64 {
    let out = Command::new(bin())
        .args(["status", "--json", "--config"])
        .arg(config)
        .env("HANDOFF_NOW", NOW)
        .output()
        .expect("handoff status");
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .ok()
        .and_then(|v| v["outbox_depth"].as_u64())
        .unwrap_or(u64::MAX)
}

/// Message-ID (with brackets) → how many messages carry it, over the
/// Maildirs given.
fn message_ids(maildirs: &[PathBuf]) -> HashMap<String, usize> {
    let mut count = HashMap::new();
    for root in maildirs {
        for sub in ["new", "cur"] {
            common::ical::check_dir(&root.join(sub));
            let Ok(entries) = std::fs::read_dir(root.join(sub)) else {
                continue;
            };
            for e in entries.flatten() {
                let Ok(raw) = std::fs::read(e.path()) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&raw);
                let id = text
                    .split("\r\n\r\n")
                    .next()
                    .unwrap_or_default()
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("message-id")
                            .then(|| value.trim().to_string())
                    });
                if let Some(id) = id {
                    *count.entry(id).or_insert(0) += 1;
                }
            }
        }
    }
    count
}

fn reply(stack: &MailStack, n: usize) -> (String, Vec<u8>) {
    let id = format!("<reply.{n}.{}@example.test>", std::process::id());
    // Half ask something (an owner notice follows), half report status.
    let body = if n.is_multiple_of(2) {
        "Quick question: which font should the headings use?"
    } else {
        "Status report: all on track."
    };
    let raw = format!(
        "From: Dana Diaz <{from}>\r\nTo: {to}\r\nSubject: Update [crash{e}]\r\n\
         Message-ID: {id}\r\nDate: Wed, 25 Nov 2026 10:00:00 -0500\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        from = stack.contractor.user,
        to = stack.owner.user,
        e = n % ENGAGEMENTS,
    );
    (id, raw.into_bytes())
}

#[test]
fn killed_at_random_moments_it_loses_nothing_and_sends_nothing_twice() {
    let kills: usize = std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    println!("crash loop: {kills} kills, seed {seed}");
    let mut rng = Rng(seed);
    let stack = MailStack::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config(&stack, dir.path());

    let mut replies = Vec::new();
    let started = Instant::now();
    for k in 0..kills {
        // A reply arrives now and then, while the daemon is up or down.
        if k.is_multiple_of(2) {
            let (id, raw) = reply(&stack, replies.len());
            rt.block_on(common::smtp::send_raw(
                &stack,
                &stack.contractor,
                &[&stack.owner.user],
                &raw,
            ))
            .expect("Postfix takes the reply");
            replies.push(id);
        }
        let mut child = start(&config);
        std::thread::sleep(Duration::from_millis(rng.between(20, 900)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }
    let loop_time = started.elapsed();

    // One last life, left to finish: everything queued goes out, every
    // reply is read. It is stopped with SIGTERM only once it has said
    // READY=1 (its signal handlers are in place by then): when the earlier
    // lives left nothing to do, the work below is found done at once, and a
    // SIGTERM that beat the handlers would end the process by the signal.
    let socket = dir.path().join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&socket).expect("bind notify socket");
    notify
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("socket timeout");
    let mut child = start_with(&config, Some(&socket));
    let mut buf = vec![0u8; 4096];
    loop {
        let n = notify.recv(&mut buf).expect("READY=1 from the last life");
        if String::from_utf8_lossy(&buf[..n])
            .lines()
            .any(|l| l == "READY=1")
        {
            break;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let log = events(&config);
        let recorded = |id: &String| {
            log.iter()
                .filter(|e| e["direction"] == "in" && e["message_id"] == id.as_str())
                .count()
        };
        if outbox_depth(&config) == 0 && replies.iter().all(|id| recorded(id) >= 1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the last life did not finish its work"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    let status = child.wait().expect("reap");
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
    stack.settle();

    let log = events(&config);
    let sent: Vec<String> = log
        .iter()
        .filter(|e| e["direction"] == "out")
        .filter_map(|e| e["message_id"].as_str().map(str::to_string))
        .collect();
    let inboxes = [
        stack.maildir(&stack.contractor, "INBOX"),
        stack.maildir(&stack.owner, "INBOX"),
    ];
    let delivered = message_ids(&inboxes);
    let lost: Vec<&String> = sent
        .iter()
        .filter(|id| !delivered.contains_key(*id))
        .collect();
    let twice: Vec<(&String, &usize)> = delivered.iter().filter(|(_, n)| **n > 1).collect();
    // A second copy can only come from the one documented window (killed
    // between the server's 250 and confirming the Sent copy), which the
    // sender journals when it sends such a mail again.
    let resent: Vec<&str> = log
        .iter()
        .filter(|e| e["kind"] == "resent_unconfirmed")
        .filter_map(|e| e["message_id"].as_str())
        .collect();
    let unexplained: Vec<&(&String, &usize)> = twice
        .iter()
        .filter(|(id, n)| **n > 2 || !resent.contains(&id.as_str()))
        .collect();
    let recorded_twice: Vec<&String> = replies
        .iter()
        .filter(|id| {
            log.iter()
                .filter(|e| e["direction"] == "in" && e["message_id"] == id.as_str())
                .count()
                != 1
        })
        .collect();
    println!(
        "crash loop: {kills} SIGKILLs in {:.1} s; {} mails sent, {} lost, {} delivered more than once \
         ({} of them resent after a kill between the 250 and the Sent confirmation); \
         {} replies delivered, {} not recorded exactly once",
        loop_time.as_secs_f64(),
        sent.len(),
        lost.len(),
        twice.len(),
        twice.len() - unexplained.len(),
        replies.len(),
        recorded_twice.len()
    );
    assert!(sent.len() >= ENGAGEMENTS * 4, "the busy part happened");
    assert!(lost.is_empty(), "lost: {lost:?}");
    // CI asserts the claim it can keep under any load: no second copy but
    // the journaled window's. `CRASH_STRICT=1` (the long run of
    // benches/report) also asserts there is none at all.
    assert!(
        unexplained.is_empty(),
        "delivered twice, not by the window: {unexplained:?}"
    );
    if std::env::var_os("CRASH_STRICT").is_some() {
        assert!(twice.is_empty(), "delivered twice: {twice:?}");
    }
    assert!(recorded_twice.is_empty(), "{recorded_twice:?}");
}
