//! The `handoff` command as an owner runs it: check, init, status, log.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXAMPLE: &str = include_str!("../config/handoff.toml");

/// A scratch directory holding a copy of the example config.
fn owner_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("handoff.toml");
    std::fs::write(&config, EXAMPLE).expect("write config");
    (dir, config)
}

fn handoff(config: &Path, args: &[&str]) -> Output {
    handoff_at(config, args, "2026-11-24T09:00:00Z")
}

fn handoff_at(config: &Path, args: &[&str], now: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("HANDOFF_NOW", now)
        .env_remove("HANDOFF_CONFIG")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .inspect(|out| common::ical::check_run(config, &out.stdout))
        .expect("run handoff")
}

#[test]
fn check_accepts_the_shipped_config() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/handoff.toml");
    let out = handoff(&shipped, &["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        common::text(&out.stderr)
    );
    let stdout = common::text(&out.stdout);
    assert!(
        stdout.contains("ok (1 contractor, 1 engagement, 2 milestones)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("website/wireframes  Wireframes (Dana Díaz)"),
        "{stdout}"
    );
    assert!(stdout.contains("2026-12-05 23:59 CET"), "{stdout}");
    assert_eq!(common::text(&out.stderr), "", "the example has no warnings");
}

#[test]
fn check_rejects_a_bad_config_with_file_line_and_column() {
    let (_dir, config) = owner_dir();
    let bad = EXAMPLE
        .replacen(
            "email = \"dana@example.test\"",
            "emial = \"dana@example.test\"",
            1,
        )
        .replacen("\"America/New_York\"", "\"America/Nowhere\"", 1);
    std::fs::write(&config, &bad).unwrap();
    let out = handoff(&config, &["check"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = common::text(&out.stderr);
    let line_of = |needle: &str| bad[..bad.find(needle).unwrap()].matches('\n').count() + 1;
    let file = config.display().to_string();
    assert!(
        stderr.contains(&format!(
            "{file}:{}:1: unknown key `emial`",
            line_of("emial")
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{file}:{}:12: `timezone` in contractor \"dana\"",
            line_of("America/Nowhere")
        )),
        "{stderr}"
    );
    assert!(stderr.contains("has 3 error(s)"), "{stderr}");
    assert_eq!(common::text(&out.stdout), "");
}

#[test]
fn a_missing_config_is_a_usage_error() {
    let out = handoff(Path::new("/nonexistent/handoff.toml"), &["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::text(&out.stderr).contains("cannot read config /nonexistent/handoff.toml"));
}

#[test]
fn init_writes_a_starter_config_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("handoff.toml");
    let out = handoff(&config, &["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    // The example, its dates counted from today (HANDOFF_NOW here).
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-24T09:00:00Z")
        .unwrap()
        .to_utc();
    let written = std::fs::read_to_string(&config).unwrap();
    let check_line = format!("--config {}", config.display());
    assert!(written.contains(&check_line), "{written}");
    assert_eq!(
        written.replacen(&check_line, "--config config/handoff.toml", 1),
        handoff::config::starter(now)
    );
    let out = handoff(&config, &["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the starter config passes check"
    );
    assert_eq!(common::text(&out.stderr), "", "without a warning");

    std::fs::write(&config, "# mine\n").unwrap();
    let out = handoff(&config, &["init"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::text(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "# mine\n");
}

#[test]
fn status_json_works_on_a_fresh_store() {
    let (dir, config) = owner_dir();
    let out = handoff(&config, &["status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    assert_eq!(v["outbox_depth"], 0);
    let e = &v["engagements"][0];
    assert_eq!(e["id"], "website");
    assert_eq!(e["state"], "active");
    assert_eq!(e["contractor"], "dana");
    assert_eq!(e["milestones"][0]["id"], "wireframes");
    assert_eq!(e["milestones"][0]["state"], "planned");
    assert_eq!(e["milestones"][0]["due"], "2026-12-05T22:59:59+00:00");
    // HANDOFF_NOW is 2026-11-24 09:00 UTC: the kickoff call is next.
    assert_eq!(e["next"]["kind"], "kickoff");
    assert_eq!(e["next"]["at"], "2026-11-25T14:00:00+00:00");
    // The store was created where the config says, relative to the config.
    assert!(dir.path().join("var/handoff.db").is_file());
}

#[test]
fn status_shows_a_table_for_people() {
    let (_dir, config) = owner_dir();
    let out = handoff(&config, &["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    let stdout = common::text(&out.stdout);
    assert!(
        stdout.contains("website  Company website redesign  [active]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("next: kickoff call at 2026-11-25 15:00 CET"),
        "{stdout}"
    );
    assert!(stdout.contains("wireframes"), "{stdout}");
}

#[test]
fn log_json_prints_one_object_per_event() {
    let (_dir, config) = owner_dir();
    // A fresh store has no events.
    let out = handoff(&config, &["log", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    assert_eq!(common::text(&out.stdout), "");

    // Reconciling the config (what the daemon does at start) journals events.
    let loaded = handoff::config::load(&config).unwrap();
    let mut store = handoff::store::Store::open(&loaded.model.mail.state).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-24T09:00:00Z")
        .unwrap()
        .to_utc();
    store
        .reconcile(&handoff::planned::engagements(&loaded.model), now)
        .unwrap();
    drop(store);

    let out = handoff(&config, &["log", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    let lines: Vec<serde_json::Value> = common::text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect();
    assert!(!lines.is_empty());
    for l in &lines {
        for key in [
            "time",
            "kind",
            "direction",
            "engagement",
            "milestone",
            "message_id",
            "subject",
        ] {
            assert!(l.get(key).is_some(), "{key} missing in {l}");
        }
        assert_eq!(l["direction"], "internal");
    }
    assert!(lines.iter().any(|l| l["milestone"] == "wireframes"));
}

#[test]
fn plan_shows_the_timeline_in_utc_and_the_recipients_time() {
    let (_dir, config) = owner_dir();
    // The example starts on 2026-11-24; the wireframes are due 2026-12-05.
    let out = handoff_at(
        &config,
        &["plan", "--days", "14", "--json"],
        "2026-11-24T09:00:00Z",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        common::text(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = common::text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for l in &lines {
        for key in [
            "at",
            "local",
            "to",
            "purpose",
            "engagement",
            "milestone",
            "rule",
        ] {
            assert!(l.get(key).is_some(), "{key} missing in {l}");
        }
    }
    let find = |purpose: &str, key: &str| {
        lines
            .iter()
            .find(|l| l["purpose"] == purpose && l["milestone"] == key)
            .unwrap_or_else(|| panic!("no {purpose} for {key} in {lines:?}"))
            .clone()
    };
    // The 3-day reminder: due 2026-12-05 23:59:59 Berlin = 22:59:59 UTC,
    // minus 3 days; 17:59 in New York, outside Dana's quiet hours.
    let r = find("deadline_reminder", "wireframes");
    assert_eq!(r["at"], "2026-12-02T22:59:59Z");
    assert_eq!(r["local"], "2026-12-02 17:59 EST");
    assert_eq!(r["to"], "dana@example.test");
    // The overdue notice at the due instant, and the owner's side of it.
    let o = find("overdue_notice", "wireframes");
    assert_eq!(o["at"], "2026-12-05T22:59:59Z");
    let n = find("notice_overdue", "wireframes");
    assert_eq!(n["to"], "ada@example.test");
    assert_eq!(n["local"], "2026-12-05 23:59 CET");
    // The weekly status request, Mondays 09:00 in New York.
    assert!(lines.iter().any(|l| l["purpose"] == "status_request"
        && l["local"] == "2026-11-30 09:00 EST"
        && l["at"] == "2026-11-30T14:00:00Z"));
    // Time order.
    let ats: Vec<&str> = lines.iter().map(|l| l["at"].as_str().unwrap()).collect();
    let mut sorted = ats.clone();
    sorted.sort();
    assert_eq!(ats, sorted);
    // The table says the same for a person.
    let out = handoff_at(&config, &["plan"], "2026-11-24T09:00:00Z");
    assert_eq!(out.status.code(), Some(0));
    assert!(common::text(&out.stdout).contains("deadline reminder (remind_before)"));
}

#[test]
fn a_bad_handoff_now_is_a_usage_error() {
    let (_dir, config) = owner_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(["status", "--config"])
        .arg(&config)
        .env("HANDOFF_NOW", "next tuesday")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::text(&out.stderr).contains("HANDOFF_NOW=\"next tuesday\" is not an RFC 3339 time")
    );
}

#[test]
fn unknown_subcommands_are_usage_errors() {
    let (_dir, config) = owner_dir();
    let out = handoff(&config, &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn check_reports_a_template_that_uses_an_unknown_variable() {
    let (dir, config) = owner_dir();
    let templates = dir.path().join("my-templates");
    std::fs::create_dir(&templates).unwrap();
    std::fs::write(
        templates.join("kickoff.txt"),
        "Subject: Kickoff\n\nSee you at {{ engagement.kickof }}\n",
    )
    .unwrap();
    let with_dir = EXAMPLE.replacen(
        "state = \"var/handoff.db\"",
        "state = \"var/handoff.db\"\ntemplates_dir = \"my-templates\"",
        1,
    );
    std::fs::write(&config, with_dir).unwrap();
    let out = handoff(&config, &["check"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = common::text(&out.stderr);
    assert!(stderr.contains("kickoff.txt: line 3"), "{stderr}");
    assert!(stderr.contains("undefined"), "{stderr}");
}

#[test]
fn preview_shows_the_mail_without_changing_anything() {
    let (dir, config) = owner_dir();
    let out = handoff(&config, &["preview", "website"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    let stdout = common::text(&out.stdout);
    assert!(
        stdout.contains("Subject: Company website redesign [website]"),
        "{stdout}"
    );
    assert!(stdout.contains("--- text/plain ---"));
    assert!(stdout.contains("--- text/html ---"));
    assert!(
        !dir.path().join("var").exists(),
        "preview created no store and no mail"
    );

    let out = handoff(
        &config,
        &["preview", "website", "deadline_reminder", "--eml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    let eml = common::text(&out.stdout);
    assert!(eml.contains("\r\nMessage-ID: <"), "{eml}");
    assert!(eml.contains("Content-Type: multipart/alternative"), "{eml}");

    let out = handoff(&config, &["preview", "website", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::text(&out.stderr).contains("unknown purpose `nonsense`"));
}

#[test]
fn run_once_sends_instructions_and_invitations_once_after_the_contractors_quiet_hours() {
    let (dir, config) = owner_dir();
    // 09:00 UTC is 04:00 in New York: inside Dana's quiet hours (20:00-08:00).
    let out = handoff(&config, &["run", "--once"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    assert_eq!(
        common::text(&out.stdout),
        "queued 4 (instructions/website, invite/website/wireframes/0, invite/website/launch/0, \
         kickoff/website/0); sent 0, retrying 0, failed 0; outbox now 4\n"
    );
    let new = dir.path().join("var/mail/outgoing/new");
    assert_eq!(
        std::fs::read_dir(&new).unwrap().count(),
        0,
        "nothing sent at night"
    );
    // 13:00 UTC is 08:00 in New York: the quiet hours are over.
    let out = handoff_at(&config, &["run", "--once"], "2026-11-24T13:00:00Z");
    assert_eq!(
        common::text(&out.stdout),
        "queued 0; sent 4, retrying 0, failed 0; outbox now 0\n"
    );
    let out = handoff_at(&config, &["run", "--once"], "2026-11-24T14:00:00Z");
    assert!(
        common::text(&out.stdout).starts_with("queued 0; sent 0"),
        "{}",
        common::text(&out.stdout)
    );
    assert_eq!(
        std::fs::read_dir(&new).unwrap().count(),
        4,
        "instructions, two milestone invitations and the kickoff, once each"
    );
    let out = handoff(&config, &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["engagements"][0]["milestones"][0]["state"], "instructed");
}

#[test]
fn a_mail_held_by_quiet_hours_is_dated_when_it_goes_out_under_its_queued_message_id() {
    let (dir, config) = owner_dir();
    // 04:00 in New York: queued, held until 08:00 (13:00 UTC).
    assert!(handoff(&config, &["run", "--once"]).status.success());
    let store = handoff::store::Store::open(&dir.path().join("var/handoff.db")).unwrap();
    let far = chrono::DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let mut queued: Vec<String> = store
        .due_outbox(far, 100)
        .unwrap()
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    queued.sort();
    assert_eq!(queued.len(), 4);
    drop(store);
    let out = handoff_at(&config, &["run", "--once"], "2026-11-24T13:00:07Z");
    assert!(
        common::text(&out.stdout).contains("sent 4"),
        "{}",
        common::text(&out.stdout)
    );
    let mut sent = Vec::new();
    for f in std::fs::read_dir(dir.path().join("var/mail/outgoing/new")).unwrap() {
        let raw = std::fs::read(f.unwrap().path()).unwrap();
        let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(
            m.date().map(|d| d.to_rfc3339()).as_deref(),
            Some("2026-11-24T13:00:07Z"),
            "dated when it went, not at 04:00 in New York"
        );
        sent.push(format!("<{}>", m.message_id().unwrap()));
    }
    sent.sort();
    assert_eq!(sent, queued, "the Message-IDs fixed when they were queued");
}

#[test]
fn ics_writes_the_owners_feed() {
    let (dir, config) = owner_dir();
    let out = handoff(&config, &["ics"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    let feed = common::text(&out.stdout);
    assert!(feed.starts_with("BEGIN:VCALENDAR\r\n"), "{feed}");
    assert!(feed.contains("METHOD:PUBLISH"));
    // The invitation's UID (the store's), not one of the feed's own.
    assert!(feed.contains("UID:website-wireframes-"), "{feed}");
    assert!(
        feed.contains("DTSTART;VALUE=DATE:20261205\r\n")
            && feed.contains("DTEND;VALUE=DATE:20261206\r\n"),
        "wireframes, all day on the 5th: {feed}"
    );
    assert!(feed.contains("SUMMARY:Kickoff: Company website redesign with Dana Díaz"));
    assert!(feed.contains("SUMMARY:Evaluate Dana Díaz (Company website redesign)"));
    assert!(!feed.contains("ATTENDEE"), "a feed invites nobody");

    let file = dir.path().join("owner.ics");
    let out = handoff(
        &config,
        &[
            "ics",
            "--engagement",
            "website",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("METHOD:PUBLISH"));
    common::ical::assert_strict(&written);

    let out = handoff(&config, &["ics", "--engagement", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::text(&out.stderr).contains("no engagement `nope`"));
}
