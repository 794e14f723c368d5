//! Hostile and broken input, through the real binary in local mode: config
//! values and replies that try to add a header, a recipient or a calendar
//! property; an enormous mail; deeply nested MIME; a stranger on a
//! contractor's thread; broken encodings. None changes what it should not,
//! and Handoff keeps working afterwards (each test ends by recording a normal
//! reply).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const EXAMPLE: &str = include_str!("../config/handoff.toml");
const NOW: &str = "2026-11-24T13:00:00Z";

fn handoff(config: &Path, args: &[&str]) -> Output {
    common::handoff(config, args, NOW)
}

/// An owner directory (local mode) where the instructions and invitations
/// went out; returns it, the config and the instructions' Message-ID.
fn started_with(config_text: &str) -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("handoff.toml");
    std::fs::write(&config, config_text).unwrap();
    let out = handoff(&config, &["run", "--once"]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let instructions = sent(dir.path())
        .iter()
        .flat_map(|raw| raw.lines().map(str::to_string).collect::<Vec<_>>())
        .find_map(|l| {
            l.strip_prefix("Message-ID: <")
                .filter(|id| id.contains(".instructions@"))
                .map(|id| id.trim_end_matches('>').to_string())
        })
        .expect("instructions sent");
    (dir, config, instructions)
}

fn started() -> (tempfile::TempDir, PathBuf, String) {
    started_with(EXAMPLE)
}

/// Every mail Handoff has written to the local outgoing folder.
fn sent(dir: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("var/mail/outgoing/new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// A reply from the contractor on the instructions' thread.
fn reply(instructions: &str, id: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Dana Diaz <dana@example.test>\r\nTo: ada@example.test\r\n\
         Subject: Re: Company website redesign [website]\r\nMessage-ID: <{id}@example.test>\r\n\
         In-Reply-To: <{instructions}>\r\nReferences: <{instructions}>\r\n\
         Date: Tue, 24 Nov 2026 10:00:00 -0500\r\nMIME-Version: 1.0\r\n{extra_headers}\r\n{body}"
    )
    .into_bytes()
}

fn write(dir: &Path, name: &str, raw: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, raw).unwrap();
    path
}

