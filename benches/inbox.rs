//! Inbox intake against the real loopback Dovecot and Postfix, all in one run:
//!
//! 1. reply latency over IMAP, one mail at a time (N, default 200): sent
//!    through Postfix → the watcher's IDLE wakes (the server's part: Postfix
//!    delivery plus Dovecot's 0.5 s notification batching) → the event is
//!    committed (Handoff's part: fetch, parse, match, classify, record);
//! 2. the same in local mode: a mail written into <maildir>/inbox/new → its
//!    event committed by the Maildir scan (the daemon's filesystem wake-up
//!    is not included);
//! 3. a backlog present at first start (default 10 000 mails), in mails per
//!    second, over IMAP (the watcher's catch-up) and over Maildir (one scan);
//! 4. the baseline for 1 and 3: a bare IMAP client fetching the same backlog
//!    (UID FETCH of every body, nothing recorded).
//!
//! `cargo bench --bench inbox` prints the figures and writes them to
//! benches/results/inbox.txt. BENCH_REPLIES and BENCH_BACKLOG change the
//! sizes. Under `cargo test --all-targets` it runs tiny sizes and writes
//! nothing: a check that the benchmark still works.

#[path = "../tests/common/mod.rs"]
mod common;

use chrono::{DateTime, Utc};
use common::MailStack;
use common::watch::{Owner, Running};
use futures::TryStreamExt;
use handoff::inbox::imap_watch::{Folder, WatchEvent};
use handoff::inbox::{Inbox, maildir};
use handoff::outbox::Composer;
use handoff::store::Store;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

const NOW: &str = "2026-11-24T15:00:00Z";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW).unwrap().to_utc()
}

/// An owner whose instructions went out; replies watched in `mailbox`
/// (IMAP) or in the local inbox (`local`).
async fn owner(stack: &MailStack, mailbox: &str, local: bool) -> Owner {
    let mail = if local {
        "outgoing = \"maildir\"\nincoming = \"maildir\""
    } else {
        "outgoing = \"smtp\"\nincoming = \"imap\""
    };
    common::watch::owner(
        stack,
        mail,
        &format!("mailbox = \"{mailbox}\""),
        "bench",
        now(),
    )
    .await
}

/// A contractor's status report on the instructions' thread.
fn reply(stack: &MailStack, root: &str, run: &str, i: usize) -> Vec<u8> {
    common::watch::reply(
        stack,
        "bench",
        root,
        &format!("{run}.{i}@example.test"),
        &format!(
            "Status report {i}: the wireframes are half done, the copy is next.\r\n\r\n\
             > quoted text of the earlier mail"
        ),
    )
}

fn spawn(o: &Owner) -> Running {
    common::watch::spawn(o, now())
}

/// How long the benchmark waits for any one event from the watcher.
const PATIENCE: Duration = Duration::from_secs(120);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn line(out: &mut String, what: &str, mut v: Vec<Duration>) {
    v.sort_unstable();
    let _ = writeln!(
        out,
        "  {what:<52} p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms  (N={})",
        ms(percentile(&v, 0.5)),
        ms(percentile(&v, 0.99)),
        ms(v.last().copied().unwrap_or_default()),
        v.len()
    );
}

/// 1: one reply at a time through Postfix to the watched INBOX.
async fn imap_latency(stack: &MailStack, n: usize, out: &mut String) {
    let o = owner(stack, "INBOX", false).await;
    let mut w = spawn(&o);
    while !matches!(w.next(PATIENCE).await, WatchEvent::Connected { .. }) {}
    let (mut server, mut ours, mut total) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let raw = reply(stack, &o.root, "lat", i);
        let sent = Instant::now();
        common::smtp::send_raw(stack, &stack.contractor, &[&stack.owner.user], &raw)
            .await
            .unwrap();
        let mut woken = None;
        loop {
            match w.next(PATIENCE).await {
                WatchEvent::Woken { at } => woken = woken.or(Some(at)),
                WatchEvent::Recorded {
                    folder: Folder::Inbox,
                    at,
                    ..
                } => {
                    let woken = woken.unwrap_or(at);
                    server.push(woken.duration_since(sent));
                    ours.push(at.duration_since(woken));
                    total.push(at.duration_since(sent));
                    break;
                }
                _ => {}
            }
        }
    }
    w.stop().await;
    line(out, "IMAP: sent -> IDLE woken (server's part)", server);
    line(out, "IMAP: IDLE woken -> event committed (Handoff's)", ours);
    line(out, "IMAP: sent -> event committed (end to end)", total);
}

/// One scan of `o`'s local inbox (`<maildir>/inbox/new`), as a pass does it.
fn scan_local(o: &Owner, store: &mut Store) -> Vec<handoff::inbox::Outcome> {
    let composer = Composer {
        model: &o.model,
        templates: &o.templates,
    };
    let inbox = Inbox {
        model: &o.model,
        composer: &composer,
    };
    maildir::scan(&inbox, store, &o.model.mail.maildir.join("inbox"), now()).unwrap()
}

