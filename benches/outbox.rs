//! Outbox throughput against the real loopback Postfix, all in one run:
//!
//! 1. the whole outbox, pooled: render 1 000 templated mails, queue them,
//!    deliver them over lettre's pooled connection, mark each sent;
//! 2. the same with a copy of each filed in the IMAP Sent folder;
//! 3. the whole outbox with one SMTP connection per mail;
//! 4. the baseline: a bare SMTP client pushing the same pre-rendered mails
//!    over one connection (the limit of this server here).
//!
//! `cargo bench --bench outbox` prints the figures and writes them to
//! benches/results/outbox.txt. Set BENCH_MAILS to change N (default 1000;
//! the one-connection-per-mail run uses N/5, its rate is per mail all the
//! same).

#[path = "../tests/common/mod.rs"]
mod common;

use chrono::{DateTime, Utc};
use common::MailStack;
use handoff::outbox::{self, Composer, MailRequest, RetryPolicy, Transport};
use handoff::store::Store;
use handoff::templates::{Purpose, Templates};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const NOW: &str = "2026-11-24T15:00:00Z";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW).unwrap().to_utc()
}

fn config(stack: &MailStack, dir: &Path, with_imap: bool) -> PathBuf {
    std::fs::write(dir.join("owner.pw"), &stack.owner.password).unwrap();
    let imap = if with_imap {
        format!(
            "[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"tls\"\nusername = \"{}\"\npassword_file = \"owner.pw\"\nca_file = \"{}\"\n",
            stack.imaps_port,
            stack.owner.user,
            stack.ca_cert.display()
        )
    } else {
        String::new()
    };
    let text = format!(
        r#"[owner]
name = "Ada Lovelace"
email = "{owner}"
timezone = "Europe/Berlin"
[mail]
outgoing = "smtp"
[smtp]
host = "127.0.0.1"
port = {smtp}
username = "{owner}"
password_file = "owner.pw"
ca_file = "{ca}"
{imap}
[policy]
quiet_hours = "00:00-00:00"
[[contractor]]
id = "dana"
name = "Dana Díaz"
email = "{dana}"
timezone = "America/New_York"
[[engagement]]
id = "bench"
contractor = "dana"
title = "Benchmark engagement"
agreement_signed = 2026-11-02
starts = 2026-11-24
deliverables = "Many mails"
quality_standard = "All arrive"
performance_standard = "Fast"
[[engagement.milestone]]
id = "m1"
title = "Milestone"
due = 2026-12-05
"#,
        owner = stack.owner.user,
        smtp = stack.smtp_port,
        ca = stack.ca_cert.display(),
        dana = stack.contractor.user,
    );
    let path = dir.join("handoff.toml");
    std::fs::write(&path, text).unwrap();
    path
}

struct Setup {
    _dir: tempfile::TempDir,
    model: handoff::model::Model,
    templates: Templates,
    store: Store,
}

fn setup(stack: &MailStack, with_imap: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = config(stack, dir.path(), with_imap);
    let model = handoff::config::load(&path).unwrap().model;
    let templates = Templates::load(None).unwrap();
    let mut store = Store::open(&model.mail.state).unwrap();
    store
        .reconcile(&handoff::planned::engagements(&model), now())
        .unwrap();
    Setup {
        _dir: dir,
        model,
        templates,
        store,
    }
}

/// Renders and queues mail number `i`.
fn enqueue(s: &mut Setup, run: &str, i: usize) {
    let composer = Composer {
        model: &s.model,
        templates: &s.templates,
    };
    let req = MailRequest {
        purpose: Purpose::StatusRequest,
        engagement: "bench".into(),
        milestone: None,
        extra: Default::default(),
        calendar: None,
    };
    let mail =
        composer
            .compose(&req, None, now())
            .unwrap()
            .into_outbox(format!("{run}/{i}"), &req, now());
    s.store.enqueue(&mail, now()).unwrap();
}

async fn deliver(s: &mut Setup, transport: &Transport) -> outbox::DeliveryReport {
    let composer = Composer {
        model: &s.model,
        templates: &s.templates,
    };
    outbox::deliver_due(
        &mut s.store,
        transport,
        s.model.imap.as_ref(),
        &composer,
        RetryPolicy::default(),
        &handoff::clock::FixedClock::new(now()),
    )
    .await
    .unwrap()
}

struct Figure {
    name: &'static str,
    mails: usize,
    elapsed: Duration,
    note: String,
}

impl Figure {
    fn rate(&self) -> f64 {
        self.mails as f64 / self.elapsed.as_secs_f64()
    }
}

