//! How well Handoff reads replies: the labelled corpus of
//! `tests/fixtures/replies` (see `tests/common/corpus.rs`) run through the
//! inbound pipeline, each reply against its own copy of the scenario's store,
//! and scored against what a careful human would say.
//!
//! It prints, and writes to benches/results/classify.txt: precision and
//! recall per kind; the accuracy of the milestone (where one is labelled) and
//! of the PARTSTAT; accuracy per language and per client; the confusion
//! matrix (label × what Handoff said); every misreading with Handoff's reason;
//! and the intake speed of the run (time in `Inbox::ingest` alone).
//!
//! The goal the rewrite of the classifier is measured against: precision ≥
//! 0.98 for every kind that changes state (an acknowledgement marks
//! milestones acknowledged, a delivery marks one delivered, a status report
//! counts as the week's report, a question opens one for the owner, a bounce
//! holds all mail to the address, a calendar reply or counter is recorded
//! against its milestone), and no read receipt or delivery delay read as a
//! bounce.
//!
//! `cargo bench --bench classify` writes the results file; under
//! `cargo test --all-targets` (no `--bench` argument) it runs the same corpus
//! as a check and writes nothing.

#[path = "../tests/common/corpus.rs"]
mod corpus;

use corpus::{KINDS, Label, Scenario, Verdict};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

/// The kinds whose false positives change state (see the module doc).
const STATE_CHANGING: &[&str] = &[
    "acknowledgement",
    "delivery",
    "status_report",
    "question",
    "bounce",
    "calendar_reply",
    "calendar_counter",
];

const GOAL_PRECISION: f64 = 0.98;

fn ratio(a: usize, b: usize) -> String {
    if b == 0 {
        "    -".into()
    } else {
        format!("{:5.2}", a as f64 / b as f64)
    }
}

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