/// 2: one mail at a time into the local inbox, then a scan.
async fn maildir_latency(stack: &MailStack, n: usize, out: &mut String) {
    let o = owner(stack, "INBOX", true).await;
    let mut store = Store::open(&o.state).unwrap();
    let root = o.model.mail.maildir.join("inbox");
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    std::fs::create_dir_all(root.join("new")).unwrap();
    let mut v = Vec::new();
    for i in 0..n {
        let raw = reply(stack, &o.root, "mdl", i);
        let started = Instant::now();
        let tmp = root.join("tmp").join(format!("{i}.bench"));
        std::fs::write(&tmp, &raw).unwrap();
        std::fs::rename(&tmp, root.join("new").join(format!("{i}.bench"))).unwrap();
        let done = scan_local(&o, &mut store);
        assert_eq!(done.len(), 1);
        v.push(started.elapsed());
    }
    line(
        out,
        "Maildir: written -> event committed (no fs wake-up)",
        v,
    );
}

/// 3 and 4: a backlog present before the first start.
async fn backlog(stack: &MailStack, n: usize, out: &mut String) {
    // IMAP: the mails are written straight into the folder's Maildir, then
    // indexed by Dovecot with one SELECT, as a mailbox that filled up while
    // Handoff was not running.
    let o = owner(stack, "Backlog", false).await;
    let mut session = common::imap::login_starttls(stack, &stack.owner)
        .await
        .unwrap();
    session.create("Backlog").await.unwrap();
    let folder = stack.maildir(&stack.owner, "Backlog");
    for i in 0..n {
        std::fs::write(
            folder.join("new").join(format!("{i}.backlog")),
            reply(stack, &o.root, "imapbl", i),
        )
        .unwrap();
    }
    let indexed = Instant::now();
    let mb = session.select("Backlog").await.unwrap();
    assert_eq!(mb.exists as usize, n);
    let index_time = indexed.elapsed();

    // Baseline: a bare client fetching every body once.
    let bare = Instant::now();
    let mut fetched = 0usize;
    {
        let stream = session.uid_fetch("1:*", "(UID BODY.PEEK[])").await.unwrap();
        let all: Vec<_> = stream.try_collect().await.unwrap();
        fetched += all.len();
    }
    let bare_time = bare.elapsed();
    assert_eq!(fetched, n);

    let started = Instant::now();
    let mut w = spawn(&o);
    let mut recorded = 0;
    while recorded < n {
        if let WatchEvent::Recorded {
            folder: Folder::Inbox,
            outcomes,
            ..
        } = w.next(PATIENCE).await
        {
            recorded += outcomes.len();
        }
    }
    let imap_time = started.elapsed();
    w.stop().await;

    // Maildir: the files in <maildir>/inbox/new, one scan.
    let o = owner(stack, "INBOX", true).await;
    let mut store = Store::open(&o.state).unwrap();
    let root = o.model.mail.maildir.join("inbox");
    std::fs::create_dir_all(root.join("new")).unwrap();
    for i in 0..n {
        std::fs::write(
            root.join("new").join(format!("{i:06}.backlog")),
            reply(stack, &o.root, "mdbl", i),
        )
        .unwrap();
    }
    let started = Instant::now();
    let done = scan_local(&o, &mut store);
    let maildir_time = started.elapsed();
    assert_eq!(done.len(), n);

    let rate = |t: Duration| n as f64 / t.as_secs_f64();
    let _ = writeln!(
        out,
        "  backlog of {n} over IMAP: {:>7.0} mail/s ({:.2} s; first login to last commit)",
        rate(imap_time),
        imap_time.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "    baseline, bare client UID FETCH of every body: {:>7.0} mail/s ({:.2} s); Dovecot indexing the folder first: {:.2} s",
        rate(bare_time),
        bare_time.as_secs_f64(),
        index_time.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "  backlog of {n} over Maildir: {:>7.0} mail/s ({:.2} s; one scan, batches of 500)",
        rate(maildir_time),
        maildir_time.as_secs_f64()
    );
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn size(var: &str, bench: bool, full: usize, quick: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if bench { full } else { quick })
}

fn main() {
    // `cargo bench` passes --bench; under `cargo test --all-targets` this is
    // a quick check that the benchmark still works.
    let bench = std::env::args().any(|a| a == "--bench");
    let replies = size("BENCH_REPLIES", bench, 200, 3);
    let backlog_n = size("BENCH_BACKLOG", bench, 10_000, 50);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stack = MailStack::start();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "inbox benchmark: loopback Dovecot + Postfix (tests/mailstack), {} cores, {} build",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    rt.block_on(async {
        imap_latency(&stack, replies, &mut out).await;
        maildir_latency(&stack, replies, &mut out).await;
        backlog(&stack, backlog_n, &mut out).await;
    });
    let _ = writeln!(
        out,
        "  peak RSS of the benchmark process: {} KiB",
        peak_rss_kib()
    );
    let _ = writeln!(
        out,
        "  goals: Handoff's part p50 <= 20 ms, p99 <= 100 ms; Maildir end to end p50 <= 50 ms; backlog >= 2000 mail/s Maildir, >= 1000 mail/s IMAP"
    );
    print!("{out}");
    if bench {
        let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/results/inbox.txt");
        if let Err(e) = std::fs::write(&results, &out) {
            eprintln!("cannot write {}: {e}", results.display());
        }
    }
}