/// The whole outbox over the pooled transport: render + queue, then deliver.
async fn whole_outbox(stack: &MailStack, n: usize, with_imap: bool, name: &'static str) -> Figure {
    let mut s = setup(stack, with_imap);
    let start = Instant::now();
    for i in 0..n {
        enqueue(&mut s, name, i);
    }
    let queued = start.elapsed();
    let transport = Transport::from_model(&s.model).unwrap();
    let report = deliver(&mut s, &transport).await;
    let elapsed = start.elapsed();
    assert_eq!(report.sent, n, "every mail sent");
    Figure {
        name,
        mails: n,
        elapsed,
        note: format!(
            "render + queue {:.0} ms ({:.0} mail/s), deliver + mark {:.0} ms",
            queued.as_secs_f64() * 1e3,
            n as f64 / queued.as_secs_f64(),
            (elapsed - queued).as_secs_f64() * 1e3
        ),
    }
}

/// The whole outbox with a fresh transport (so a fresh connection) per mail.
async fn connection_per_mail(stack: &MailStack, n: usize) -> Figure {
    let mut s = setup(stack, false);
    let mut latencies = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let t0 = Instant::now();
        enqueue(&mut s, "per-connection", i);
        let transport = Transport::from_model(&s.model).unwrap();
        assert_eq!(deliver(&mut s, &transport).await.sent, 1);
        drop(transport);
        latencies.push(t0.elapsed());
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    Figure {
        name: "whole outbox, one connection per mail",
        mails: n,
        elapsed,
        note: format!(
            "per mail p50 {:.2} ms, p99 {:.2} ms",
            pct(0.5).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3
        ),
    }
}

/// The baseline: pre-rendered mails over one bare SMTP connection.
async fn bare_client(stack: &MailStack, n: usize) -> Figure {
    let mut s = setup(stack, false);
    for i in 0..n {
        enqueue(&mut s, "bare", i);
    }
    let mails = s.store.due_outbox(now(), n).unwrap();
    let pem = std::fs::read(&stack.ca_cert).unwrap();
    let tls = TlsParameters::builder("127.0.0.1".into())
        .add_root_certificate(Certificate::from_pem(&pem).unwrap())
        .build_rustls()
        .unwrap();
    let hello = ClientId::Domain("bench.example.test".into());
    let envelope = Envelope::new(
        Some(stack.owner.user.parse().unwrap()),
        vec![stack.contractor.user.parse().unwrap()],
    )
    .unwrap();
    let mut latencies = Vec::with_capacity(n);
    let start = Instant::now();
    // The same socket option as Handoff's transport (TCP_NODELAY), so the
    // baseline is the server's limit, not Nagle's.
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", stack.smtp_port))
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello)
        .await
        .unwrap();
    conn.starttls(tls, &hello).await.unwrap();
    conn.auth(
        &[Mechanism::Plain],
        &Credentials::new(stack.owner.user.clone(), stack.owner.password.clone()),
    )
    .await
    .unwrap();
    for m in &mails {
        let t0 = Instant::now();
        conn.send(&envelope, &m.message).await.unwrap();
        latencies.push(t0.elapsed());
    }
    conn.quit().await.unwrap();
    let elapsed = start.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    Figure {
        name: "bare SMTP client, one connection, pre-rendered",
        mails: mails.len(),
        elapsed,
        note: format!(
            "per mail p50 {:.2} ms, p99 {:.2} ms",
            pct(0.5).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3
        ),
    }
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

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // binary without it, and then it is a quick check that the benchmark
    // still works (20 mails, no results written).
    let bench = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("BENCH_MAILS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if bench { 1000 } else { 20 });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Postfix's default smtpd reuse, not the harness's one-connection-per-
    // process (which exists for switching tempfail@ off mid-test).
    let stack = MailStack::start_with_env(&[("MAILSTACK_SMTPD_MAX_USE", "100")]);
    let figures = rt.block_on(async {
        let pooled = whole_outbox(&stack, n, false, "whole outbox, pooled connection").await;
        stack.settle();
        let with_sent =
            whole_outbox(&stack, n, true, "whole outbox, pooled, + IMAP Sent copy").await;
        stack.settle();
        // 50 ms a mail: a fifth of N is plenty for its percentiles.
        let per_mail = connection_per_mail(&stack, n.div_ceil(5)).await;
        stack.settle();
        let bare = bare_client(&stack, n).await;
        stack.settle();
        vec![pooled, with_sent, per_mail, bare]
    });
    let bare_rate = figures[3].rate();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "outbox benchmark: {n} mails into the loopback Postfix (tests/mailstack), {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for f in &figures {
        let _ = writeln!(
            out,
            "  {:<48} {:>8.0} mail/s  ({:>5.0} % of bare)  {:.2} s; {}",
            f.name,
            f.rate(),
            100.0 * f.rate() / bare_rate,
            f.elapsed.as_secs_f64(),
            f.note
        );
    }
    let _ = writeln!(
        out,
        "  peak RSS of the benchmark process: {} KiB",
        peak_rss_kib()
    );
    print!("{out}");
    if !bench {
        return;
    }
    let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/results/outbox.txt");
    if let Err(e) = std::fs::write(&results, &out) {
        eprintln!("cannot write {}: {e}", results.display());
    }
}