/// Accuracy grouped by `key`, as one line per group.
fn by(out: &mut String, what: &str, rows: &[(&Label, &Verdict)], key: impl Fn(&Label) -> String) {
    let mut groups: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (l, v) in rows {
        let g = groups.entry(key(l)).or_default();
        g.1 += 1;
        if v.kind == l.kind {
            g.0 += 1;
        }
    }
    writeln!(out, "  by {what}:").unwrap();
    for (k, (right, all)) in groups {
        writeln!(
            out,
            "    {k:<20} {right:>3}/{all:<3} {:>4.0} %",
            100.0 * right as f64 / all as f64
        )
        .unwrap();
    }
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let started = Instant::now();
    let scenario = Scenario::build();
    let built = started.elapsed();
    let labels = corpus::labels();
    let replies: Vec<Vec<u8>> = labels
        .iter()
        .map(|l| scenario.reply(&l.file).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let judging = Instant::now();
    let verdicts = corpus::judge(&scenario, &replies);
    let judged = judging.elapsed();
    let rows: Vec<(&Label, &Verdict)> = labels.iter().zip(&verdicts).collect();

    let mut out = String::new();
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    // The intake figure depends on what else the machine does (an fsync per
    // commit): say how busy it was.
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    writeln!(
        out,
        "classify benchmark: {} replies (tests/fixtures/replies), read at {}, {} build, {} cores, load average {load}",
        rows.len(),
        corpus::READ_AT,
        profile,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )
    .unwrap();
    let right = rows.iter().filter(|(l, v)| v.kind == l.kind).count();
    writeln!(
        out,
        "  accuracy {:.2} ({right} of {} replies read as labelled)",
        right as f64 / rows.len() as f64,
        rows.len()
    )
    .unwrap();

    // Per kind: every kind labelled or said, the vocabulary's first.
    let mut kinds: Vec<String> = KINDS.iter().map(|k| k.to_string()).collect();
    for (_, v) in &rows {
        if !kinds.contains(&v.kind) {
            kinds.push(v.kind.clone());
        }
    }
    writeln!(
        out,
        "  per kind:            labelled  said  right  precision  recall"
    )
    .unwrap();
    let mut precision: BTreeMap<String, Option<f64>> = BTreeMap::new();
    for k in &kinds {
        let labelled = rows.iter().filter(|(l, _)| &l.kind == k).count();
        let said = rows.iter().filter(|(_, v)| &v.kind == k).count();
        let correct = rows
            .iter()
            .filter(|(l, v)| &l.kind == k && &v.kind == k)
            .count();
        precision.insert(k.clone(), (said > 0).then(|| correct as f64 / said as f64));
        let note = if KINDS.contains(&k.as_str()) {
            ""
        } else {
            "  (not in the vocabulary)"
        };
        writeln!(
            out,
            "    kind {k:<18} {labelled:>5} {said:>5} {correct:>6}      {}   {}{note}",
            ratio(correct, said),
            ratio(correct, labelled)
        )
        .unwrap();
    }

    let mut unmet = Vec::new();
    for k in STATE_CHANGING {
        match precision.get(*k).copied().flatten() {
            Some(p) if p >= GOAL_PRECISION => {}
            Some(p) => unmet.push(format!("{k} {p:.2}")),
            None => unmet.push(format!("{k} never said")),
        }
    }
    writeln!(
        out,
        "  goal: precision >= {GOAL_PRECISION} for every state-changing kind ({}): {}",
        STATE_CHANGING.join(", "),
        if unmet.is_empty() {
            "met".to_string()
        } else {
            format!("not met ({})", unmet.join(", "))
        }
    )
    .unwrap();
    let false_bounces = rows
        .iter()
        .filter(|(l, v)| {
            matches!(l.kind.as_str(), "read_receipt" | "delivery_delayed") && v.kind == "bounce"
        })
        .count();
    let receipts_and_delays = rows
        .iter()
        .filter(|(l, _)| matches!(l.kind.as_str(), "read_receipt" | "delivery_delayed"))
        .count();
    writeln!(
        out,
        "  goal: no read receipt or delivery delay read as a bounce: {false_bounces} of {receipts_and_delays} were ({})",
        if false_bounces == 0 { "met" } else { "not met" }
    )
    .unwrap();

    // Milestones and PARTSTATs, where labelled.
    let with_ms: Vec<_> = rows.iter().filter(|(l, _)| l.milestone.is_some()).collect();
    let ms_right = with_ms
        .iter()
        .filter(|(l, v)| v.milestone == l.milestone)
        .count();
    let ms_none = with_ms
        .iter()
        .filter(|(_, v)| v.milestone.is_none())
        .count();
    writeln!(
        out,
        "  milestone accuracy {} ({ms_right} of {} labelled with one; Handoff named none for {ms_none}, another for {})",
        ratio(ms_right, with_ms.len()).trim(),
        with_ms.len(),
        with_ms.len() - ms_right - ms_none
    )
    .unwrap();
    let ms_of_right_kind: Vec<_> = with_ms.iter().filter(|(l, v)| v.kind == l.kind).collect();
    let ms_right_of_right_kind = ms_of_right_kind
        .iter()
        .filter(|(l, v)| v.milestone == l.milestone)
        .count();
    writeln!(
        out,
        "    of those read as the right kind: {ms_right_of_right_kind} of {}",
        ms_of_right_kind.len()
    )
    .unwrap();
    let with_ps: Vec<_> = rows.iter().filter(|(l, _)| l.partstat.is_some()).collect();
    let ps_right = with_ps
        .iter()
        .filter(|(l, v)| v.partstat.as_deref().map(str::to_ascii_lowercase) == l.partstat)
        .count();
    writeln!(
        out,
        "  partstat accuracy {} ({ps_right} of {} calendar replies)",
        ratio(ps_right, with_ps.len()).trim(),
        with_ps.len()
    )
    .unwrap();
    let with_also: Vec<_> = rows.iter().filter(|(l, _)| !l.also.is_empty()).collect();
    let also_as_kind = with_also
        .iter()
        .filter(|(l, v)| l.also.contains(&v.kind))
        .count();
    let also_recorded = with_also
        .iter()
        .filter(|(l, v)| l.also.iter().all(|a| v.also.contains(a) || *a == v.kind))
        .count();
    let also_extra = rows
        .iter()
        .filter(|(l, v)| v.also.iter().any(|a| !l.also.contains(a)))
        .count();
    writeln!(
        out,
        "  second kinds: {} replies do two things (`also`); Handoff recorded the second for {also_recorded} of them ({also_as_kind} reported it as the kind), and a second kind no label names for {also_extra} replies",
        with_also.len()
    )
    .unwrap();
    // The thread: a reply that cites a mail of an engagement should be
    // matched to it, whatever it is (a bounce holds the address only if it
    // is; a calendar reply is matched by UID, not by its headers).
    let threaded: Vec<_> = rows
        .iter()
        .filter_map(|(l, v)| {
            let cited = corpus::cited_engagement(&l.file)?;
            (!matches!(l.kind.as_str(), "unmatched" | "unparseable")).then_some((l, v, cited))
        })
        .collect();
    let on_thread = threaded
        .iter()
        .filter(|(_, v, cited)| v.engagement.as_ref() == Some(cited))
        .count();
    writeln!(
        out,
        "  engagement accuracy {} ({on_thread} of {} replies on an engagement's thread matched to it)",
        ratio(on_thread, threaded.len()).trim(),
        threaded.len()
    )
    .unwrap();
    for (l, v, cited) in &threaded {
        if v.engagement.as_ref() != Some(cited) {
            writeln!(
                out,
                "    {}: on {cited}'s thread, matched to {}",
                l.file,
                v.engagement.as_deref().unwrap_or("none")
            )
            .unwrap();
        }
    }
    by(&mut out, "language", &rows, |l| l.lang.clone());
    by(&mut out, "client", &rows, |l| l.client.clone());

    // The confusion matrix: labels down, Handoff across.
    let said: BTreeSet<&str> = rows.iter().map(|(_, v)| v.kind.as_str()).collect();
    let columns: Vec<&str> = kinds
        .iter()
        .map(String::as_str)
        .filter(|k| said.contains(k))
        .collect();
    let short = |k: &str| -> String { k.split('_').map(|w| &w[..w.len().min(3)]).collect() };
    writeln!(
        out,
        "  confusion (rows: label; columns: what Handoff said; {}):",
        columns
            .iter()
            .map(|c| format!("{}={c}", short(c)))
            .collect::<Vec<_>>()
            .join(" ")
    )
    .unwrap();
    write!(out, "    {:<18}", "").unwrap();
    for c in &columns {
        write!(out, "{:>7}", short(c)).unwrap();
    }
    writeln!(out).unwrap();
    for k in KINDS {
        write!(out, "    {k:<18}").unwrap();
        for c in &columns {
            let n = rows
                .iter()
                .filter(|(l, v)| l.kind == *k && v.kind == *c)
                .count();
            if n == 0 {
                write!(out, "{:>7}", ".").unwrap();
            } else {
                write!(out, "{n:>7}").unwrap();
            }
        }
        writeln!(out).unwrap();
    }

    writeln!(
        out,
        "  misreadings (file: label -> Handoff; Handoff's reason):"
    )
    .unwrap();
    for (l, v) in &rows {
        if v.kind != l.kind {
            writeln!(
                out,
                "    {}: {} -> {}; {}",
                l.file,
                l.kind,
                v.kind,
                v.why.lines().next().unwrap_or_default()
            )
            .unwrap();
        } else if l.milestone.is_some() && v.milestone != l.milestone {
            writeln!(
                out,
                "    {}: {} of {} -> {} of {}; {}",
                l.file,
                l.kind,
                l.milestone.as_deref().unwrap_or("-"),
                v.kind,
                v.milestone.as_deref().unwrap_or("no milestone"),
                v.why.lines().next().unwrap_or_default()
            )
            .unwrap();
        }
    }

    let mut took: Vec<Duration> = verdicts.iter().map(|v| v.took).collect();
    took.sort();
    let total: Duration = took.iter().sum();
    writeln!(
        out,
        "  intake: {} replies in {:.1} ms of Inbox::ingest, {:.0} mail/s; per mail p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        took.len(),
        ms(total),
        took.len() as f64 / total.as_secs_f64().max(1e-9),
        ms(percentile(&took, 0.5)),
        ms(percentile(&took, 0.99)),
        ms(percentile(&took, 1.0))
    )
    .unwrap();
    writeln!(
        out,
        "    (each against a fresh copy of the scenario's store; the copies, the config and the scenario's six passes ({:.0} ms) not counted; the whole judging {:.0} ms)",
        ms(built),
        ms(judged)
    )
    .unwrap();

    print!("{out}");
    if bench {
        let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/results/classify.txt");
        if let Err(e) = std::fs::write(&results, &out) {
            eprintln!("cannot write {}: {e}", results.display());
        }
    }
}