/// `handoff ingest --explain` on files; asserts it succeeded.
fn ingest(config: &Path, files: &[&Path]) -> String {
    let mut args = vec!["ingest", "--explain"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let out = handoff(config, &args);
    assert!(
        out.status.success(),
        "ingest failed: {}{}",
        common::text(&out.stdout),
        common::text(&out.stderr)
    );
    common::text(&out.stdout)
}

fn status(config: &Path) -> serde_json::Value {
    let out = handoff(config, &["status", "--json"]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The state that a reply could change: every milestone's state and the
/// number of mails waiting to go out.
fn state(config: &Path) -> (Vec<(String, String)>, u64) {
    let v = status(config);
    let milestones = v["engagements"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["milestones"].as_array().unwrap().iter())
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_string(),
                m["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (milestones, v["outbox_depth"].as_u64().unwrap())
}

/// Handoff still works: a plain reply to the instructions is recorded as
/// the acknowledgement it is.
fn still_records_a_normal_reply(config: &Path, instructions: &str, tag: &str) {
    let dir = config.parent().unwrap();
    let id = format!("normal-after-{tag}");
    let file = write(
        dir,
        &format!("{id}.eml"),
        &reply(
            instructions,
            &id,
            "Content-Type: text/plain; charset=utf-8\r\n",
            "Got it, thanks. I start Monday.\r\n",
        ),
    );
    let out = ingest(config, &[&file]);
    assert!(out.contains(": acknowledgement (website"), "{out}");
    let log = common::text(&handoff(config, &["log", "--json"]).stdout);
    assert!(
        log.lines()
            .any(|l| l.contains("\"kind\":\"acknowledgement\"") && l.contains(&id)),
        "the normal reply is in the journal"
    );
}

/// The header block of a mail (up to the first empty line), unfolded.
fn header_block(raw: &str) -> String {
    let end = raw.find("\r\n\r\n").unwrap_or(raw.len());
    raw[..end].replace("\r\n ", " ").replace("\r\n\t", " ")
}

/// The header fields Handoff writes at the top of a mail.
const OUR_HEADERS: &[&str] = &[
    "from",
    "reply-to",
    "to",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "auto-submitted",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

/// Asserts a mail Handoff wrote has only the header fields Handoff writes,
/// each once, exactly one recipient, `to`, and the owner as sender.
fn one_recipient(raw: &str, to: &str) {
    let headers = header_block(raw);
    let mut names: Vec<String> = headers
        .lines()
        .map(|l| l.split(':').next().unwrap_or("").to_ascii_lowercase())
        .collect();
    for n in &names {
        assert!(
            OUR_HEADERS.contains(&n.as_str()),
            "a header Handoff does not write: {n}\n{headers}"
        );
    }
    let all = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all, "a header twice:\n{headers}");
    let m = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("Handoff's own mail parses");
    let addresses = |h: Option<&mail_parser::Address<'_>>| -> Vec<String> {
        h.into_iter()
            .flat_map(|a| a.iter())
            .filter_map(|a| a.address().map(str::to_string))
            .collect()
    };
    assert_eq!(addresses(m.to()), vec![to.to_string()], "{headers}");
    assert_eq!(addresses(m.from()), vec!["ada@example.test"], "{headers}");
    assert_eq!(
        addresses(m.reply_to()),
        vec!["ada@example.test"],
        "{headers}"
    );
}

/// The calendars in a mail, unfolded (RFC 5545 §3.1), one string each.
fn calendars(raw: &str) -> Vec<String> {
    let m = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    m.parts
        .iter()
        .filter(|p| {
            mail_parser::MimeHeaders::content_type(*p).is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case("text")
                    && ct
                        .subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("calendar"))
            })
        })
        .filter_map(|p| {
            p.text_contents()
                .map(|t| t.replace("\r\n ", "").replace("\r\n\t", ""))
        })
        .collect()
}

/// Asserts each event in a calendar has one organizer (the owner) and at
/// most one attendee (the contractor), and nothing mentions `evil` at the
/// start of a line (where it would be a property).
fn calendar_is_ours(ics: &str) {
    for event in ics.split("BEGIN:VEVENT").skip(1) {
        let event = event.split("END:VEVENT").next().unwrap();
        let props: Vec<&str> = event.lines().filter(|l| !l.is_empty()).collect();
        let named = |n: &str| {
            props
                .iter()
                .filter(|l| {
                    let name = l.split([':', ';']).next().unwrap_or("");
                    name.eq_ignore_ascii_case(n)
                })
                .count()
        };
        assert_eq!(named("ORGANIZER"), 1, "{event}");
        assert!(named("ATTENDEE") <= 1, "{event}");
        for l in &props {
            if l.to_ascii_uppercase().starts_with("ATTENDEE") {
                assert!(l.ends_with(":mailto:dana@example.test"), "{l}");
            }
            if l.to_ascii_uppercase().starts_with("ORGANIZER") {
                assert!(l.ends_with(":mailto:ada@example.test"), "{l}");
            }
        }
    }
    for l in ics.lines() {
        assert!(!l.to_ascii_lowercase().starts_with("evil"), "{l}");
    }
}

