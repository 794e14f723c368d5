//! How the schedule scales: 1k, 10k and 100k milestones (10 per engagement).
//!
//! For each size: build the model from a generated config, bring a fresh
//! on-disk store in line with it (the first run), and again (every later run:
//! nothing changed), `plan` the next 30 days, and time pass wakes
//! (`pass::decide`: the pass's own rules and the schedule's) when little is
//! due. The engagements have started and their instructions and invitations
//! are already in the outbox (inserted directly, not composed), as on any
//! day after the first: the wake checks them and queues nothing. One in 50
//! engagements has a weekly status-report schedule whose Monday request falls
//! in the window of the first measured wake; the second wake, a minute
//! later, has nothing due.
//!
//! `cargo bench --bench schedule` prints the figures and writes them to
//! benches/results/schedule.txt. Under `cargo test --all-targets` (no
//! `--bench` argument) it runs 100 milestones as a quick check and writes
//! nothing.

use chrono::{DateTime, TimeDelta, Utc};
use handoff::outbox::Composer;
use handoff::store::{NewOutboxMail, Store};
use handoff::templates::Templates;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// A config with `engagements` engagements of 10 milestones each, spread over
/// 100 contractors and a year of due dates.
fn config(engagements: usize) -> String {
    let mut s = String::from(
        r#"
[owner]
name = "Ada Lovelace"
email = "ada@example.test"
timezone = "Europe/Berlin"
"#,
    );
    let zones = [
        "America/New_York",
        "Europe/Berlin",
        "Asia/Tokyo",
        "Europe/London",
    ];
    for c in 0..100 {
        let _ = write!(
            s,
            "\n[[contractor]]\nid = \"c{c}\"\nname = \"Contractor {c}\"\nemail = \"c{c}@example.test\"\ntimezone = \"{}\"\n",
            zones[c % zones.len()]
        );
    }
    for e in 0..engagements {
        let status = if e % 50 == 0 {
            "status_reports = \"0 9 * * MON\"\n"
        } else {
            ""
        };
        let _ = write!(
            s,
            r#"
[[engagement]]
id = "e{e}"
contractor = "c{c}"
title = "Engagement {e}"
agreement_signed = 2026-12-01
starts = 2027-01-05
deliverables = "Things"
quality_standard = "Good"
performance_standard = "On time"
payment = "0 9 1 * *"
{status}"#,
            c = e % 100
        );
        for m in 0..10 {
            // From March on, a month apart, staggered by the hour.
            let day = 60 + 30 * m + (e % 28);
            let due = t("2027-01-05T12:00:00Z") + TimeDelta::days(day as i64);
            let _ = write!(
                s,
                "\n[[engagement.milestone]]\nid = \"m{m}\"\ntitle = \"Milestone {m}\"\ndue = {}\nremind_before = [\"3d\", \"1d\"]\n",
                due.format("%Y-%m-%dT%H:%M:%S")
            );
        }
    }
    s
}

struct Figures {
    milestones: usize,
    parse: Duration,
    reconcile_first: Duration,
    reconcile_again: Duration,
    plan: Duration,
    plan_items: usize,
    wake1: Duration,
    wake1_queued: usize,
    wake2: Duration,
    wake2_queued: usize,
    next_due: Duration,
}

