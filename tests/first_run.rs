//! The README's first command, exactly as a newcomer runs it, on whatever
//! day they run it: the first pass sends the instructions and invitations to
//! events that are all still ahead, and nothing else (no overdue notice, no
//! escalation, nothing for the owner).
//!
//! The command is read from the README itself (its "Two commands" block), so
//! the README cannot drift from what is tested. `cargo run --release --` is
//! this build's `handoff` binary; the clock is pinned (`HANDOFF_NOW`) at an
//! arbitrary future date, on a weekend night in the contractor's quiet
//! hours, and at today's.

mod common;

use chrono::{DateTime, NaiveDate, Utc};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The README's first command: the shell line of the first code block under
/// "## Two commands", split into its `&&`-joined commands, each as the
/// arguments after `cargo run --release --`.
fn readme_first_command() -> Vec<Vec<String>> {
    let readme = include_str!("../README.md");
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Two commands"))
        .expect("a \"Two commands\" section in the README");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh block in it");
    let line = block.trim();
    assert!(!line.contains('\n'), "one line: {line:?}");
    line.split("&&")
        .map(|cmd| {
            let args = cmd
                .trim()
                .strip_prefix("cargo run --release -- ")
                .unwrap_or_else(|| panic!("not a cargo run of handoff: {cmd:?}"));
            args.split_whitespace().map(str::to_string).collect()
        })
        .collect()
}

/// One mail of the first pass: its purpose (from Handoff's Message-ID), its
/// text and the start of each event it invites to.
struct Mail {
    purpose: String,
    raw: Vec<u8>,
}

fn purpose_of(raw: &[u8]) -> String {
    let m = mail_parser::MessageParser::default().parse(raw).unwrap();
    let id = m.message_id().unwrap_or_default();
    id.split_once('.')
        .and_then(|(_, rest)| rest.split_once('@'))
        .map(|(p, _)| p.to_string())
        .unwrap_or_default()
}

/// When each event of the mail's invitation starts, as an instant (an
/// all-day event: the start of its day in UTC, the earliest it could be).
fn starts(raw: &[u8]) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    for (mime, ics) in common::ical::calendars(raw) {
        if mime != "text/calendar" {
            continue;
        }
        for line in icalendar::parser::unfold(&ics).split("\r\n") {
            if let Some(d) = line.strip_prefix("DTSTART;VALUE=DATE:") {
                let d = NaiveDate::parse_from_str(d, "%Y%m%d").unwrap();
                out.push(d.and_hms_opt(0, 0, 0).unwrap().and_utc());
            } else if let Some(t) = line.strip_prefix("DTSTART:") {
                out.push(
                    chrono::NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%SZ")
                        .unwrap()
                        .and_utc(),
                );
            }
        }
    }
    out
}

