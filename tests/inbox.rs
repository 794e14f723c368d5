//! Replies as real clients write them, run through `handoff ingest`: each is
//! classified as the README's rule table says, and records what it earned.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

const EXAMPLE: &str = include_str!("../config/handoff.toml");
const NOW: &str = "2026-11-24T13:00:00Z";

fn handoff(config: &Path, args: &[&str]) -> Output {
    common::handoff(config, args, NOW)
}

/// An owner directory where Handoff has already sent the instructions and
/// invitations (local mode); returns the directory, config, the instructions'
/// Message-ID and the wireframes' calendar UID.
fn started() -> (tempfile::TempDir, PathBuf, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("handoff.toml");
    std::fs::write(&config, EXAMPLE).unwrap();
    let out = handoff(&config, &["run", "--once"]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let mut instructions = None;
    let mut uid = None;
    for f in std::fs::read_dir(dir.path().join("var/mail/outgoing/new")).unwrap() {
        let raw = std::fs::read_to_string(f.unwrap().path()).unwrap();
        for line in raw.lines() {
            if let Some(id) = line.strip_prefix("Message-ID: <")
                && id.contains(".instructions@")
            {
                instructions = Some(id.trim_end_matches('>').to_string());
            }
            if let Some(u) = line.strip_prefix("UID:")
                && u.starts_with("website-wireframes-")
            {
                uid = Some(u.trim().to_string());
            }
        }
    }
    (
        dir,
        config,
        instructions.expect("instructions sent"),
        uid.expect("wireframes invited"),
    )
}

/// A fixture with the placeholders filled, written into `dir`.
fn fixture(dir: &Path, name: &str, instructions: &str, uid: &str) -> PathBuf {
    let src = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/inbox")
            .join(name),
    )
    .unwrap();
    let reply = format!(
        "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n\
         ATTENDEE;PARTSTAT=ACCEPTED;CN=Dana Diaz:mailto:dana@example.test\r\nUID:{uid}\r\n\
         DTSTAMP:20261124T150000Z\r\nSEQUENCE:0\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    let filled = String::from_utf8_lossy(&src)
        .replace("@@INSTRUCTIONS@@", instructions)
        .replace("@@REPLY_BASE64@@", &common::base64(reply.as_bytes()));
    // The garbled fixture is not text: keep its bytes.
    let bytes = if name == "garbled.eml" {
        src
    } else {
        filled.into_bytes()
    };
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn ingest(config: &Path, file: &Path) -> String {
    let out = handoff(config, &["ingest", "--explain", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    common::text(&out.stdout)
}

fn status(config: &Path) -> serde_json::Value {
    serde_json::from_slice(&handoff(config, &["status", "--json"]).stdout).unwrap()
}

fn milestone_state(config: &Path, id: &str) -> String {
    let v = status(config);
    v["engagements"][0]["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap()["state"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn each_client_fixture_is_classified_and_recorded() {
    let (dir, config, instructions, uid) = started();
    let fx = dir.path().join("fx");
    std::fs::create_dir(&fx).unwrap();
    let case = |name: &str| ingest(&config, &fixture(&fx, name, &instructions, &uid));

    // Gmail: a reply to the instructions (the quoted "?" is not theirs).
    assert!(case("gmail_acknowledgement.eml").contains(": acknowledgement (website"));
    assert_eq!(milestone_state(&config, "wireframes"), "acknowledged");

    // Outlook, Windows-1252 quoted-printable, asks something: the owner is told.
    let depth = status(&config)["outbox_depth"].as_u64().unwrap();
    assert!(case("outlook_question.eml").contains(": question (website"));
    assert_eq!(status(&config)["outbox_depth"].as_u64().unwrap(), depth + 1);

    // Apple Mail with a PDF: a delivery of the earliest open milestone.
    assert!(case("apple_delivery_with_pdf.eml").contains(": delivery (website/wireframes)"));
    assert_eq!(milestone_state(&config, "wireframes"), "delivered");
    assert_eq!(
        status(&config)["outbox_depth"].as_u64().unwrap(),
        depth + 2,
        "check-it notice"
    );

    assert!(case("thunderbird_status_report.eml").contains(": status_report (website"));
    assert!(case("out_of_office.eml").contains(": auto_reply"));
    assert!(case("dsn_bounce.eml").contains(": bounce (website"));
    let paused = status(&config)["paused"].clone();
    assert_eq!(paused[0]["address"], "dana@example.test", "{paused}");
    // The contractor writing again shows the address works: mail resumes.
    assert!(case("calendar_reply_base64.eml").contains(": calendar_reply"));
    assert_eq!(status(&config)["paused"], serde_json::json!([]));
    assert!(
        case("no_threading_headers.eml").contains(": question (website"),
        "matched by tag and sender"
    );
    let stranger = case("stranger_on_thread.eml");
    assert!(stranger.contains(": ignored_sender (website"), "{stranger}");
    assert_eq!(
        milestone_state(&config, "wireframes"),
        "delivered",
        "the stranger changed nothing"
    );
    assert!(case("garbled.eml").contains(": unparseable"));
    // The same mail again is recognised by its Message-ID.
    assert!(case("gmail_acknowledgement.eml").contains(": duplicate"));

    let log = common::text(&handoff(&config, &["log", "--json"]).stdout);
    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let reply = events
        .iter()
        .find(|e| e["kind"] == "calendar_reply" && e["milestone"] == "wireframes")
        .expect("the REPLY recorded against the milestone");
    assert_eq!(reply["detail"], "accepted");
    assert_eq!(reply["partstat"], "accepted");
    assert_eq!(reply["direction"], "in");
    let ooo = events.iter().find(|e| e["kind"] == "auto_reply").unwrap();
    assert_eq!(ooo["engagement"], "website");
}

#[test]
fn dry_run_explains_and_records_nothing() {
    let (dir, config, instructions, uid) = started();
    let file = fixture(dir.path(), "gmail_acknowledgement.eml", &instructions, &uid);
    let out = handoff(
        &config,
        &["ingest", "--dry-run", "--explain", file.to_str().unwrap()],
    );
    assert!(common::text(&out.stdout).contains("acknowledgement (website): acknowledges"));
    assert_eq!(milestone_state(&config, "wireframes"), "instructed");
}

#[test]
fn run_once_reads_replies_from_the_local_inbox_once() {
    let (dir, config, instructions, uid) = started();
    let new = dir.path().join("var/mail/inbox/new");
    std::fs::create_dir_all(&new).unwrap();
    let reply = fixture(dir.path(), "gmail_acknowledgement.eml", &instructions, &uid);
    std::fs::copy(&reply, new.join("1764000000.M1P1.host")).unwrap();
    std::fs::copy(
        fixture(dir.path(), "garbled.eml", &instructions, &uid),
        new.join("1764000001.M2P1.host"),
    )
    .unwrap();

    let out = handoff(&config, &["run", "--once"]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let stdout = common::text(&out.stdout);
    assert!(
        stdout.starts_with("received 2 (acknowledgement, unparseable)\n"),
        "{stdout}"
    );
    assert_eq!(milestone_state(&config, "wireframes"), "acknowledged");
    assert_eq!(
        std::fs::read_dir(&new).unwrap().count(),
        0,
        "both moved out of new/"
    );
    let cur: Vec<String> = std::fs::read_dir(dir.path().join("var/mail/inbox/cur"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        cur.contains(&"1764000000.M1P1.host:2,S".to_string()),
        "{cur:?}"
    );

    // The same reply dropped in again is recognised, not processed twice.
    std::fs::copy(&reply, new.join("1764000002.M3P1.host")).unwrap();
    let out = handoff(&config, &["run", "--once"]);
    assert!(
        common::text(&out.stdout).starts_with("received 1 (duplicate)\n"),
        "{}",
        common::text(&out.stdout)
    );
    let log = common::text(&handoff(&config, &["log", "--json"]).stdout);
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("\"kind\":\"acknowledgement\""))
            .count(),
        1
    );
}