fn measure(engagements: usize) -> Figures {
    let src = config(engagements);
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let loaded = handoff::config::parse(Path::new("bench.toml"), &src, dir.path(), None)
        .unwrap_or_else(|e| panic!("{e}"));
    let parse = started.elapsed();
    let model = &loaded.model;
    let mut store = Store::open(&dir.path().join("handoff.db")).unwrap();
    let setup = t("2027-01-04T12:00:00Z");
    let started = Instant::now();
    store
        .reconcile(&handoff::planned::engagements(model), setup)
        .unwrap();
    let reconcile_first = started.elapsed();
    let started = Instant::now();
    store
        .reconcile(&handoff::planned::engagements(model), setup)
        .unwrap();
    let reconcile_again = started.elapsed();
    // The instructions and invitations of every engagement, as if sent on
    // the first day (placeholders: the wake only asks whether they exist).
    store
        .transaction(|tx| {
            for e in &model.engagements {
                let mut keys = vec![format!("instructions/{}", e.id)];
                keys.extend(
                    e.milestones
                        .iter()
                        .map(|m| format!("invite/{}/{}/0", e.id, m.id)),
                );
                for key in keys {
                    tx.enqueue(
                        &NewOutboxMail {
                            idempotency_key: key.clone(),
                            engagement: Some(e.id.clone()),
                            milestone: None,
                            purpose: "instructions".into(),
                            recipient: "placeholder@example.test".into(),
                            subject: "placeholder".into(),
                            message_id: format!("<{key}@bench>"),
                            message: Vec::new(),
                            not_before: setup,
                        },
                        setup,
                    )?;
                }
            }
            Ok(())
        })
        .unwrap();
    // The last wake was a day ago: Monday's 09:00 New York requests are owed.
    let now = t("2027-01-25T15:00:00Z");
    store
        .scheduler_set(
            "schedule/last_wake",
            &(now - TimeDelta::days(1)).to_rfc3339(),
            now,
        )
        .unwrap();

    let started = Instant::now();
    let plan = handoff::schedule::plan(model, &store, now, 30).unwrap();
    let plan_time = started.elapsed();

    let templates = Templates::load(None).unwrap();
    let composer = Composer {
        model,
        templates: &templates,
    };
    let started = Instant::now();
    let q1 = handoff::pass::decide(model, &composer, &mut store, now).unwrap();
    let wake1 = started.elapsed();
    let later = now + TimeDelta::minutes(1);
    let started = Instant::now();
    let q2 = handoff::pass::decide(model, &composer, &mut store, later).unwrap();
    let wake2 = started.elapsed();
    let started = Instant::now();
    let next = handoff::schedule::next_due(model, &store, later).unwrap();
    let next_due = started.elapsed();
    assert!(next.is_some_and(|n| n > later));
    assert!(!plan.is_empty());
    Figures {
        milestones: engagements * 10,
        parse,
        reconcile_first,
        reconcile_again,
        plan: plan_time,
        plan_items: plan.len(),
        wake1,
        wake1_queued: q1.len(),
        wake2,
        wake2_queued: q2.len(),
        next_due,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // binary without it, and then it is a quick check (100 milestones, no
    // results written).
    let bench = std::env::args().any(|a| a == "--bench");
    // BENCH_ENGAGEMENTS=N measures one size only (for profiling).
    let one: Option<usize> = std::env::var("BENCH_ENGAGEMENTS")
        .ok()
        .and_then(|v| v.parse().ok());
    let sizes: Vec<usize> = match one {
        Some(n) => vec![n],
        None if bench => vec![100, 1_000, 10_000],
        None => vec![10],
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "schedule benchmark: engagements of 10 milestones, on-disk store, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let _ = writeln!(
        out,
        "  {:>10} {:>9} {:>11} {:>11} {:>9} {:>8} {:>16} {:>16} {:>9}",
        "milestones",
        "parse",
        "reconcile1",
        "reconcileN",
        "plan 30d",
        "items",
        "wake (queued)",
        "wake 2 (queued)",
        "next_due"
    );
    for &n in &sizes {
        let f = measure(n);
        let _ = writeln!(
            out,
            "  {:>10} {:>7.0}ms {:>9.0}ms {:>9.0}ms {:>7.0}ms {:>8} {:>9.0}ms ({:>3}) {:>9.0}ms ({:>3}) {:>7.0}ms",
            f.milestones,
            ms(f.parse),
            ms(f.reconcile_first),
            ms(f.reconcile_again),
            ms(f.plan),
            f.plan_items,
            ms(f.wake1),
            f.wake1_queued,
            ms(f.wake2),
            f.wake2_queued,
            ms(f.next_due),
        );
    }
    print!("{out}");
    if !bench {
        return;
    }
    let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/results/schedule.txt");
    if let Err(e) = std::fs::write(&results, &out) {
        eprintln!("cannot write {}: {e}", results.display());
    }
}
