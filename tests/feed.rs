//! The owner's calendar feed (`handoff ics`), as a calendar app reads it: one
//! event per milestone and kickoff under its invitation's UID, and only what
//! the schedule will do, in agreement with `handoff plan`. Local mode; every
//! feed and mail goes through the strict reading of `tests/common/ical.rs`.

mod common;

use icalendar::{Calendar, CalendarComponent, CalendarDateTime, Component, DatePerhapsTime};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const EXAMPLE: &str = include_str!("../config/handoff.toml");
/// 08:00 in New York: Dana's quiet hours are over, her mail goes at once.
const NOW: &str = "2026-11-24T13:00:00Z";

/// One event of the feed, as a calendar app keeps it.
#[derive(Debug, Clone, PartialEq)]
struct Ev {
    uid: String,
    sequence: String,
    summary: String,
    status: String,
    start: String,
}

fn start_text(d: Option<DatePerhapsTime>) -> String {
    match d {
        Some(DatePerhapsTime::Date(d)) => d.format("%Y-%m-%d").to_string(),
        // Handoff writes every time in UTC.
        Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(t))) => t.to_rfc3339(),
        Some(DatePerhapsTime::DateTime(other)) => format!("{other:?}"),
        None => String::new(),
    }
}

fn events(ics: &str) -> Vec<Ev> {
    let cal: Calendar = ics.parse().expect("the feed parses");
    cal.components
        .iter()
        .filter_map(|c| match c {
            CalendarComponent::Event(e) => Some(Ev {
                uid: e.get_uid().unwrap_or_default().to_string(),
                sequence: e.property_value("SEQUENCE").unwrap_or_default().into(),
                summary: e.get_summary().unwrap_or_default().to_string(),
                status: e.property_value("STATUS").unwrap_or_default().into(),
                start: start_text(e.get_start()),
            }),
            _ => None,
        })
        .collect()
}

fn ok(config: &Path, args: &[&str], now: &str) -> String {
    let out = common::handoff(config, args, now);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}{}",
        common::text(&out.stdout),
        common::text(&out.stderr)
    );
    common::text(&out.stdout)
}

fn feed(config: &Path, now: &str) -> Vec<Ev> {
    events(&ok(config, &["ics"], now))
}

/// UID → SEQUENCE of every invitation (REQUEST) Handoff wrote so far.
fn invitations(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for f in std::fs::read_dir(dir.join("var/mail/outgoing/new")).unwrap() {
        let raw = std::fs::read(f.unwrap().path()).unwrap();
        for (mime, ics) in common::ical::calendars(&raw) {
            if mime != "text/calendar" || !ics.contains("METHOD:REQUEST") {
                continue;
            }
            for e in events(&ics) {
                out.insert(e.uid, e.sequence);
            }
        }
    }
    out
}

fn owner_dir(config: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("handoff.toml");
    std::fs::write(&path, config).unwrap();
    (dir, path)
}