/// Runs the README's commands in a fresh directory at `now`, the daemon
/// until its first pass is done; returns every mail of that pass, sent or
/// still held for the contractor's quiet hours.
fn first_pass(now: &str) -> (tempfile::TempDir, Vec<Mail>) {
    let t = DateTime::parse_from_rfc3339(now).unwrap().to_utc();
    let cwd = tempfile::tempdir().unwrap();
    let commands = readme_first_command();
    assert_eq!(commands.len(), 2, "two commands: {commands:?}");
    let (daemon, setup) = commands.split_last().unwrap();
    for args in setup {
        let out = Command::new(env!("CARGO_BIN_EXE_handoff"))
            .args(args)
            .current_dir(cwd.path())
            .env("HANDOFF_NOW", now)
            .env_remove("HANDOFF_CONFIG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            common::text(&out.stderr)
        );
    }
    assert_eq!(daemon[0], "run", "the last command runs the daemon");
    let mut child = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(daemon)
        .current_dir(cwd.path())
        .env("HANDOFF_NOW", now)
        .env_remove("HANDOFF_CONFIG")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, log) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // "ready" is logged once the first whole pass has run.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match log.recv_timeout(left) {
            Ok(line) if line.contains("ready") => break,
            Ok(line) => seen.push(line),
            Err(_) => panic!("no first pass; the log:\n{}", seen.join("\n")),
        }
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success(), "{}", seen.join("\n"));

    let config = daemon
        .windows(2)
        .find(|w| w[0] == "--config")
        .map(|w| cwd.path().join(&w[1]))
        .expect("run --config FILE");
    let root = config.parent().unwrap();
    let mut mails: Vec<Mail> = Vec::new();
    let new = root.join("var/mail/outgoing/new");
    common::ical::check_dir(&new);
    if let Ok(entries) = std::fs::read_dir(&new) {
        for e in entries {
            let raw = std::fs::read(e.unwrap().path()).unwrap();
            mails.push(Mail {
                purpose: purpose_of(&raw),
                raw,
            });
        }
    }
    let store = handoff::store::Store::open(&root.join("var/handoff.db")).unwrap();
    // Held mail is queued for the end of the quiet hours, within a day.
    for m in store
        .due_outbox(t + chrono::TimeDelta::days(2), 1000)
        .unwrap()
    {
        common::ical::check_mail(&m.message);
        mails.push(Mail {
            purpose: m.purpose.clone(),
            raw: m.message,
        });
    }
    (cwd, mails)
}

fn assert_sensible(now: &str) {
    let (cwd, mails) = first_pass(now);
    let t = DateTime::parse_from_rfc3339(now).unwrap().to_utc();
    let mut purposes: Vec<&str> = mails.iter().map(|m| m.purpose.as_str()).collect();
    purposes.sort();
    assert_eq!(
        purposes,
        [
            "instructions",
            "kickoff",
            "milestone_invite",
            "milestone_invite"
        ],
        "{now}: the instructions and the invitations, and nothing else"
    );
    for m in &mails {
        let text = common::text(&m.raw);
        assert!(text.contains("To: "), "{text}");
        assert!(
            text.contains("dana@example.test"),
            "{now}: to the contractor"
        );
        if m.purpose != "instructions" {
            let at = starts(&m.raw);
            assert_eq!(at.len(), 1, "{now}: one event per invitation");
            assert!(at[0] > t, "{now}: an invitation to {} (in the past)", at[0]);
        }
    }
    let instructions = mails.iter().find(|m| m.purpose == "instructions").unwrap();
    let parsed = mail_parser::MessageParser::default()
        .parse(&instructions.raw)
        .unwrap();
    let body = parsed.body_text(0).unwrap().into_owned();
    assert!(
        body.contains("Wireframes") && body.contains("Site live"),
        "{body}"
    );
    drop(cwd);
}

#[test]
fn the_readmes_first_command_is_two_commands_init_then_run() {
    let commands = readme_first_command();
    assert_eq!(commands[0][0], "init");
    assert_eq!(commands[1][0], "run");
    assert!(!commands[1].contains(&"--once".to_string()));
}

#[test]
fn the_readmes_first_command_invites_to_what_is_ahead_years_from_now() {
    // A Monday afternoon in New York: everything goes at once.
    assert_sensible("2031-07-14T16:20:00Z");
    // A Saturday night in New York: held for the quiet hours, and the
    // kickoff still lands on a working day ahead.
    assert_sensible("2029-02-04T03:00:00Z");
}

#[test]
fn the_readmes_first_command_invites_to_what_is_ahead_today() {
    assert_sensible(&Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
}

#[test]
fn the_shipped_example_stays_the_reference_and_checks_clean() {
    // The example's own dates are fixed (the tests pin their clock to
    // them); at its date it checks without a warning.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("handoff.toml");
    std::fs::write(&config, handoff::config::EXAMPLE).unwrap();
    let out = common::handoff(&config, &["check"], "2026-11-24T09:00:00Z");
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert_eq!(common::text(&out.stderr), "");
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("config/handoff.toml")
            .is_file()
    );
}
