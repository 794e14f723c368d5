//! The owner's page: what a view costs, and whether the token check takes
//! the same time whatever the guess.
//!
//! - the token comparison, a million times each: a guess wrong at the first
//!   byte, wrong at the last, the right token, and one too short (the
//!   times should agree: `web::token::matches` walks the whole token);
//! - building the page and a contractor page from an on-disk store of 1,
//!   100 and 1 000 engagements (2 milestones each, reconciled), as the
//!   daemon does per request (open the store, read, render).
//!
//! `cargo bench --bench web` prints the figures. Under `cargo test
//! --all-targets` (no `--bench` argument) it runs small sizes as a check.

use chrono::{DateTime, Utc};
use handoff::store::Store;
use handoff::web::{page, token};
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn compare(rounds: u32) -> Vec<(&'static str, f64)> {
    let token = b"3f9c2a71d0b84e65a1c7f0e2d9b36a48c5e1f7a2".to_vec();
    let mut first = token.clone();
    first[0] ^= 1;
    let mut last = token.clone();
    let n = last.len() - 1;
    last[n] ^= 1;
    let short = token[..20].to_vec();
    let cases: [(&str, &[u8]); 4] = [
        ("wrong first byte", &first),
        ("wrong last byte", &last),
        ("right token", &token),
        ("too short", &short),
    ];
    // Interleaved rounds, the median of each: the machine is shared.
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for _ in 0..15 {
        for (i, (_, guess)) in cases.iter().enumerate() {
            let started = Instant::now();
            for _ in 0..rounds {
                black_box(token::matches(black_box(&token), black_box(guess)));
            }
            samples[i].push(started.elapsed().as_nanos() as f64 / f64::from(rounds));
        }
    }
    cases
        .iter()
        .zip(samples)
        .map(|((name, _), mut s)| {
            s.sort_by(f64::total_cmp);
            (*name, s[s.len() / 2])
        })
        .collect()
}

fn config(engagements: usize) -> String {
    let mut s = String::from(
        "[owner]\nname = \"Ada Lovelace\"\nemail = \"ada@example.test\"\ntimezone = \"Europe/Berlin\"\n",
    );
    for c in 0..10 {
        let _ = write!(
            s,
            "\n[[contractor]]\nid = \"c{c}\"\nname = \"Contractor {c}\"\nemail = \"c{c}@example.test\"\n"
        );
    }
    for e in 0..engagements {
        let _ = write!(
            s,
            "\n[[engagement]]\nid = \"e{e}\"\ncontractor = \"c{}\"\ntitle = \"Engagement {e}\"\n\
             agreement_signed = 2026-11-02\nstarts = 2026-11-24\nbudget = \"2000 EUR\"\n\
             deliverables = \"Things\"\nquality_standard = \"Good\"\nperformance_standard = \"On time\"\n\
             [[engagement.milestone]]\nid = \"m1\"\ntitle = \"First\"\ndue = 2026-12-05\n\
             [[engagement.milestone]]\nid = \"m2\"\ntitle = \"Second\"\ndue = 2027-01-05\n",
            e % 10
        );
    }
    s
}

fn page_times(engagements: usize, tries: usize) -> (Duration, Duration, usize) {
    let dir = tempfile::tempdir().unwrap();
    let loaded = handoff::config::parse(
        Path::new("bench.toml"),
        &config(engagements),
        dir.path(),
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let model = &loaded.model;
    let now = t("2026-12-08T12:00:00Z");
    let mut store = Store::open(&model.mail.state).unwrap();
    store
        .reconcile(
            &handoff::planned::engagements(model),
            t("2026-11-24T08:00:00Z"),
        )
        .unwrap();
    drop(store);
    let median = |f: &dyn Fn() -> usize| {
        let mut v: Vec<(Duration, usize)> = (0..tries)
            .map(|_| {
                let started = Instant::now();
                let n = f();
                (started.elapsed(), n)
            })
            .collect();
        v.sort();
        v[v.len() / 2]
    };
    let (overview, bytes) = median(&|| {
        page::overview(model, now, None, "webcal://x/feed/t.ics")
            .unwrap()
            .unwrap()
            .len()
    });
    let (contractor, _) = median(&|| page::contractor(model, now, "c0").unwrap().unwrap().len());
    (overview, contractor, bytes)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (rounds, sizes, tries): (u32, &[usize], usize) = if bench {
        (1_000_000, &[1, 100, 1000], 5)
    } else {
        (1_000, &[1, 10], 1)
    };
    println!("web benchmark: token check and page builds, 2 cores");
    for (name, ns) in compare(rounds) {
        println!("  token check, {name:<17} {ns:>7.1} ns");
    }
    for &n in sizes {
        let (overview, contractor, bytes) = page_times(n, tries);
        println!(
            "  page, {n:>5} engagements: {:>7.1} ms ({} kB of HTML); a contractor page {:>7.1} ms",
            overview.as_secs_f64() * 1000.0,
            bytes / 1024,
            contractor.as_secs_f64() * 1000.0
        );
    }
}