#[test]
fn config_values_with_line_breaks_are_refused_before_anything_is_sent() {
    let cases = [
        (
            "name = \"Dana Díaz\"",
            "name = \"Dana\\r\\nBcc: evil@example.test\"",
        ),
        (
            "title = \"Company website redesign\"",
            "title = \"\"\"Company website redesign\nBcc: evil@example.test\"\"\"",
        ),
        (
            "title = \"Wireframes\"",
            "title = \"Wireframes\\nATTENDEE:mailto:evil@example.test\"",
        ),
        (
            "name = \"Ada Lovelace\"",
            "name = \"Ada\\rTo: evil@example.test\"",
        ),
    ];
    for (good, bad) in cases {
        assert!(EXAMPLE.contains(good), "{good}");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("handoff.toml");
        std::fs::write(&config, EXAMPLE.replacen(good, bad, 1)).unwrap();
        let check = handoff(&config, &["check"]);
        assert_eq!(check.status.code(), Some(2), "{bad}");
        let says = common::text(&check.stderr) + &common::text(&check.stdout);
        assert!(says.contains("control character"), "{bad}: {says}");
        let line = EXAMPLE.lines().position(|l| l.starts_with(good)).unwrap() + 1;
        assert!(
            says.contains(&format!("handoff.toml:{line}:")),
            "{bad}: the diagnostic points at line {line}: {says}"
        );
        let run = handoff(&config, &["run", "--once"]);
        assert_eq!(run.status.code(), Some(2));
        assert!(
            !dir.path().join("var/mail/outgoing").exists(),
            "nothing was sent"
        );
    }
}

#[test]
fn quotes_commas_and_property_text_in_config_values_add_no_recipient_or_property() {
    // One-line values that are legal but try their luck: a display name that
    // closes its quotes and adds an address; titles that look like
    // iCalendar properties and parameters.
    let config = EXAMPLE
        .replacen(
            "name = \"Dana Díaz\"",
            "name = 'Dana\", evil@example.test, \"x <evil@example.test>'",
            1,
        )
        .replacen(
            "title = \"Company website redesign\"",
            "title = 'Redesign; ATTENDEE:mailto:evil@example.test, \\n\" <evil@example.test>'",
            1,
        )
        .replacen(
            "title = \"Wireframes\"",
            "title = 'Wire\"frames;ROLE=CHAIR:mailto:evil@example.test\\nATTENDEE:evil'",
            1,
        );
    let (dir, config, instructions) = started_with(&config);
    let mails = sent(dir.path());
    assert!(mails.len() >= 3, "instructions, invitations, kickoff");
    let mut seen_calendars = 0;
    for raw in &mails {
        one_recipient(raw, "dana@example.test");
        for ics in calendars(raw) {
            calendar_is_ours(&ics);
            seen_calendars += 1;
        }
    }
    assert!(seen_calendars >= 2, "the invitations carry calendars");
    // The owner's feed is built from the same values.
    let feed = handoff(&config, &["ics"]);
    assert!(feed.status.success());
    let feed = common::text(&feed.stdout).replace("\r\n ", "");
    calendar_is_ours(&feed);
    assert!(
        !feed
            .lines()
            .any(|l| l.to_ascii_uppercase().starts_with("ATTENDEE")),
        "the owner's feed invites no one"
    );
    still_records_a_normal_reply(&config, &instructions, "config-values");
}