#[test]
fn the_feed_names_each_milestone_and_the_kickoff_with_its_invitations_uid() {
    let (dir, config) = owner_dir(EXAMPLE);
    // Before work starts (24 November) nothing was invited; the feed already
    // holds the UIDs the invitations will carry.
    let before = feed(&config, "2026-11-20T09:00:00Z");
    let uid_of = |evs: &[Ev], prefix: &str| {
        evs.iter()
            .find(|e| e.summary.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in {evs:#?}"))
            .uid
            .clone()
    };
    let ids: Vec<String> = ["Due: Wireframes", "Due: Site live", "Kickoff:"]
        .iter()
        .map(|p| uid_of(&before, p))
        .collect();

    ok(&config, &["run", "--once"], NOW);
    let invited = invitations(dir.path());
    assert_eq!(
        invited.keys().cloned().collect::<Vec<_>>(),
        {
            let mut v = ids.clone();
            v.sort();
            v
        },
        "the invitations carry the feed's UIDs"
    );
    let after = feed(&config, NOW);
    for e in after.iter().filter(|e| invited.contains_key(&e.uid)) {
        assert_eq!(invited[&e.uid], e.sequence, "{e:?}: the same SEQUENCE");
    }
    // A calendar that imports the feed and accepts the invitations holds
    // each milestone and the kickoff once: the two, 5 events in all.
    let mut uids: Vec<String> = after.iter().map(|e| e.uid.clone()).collect();
    uids.extend(invited.keys().cloned());
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 5, "{after:#?}\n{invited:?}");
    assert_eq!(after.len(), 5);
}

#[test]
fn a_moved_milestone_keeps_its_uid_and_the_feed_follows_the_sequence() {
    let (_dir, config) = owner_dir(EXAMPLE);
    ok(&config, &["run", "--once"], NOW);
    let first = feed(&config, NOW);
    let wf = first
        .iter()
        .find(|e| e.summary.starts_with("Due: Wireframes"))
        .unwrap()
        .clone();
    assert_eq!(
        (wf.sequence.as_str(), wf.start.as_str()),
        ("0", "2026-12-05")
    );
    std::fs::write(
        &config,
        EXAMPLE.replacen("due = 2026-12-05", "due = 2026-12-07", 1),
    )
    .unwrap();
    ok(&config, &["run", "--once"], "2026-11-24T14:00:00Z");
    let moved = feed(&config, "2026-11-24T14:00:00Z");
    let wf2 = moved
        .iter()
        .find(|e| e.summary.starts_with("Due: Wireframes"))
        .unwrap();
    assert_eq!(
        (wf2.uid.as_str(), wf2.sequence.as_str(), wf2.start.as_str()),
        (wf.uid.as_str(), "1", "2026-12-07")
    );
}

/// The example, plus four engagements of Dana's in other states.
fn five_engagements() -> String {
    let extra = |id: &str, signed: &str, starts: &str, kickoff: &str, due: &str| {
        format!(
            r#"
[[engagement]]
id = "{id}"
contractor = "dana"
title = "Project {id}"
{signed}starts = {starts}
kickoff = {kickoff}
deliverables = "Pages"
quality_standard = "Valid HTML"
performance_standard = "On time"
status_reports = "0 9 * * MON"
evaluation = "0 10 1 */3 *"
payment = "0 9 15 * *"

[[engagement.milestone]]
id = "only"
title = "Only milestone of {id}"
due = {due}
"#
        )
    };
    let mut config = EXAMPLE.to_string();
    config += &extra(
        "later",
        "agreement_signed = 2026-11-02\n",
        "2027-02-01",
        "2027-02-02T15:00:00",
        "2027-03-01",
    );
    config += &extra(
        "unsigned",
        "",
        "2026-11-24",
        "2026-12-02T15:00:00",
        "2026-12-20",
    );
    config += &extra(
        "ended",
        "agreement_signed = 2026-11-02\n",
        "2026-11-24",
        "2026-12-03T15:00:00",
        "2026-12-21",
    );
    config += &extra(
        "finished",
        "agreement_signed = 2026-11-02\n",
        "2026-11-24",
        "2026-11-24T16:00:00",
        "2026-12-22",
    );
    config
}

/// The Message-ID of the instructions for `engagement` in the outgoing folder.
fn instructions_id(dir: &Path, engagement: &str) -> String {
    for f in std::fs::read_dir(dir.join("var/mail/outgoing/new")).unwrap() {
        let raw = std::fs::read_to_string(f.unwrap().path()).unwrap();
        let header = raw.split("\r\n\r\n").next().unwrap_or_default();
        let id = header
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .unwrap_or_default();
        if id.contains(".instructions@") && header.contains(&format!("[{engagement}]")) {
            return id.trim().to_string();
        }
    }
    panic!("no instructions for {engagement}")
}

#[test]
fn the_feed_holds_only_what_the_schedule_will_do_as_plan_says() {
    let (dir, config) = owner_dir(&five_engagements());
    ok(&config, &["run", "--once"], NOW);
    // `ended` is ended by the owner; `finished` delivers and is accepted.
    ok(&config, &["end", "ended"], NOW);
    let refs = instructions_id(dir.path(), "finished");
    let inbox = dir.path().join("var/mail/inbox/new");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(
        inbox.join("1764000001.D1.host"),
        format!(
            "From: Dana Diaz <dana@example.test>\r\nTo: Ada Lovelace <ada@example.test>\r\n\
             Subject: Re: Project finished [finished]\r\nMessage-ID: <delivery1@dana.example.test>\r\n\
             In-Reply-To: {refs}\r\nReferences: {refs}\r\nDate: Tue, 24 Nov 2026 08:00:00 -0500\r\n\r\n\
             Here are the files: https://example.test/branch-1\r\n"
        ),
    )
    .unwrap();
    let out = ok(&config, &["run", "--once"], NOW);
    assert!(out.contains("received 1 (delivery)"), "{out}");
    ok(&config, &["accept", "finished"], NOW);

    let evs = feed(&config, NOW);
    let of = |id: &str| -> Vec<&Ev> {
        let title = format!("Project {id}");
        evs.iter()
            .filter(|e| e.summary.contains(&title) || e.summary.contains(&format!("of {id}")))
            .collect()
    };
    // Ended and finished: gone, evaluations and payments too.
    assert!(of("ended").is_empty(), "{:#?}", of("ended"));
    assert!(of("finished").is_empty(), "{:#?}", of("finished"));
    // Not signed: its milestone and kickoff, tentative and saying why;
    // no evaluation or payment.
    let unsigned = of("unsigned");
    assert_eq!(unsigned.len(), 2, "{unsigned:#?}");
    for e in &unsigned {
        assert_eq!(e.status, "TENTATIVE", "{e:?}");
        assert!(e.summary.ends_with("(not signed yet)"), "{e:?}");
    }
    // Signed, starting 1 February: everything, counted from its start.
    let later = of("later");
    let summaries: Vec<&str> = later.iter().map(|e| e.summary.as_str()).collect();
    assert_eq!(later.len(), 4, "{summaries:?}");
    for e in &later {
        assert_eq!(e.status, "CONFIRMED");
        assert!(e.start.as_str() >= "2027-02", "{e:?} before work starts");
    }

    // Every evaluation and payment in the feed is the next one `plan` lists
    // for that engagement, and `plan` lists none the feed lacks.
    let plan: Vec<serde_json::Value> = ok(&config, &["plan", "--days", "200", "--json"], NOW)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut planned: BTreeMap<(String, &str), String> = BTreeMap::new();
    for p in &plan {
        let kind = match (p["purpose"].as_str(), p["rule"].as_str()) {
            (Some("notice_evaluation_due"), _) => "Evaluate",
            (Some("notice_payment_due"), Some(r)) if r.starts_with("payment schedule") => {
                "Payment due"
            }
            _ => continue,
        };
        let at = chrono::DateTime::parse_from_rfc3339(p["at"].as_str().unwrap())
            .unwrap()
            .to_utc()
            .to_rfc3339();
        planned
            .entry((p["engagement"].as_str().unwrap().to_string(), kind))
            .or_insert(at);
    }
    let titles: BTreeMap<&str, &str> = [
        ("website", "Company website redesign"),
        ("later", "Project later"),
        ("unsigned", "Project unsigned"),
        ("ended", "Project ended"),
        ("finished", "Project finished"),
    ]
    .into_iter()
    .collect();
    let mut in_feed: BTreeMap<(String, &str), String> = BTreeMap::new();
    for e in &evs {
        for kind in ["Evaluate", "Payment due"] {
            if !e.summary.starts_with(kind) {
                continue;
            }
            let id = titles
                .iter()
                .find(|(_, t)| e.summary.contains(*t))
                .map(|(id, _)| id.to_string())
                .unwrap_or_else(|| panic!("{e:?}"));
            in_feed.insert((id, kind), e.start.clone());
        }
    }
    assert!(!in_feed.is_empty());
    assert_eq!(in_feed, planned, "the feed and `handoff plan` agree");
}