#[test]
fn a_hostile_reply_adds_no_header_or_recipient_to_the_owner_notice() {
    let (dir, config, instructions) = started();
    let subject = format!(
        "=?utf-8?B?{}?=",
        common::base64(b"Is the logo final?\r\nBcc: evil@example.test\r\nX-Injected: yes")
    );
    let body = "Is the logo final?\r\nBcc: evil@example.test\r\nTo: evil@example.test\r\n\r\n\
                --boundary\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\n\
                BEGIN:VCALENDAR\r\nATTENDEE:mailto:evil@example.test\r\nEND:VCALENDAR\r\n";
    let hostile = [
        // CRLF and headers in the subject (RFC 2047) and the text.
        format!(
            "From: Dana Diaz <dana@example.test>\r\nTo: ada@example.test\r\nSubject: {subject}\r\n\
             Message-ID: <hostile-1@example.test>\r\nIn-Reply-To: <{instructions}>\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            common::base64(body.as_bytes())
        )
        .into_bytes(),
        // The same in plain 8-bit text, with bare LFs and CRs.
        reply(
            &instructions,
            "hostile-2",
            "Content-Type: text/plain; charset=utf-8\r\n",
            "Can you resend?\nBcc: evil@example.test\rCc: evil@example.test\r\n",
        ),
    ];
    let files: Vec<PathBuf> = hostile
        .iter()
        .enumerate()
        .map(|(i, raw)| write(dir.path(), &format!("hostile-{i}.eml"), raw))
        .collect();
    let out = ingest(
        &config,
        &files.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
    );
    assert_eq!(
        out.matches(": question (website").count(),
        2,
        "both are questions: {out}"
    );
    let before = sent(dir.path()).len();
    let run = handoff(&config, &["run", "--once"]);
    assert!(run.status.success(), "{}", common::text(&run.stderr));
    let mails = sent(dir.path());
    let notices: Vec<&String> = mails
        .iter()
        .filter(|m| header_block(m).contains("Auto-Submitted: auto-generated"))
        .collect();
    assert_eq!(
        notices.len(),
        2,
        "two question notices ({before} mails before)"
    );
    for n in &notices {
        one_recipient(n, "ada@example.test");
        // The reply's text reaches no header at all, not even the subject.
        assert!(
            !header_block(n).to_ascii_lowercase().contains("evil"),
            "{}",
            header_block(n)
        );
        assert!(
            calendars(n).is_empty(),
            "no calendar smuggled into a notice"
        );
        // The question is quoted in the body, where a line that looks like a
        // header is only text.
        let m = mail_parser::MessageParser::default()
            .parse(n.as_bytes())
            .unwrap();
        let body = m.body_text(0).unwrap_or_default().into_owned();
        assert!(
            body.contains("Is the logo final?") || body.contains("Can you resend?"),
            "{body}"
        );
    }
    // Nothing Handoff emits as a calendar carries the reply's text.
    for raw in &mails {
        for ics in calendars(raw) {
            calendar_is_ours(&ics);
        }
    }
    let feed = common::text(&handoff(&config, &["ics"]).stdout);
    assert!(!feed.to_ascii_lowercase().contains("evil"));
    still_records_a_normal_reply(&config, &instructions, "hostile-reply");
}

#[repr(C)]
struct Rusage {
    utime: [i64; 2],
    stime: [i64; 2],
    /// Peak resident set in KiB: the kernel's hiwater_rss, what
    /// /proc/PID/status shows as VmHWM.
    maxrss: i64,
    rest: [i64; 13],
}

unsafe extern "C" {
    /// libc's: waits for one child and returns its resource usage.
    fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut Rusage) -> i32;
}

/// Runs handoff with `args` and returns (exit code, or minus the signal that
/// ended it; stdout; peak RSS in MiB) of that one process.
// Waited for with wait4 (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn handoff_peak_rss(config: &Path, args: &[&str]) -> (i32, String, f64) {
    let out = tempfile::NamedTempFile::new().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("HANDOFF_NOW", NOW)
        .env_remove("HANDOFF_CONFIG")
        .stdout(out.reopen().unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut status = 0i32;
    let mut usage = Rusage {
        utime: [0; 2],
        stime: [0; 2],
        maxrss: 0,
        rest: [0; 13],
    };
    // SAFETY: `child.id()` is our own child, not yet waited for (std's
    // `Child` is dropped without waiting); the pointers are to live locals
    // of the right layout (x86_64/aarch64 Linux `struct rusage`).
    let pid = unsafe { wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    // WIFEXITED: the low 7 bits are 0; else a signal ended it (-signal).
    let code = if status & 0x7f == 0 {
        (status >> 8) & 0xff
    } else {
        -(status & 0x7f)
    };
    let stdout = std::fs::read_to_string(out.path()).unwrap();
    (code, stdout, usage.maxrss as f64 / 1024.0)
}

/// A mail from the contractor with an attachment of `mib` MiB, written
/// straight to `path` (never held in memory whole).
fn write_huge_mail(path: &Path, instructions: &str, id: &str, mib: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    write!(
        f,
        "From: Dana Diaz <dana@example.test>\r\nTo: ada@example.test\r\n\
         Subject: Re: Company website redesign [website]\r\nMessage-ID: <{id}@example.test>\r\n\
         In-Reply-To: <{instructions}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain\r\n\r\nHere are the raw files.\r\n--b\r\n\
         Content-Type: application/octet-stream; name=\"raw.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    )
    .unwrap();
    let line = format!("{}\r\n", "QUJD".repeat(19));
    for _ in 0..(mib * 1024 * 1024 / line.len() + 1) {
        f.write_all(line.as_bytes()).unwrap();
    }
    f.write_all(b"--b--\r\n").unwrap();
    f.flush().unwrap();
}

#[test]
fn an_enormous_mail_is_recorded_too_large_with_memory_bounded() {
    let (dir, config, instructions) = started();
    let before = state(&config);
    let huge = dir.path().join("huge.eml");
    write_huge_mail(&huge, &instructions, "huge-1", 50);
    assert!(std::fs::metadata(&huge).unwrap().len() > 50 * 1024 * 1024);

    let (code, out, peak) =
        handoff_peak_rss(&config, &["ingest", "--explain", huge.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(": too_large: larger than the size limit"),
        "{out}"
    );
    eprintln!("peak RSS of `handoff ingest` on a 50 MB mail: {peak:.1} MiB");
    assert!(peak < 100.0, "peak RSS {peak:.1} MiB");
    assert_eq!(state(&config), before, "not parsed, nothing changed");

    // Two of them waiting in the local inbox, with a normal reply after them.
    let new = dir.path().join("var/mail/inbox/new");
    std::fs::create_dir_all(&new).unwrap();
    std::fs::rename(&huge, new.join("1764000000.M1P1.host")).unwrap();
    write_huge_mail(
        &new.join("1764000001.M2P1.host"),
        &instructions,
        "huge-2",
        50,
    );
    std::fs::write(
        new.join("1764000002.M3P1.host"),
        reply(
            &instructions,
            "after-huge",
            "Content-Type: text/plain; charset=utf-8\r\n",
            "Thanks, all clear.\r\n",
        ),
    )
    .unwrap();
    let (code, out, peak) = handoff_peak_rss(&config, &["run", "--once"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("received 3 (too_large, too_large, acknowledgement)"),
        "{out}"
    );
    eprintln!("peak RSS of `handoff run --once` over two 50 MB mails: {peak:.1} MiB");
    assert!(peak < 100.0, "peak RSS {peak:.1} MiB");
    let log = common::text(&handoff(&config, &["log", "--json"]).stdout);
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("\"kind\":\"too_large\""))
            .count(),
        3
    );
    still_records_a_normal_reply(&config, &instructions, "huge");
}

#[test]
fn deeply_nested_mime_is_recorded_without_overflowing_the_stack() {
    let (dir, config, instructions) = started();
    const DEPTH: usize = 5_000;
    // multipart inside multipart, 5 000 deep.
    let mut body = String::new();
    for i in 0..DEPTH {
        body += &format!(
            "--b{i}\r\nContent-Type: multipart/mixed; boundary=\"b{}\"\r\n\r\n",
            i + 1
        );
    }
    body += &format!(
        "--b{DEPTH}\r\nContent-Type: text/plain\r\n\r\nDeep down: is this fine?\r\n--b{DEPTH}--\r\n"
    );
    for i in (0..DEPTH).rev() {
        body += &format!("--b{i}--\r\n");
    }
    let multipart = reply(
        &instructions,
        "nested-multipart",
        "Content-Type: multipart/mixed; boundary=\"b0\"\r\n",
        &body,
    );
    // message/rfc822 inside message/rfc822, 5 000 deep.
    let mut inner = String::from("Subject: bottom\r\nContent-Type: text/plain\r\n\r\nbottom\r\n");
    for i in 0..DEPTH {
        inner = format!("Subject: level {i}\r\nContent-Type: message/rfc822\r\n\r\n{inner}");
    }
    let rfc822 = reply(
        &instructions,
        "nested-rfc822",
        "Content-Type: message/rfc822\r\n",
        &inner,
    );
    let a = write(dir.path(), "nested-multipart.eml", &multipart);
    let b = write(dir.path(), "nested-rfc822.eml", &rfc822);
    let out = ingest(&config, &[&a, &b]);
    // One line per mail (`--explain` adds indented lines below each).
    let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(lines.len(), 2, "{out}");
    for l in lines {
        assert!(!l.contains(": failed"), "{l}");
    }
    let log = common::text(&handoff(&config, &["log", "--json"]).stdout);
    for id in ["nested-multipart", "nested-rfc822"] {
        assert!(log.contains(id), "{id} is in the journal");
    }
    still_records_a_normal_reply(&config, &instructions, "nested");
}

#[test]
fn a_stranger_on_a_contractors_thread_changes_nothing() {
    let (dir, config, instructions) = started();
    let before = state(&config);
    let stranger = |id: &str, extra: &str, body: &str| {
        format!(
            "From: Eve <eve@example.test>\r\nTo: ada@example.test\r\n\
             Subject: Re: Company website redesign [website]\r\nMessage-ID: <{id}@example.test>\r\n\
             In-Reply-To: <{instructions}>\r\nReferences: <{instructions}>\r\nMIME-Version: 1.0\r\n{extra}\r\n{body}"
        )
        .into_bytes()
    };
    let files = [
        // "Delivers" with an attachment.
        write(
            dir.path(),
            "eve-delivery.eml",
            &stranger(
                "eve-1",
                "Content-Type: multipart/mixed; boundary=\"b\"\r\n",
                "--b\r\nContent-Type: text/plain\r\n\r\nHere is the delivery, pay me.\r\n--b\r\n\
                 Content-Type: application/pdf; name=\"invoice.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n",
            ),
        ),
        // Asks a question (would become an owner notice from the contractor).
        write(
            dir.path(),
            "eve-question.eml",
            &stranger(
                "eve-2",
                "Content-Type: text/plain\r\n",
                "Can you send the bank details?\r\n",
            ),
        ),
        // Forges the contractor's name, but not the address.
        write(
            dir.path(),
            "eve-as-dana.eml",
            &String::from_utf8(stranger(
                "eve-3",
                "Content-Type: text/plain\r\n",
                "Got it, thanks.\r\n",
            ))
            .unwrap()
            .replacen("From: Eve <", "From: Dana Diaz <", 1)
            .into_bytes(),
        ),
    ];
    let out = ingest(
        &config,
        &files.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
    );
    assert_eq!(out.matches(": ignored_sender (website").count(), 3, "{out}");
    // The engagement tag alone, from a stranger, does not even match.
    let tag_only = write(
        dir.path(),
        "eve-tag.eml",
        b"From: \"Dana Diaz\" <eve@example.test>\r\nTo: ada@example.test\r\n\
          Subject: Delivery [website]\r\nMessage-ID: <eve-4@example.test>\r\n\
          Content-Type: text/plain\r\n\r\nHere is the delivery.\r\n",
    );
    assert!(ingest(&config, &[&tag_only]).contains(": unmatched"));
    assert_eq!(
        state(&config),
        before,
        "no milestone moved, no notice queued"
    );
    let log = common::text(&handoff(&config, &["log", "--json"]).stdout);
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("\"kind\":\"ignored_sender\"")
                && l.contains("from eve@example.test"))
            .count(),
        3
    );
    still_records_a_normal_reply(&config, &instructions, "stranger");
}

#[test]
fn broken_encodings_are_classified_without_a_panic() {
    let (dir, config, instructions) = started();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "bad-base64",
            reply(
                &instructions,
                "bad-base64",
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n",
                "!!!! not base64 @@@@\r\n====\r\nQUJD=QUJD\r\nA\r\n",
            ),
        ),
        (
            "unknown-charset",
            [
                reply(
                    &instructions,
                    "unknown-charset",
                    "Content-Type: text/plain; charset=\"x-no-such-charset\"\r\n",
                    "",
                ),
                b"Caf\xe9 \xff\xfe done?\r\n".to_vec(),
            ]
            .concat(),
        ),
        (
            "bad-rfc2047",
            format!(
                "From: =?utf-8?B?!!!?= <dana@example.test>\r\nTo: ada@example.test\r\n\
                 Subject: =?utf-8?B?@@@?= =?nonexistent?Q?abc?= =?utf-8?X?abc?= =?utf-8?Q?=ZZ=?= [website]\r\n\
                 Message-ID: <bad-rfc2047@example.test>\r\nIn-Reply-To: <{instructions}>\r\n\
                 Content-Type: text/plain\r\n\r\nFine.\r\n"
            )
            .into_bytes(),
        ),
        (
            "bad-qp",
            reply(
                &instructions,
                "bad-qp",
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n",
                "=\r\n=G1=ZZ=\r\n=C3=28 =E2=82 end=",
            ),
        ),
        (
            "raw-8bit-headers",
            [
                b"From: Dana \xff\xfe <dana@example.test>\r\nTo: ada@example.test\r\nSubject: \xc3\x28 \xe2\x82 [website]\r\n".to_vec(),
                format!(
                    "Message-ID: <raw-8bit@example.test>\r\nIn-Reply-To: <{instructions}>\r\n\
                     Content-Type: text/plain; charset=utf-8\r\n\r\n"
                )
                .into_bytes(),
                b"\xc0\xaf\xed\xa0\x80 ok\r\n".to_vec(),
            ]
            .concat(),
        ),
        (
            "utf16-odd",
            [
                reply(
                    &instructions,
                    "utf16-odd",
                    "Content-Type: text/plain; charset=utf-16\r\n",
                    "",
                ),
                b"\xff\xfeH\x00i\x00\x00".to_vec(),
            ]
            .concat(),
        ),
        (
            "bad-attachment",
            reply(
                &instructions,
                "bad-attachment",
                "Content-Type: multipart/mixed; boundary=\"b\"\r\n",
                "--b\r\nContent-Type: text/plain\r\n\r\nfiles\r\n--b\r\n\
                 Content-Type: application/pdf; name*=utf-8''%ZZ%\r\n\
                 Content-Disposition: attachment; filename*=x-bad''%FF%FE\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\nJVBER\r\n",
            ),
        ),
        (
            "bad-calendar",
            reply(
                &instructions,
                "bad-calendar",
                "Content-Type: text/calendar; method=REPLY; charset=utf-8\r\n",
                "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nATTENDEE;PARTSTAT=\r\n",
            ),
        ),
    ];
    let files: Vec<PathBuf> = cases
        .iter()
        .map(|(name, raw)| write(dir.path(), &format!("{name}.eml"), raw))
        .collect();
    let out = ingest(
        &config,
        &files.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
    );
    let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(lines.len(), cases.len(), "{out}");
    for (line, (name, _)) in lines.iter().zip(&cases) {
        assert!(line.contains(&format!("{name}.eml: ")), "{line}");
        assert!(!line.contains(": failed"), "{line}");
        assert!(
            !line.contains(": unparseable"),
            "{name} is still a mail: {line}"
        );
    }
    // The calendar that does not parse is said so in the journal.
    let log = common::text(&handoff(&config, &["log", "--json"]).stdout);
    assert!(
        log.lines()
            .any(|l| l.contains("\"kind\":\"calendar_unreadable\"") && l.contains("bad-calendar")),
        "{log}"
    );
    // The same mails through the local inbox of `run --once`.
    let new = dir.path().join("var/mail/inbox/new");
    std::fs::create_dir_all(&new).unwrap();
    for (i, (name, raw)) in cases.iter().enumerate() {
        let fresh = String::from_utf8_lossy(raw)
            .replace(&format!("<{name}@"), &format!("<{name}-again@"))
            .into_bytes();
        std::fs::write(new.join(format!("17640000{i:02}.M{i}P1.host")), fresh).unwrap();
    }
    let run = handoff(&config, &["run", "--once"]);
    assert!(run.status.success(), "{}", common::text(&run.stderr));
    let stdout = common::text(&run.stdout);
    assert!(
        stdout.starts_with(&format!("received {} (", cases.len())),
        "{stdout}"
    );
    assert!(
        !stdout.lines().next().unwrap().contains("failed"),
        "{stdout}"
    );
    still_records_a_normal_reply(&config, &instructions, "encodings");
}
